package heapfloor

import (
	"context"
	"runtime"
	"runtime/debug"
	"testing"
	"time"
)

func TestPercent(t *testing.T) {
	const mb = 1 << 20
	cases := []struct {
		name       string
		r          roots
		floor      uint64
		base, want int
	}{
		{"no collection yet", roots{}, 64 * mb, 100, 100},
		{"small heap waits for the floor", roots{live: 4 * mb}, 64 * mb, 100, 1500},
		{"stacks and globals count", roots{live: 4 * mb, stacks: 1 * mb, globals: 1 * mb}, 64 * mb, 100, 1000},
		{"half the floor is the default", roots{live: 32 * mb}, 64 * mb, 100, 100},
		{"over half keeps base", roots{live: 40 * mb}, 64 * mb, 100, 100},
		{"over the floor keeps base", roots{live: 100 * mb}, 64 * mb, 100, 100},
		{"a higher base is kept", roots{live: 16 * mb}, 64 * mb, 400, 400},
		{"a lower base is raised", roots{live: 16 * mb}, 64 * mb, 50, 300},
		{"a tiny heap is bounded", roots{live: 1 << 10}, 64 * mb, 100, maxPercent},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := percent(c.r, c.floor, c.base); got != c.want {
				t.Errorf("percent(%+v, %d, %d) = %d, want %d", c.r, c.floor, c.base, got, c.want)
			}
			if c.want != c.base && c.want != maxPercent {
				// The goal the runtime computes from it is at the floor.
				goal := c.r.live + (c.r.live+c.r.stacks+c.r.globals)*uint64(c.want)/100
				if goal > c.floor || c.floor-goal > c.floor/100 {
					t.Errorf("goal %d, want about the floor %d", goal, c.floor)
				}
			}
		})
	}
}

func TestChanged(t *testing.T) {
	cases := []struct {
		current, p int
		want       bool
	}{
		{100, 100, false},
		{100, 109, false},
		{100, 111, true},
		{1500, 1400, false},
		{1500, 1300, true},
		{1500, 100, true},
	}
	for _, c := range cases {
		if got := changed(c.current, c.p); got != c.want {
			t.Errorf("changed(%d, %d) = %v, want %v", c.current, c.p, got, c.want)
		}
	}
}

// TestRunRaisesAndRestores runs the real governor on the test process: its
// small heap gets a GOGC that waits for the floor after a collection, and
// the GOGC it started with once Run ends.
func TestRunRaisesAndRestores(t *testing.T) {
	base := debug.SetGCPercent(100)
	defer debug.SetGCPercent(base)
	// 8 MB live under a 128 MB floor: GOGC about 1,500.
	live := make([]byte, 8<<20)
	defer runtime.KeepAlive(live)
	const floor = 128 << 20
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { Run(ctx, floor); close(done) }()

	if !waitFor(func() bool { runtime.GC(); return gogc() > 1000 }) {
		cancel()
		<-done
		t.Fatalf("GOGC stayed %d after collections, want the floor's (about 1,500)", gogc())
	}
	if goal := read("/gc/heap/goal:bytes"); goal < floor*9/10 || goal > floor*11/10 {
		t.Errorf("heap goal %d bytes, want about the floor, %d", goal, floor)
	}
	cancel()
	<-done
	if got := gogc(); got != 100 {
		t.Errorf("GOGC after Run = %d, want the 100 it started with", got)
	}
}

// TestRunLeavesGCOff: a process with the collector off keeps it off.
func TestRunLeavesGCOff(t *testing.T) {
	base := debug.SetGCPercent(-1)
	defer debug.SetGCPercent(base)
	Run(context.Background(), 1<<30) // returns at once
	if got := gogc(); got != -1 {
		t.Errorf("GOGC = %d, want -1 (off)", got)
	}
}

func gogc() int { return int(int64(read("/gc/gogc:percent"))) }

// waitFor polls ok for up to 10 s: the cleanup that reports a collection
// runs on its own goroutine, some time after the cycle.
func waitFor(ok func() bool) bool {
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if ok() {
			return true
		}
		time.Sleep(10 * time.Millisecond)
	}
	return false
}
