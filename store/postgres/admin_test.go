package postgres_test

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"github.com/heraldhq/herald"
	"github.com/heraldhq/herald/store/postgres"
	"github.com/heraldhq/herald/store/postgres/pgtest"
	"github.com/heraldhq/herald/store/storetest"
)

// admin is a connection of the test's own to a store's database, for
// faults and checks the store does not offer.
type admin struct {
	t  *testing.T
	db *sql.DB
}

func newAdmin(t *testing.T, url string) *admin {
	db, err := sql.Open("pgx", url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return &admin{t, db}
}

func (a *admin) run(q string, args ...any) {
	a.t.Helper()
	if _, err := a.db.Exec(q, args...); err != nil {
		a.t.Fatalf("%s: %v", q, err)
	}
}

func (a *admin) count(q string, args ...any) int {
	a.t.Helper()
	var n int
	if err := a.db.QueryRow(q, args...).Scan(&n); err != nil {
		a.t.Fatalf("%s: %v", q, err)
	}
	return n
}

// seeded is a store on a fresh database with n deliveries queued for one
// webhook (storetest.Seed), and an admin connection to it.
type seeded struct {
	db           *postgres.DB
	a            *admin
	hookID, wsID string
}

// openWithAdmin opens a store on a fresh database, and an admin
// connection to it; it returns the database's URL too.
func openWithAdmin(t *testing.T) (*postgres.DB, *admin, string) {
	t.Helper()
	url := pgtest.NewDatabase(t)
	db, err := postgres.Open(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db, newAdmin(t, url), url
}

func newSeeded(t *testing.T, n int) *seeded {
	t.Helper()
	db, a, _ := openWithAdmin(t)
	s := &seeded{db: db, a: a, hookID: storetest.Seed(t, db, n)}
	if err := s.a.db.QueryRow(`SELECT workspace_id FROM webhooks WHERE id = $1`, s.hookID).Scan(&s.wsID); err != nil {
		t.Fatal(err)
	}
	return s
}

// delivered claims n of the webhook's deliveries for owner "p" and
// returns outcomes that say they were delivered.
func (s *seeded) delivered(t *testing.T, n int) []herald.Outcome {
	t.Helper()
	now := time.Now()
	cs, err := s.db.ClaimDeliveries(context.Background(), herald.ClaimRequest{Owner: "p", Now: now, LeaseUntil: now.Add(time.Minute),
		Lanes: []herald.Lane{{WebhookID: s.hookID, Limit: n}}})
	if err != nil || len(cs) != n {
		t.Fatalf("claimed %d of %d: %v", len(cs), n, err)
	}
	outcomes := make([]herald.Outcome, n)
	for i, c := range cs {
		outcomes[i] = herald.Outcome{DeliveryID: c.DeliveryID, WebhookID: s.hookID, Owner: "p", Status: herald.DeliveryDelivered,
			Attempt: herald.Attempt{Number: 1, StartedAt: now, StatusCode: 200}}
	}
	return outcomes
}
