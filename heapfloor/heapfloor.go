// Package heapfloor keeps the garbage collector's heap goal from falling
// under a floor: while the live heap is small, GOGC rises so that the
// collector waits for the floor; once the live heap is half the floor or
// more, GOGC is the one the process started with.
//
// Why: Herald's live heap under load is a few megabytes (SQLite's page
// cache is outside Go's heap), so with GOGC=100 the collector ran when each
// 4 MB had been allocated, about 30 times a second at 3,000 deliveries a
// second on PostgreSQL, and its marking, assists and sweeping were a
// seventh to a fifth of Herald's CPU. A cycle costs what is live (stacks,
// globals and the live heap are scanned every time), not what is garbage,
// so fewer cycles cost less. A process whose live heap is large (a fan-out
// with many connections in flight) already waits long between cycles, and
// keeps its GOGC and its memory.
package heapfloor

import (
	"context"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync/atomic"
)

// Default is the floor `herald serve` runs with: a few megabytes live
// become a 32 MB heap between cycles, a tenth of the collections or fewer.
// 64 MB saved no more CPU (PostgreSQL, single-record creates: Herald's
// 156 µs a delivery on average either way, 190 with 16 MB) and cost
// 36 MB more RSS draining a backlog.
const Default = 32 << 20

// Run keeps the heap goal at or above floor bytes until ctx ends, then
// gives back the GOGC it found. With the collector off (GOGC=off) it
// changes nothing. The caller leaves it out when the user set GOGC, which
// is then theirs to keep; GOMEMLIMIT still bounds the heap either way.
//
// It acts after each collection, when the live heap is known, and is
// asleep in between: an idle process pays nothing for it.
func Run(ctx context.Context, floor uint64) {
	// GOGC=off reads as -1 cast to a uint64.
	base := int(int64(read("/gc/gogc:percent")))
	if base < 0 {
		return
	}
	current := base
	defer func() {
		if current != base {
			debug.SetGCPercent(base)
		}
	}()
	var stopped atomic.Bool
	defer stopped.Store(true)
	collected := make(chan struct{}, 1)
	watch(&stopped, collected)
	for {
		select {
		case <-ctx.Done():
			return
		case <-collected:
			if p := percent(scanned(), floor, base); changed(current, p) {
				debug.SetGCPercent(p)
				current = p
			}
		}
	}
}

// maxPercent bounds GOGC for a live heap under a hundredth of the floor,
// which only a process that has barely started has.
const maxPercent = 10000

// roots is what the collector found at its last cycle: the live heap, and
// the stacks and globals it scanned. The heap goal is
// live + (live + stacks + globals) × GOGC/100.
type roots struct{ live, stacks, globals uint64 }

func scanned() roots {
	return roots{read("/gc/heap/live:bytes"), read("/gc/scan/stack:bytes"), read("/gc/scan/globals:bytes")}
}

// percent is the GOGC that puts the heap goal at the floor, never under
// base nor over maxPercent. The stacks and globals count: a binary with
// large globals (SQLite's) had twice the goal when only the heap did.
func percent(r roots, floor uint64, base int) int {
	scan := r.live + r.stacks + r.globals
	if r.live == 0 || r.live >= floor {
		return base
	}
	p := min((floor-r.live)*100/scan, maxPercent)
	return max(int(p), base)
}

// changed says whether p differs enough from current to be set: a small
// change to GOGC makes no difference worth the heap lock it takes.
func changed(current, p int) bool {
	d := p - current
	return d*10 > current || -d*10 > current
}

// watch sends on collected after each garbage collection until stopped:
// the cleanup of an unreachable object runs after the cycle that found it
// unreachable, and arms the next one.
func watch(stopped *atomic.Bool, collected chan<- struct{}) {
	// Pointers keep it out of the tiny allocator, whose blocks can outlive
	// the objects in them.
	sentinel := &struct{ _ *byte }{}
	runtime.AddCleanup(sentinel, func(struct{}) {
		if stopped.Load() {
			return
		}
		select {
		case collected <- struct{}{}:
		default:
		}
		watch(stopped, collected)
	}, struct{}{})
}

// read returns a runtime metric that is a uint64 (both used here are).
func read(name string) uint64 {
	s := []metrics.Sample{{Name: name}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return s[0].Value.Uint64()
}
