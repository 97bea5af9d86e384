package procs

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestGovernorFollowsTheLoad(t *testing.T) {
	t.Parallel()
	cfg := Config{Interval: time.Second, Grow: 0.8, Shrink: 0.6, Quiet: 3 * time.Second}
	cases := []struct {
		name  string
		start int
		loads []float64
		want  []int
	}{
		{"a quiet process keeps the default until it has been quiet for Quiet",
			4, []float64{0.1, 0.2, 0.1, 0.1}, []int{4, 4, 1, 1}},
		{"a busy reading starts the quiet time over",
			4, []float64{0.1, 0.1, 0.7, 0.1, 0.1, 0.1}, []int{4, 4, 4, 4, 4, 1}},
		{"one processor gets the default back on the first busy reading",
			1, []float64{0.5, 0.79, 0.8}, []int{1, 1, 4}},
		{"a load between Shrink and Grow keeps either count",
			1, []float64{0.7, 0.7, 0.7, 0.7}, []int{1, 1, 1, 1}},
		{"a load between Shrink and Grow keeps the default too",
			4, []float64{0.7, 0.7, 0.7, 0.7}, []int{4, 4, 4, 4}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			g := governor{cfg: cfg, full: 4, procs: tc.start}
			for i, load := range tc.loads {
				g.procs = g.next(load, cfg.Interval)
				if g.procs != tc.want[i] {
					t.Fatalf("after reading %d (%.2f cores): %d processors, want %d", i, load, g.procs, tc.want[i])
				}
			}
		})
	}
}

func TestGovernorSpacesOutIdleReadings(t *testing.T) {
	t.Parallel()
	cfg := Config{Interval: time.Second, Grow: 0.8, Shrink: 0.6, Quiet: 3 * time.Second, Idle: 0.05, IdleInterval: 5 * time.Second}.withDefaults()
	cases := []struct {
		name  string
		start int
		loads []float64
		want  []time.Duration // the wait after each reading
	}{
		{"an idle process on one processor doubles its wait up to IdleInterval",
			1, []float64{0.01, 0.01, 0.01, 0.01}, []time.Duration{2, 4, 5, 5}},
		{"a reading above Idle goes back to Interval",
			1, []float64{0.01, 0.01, 0.1, 0.01}, []time.Duration{2, 4, 1, 2}},
		{"growing goes back to Interval",
			1, []float64{0.01, 0.01, 0.9}, []time.Duration{2, 4, 1}},
		{"the default count reads every Interval, however idle",
			4, []float64{0.01, 0.01}, []time.Duration{1, 1}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			g := governor{cfg: cfg, full: 4, procs: tc.start, wait: cfg.Interval}
			for i, load := range tc.loads {
				g.procs = g.next(load, g.wait)
				if want := tc.want[i] * time.Second; g.wait != want {
					t.Fatalf("after reading %d (%.2f cores): wait %s, want %s", i, load, g.wait, want)
				}
			}
		})
	}
}

// TestRunShrinksAndGrows runs the real controller on this process: idle, it
// must drop to one processor; made to spin, it must get the default back;
// stopped, it must give the default back. The thresholds are low so that a
// loaded machine, which gives the spinning goroutines less than a core, still
// crosses them.
func TestRunShrinksAndGrows(t *testing.T) {
	full := runtime.GOMAXPROCS(0)
	if full <= 1 {
		t.Skip("the runtime's default is one processor here")
	}
	if _, err := cpuTime(); err != nil {
		t.Skip(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, Config{Interval: 20 * time.Millisecond, Grow: 0.2, Shrink: 0.1, Quiet: 100 * time.Millisecond, IdleInterval: 80 * time.Millisecond})
	}()
	waitFor(t, "one processor while idle", func() bool { return runtime.GOMAXPROCS(0) == 1 })

	var stop atomic.Bool
	var spinning sync.WaitGroup
	for range 2 {
		spinning.Go(func() {
			for !stop.Load() {
			}
		})
	}
	waitFor(t, "the default while busy", func() bool { return runtime.GOMAXPROCS(0) == full })
	stop.Store(true)
	spinning.Wait()
	waitFor(t, "one processor once idle again", func() bool { return runtime.GOMAXPROCS(0) == 1 })

	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got := runtime.GOMAXPROCS(0); got != full {
		t.Fatalf("after Run: %d processors, want the default %d", got, full)
	}
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("no %s within 30s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
