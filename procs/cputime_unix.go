//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package procs

import (
	"fmt"
	"syscall"
	"time"
)

// cpuTime is the CPU time the process has used, its threads' user and
// system time together.
func cpuTime() (time.Duration, error) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, fmt.Errorf("read the process's CPU time: %w", err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), nil
}
