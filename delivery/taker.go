package delivery

import (
	"context"
	"time"

	"github.com/heraldhq/herald"
)

// The engine is the store's herald.Taker while it runs: a delivery the API
// writes is leased to it in the same transaction and handed over when that
// commits, so it is sent without a claim, which would cost a write
// transaction of its own and the wait for it.
//
// A lane takes new deliveries only while it has room and its queue in the
// store is empty; otherwise they are written unleased, behind the ones
// already queued, and claimed in turn.

var _ herald.Taker = (*Engine)(nil)

// startTaking makes the engine the store's taker.
func (e *Engine) startTaking() {
	e.mu.Lock()
	e.taking = true
	e.mu.Unlock()
	e.store.SetTaker(e)
}

// stopTaking ends the taking; deliveries reserved before are released
// when they are handed over.
func (e *Engine) stopTaking() {
	e.mu.Lock()
	e.taking = false
	e.mu.Unlock()
	e.store.SetTaker(nil)
}

// Reserve is herald.Taker's: room for one new delivery to the webhook.
func (e *Engine) Reserve(webhookID string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	if !e.taking || e.backlog[webhookID] {
		return false
	}
	l := e.laneLocked(webhookID)
	if l.held() >= e.laneBuffer() || e.buffered >= maxBuffered {
		// This delivery is queued in the store: later ones must not pass it.
		e.backlog[webhookID] = true
		e.dropIdleLocked(webhookID, l)
		return false
	}
	l.reserved++
	e.buffered++
	return true
}

// Unreserve is herald.Taker's: n reservations that no claim fills.
func (e *Engine) Unreserve(webhookID string, n int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if l := e.lanes[webhookID]; l != nil {
		l.reserved -= n
		e.buffered -= n
		e.dropIdleLocked(webhookID, l)
	}
}

// Take is herald.Taker's: committed deliveries, leased to the engine.
func (e *Engine) Take(claims []*herald.Claim) {
	e.mu.Lock()
	var release []int64
	var lanes []string
	for _, c := range claims {
		l := e.laneLocked(c.Webhook.ID) // kept while it has reservations
		l.reserved--
		if !e.taking {
			release = append(release, c.DeliveryID)
			e.buffered--
			e.dropIdleLocked(c.Webhook.ID, l)
			continue
		}
		e.holdLocked(c)
		l.waiting = append(l.waiting, c)
		if len(lanes) == 0 || lanes[len(lanes)-1] != c.Webhook.ID {
			lanes = append(lanes, c.Webhook.ID)
		}
	}
	e.startLanesLocked(lanes...)
	e.mu.Unlock()
	if len(release) > 0 {
		// The engine stopped after they were reserved: give them back for
		// the next one to claim, or let their leases lapse.
		ctx, cancel := context.WithTimeout(context.Background(), e.cfg.ShutdownGrace)
		defer cancel()
		if err := e.store.ReleaseClaims(ctx, e.cfg.Owner, release); err != nil {
			e.log.Error("release deliveries written while stopping", "count", len(release), "err", err)
		}
	}
}

// Waiting is herald.Taker's: a committed delivery waits behind a pending
// one of its record, perhaps one this engine holds. Which one is not
// said, so every outcome counts as awaited for the next Timeout, within
// which an attempt in flight now has ended. (One still waiting in its
// lane then, behind a full lane, may linger the longer wait: the later
// delivery is sent at most unawaitedLinger late.)
func (e *Engine) Waiting() {
	e.awaitedUntil.Store(time.Now().Add(e.cfg.Timeout).UnixNano())
	select {
	case e.hurry <- struct{}{}:
	default:
	}
}
