package sqlstore_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
	"time"

	"github.com/heraldhq/herald"
	"github.com/heraldhq/herald/store/postgres"
	"github.com/heraldhq/herald/store/postgres/pgtest"
	"github.com/heraldhq/herald/store/sqlite"
	"github.com/heraldhq/herald/store/sqlstore"
	"github.com/heraldhq/herald/store/storetest"
)

// engines opens an empty store on each engine, with a plain connection
// to its database for what the store would never do.
var engines = map[string]func(t *testing.T) (*sqlstore.DB, *sql.DB){
	"sqlite": func(t *testing.T) (*sqlstore.DB, *sql.DB) {
		path := filepath.Join(t.TempDir(), "herald.db")
		s, err := sqlite.Open(context.Background(), path)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s.DB, rawDB(t, "sqlite", path)
	},
	"postgres": func(t *testing.T) (*sqlstore.DB, *sql.DB) {
		url := pgtest.NewDatabase(t)
		s, err := postgres.Open(context.Background(), url)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s.DB, rawDB(t, "pgx", url)
	},
}

func rawDB(t *testing.T, driver, dsn string) *sql.DB {
	t.Helper()
	db, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// TestRecoverSchedulesOrphans: a delivery left waiting with nothing
// pending before it (which completions never leave, but which would
// otherwise never go) is scheduled when the engine starts; one that
// waits behind it keeps waiting.
func TestRecoverSchedulesOrphans(t *testing.T) {
	for name, open := range engines {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			s, raw := open(t)
			hook := storetest.Seed(t, s, 3)
			exec := func(q string) {
				t.Helper()
				if _, err := raw.ExecContext(ctx, q); err != nil {
					t.Fatalf("%s: %v", q, err)
				}
			}
			// Three deliveries of one record; the head is gone without
			// having scheduled the next.
			exec(`UPDATE deliveries SET order_key = 'person:one'`)
			exec(`UPDATE deliveries SET next_attempt_at = NULL WHERE event_seq > (SELECT min(event_seq) FROM deliveries)`)
			exec(`UPDATE deliveries SET status = 'delivered', next_attempt_at = NULL WHERE event_seq = (SELECT min(event_seq) FROM deliveries)`)
			lane := herald.Lane{WebhookID: hook, Limit: 10}
			claim := func() []*herald.Claim {
				t.Helper()
				now := time.Now()
				cs, err := s.ClaimDeliveries(ctx, herald.ClaimRequest{Owner: "o", Now: now, LeaseUntil: now.Add(time.Minute), Lanes: []herald.Lane{lane}})
				if err != nil {
					t.Fatal(err)
				}
				return cs
			}
			if cs := claim(); len(cs) != 0 {
				t.Fatalf("claimed %d before recovery", len(cs))
			}
			if _, err := s.RecoverClaims(ctx, time.Now()); err != nil {
				t.Fatal(err)
			}
			cs := claim()
			if len(cs) != 1 {
				t.Fatalf("claimed %d after recovery, want the earliest waiting one", len(cs))
			}
			var minSeq int64
			if err := raw.QueryRowContext(ctx, `SELECT min(event_seq) FROM deliveries WHERE status = 'pending'`).Scan(&minSeq); err != nil {
				t.Fatal(err)
			}
			if cs[0].Event.Seq != minSeq {
				t.Fatalf("recovery scheduled event %d, want %d", cs[0].Event.Seq, minSeq)
			}
		})
	}
}
