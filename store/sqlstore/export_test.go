package sqlstore

import (
	"context"
	"time"

	"github.com/heraldhq/herald"
	"github.com/heraldhq/herald/store/sqlbuild"
)

// ClaimSQL is the claim's statement as the engine receives it, for tests
// that read its plan.
func ClaimSQL(db *DB, req herald.ClaimRequest) (string, []any) {
	q, args := db.claimSQL(req)
	return db.d.Rebind(q), args
}

// DeliveryLogSQL is the statement of a page of a webhook's deliveries,
// of events before the event seq before when it is set.
func DeliveryLogSQL(db *DB, q herald.DeliveryQuery, before int64) (string, []any) {
	query, args := deliveryLogSQL(db.d, q, before)
	return db.d.Rebind(query), args
}

// CompletionSQL is the statement that records outcomes, as the engine
// receives it.
func CompletionSQL(db *DB, outcomes []herald.Outcome, now time.Time) (string, []any, error) {
	q, args, err := completionSQL(db.d, outcomes, now)
	return db.d.Rebind(q), args, err
}

// DueWebhooksSQL is DueWebhooks' statement as the engine receives it.
func DueWebhooksSQL(db *DB) string { return db.d.Rebind(dueWebhooksSQL) }

// PruneEventsSQL is the statement retention deletes old events with.
func PruneEventsSQL(db *DB) string { return db.d.Rebind(pruneEventsSQL(db.d)) }

// WaitingHeadsSQL is the statement a completion finds the deliveries
// waiting behind ids with.
func WaitingHeadsSQL(db *DB, ids []int64) (string, []any) {
	b := &sqlbuild.Builder{D: db.d}
	q := waitingHeadsSQL(b, ids)
	return db.d.Rebind(q), b.Args
}

// GroupBusy is how many groups of creations are committing now plus how
// many requests wait for one.
func GroupBusy(db *DB) int {
	db.group.mu.Lock()
	defer db.group.mu.Unlock()
	return db.group.leading + len(db.group.queue)
}

// SetGroupLeaders lets tests change Options.GroupLeaders of an engine's
// store after it opened.
func SetGroupLeaders(db *DB, n int) { db.group = &group{leaders: n} }

// SetGroupLinger lets tests change Options.GroupLinger of an engine's
// store after it opened.
func SetGroupLinger(db *DB, d time.Duration) {
	db.group = &group{leaders: db.group.leaders, linger: d, more: make(chan struct{}, 1)}
}

// GroupsFormed is how many groups of requests the store has committed,
// and how many of their leaders lingered.
func GroupsFormed(db *DB) (formed, lingered int64) {
	return db.group.formed.Load(), db.group.lingered.Load()
}

// DeliveriesSQL is the statement that writes pending deliveries of the
// events seqs to webhookID, as the engine receives it: of fresh events, or
// of others, which look for a delivery of their record to wait behind.
func DeliveriesSQL(db *DB, workspaceID, webhookID string, seqs []int64, fresh bool) (string, []any, error) {
	ds := make([]newDelivery, len(seqs))
	for i, seq := range seqs {
		ds[i] = newDelivery{workspaceID: workspaceID, webhookID: webhookID, eventSeq: seq, orderKey: "plan", status: herald.DeliveryPending, createdAt: 1, fresh: fresh}
	}
	var query string
	var args []any
	capture := func(_ context.Context, _ func(scanner) error, q string, a ...any) error {
		query, args = q, a
		return nil
	}
	s := db.write.deliveryRows(ds)[0]
	err := db.write.queueInsert(context.Background(), capture, "deliveries", deliveryInsert, s.sel, s.tuple, s.rows, deliveryConflict, nil)
	return db.d.Rebind(query), args, err
}
