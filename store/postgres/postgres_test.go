package postgres_test

import (
	"context"
	"database/sql"
	"fmt"
	neturl "net/url"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/heraldhq/herald"
	"github.com/heraldhq/herald/store/postgres"
	"github.com/heraldhq/herald/store/postgres/pgtest"
	"github.com/heraldhq/herald/store/sqlite"
	"github.com/heraldhq/herald/store/storetest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

func TestStore(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T) herald.Store {
		db, err := postgres.Open(context.Background(), pgtest.NewDatabase(t))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	})
}

// TestConcurrentClaimsAreDisjoint: four stores (as four processes would)
// claim from one database at once; each delivery goes to exactly one.
func TestConcurrentClaimsAreDisjoint(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := pgtest.NewDatabase(t)
	var stores []*postgres.DB
	for i := 0; i < 4; i++ {
		db, err := postgres.Open(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		stores = append(stores, db)
	}
	hookID := storetest.Seed(t, stores[0], 400)

	var mu sync.Mutex
	owners := map[int64]string{}
	var wg sync.WaitGroup
	for i, s := range stores {
		wg.Add(1)
		go func() {
			defer wg.Done()
			owner := fmt.Sprintf("p%d", i)
			for round := 0; round < 1000; round++ { // bounded
				now := time.Now()
				cs, err := s.ClaimDeliveries(ctx, herald.ClaimRequest{Owner: owner, Now: now, LeaseUntil: now.Add(time.Minute),
					Lanes: []herald.Lane{{WebhookID: hookID, Limit: 7}}})
				if err != nil {
					t.Error(err)
					return
				}
				if len(cs) == 0 {
					return
				}
				mu.Lock()
				for _, c := range cs {
					if prev, ok := owners[c.DeliveryID]; ok {
						t.Errorf("delivery %d claimed by %s and %s", c.DeliveryID, prev, owner)
					}
					owners[c.DeliveryID] = owner
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(owners) != 400 {
		t.Fatalf("%d deliveries claimed, want 400", len(owners))
	}
}

// TestSchemaMatchesSQLite: the two migration sets define the same tables,
// columns and indexes.
func TestSchemaMatchesSQLite(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := pgtest.NewDatabase(t)
	pdb, err := postgres.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	pdb.Close()
	path := filepath.Join(t.TempDir(), "herald.db")
	ldb, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	ldb.Close()

	pg, err := sql.Open("pgx", url)
	if err != nil {
		t.Fatal(err)
	}
	defer pg.Close()
	want := schema(t, pg, `SELECT 'column ' || table_name || '.' || column_name FROM information_schema.columns
		WHERE table_schema = 'public' AND table_name <> 'goose_db_version'
		UNION ALL SELECT 'index ' || indexname FROM pg_indexes
		WHERE schemaname = 'public' AND indexname NOT LIKE '%_pkey' AND indexname NOT LIKE '%_key'`)
	lite, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer lite.Close()
	got := schema(t, lite, `SELECT 'column ' || m.name || '.' || c.name FROM sqlite_master m, pragma_table_info(m.name) c
		WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND m.name <> 'goose_db_version'
		UNION ALL SELECT 'index ' || name FROM sqlite_master WHERE type = 'index' AND name NOT LIKE 'sqlite_autoindex%'`)
	if !slices.Equal(got, want) {
		t.Fatalf("schemas differ:\nSQLite:     %v\nPostgreSQL: %v", got, want)
	}
	if len(got) < 60 {
		t.Fatalf("only %d schema items compared", len(got))
	}
}

func schema(t *testing.T, db *sql.DB, query string) []string {
	t.Helper()
	rows, err := db.Query(query)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	slices.Sort(out)
	return out
}

// TestConnectTurnsJITOff: Herald's sessions run without JIT compilation
// unless the database URL asks for it.
func TestConnectTurnsJITOff(t *testing.T) {
	t.Parallel()
	u, err := neturl.Parse(pgtest.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	withJIT := *u
	q := withJIT.Query()
	q.Set("jit", "on")
	withJIT.RawQuery = q.Encode()
	for url, want := range map[string]string{u.String(): "off", withJIT.String(): "on"} {
		db, err := postgres.Connect(url)
		if err != nil {
			t.Fatal(err)
		}
		var got string
		err = db.QueryRow("SHOW jit").Scan(&got)
		db.Close()
		if err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("%s: jit = %s, want %s", url, got, want)
		}
	}
}

// TestExtendLeasesDuringCompletions: extending a process's leases while
// it completes batches of them (each batch one transaction, in any order)
// neither fails nor waits on a deadlock.
func TestExtendLeasesDuringCompletions(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, err := postgres.Open(ctx, pgtest.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	const n = 600
	hookID := storetest.Seed(t, db, n)
	now := time.Now()
	cs, err := db.ClaimDeliveries(ctx, herald.ClaimRequest{Owner: "p", Now: now, LeaseUntil: now.Add(time.Minute),
		Lanes: []herald.Lane{{WebhookID: hookID, Limit: n}}})
	if err != nil || len(cs) != n {
		t.Fatalf("claimed %d of %d: %v", len(cs), n, err)
	}
	ids := make([]int64, len(cs))
	for i, c := range cs {
		ids[i] = c.DeliveryID
	}
	// Completions go from the highest id down, against the order in which
	// an extension would meet the rows.
	slices.Reverse(cs)
	done := make(chan error, 1)
	go func() {
		for batch := range slices.Chunk(cs, 20) {
			outcomes := make([]herald.Outcome, len(batch))
			for i, c := range batch {
				outcomes[i] = herald.Outcome{DeliveryID: c.DeliveryID, WebhookID: hookID, Owner: "p", Status: herald.DeliveryDelivered,
					Attempt: herald.Attempt{Number: 1, StartedAt: time.Now(), StatusCode: 200}}
			}
			if err := db.CompleteDeliveries(ctx, outcomes); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	for extended := 0; ; extended++ {
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%d extensions while completing", extended)
			return
		default:
		}
		if _, err := db.ExtendLeases(ctx, "p", ids, time.Now().Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
	}
}
