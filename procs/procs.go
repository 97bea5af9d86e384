// Package procs fits the Go scheduler's processor count (GOMAXPROCS) to the
// load: one processor while the process uses little CPU, the runtime's
// default as soon as it needs more.
//
// Why: with two or more processors and little work, each wake-up of a
// goroutine (a request read from a socket, a commit, a receiver's answer)
// also wakes an idle thread to look for more work, which it rarely finds;
// a handful of wake-ups an event make that futile spinning and its thread
// switches a quarter of Herald's CPU at 500 deliveries a second. One
// processor does the same work without it, and only stops being enough when
// it is nearly always busy.
package procs

import (
	"context"
	"log/slog"
	"runtime"
	"time"
)

// Config sets when the processor count changes. Zero fields take the
// defaults of Defaults.
type Config struct {
	// Interval is how often the process's CPU time is read.
	Interval time.Duration
	// Grow is the CPU, in cores, that the process may use between two
	// readings on one processor before it gets the runtime's default again.
	Grow float64
	// Shrink is the CPU, in cores, under which the process must stay for
	// Quiet, on the default count, before it goes back to one processor.
	Shrink float64
	// Quiet is how long the load must stay under Shrink.
	Quiet time.Duration
	// Idle is the CPU, in cores, under which a process on one processor is
	// idle: each such reading doubles the wait for the next one, up to
	// IdleInterval, so that an idle process wakes for its readings a few
	// times a minute rather than a few times a second. Any busier reading
	// goes back to Interval.
	Idle         float64
	IdleInterval time.Duration
	// Logger, when set, is told of each change at debug level.
	Logger *slog.Logger
}

// Defaults are the settings `herald serve` runs with. Grow is above Shrink
// so that a load between them keeps whichever count it has: the same load
// costs more CPU on more processors, and must not flip the count back and
// forth.
func Defaults() Config {
	return Config{
		Interval: 250 * time.Millisecond, Grow: 0.8, Shrink: 0.6, Quiet: 2 * time.Second,
		Idle: 0.05, IdleInterval: 2 * time.Second,
	}
}

func (c Config) withDefaults() Config {
	d := Defaults()
	if c.Interval <= 0 {
		c.Interval = d.Interval
	}
	if c.Grow <= 0 {
		c.Grow = d.Grow
	}
	if c.Shrink <= 0 {
		c.Shrink = d.Shrink
	}
	if c.Quiet <= 0 {
		c.Quiet = d.Quiet
	}
	if c.Idle <= 0 {
		c.Idle = d.Idle
	}
	if c.IdleInterval <= 0 {
		c.IdleInterval = d.IdleInterval
	}
	c.IdleInterval = max(c.IdleInterval, c.Interval)
	return c
}

// Run fits GOMAXPROCS to the load until ctx ends, then gives the runtime back
// its default. It changes nothing, and returns at once, where the default is
// one processor (nil) or the process's CPU time cannot be read (an error).
// The caller leaves it out when the user set GOMAXPROCS, which is then
// theirs to keep.
//
// A change stops the world for a few microseconds; it happens at most once
// an Interval, and in practice only when the load crosses Grow or Shrink.
func Run(ctx context.Context, cfg Config) error {
	cfg = cfg.withDefaults()
	last, err := cpuTime()
	if err != nil {
		return err
	}
	full := runtime.GOMAXPROCS(0)
	if full <= 1 {
		return nil
	}
	g := governor{cfg: cfg, full: full, procs: full, wait: cfg.Interval}
	defer func() {
		if g.procs != g.full {
			runtime.SetDefaultGOMAXPROCS()
		}
	}()
	timer := time.NewTimer(g.wait)
	defer timer.Stop()
	lastAt := time.Now()
	for {
		select {
		case <-ctx.Done():
			return nil
		case now := <-timer.C:
			used, err := cpuTime()
			if err != nil {
				return err
			}
			elapsed := now.Sub(lastAt)
			cores := float64(used-last) / float64(elapsed)
			last, lastAt = used, now
			if n := g.next(cores, elapsed); n != g.procs {
				g.procs = g.set(n)
				if cfg.Logger != nil {
					cfg.Logger.Debug("scheduler processors changed", "gomaxprocs", g.procs, "cores", cores)
				}
			}
			timer.Reset(g.wait)
		}
	}
}

// governor decides the processor count, and when to read the load next,
// from one reading at a time.
type governor struct {
	cfg   Config
	full  int // the runtime's default
	procs int // the count now
	quiet time.Duration
	wait  time.Duration // until the next reading
}

// next is the count for a load of cores over the elapsed time since the
// last reading.
func (g *governor) next(cores float64, elapsed time.Duration) int {
	g.wait = g.cfg.Interval
	if g.procs == 1 {
		switch {
		case cores >= g.cfg.Grow:
			return g.full
		case cores < g.cfg.Idle:
			g.wait = min(2*elapsed, g.cfg.IdleInterval)
		}
		return 1
	}
	if cores >= g.cfg.Shrink {
		g.quiet = 0
		return g.procs
	}
	g.quiet += elapsed
	if g.quiet < g.cfg.Quiet {
		return g.procs
	}
	g.quiet = 0
	return 1
}

// set applies n and returns the count in force. Growing goes through the
// runtime's own default rather than the number read at start, so that a
// changed CPU limit (a container resized) is taken up again.
func (g *governor) set(n int) int {
	if n == 1 {
		runtime.GOMAXPROCS(1)
		return 1
	}
	runtime.SetDefaultGOMAXPROCS()
	g.full = runtime.GOMAXPROCS(0)
	return g.full
}
