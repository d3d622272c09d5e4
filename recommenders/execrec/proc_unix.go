//go:build unix && !linux

package execrec

import (
	"os/exec"
	"syscall"
)

// ownGroup puts the child in a process group of its own, so that a Ctrl-C
// at the terminal reaches recloop only (recloop then closes the child).
func ownGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
}

// killGroup kills the child and everything it started.
func killGroup(pid int) { _ = syscall.Kill(-pid, syscall.SIGKILL) }
