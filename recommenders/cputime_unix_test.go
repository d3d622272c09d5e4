//go:build unix

package recommenders

import (
	"syscall"
	"time"
)

// processCPU is the CPU time the test process has used so far (user +
// system), which, unlike wall time, does not grow when other processes
// compete for the machine.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
