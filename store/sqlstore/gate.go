package sqlstore

import (
	"context"
	"slices"
	"sync"
)

// gate orders the transactions of a store with a single writer (SQLite):
// urgent ones, the delivery engine's claims and completions, go first, so
// a burst of API writes does not hold deliveries back. Urgent turns are
// capped at maxUrgentRun in a row while others wait, so a long drain does
// not hold the API back either.
type gate struct {
	mu        sync.Mutex
	busy      bool
	urgentRun int
	urgent    []chan struct{}
	normal    []chan struct{}
	// written is signalled (without blocking) when a turn ends, for one
	// who waits for anything to have been written.
	written chan struct{}
}

const maxUrgentRun = 1

// acquire waits for the gate; the caller must release it.
func (g *gate) acquire(ctx context.Context, urgent bool) error {
	g.mu.Lock()
	if !g.busy {
		g.busy = true
		g.mu.Unlock()
		return nil
	}
	turn := make(chan struct{})
	if urgent {
		g.urgent = append(g.urgent, turn)
	} else {
		g.normal = append(g.normal, turn)
	}
	g.mu.Unlock()
	select {
	case <-turn:
		return nil
	case <-ctx.Done():
		g.mu.Lock()
		queued := len(g.urgent) + len(g.normal)
		g.urgent = slices.DeleteFunc(g.urgent, func(c chan struct{}) bool { return c == turn })
		g.normal = slices.DeleteFunc(g.normal, func(c chan struct{}) bool { return c == turn })
		handedOver := queued == len(g.urgent)+len(g.normal)
		g.mu.Unlock()
		if handedOver { // the turn came as the context ended: pass it on
			g.release()
		}
		return ctx.Err()
	}
}

// release hands the gate to the next waiter, urgent ones first.
func (g *gate) release() {
	g.mu.Lock()
	defer g.mu.Unlock()
	select {
	case g.written <- struct{}{}:
	default:
	}
	next := func(q *[]chan struct{}) {
		close((*q)[0])
		*q = (*q)[1:]
	}
	switch {
	case len(g.urgent) > 0 && (g.urgentRun < maxUrgentRun || len(g.normal) == 0):
		g.urgentRun++
		next(&g.urgent)
	case len(g.normal) > 0:
		g.urgentRun = 0
		next(&g.normal)
	default:
		g.urgentRun = 0
		g.busy = false
	}
}
