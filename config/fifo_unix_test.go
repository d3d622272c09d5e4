//go:build unix

package config

import "syscall"

// mkfifo makes a named pipe, which blocks a reader until a writer opens it.
func mkfifo(path string) error { return syscall.Mkfifo(path, 0o644) }
