package postgres_test

import (
	"context"
	"database/sql"
	"fmt"
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
