package sqlstore

import (
	"database/sql"
	"slices"
	"strings"
	"time"

	"github.com/heraldhq/herald"
)

// newDelivery is a deliveries row as a fan-out writes it.
type newDelivery struct {
	workspaceID, webhookID string
	eventSeq               int64
	orderKey               string
	status                 string
	// next is when it is due: now for a pending delivery that may go,
	// none for one that waits behind an earlier delivery of its record,
	// or for a skipped one.
	next sql.NullInt64
	// owner and leaseUntil are set when it is leased as it is written.
	owner      sql.NullString
	leaseUntil sql.NullInt64
	createdAt  int64
	completed  sql.NullInt64
	// fresh: its event is Fresh, so no earlier delivery of its record can
	// be pending (next stands as it is).
	fresh bool
}

// newDeliveryOf is the delivery of ev to a webhook: pending and due at
// once when the webhook is active, skipped otherwise; with a claim,
// leased at once.
func newDeliveryOf(ev *herald.Event, webhookID string, active bool, claim *herald.ClaimRequest, now time.Time) newDelivery {
	d := newDelivery{workspaceID: ev.WorkspaceID, webhookID: webhookID, eventSeq: ev.Seq, orderKey: ev.OrderKey(), createdAt: ms(now), fresh: ev.Fresh}
	if active {
		d.status, d.next = herald.DeliveryPending, sql.NullInt64{Int64: ms(now), Valid: true}
	} else {
		d.status, d.completed = herald.DeliverySkipped, sql.NullInt64{Int64: ms(now), Valid: true}
	}
	if claim != nil {
		d.owner = sql.NullString{String: claim.Owner, Valid: true}
		d.leaseUntil = sql.NullInt64{Int64: ms(claim.LeaseUntil), Valid: true}
	}
	return d
}

// args are d's values in deliveryInsert's order.
func (d newDelivery) args() []any {
	return []any{d.workspaceID, d.webhookID, d.eventSeq, d.orderKey, d.status, d.next, d.owner, d.leaseUntil, d.createdAt, d.createdAt, d.completed}
}

// waitingArgs are d's values for waitingTuple, which schedules it only
// when no delivery of its record to its webhook is pending already.
func (d newDelivery) waitingArgs() []any {
	return []any{d.workspaceID, d.webhookID, d.eventSeq, d.orderKey, d.status,
		d.webhookID, d.orderKey, d.next,
		d.owner, d.leaseUntil, d.createdAt, d.createdAt, d.completed}
}

// fanOutPlan is what a fan-out writes: the deliveries, webhook by
// webhook, and which of them are leased to the taker.
type fanOutPlan struct {
	rows     []newDelivery
	reserved map[deliveryKey]reservation
	// due is set when some pending delivery is not leased: another
	// process (or a later claim) must hear of it. waits is set when some
	// delivery not leased may wait behind a pending one of its record:
	// one earlier in the batch, or (for a record not created here) one
	// in the store. Of the leased ones, the insert tells which wait.
	due, waits bool
	// filtered counts, by webhook, the events its Fields and Condition
	// left out.
	filtered map[string]int
}

// fanOut decides the deliveries of events: one per webhook of the event's
// workspace whose operations match its name (routes, by workspace) and
// whose fields and condition it passes (the others are counted).
// A disabled webhook's is skipped, so the log shows what it missed. Of
// the deliveries of one record to one webhook in the batch, the first
// may go and the later ones wait behind it. A delivery that may go is
// leased to the taker when reserve says it has room in the webhook's
// lane (lease is the claim it is leased under), unless the webhook is
// throttled: its turns are handed out by claims alone.
//
// Rows come webhook by webhook, each in event order: a statement of many
// rows then changes a few neighbouring pages of each index, not a page
// per webhook, and SQLite copies each page it changes into the
// statement's journal first. Fanning 2,000 events out to 100 webhooks
// spent 17% of its CPU on those copies, event by event.
func fanOut(events []*herald.Event, routes map[string][]hookRoute, reserve func(webhookID string) bool, lease *herald.ClaimRequest, now time.Time) fanOutPlan {
	var p fanOutPlan
	n := 0
	for _, ev := range events {
		n += len(routes[ev.WorkspaceID])
	}
	p.rows = make([]newDelivery, 0, n)  // at most one a webhook an event
	goes := make(map[[2]string]bool, n) // (webhook, order key) with a delivery that may go
	for _, ev := range events {
		for _, h := range routes[ev.WorkspaceID] {
			if !herald.MatchOperations(h.operations, ev.Name) || ev.About(h.ID) {
				continue
			}
			if !h.passes(ev) {
				if p.filtered == nil {
					p.filtered = map[string]int{}
				}
				p.filtered[h.ID]++
				continue
			}
			active := h.Status == herald.WebhookActive
			key := [2]string{h.ID, ev.OrderKey()}
			waits := active && goes[key]
			var claim *herald.ClaimRequest
			if active && !waits {
				goes[key] = true
				if h.ThrottleRate == 0 && reserve(h.ID) {
					claim = lease
					if p.reserved == nil {
						p.reserved = map[deliveryKey]reservation{}
					}
					p.reserved[deliveryKey{h.ID, ev.Seq}] = reservation{hook: h.Webhook, ev: ev}
				} else {
					p.due = true
				}
			}
			d := newDeliveryOf(ev, h.ID, active, claim, now)
			if waits {
				d.next = sql.NullInt64{}
			}
			if active && claim == nil && (waits || !ev.Fresh) {
				p.waits = true
			}
			p.rows = append(p.rows, d)
		}
	}
	slices.SortStableFunc(p.rows, func(a, b newDelivery) int { return strings.Compare(a.webhookID, b.webhookID) })
	return p
}
