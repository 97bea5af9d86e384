package postgres_test

import (
	"context"
	"database/sql"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/heraldhq/herald/store/postgres"
	"github.com/heraldhq/herald/store/storetest"
)

// deliveryStats reads what PostgreSQL counts for the deliveries table.
func deliveryStats(t *testing.T, db *sql.DB) (dead, vacuums int64) {
	t.Helper()
	err := db.QueryRow(`SELECT n_dead_tup, vacuum_count FROM pg_stat_user_tables WHERE relname = 'deliveries'`).Scan(&dead, &vacuums)
	if err != nil {
		t.Fatal(err)
	}
	return dead, vacuums
}

// openVacuumed opens a store on a new database and a second pool on it
// for the test's own statements. Autovacuum is off for deliveries, so that
// only Herald's vacuum can clear its dead rows.
func openVacuumed(t *testing.T) (*postgres.DB, *sql.DB, string) {
	t.Helper()
	db, a, dbURL := openWithAdmin(t)
	a.run(`ALTER TABLE deliveries SET (autovacuum_enabled = false)`)
	return db, a.db, dbURL
}

// TestHeraldVacuumsDeadDeliveries: once the deliveries table holds more
// dead rows than the threshold, the store vacuums it on its own, without
// waiting for autovacuum (turned off for the table here, so that only
// Herald's vacuum can clear them).
func TestHeraldVacuumsDeadDeliveries(t *testing.T) {
	t.Parallel()
	db, admin, _ := openVacuumed(t)
	if err := db.Vacuuming(); err != nil {
		t.Fatalf("the owner of the tables does not vacuum: %v", err)
	}
	storetest.Seed(t, db, 400)
	// 50 rounds over 400 rows: 20,000 dead versions, of which pruning
	// clears some as it goes (10,557 were left of 12,000 in one run),
	// well past the 10,000 (plus 5% of the live rows) a vacuum waits for.
	// One transaction, so that they all die at its commit: a vacuum that
	// started between rounds left the later rounds' rows dead, and the
	// test failed under load ("vacuumed, yet 400 dead rows remain").
	tx, err := admin.Begin()
	if err != nil {
		t.Fatal(err)
	}
	for range 50 {
		if _, err := tx.Exec(`UPDATE deliveries SET updated_at = updated_at + 1`); err != nil {
			t.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		dead, vacuums := deliveryStats(t, admin)
		if vacuums > 0 {
			if dead >= 400 {
				t.Errorf("vacuumed, yet %d dead rows remain", dead)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no vacuum within 30 s; %d dead rows", dead)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestVacuumWaitsForThreshold: below the threshold the store does not
// vacuum; at it, it does, and the dead rows are gone.
func TestVacuumWaitsForThreshold(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, admin, _ := openVacuumed(t)
	storetest.Seed(t, db, 100)
	if _, err := admin.Exec(`UPDATE deliveries SET updated_at = updated_at + 1`); err != nil {
		t.Fatal(err)
	}
	// Backends report their counts within a second or so, the live rows'
	// too, which the threshold below scales with: read before they were
	// reported (0 live), it vacuumed under load.
	var dead, live int64
	for deadline := time.Now().Add(30 * time.Second); dead < 100 || live < 100; {
		if time.Now().After(deadline) {
			t.Fatalf("PostgreSQL counts %d dead and %d live deliveries, want 100 of each", dead, live)
		}
		time.Sleep(50 * time.Millisecond)
		dead, _ = deliveryStats(t, admin)
		if err := admin.QueryRow(`SELECT n_live_tup FROM pg_stat_user_tables WHERE relname = 'deliveries'`).Scan(&live); err != nil {
			t.Fatal(err)
		}
	}

	if did, err := postgres.VacuumIfDead(ctx, db, 101, 0); err != nil || did {
		t.Fatalf("100 dead rows, threshold 101: vacuumed %v, %v", did, err)
	}
	// 1% of 100 live rows raises a threshold of 100 past the dead count.
	if did, err := postgres.VacuumIfDead(ctx, db, 100, 0.01); err != nil || did {
		t.Fatalf("100 dead rows, threshold 100 + 1%% of 100 live: vacuumed %v, %v", did, err)
	}
	if _, vacuums := deliveryStats(t, admin); vacuums != 0 {
		t.Fatalf("%d vacuums below the threshold", vacuums)
	}
	if did, err := postgres.VacuumIfDead(ctx, db, 100, 0); err != nil || !did {
		t.Fatalf("100 dead rows, threshold 100: vacuumed %v, %v", did, err)
	}
	if dead, vacuums := deliveryStats(t, admin); vacuums != 1 || dead != 0 {
		t.Fatalf("after the vacuum: %d vacuums, %d dead rows; want 1 and 0", vacuums, dead)
	}
}

// TestVacuumingNeedsOwnership: a role that may use the tables but owns
// neither them nor the database cannot vacuum; the store says so and
// leaves the table to autovacuum.
func TestVacuumingNeedsOwnership(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	// The admin pool is closed after the role is dropped: cleanups run
	// last-in, first-out.
	_, admin, dbURL := openVacuumed(t)
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	role := "herald_user_" + strings.TrimPrefix(u.Path, "/herald_test_")
	if _, err := admin.Exec(`CREATE ROLE ` + role + ` LOGIN`); err != nil {
		t.Skipf("cannot create a role on this server: %v", err)
	}
	t.Cleanup(func() {
		_, _ = admin.Exec(`DROP OWNED BY ` + role)
		_, _ = admin.Exec(`DROP ROLE ` + role)
	})
	for _, grant := range []string{
		`GRANT ALL ON ALL TABLES IN SCHEMA public TO ` + role,
		`GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO ` + role,
	} {
		if _, err := admin.Exec(grant); err != nil {
			t.Fatal(err)
		}
	}
	u.User = url.User(role)
	db, err := postgres.Open(ctx, u.String())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Vacuuming(); err == nil || !strings.Contains(err.Error(), "autovacuum") {
		t.Fatalf("Vacuuming() = %v, want why Herald leaves the table to autovacuum", err)
	}
}

// TestAnalyzeWaitsForThreshold: the store analyzes deliveries once enough
// of its rows changed since the last pass, not before, so that the plans
// its connections keep follow the table as it grows.
func TestAnalyzeWaitsForThreshold(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, admin, _ := openVacuumed(t)
	if _, err := admin.Exec(`ALTER TABLE deliveries SET (autovacuum_enabled = false)`); err != nil {
		t.Fatal(err)
	}
	storetest.Seed(t, db, 100)
	var changed, analyses int64
	stats := func() {
		t.Helper()
		if err := admin.QueryRow(`SELECT n_mod_since_analyze, analyze_count FROM pg_stat_user_tables WHERE relname = 'deliveries'`).Scan(&changed, &analyses); err != nil {
			t.Fatal(err)
		}
	}
	// Backends report their counts at most 10 s after they go idle.
	for deadline := time.Now().Add(30 * time.Second); changed < 100; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("PostgreSQL counts %d changed deliveries, want 100", changed)
		}
		stats()
	}
	if did, err := postgres.AnalyzeIfChanged(ctx, db, 101, 0); err != nil || did {
		t.Fatalf("100 changed rows, threshold 101: analyzed %v, %v", did, err)
	}
	if did, err := postgres.AnalyzeIfChanged(ctx, db, 100, 0.01); err != nil || did {
		t.Fatalf("100 changed rows, threshold 100 + 1%% of the live ones: analyzed %v, %v", did, err)
	}
	if stats(); analyses != 0 {
		t.Fatalf("%d analyses below the threshold", analyses)
	}
	if did, err := postgres.AnalyzeIfChanged(ctx, db, 100, 0); err != nil || !did {
		t.Fatalf("100 changed rows, threshold 100: analyzed %v, %v", did, err)
	}
	if stats(); analyses != 1 || changed != 0 {
		t.Fatalf("after the pass: %d analyses, %d rows changed since; want 1 and 0", analyses, changed)
	}
	// The pass samples a little (statistics target 10): the 100 distinct
	// ids make a histogram of 11 bounds, where the default target would
	// keep all 100.
	var bounds int
	if err := admin.QueryRow(`SELECT array_length(histogram_bounds::text::bigint[], 1) FROM pg_stats
		WHERE tablename = 'deliveries' AND attname = 'id'`).Scan(&bounds); err != nil {
		t.Fatal(err)
	}
	if bounds != 11 {
		t.Errorf("histogram of deliveries.id has %d bounds, want 11 (a statistics target of 10)", bounds)
	}
}
