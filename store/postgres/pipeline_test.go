package postgres_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/heraldhq/herald"
	"github.com/heraldhq/herald/record"
)

// TestFailedPipelinesRollBack makes statements fail on the server (a
// trigger that raises) where they go out with COMMIT in a pipeline: a
// completion's health update, a creation's deliveries. Nothing of the
// failed transaction may stay, no connection may be left inside it, and
// the same writes go through once the fault is gone.
func TestFailedPipelinesRollBack(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newSeeded(t, 3)
	db, run, count, wsID := s.db, s.a.run, s.a.count, s.wsID
	leftInTransaction := func() {
		t.Helper()
		if n := count(`SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND state LIKE 'idle in transaction%'`); n > 0 {
			t.Fatalf("%d connections left inside a transaction", n)
		}
	}
	wantInjected := func(what string, err error) {
		t.Helper()
		if err == nil || !strings.Contains(err.Error(), "injected failure") {
			t.Fatalf("%s with a failing statement: %v, want the statement's error", what, err)
		}
	}
	run(`CREATE FUNCTION injected_failure() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'injected failure'; END $$`)

	// A completion: its attempts go out with the look-up of what waits,
	// its webhook's health with COMMIT.
	outcomes := s.delivered(t, 3)
	run(`CREATE TRIGGER fail BEFORE UPDATE ON webhooks FOR EACH ROW EXECUTE FUNCTION injected_failure()`)
	wantInjected("a completion", db.CompleteDeliveries(ctx, outcomes))
	if n := count(`SELECT count(*) FROM attempts`); n != 0 {
		t.Fatalf("a failed completion left %d attempts", n)
	}
	if n := count(`SELECT count(*) FROM deliveries WHERE status = 'pending' AND lease_owner = 'p' AND attempts = 0`); n != 3 {
		t.Fatalf("a failed completion changed its deliveries: %d of 3 still leased and untried", n)
	}
	leftInTransaction()
	run(`DROP TRIGGER fail ON webhooks`)
	if err := db.CompleteDeliveries(ctx, outcomes); err != nil {
		t.Fatalf("the completion once the fault is gone: %v", err)
	}
	if n := count(`SELECT count(*) FROM deliveries WHERE status = 'delivered'`); n != 3 {
		t.Fatalf("%d of 3 deliveries delivered", n)
	}

	// A creation: its records and events go out with BEGIN and the
	// webhook routes, its deliveries with COMMIT.
	person := herald.StandardObjects()[0]
	in, err := record.ParseInput(person, json.RawMessage(`{"name":{"firstName":"P"}}`), true)
	if err != nil {
		t.Fatal(err)
	}
	create := func() error {
		r, ev := record.New(person, wsID, "actor", &record.Input{Values: in.Values, Order: in.Order}, time.Now())
		return db.CreateRecords(ctx, []*herald.Record{r}, []*herald.Event{ev})
	}
	records, events := count(`SELECT count(*) FROM records`), count(`SELECT count(*) FROM events`)
	run(`CREATE TRIGGER fail BEFORE INSERT ON deliveries FOR EACH ROW EXECUTE FUNCTION injected_failure()`)
	wantInjected("a creation", create())
	if r, e := count(`SELECT count(*) FROM records`), count(`SELECT count(*) FROM events`); r != records || e != events {
		t.Fatalf("a failed creation left %d records and %d events", r-records, e-events)
	}
	leftInTransaction()
	run(`DROP TRIGGER fail ON deliveries`)
	if err := create(); err != nil {
		t.Fatalf("a creation once the fault is gone: %v", err)
	}
	if n := count(`SELECT count(*) FROM deliveries`); n != 4 {
		t.Fatalf("%d deliveries, want 4", n)
	}
}
