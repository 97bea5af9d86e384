package postgres_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/heraldhq/herald"
	"github.com/heraldhq/herald/record"
)

// orphans counts deliveries and attempts whose webhook or delivery is
// gone: what the foreign keys that PostgreSQL no longer checks kept out.
func (a *admin) orphans() int {
	a.t.Helper()
	return a.count(`SELECT (SELECT count(*) FROM deliveries d WHERE NOT EXISTS (SELECT 1 FROM webhooks w WHERE w.id = d.webhook_id))
		+ (SELECT count(*) FROM deliveries d WHERE NOT EXISTS (SELECT 1 FROM events e WHERE e.seq = d.event_seq))
		+ (SELECT count(*) FROM attempts a WHERE NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.id = a.delivery_id))`)
}

// TestDeletesLeaveNoOrphans: without foreign keys on deliveries and
// attempts, deleting a webhook, pruning and replaying must still leave
// no row pointing at one that is gone, also when they meet a creation or
// a replay in flight.
func TestDeletesLeaveNoOrphans(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newSeeded(t, 4)
	db, a, hookID, wsID := s.db, s.a, s.hookID, s.wsID
	if err := db.CompleteDeliveries(ctx, s.delivered(t, 3)); err != nil {
		t.Fatal(err)
	}

	// Pruning takes the attempts of the deliveries it deletes.
	if n, err := db.PruneDeliveries(ctx, time.Now().Add(time.Second), 2); err != nil || n != 4 {
		t.Fatalf("pruned %d rows, want 2 deliveries and their events: %v", n, err)
	}
	if n := a.count(`SELECT count(*) FROM attempts`); n != 1 {
		t.Fatalf("%d attempts after pruning, want the one of the delivery left", n)
	}
	if n := a.orphans(); n != 0 {
		t.Fatalf("pruning left %d orphans", n)
	}

	// Retention skips an event that a replay holds while it adds its
	// delivery, rather than delete it from under the new row (or wait).
	a.run(`DELETE FROM deliveries`)
	a.run(`DELETE FROM attempts`)
	replay, err := a.db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	var held int64
	if err := replay.QueryRow(`SELECT seq FROM events ORDER BY seq LIMIT 1 FOR KEY SHARE`).Scan(&held); err != nil {
		t.Fatal(err)
	}
	pctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	n, err := db.PruneDeliveries(pctx, time.Now().Add(time.Second), 100)
	cancel()
	if err != nil || n != 1 {
		t.Fatalf("pruned %d events, want the one of two that no replay holds: %v", n, err)
	}
	if _, err := replay.Exec(`INSERT INTO deliveries (workspace_id, webhook_id, event_seq, order_key, status, created_at, updated_at)
		VALUES ($1, $2, $3, 'k', 'pending', 0, 0)`, wsID, hookID, held); err != nil {
		t.Fatal(err)
	}
	if err := replay.Commit(); err != nil {
		t.Fatal(err)
	}
	if n := a.orphans(); n != 0 {
		t.Fatalf("retention left %d orphans", n)
	}

	// A webhook deleted while a creation inserts its deliveries waits for
	// the creation, then takes those deliveries with it. The creation
	// sleeps in its delivery insert, after it read the webhooks, until
	// the delete is under way.
	a.run(`CREATE FUNCTION slow_insert() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_sleep(1); RETURN NEW; END $$`)
	a.run(`CREATE TRIGGER slow BEFORE INSERT ON deliveries FOR EACH ROW EXECUTE FUNCTION slow_insert()`)
	person := herald.StandardObjects()[0]
	in, err := record.ParseInput(person, json.RawMessage(`{"name":{"firstName":"P"}}`), true)
	if err != nil {
		t.Fatal(err)
	}
	r, ev := record.New(person, wsID, "actor", &record.Input{Values: in.Values, Order: in.Order}, time.Now())
	created := make(chan error, 1)
	go func() { created <- db.CreateRecords(ctx, []*herald.Record{r}, []*herald.Event{ev}) }()
	for deadline := time.Now().Add(30 * time.Second); a.count(`SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event = 'PgSleep'`) == 0; {
		if time.Now().After(deadline) {
			t.Fatal("the creation never reached its delivery insert")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := db.DeleteWebhook(ctx, wsID, hookID); err != nil {
		t.Fatal(err)
	}
	if err := <-created; err != nil {
		t.Fatalf("the creation beside the delete: %v", err)
	}
	a.run(`DROP TRIGGER slow ON deliveries`)
	if n := a.count(`SELECT count(*) FROM deliveries`); n != 0 {
		t.Fatalf("%d deliveries left after their webhook was deleted", n)
	}
	if n := a.orphans(); n != 0 {
		t.Fatalf("deleting the webhook left %d orphans", n)
	}
}
