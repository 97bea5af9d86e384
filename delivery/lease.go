package delivery

import (
	"context"
	"slices"
	"time"

	"github.com/heraldhq/herald"
)

// holdLocked notes claims the engine now has. A delivery already held
// under an older claim was claimed again because that claim's lease
// lapsed: the older one, if it still waits, is dropped, so that the
// delivery is sent once. e.mu must be held.
func (e *Engine) holdLocked(c *herald.Claim) {
	if old := e.held[c.DeliveryID]; old != nil && old != c {
		if l := e.lanes[old.Webhook.ID]; l != nil {
			if i := slices.Index(l.waiting, old); i >= 0 {
				l.waiting = slices.Delete(l.waiting, i, i+1)
				e.buffered--
			}
		}
	}
	e.held[c.DeliveryID] = c
}

// forget drops the claims outcomes were made under from the held set. A
// delivery held under a later claim (its outcome written, it was claimed
// again, with one more attempt) stays held.
func (e *Engine) forget(outcomes []herald.Outcome) {
	if len(outcomes) == 0 {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, o := range outcomes {
		if c := e.held[o.DeliveryID]; c != nil && c.Attempts+1 == o.Attempt.Number {
			delete(e.held, o.DeliveryID)
		}
	}
}

// heldIDs returns the ids of the claims the engine has.
func (e *Engine) heldIDs() []int64 {
	e.mu.Lock()
	defer e.mu.Unlock()
	ids := make([]int64, 0, len(e.held))
	for id := range e.held {
		ids = append(ids, id)
	}
	return ids
}

// extendLeases keeps the claims this engine holds alive while it runs,
// and frees the claims whose lease lapsed: those of processes that
// stopped renewing them, and any of its own it no longer holds.
func (e *Engine) extendLeases(ctx context.Context) {
	t := time.NewTicker(e.cfg.Lease / 3)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			e.renewLeases(ctx)
		}
	}
}

func (e *Engine) renewLeases(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, completeTimeout)
	defer cancel()
	until := time.Now().Add(e.cfg.Lease)
	extended, err := e.store.ExtendLeases(ctx, e.cfg.Owner, e.heldIDs(), until)
	if err != nil && ctx.Err() == nil {
		e.log.Error("extend leases", "err", err)
	}
	// Only what was extended is still sure to be this engine's: a claim
	// another process took over while this one was frozen keeps its old
	// lease, and is not sent if it is still waiting (startWaitingLocked).
	e.mu.Lock()
	for _, id := range extended {
		if c := e.held[id]; c != nil {
			c.LeaseUntil = until
		}
	}
	e.mu.Unlock()
	n, err := e.store.ExpireLeases(ctx, time.Now())
	if err != nil && ctx.Err() == nil {
		e.log.Error("expire leases", "err", err)
	}
	if n > 0 {
		e.log.Info("took over deliveries whose lease lapsed", "count", n)
		e.Notify()
	}
}

// releaseWaiting hands back claims that never started, within the
// shutdown grace: if the database does not answer, their leases lapse.
func (e *Engine) releaseWaiting() {
	e.mu.Lock()
	if e.turnTimer != nil {
		e.turnTimer.Stop()
	}
	var ids []int64
	for _, l := range e.lanes {
		for _, c := range l.waiting {
			ids = append(ids, c.DeliveryID)
			delete(e.held, c.DeliveryID)
		}
		e.buffered -= len(l.waiting)
		l.waiting = nil
	}
	e.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), e.cfg.ShutdownGrace)
	defer cancel()
	if err := e.store.ReleaseClaims(ctx, e.cfg.Owner, ids); err != nil {
		e.log.Error("release claims at shutdown; they go again once their lease lapses", "count", len(ids), "err", err)
	}
}
