package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"time"

	"github.com/heraldhq/herald"
	"github.com/heraldhq/herald/store/sqlbuild"
)

// SetTaker makes t take the deliveries written from now on (herald.Taker).
// A claim costs a write transaction that reads back what the API wrote a
// moment ago; leasing a new delivery as it is written costs nothing more
// than the insert, and the engine gets it without waiting for a claim.
func (db *DB) SetTaker(t herald.Taker) {
	if t == nil {
		db.taker.Store(nil)
		return
	}
	db.taker.Store(&t)
}

// WakeTaker tells the taker, if one is set, that deliveries may be due
// (another process announced some), and reports whether one was.
func (db *DB) WakeTaker() bool {
	t := db.taker.Load()
	if t != nil {
		(*t).Notify()
	}
	return t != nil
}

// dueCommitted wakes whoever delivers what a committed write made due:
// the taker set now, which may have been set since the write began, or
// else the other processes.
func (db *DB) dueCommitted() {
	if !db.WakeTaker() && db.announce != nil {
		db.announce()
	}
}

// handoff is what one write transaction leased to the taker: its claims
// are handed over once the transaction commits, and their reservations
// given back if it does not.
type handoff struct {
	// taker is the one set when the transaction began, if any.
	taker  herald.Taker
	lease  herald.ClaimRequest
	claims []*herald.Claim
	// due is set when the transaction made deliveries due that are not
	// leased to the taker; waits when it wrote deliveries that may wait
	// behind pending ones of their records.
	due, waits bool
	// unread holds reservations whose rows were not read back as
	// written: given back when the transaction ends (insertLeased).
	unread []map[deliveryKey]reservation
}

// newHandoff returns the handoff of a transaction starting now.
func (db *DB) newHandoff(now time.Time) *handoff {
	t := db.taker.Load()
	if t == nil {
		return &handoff{}
	}
	return &handoff{taker: *t, lease: herald.ClaimRequest{Owner: (*t).Owner(), Now: now, LeaseUntil: (*t).LeaseUntil(now)}}
}

// reserve asks the taker for room for a new delivery to the webhook.
func (h *handoff) reserve(webhookID string) bool { return h.taker != nil && h.taker.Reserve(webhookID) }

// mark is where a savepoint starts; undo(mark) rolls the handoff back to it.
func (h *handoff) mark() int { return len(h.claims) }

func (h *handoff) undo(to int) {
	for _, c := range h.claims[to:] {
		h.taker.Unreserve(c.Webhook.ID, 1)
	}
	h.claims = h.claims[:to]
}

// endHandoff hands the claims over when the transaction committed, and gives
// their reservations back when it did not.
func (db *DB) endHandoff(h *handoff, committed bool) {
	for _, left := range h.unread {
		for k := range left {
			h.taker.Unreserve(k.webhookID, 1)
		}
	}
	h.unread = nil
	if !committed {
		h.undo(0)
		return
	}
	if len(h.claims) > 0 {
		h.taker.Take(h.claims)
		h.claims = nil
	}
	if h.due {
		db.dueCommitted()
	}
	if h.waits && h.taker != nil {
		h.taker.Waiting()
	}
}

// madeDue notes that the transaction made unleased deliveries due.
func (h *handoff) madeDue() { h.due = true }

// reservation is a delivery row leased to the taker before its insert.
type reservation struct {
	hook *herald.Webhook
	ev   *herald.Event
}

type deliveryKey struct {
	webhookID string
	seq       int64
}

// insertLeased inserts the delivery rows of sets, of which those in
// reserved are leased to h's taker, and turns each leased one that was
// written into a claim.
// A leased row that must wait behind an earlier pending delivery of its
// record is written unscheduled; its lease is dropped again, so that it
// goes when that one is done, like any waiting delivery.
func (h *handoff) insertLeased(ctx context.Context, tx conn, sets []deliveryRows, reserved map[deliveryKey]reservation) error {
	var waiting []int64
	events := map[*herald.Event]*herald.Event{}
	read := func(s scanner) error {
		var id int64
		var k deliveryKey
		var next sql.NullInt64
		if err := s.Scan(&id, &k.webhookID, &k.seq, &next); err != nil {
			return err
		}
		r, ok := reserved[k]
		if !ok {
			return nil
		}
		delete(reserved, k)
		if !next.Valid {
			waiting = append(waiting, id)
			h.waits = true
			h.taker.Unreserve(k.webhookID, 1)
			return nil
		}
		ev := events[r.ev]
		if ev == nil {
			ev = claimEvent(r.ev)
			events[r.ev] = ev
		}
		h.claims = append(h.claims, &herald.Claim{DeliveryID: id, Event: ev, Webhook: r.hook, LeaseUntil: h.lease.LeaseUntil, Taken: true})
		return nil
	}
	// Rows of fresh events never wait (deliveryRows), so nothing else in
	// the transaction depends on what comes back: the rows may be read as
	// COMMIT goes out with them. A row not read back then stays leased
	// until its lease ends, and is claimed again.
	fresh := !slices.ContainsFunc(sets, func(s deliveryRows) bool { return !s.fresh })
	// What was not written (a conflict) or not read back is not taken.
	h.unread = append(h.unread, reserved)
	queue := tx.later
	if fresh {
		queue = tx.laterSettled
	}
	if err := tx.queueDeliveries(ctx, queue, sets, deliveryConflict+" RETURNING id, webhook_id, event_seq, next_attempt_at", read); err != nil {
		return err
	}
	if fresh {
		return nil
	}
	if err := tx.flush(ctx); err != nil || len(waiting) == 0 {
		return err
	}
	b := &sqlbuild.Builder{D: tx.d}
	if err := tx.later(ctx, nil, `UPDATE deliveries SET lease_owner = NULL, lease_until = NULL WHERE id IN (`+sqlbuild.BindList(b, waiting)+`)`, b.Args...); err != nil {
		return fmt.Errorf("unlease waiting deliveries: %w", err)
	}
	return nil
}

// claimEvent is ev as a claim reads it back from the store, so that the
// first attempt sends the same bytes as a retry: the store keeps the
// timestamp to the millisecond.
func claimEvent(ev *herald.Event) *herald.Event {
	c := *ev
	c.Timestamp = fromMS(ms(ev.Timestamp))
	return &c
}
