//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package procs

import (
	"errors"
	"time"
)

// errNoCPUTime is returned where the platform does not tell a process its
// CPU time.
var errNoCPUTime = errors.New("this platform does not report the process's CPU time")

func cpuTime() (time.Duration, error) { return 0, errNoCPUTime }
