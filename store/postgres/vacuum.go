package postgres

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"
)

// The deliveries table is a queue: every delivery is updated twice on its
// way through (leased, then finished), and each update leaves a dead row
// version and dead entries in the indexes that claims walk from the head.
// Autovacuum wakes once a minute per database (autovacuum_naptime, a
// server setting a table cannot override) and waits for a fifth of the
// table to be dead; draining a backlog of 1M left 700–800k dead rows
// between its passes, and claims, completions and lane-head probes
// stepped over thousands of dead index pages (5–9 ms each). So Herald
// vacuums the table itself, unthrottled, once enough is dead. On the 1M
// backlog (four interleaved pairs) the drain went from 6,336 / 7,546 /
// 6,836 / 6,589 to 8,358 / 9,400 / 7,034 / 7,614 deliveries a second.
const (
	vacuumCheckEvery = time.Second
	// A vacuum reads every index of the table whole, so it waits for dead
	// rows in proportion to live ones, as autovacuum's scale factor does,
	// but at a quarter of autovacuum's default fraction. Against 1% (two
	// interleaved pairs on the 1M backlog), 5% drained at 8,337 / 6,940
	// against 7,416 / 7,053 a second and spent 15–19 s vacuuming instead
	// of 22–24 s; the claims that step over the dead entries it leaves
	// cost no more (5.3–6.1 ms against 5.8–5.9 ms).
	vacuumMinDead     = 10_000
	vacuumDeadPerLive = 0.05
)

// The deliveries table also needs fresh statistics while it is young.
// A connection prepares Herald's statements once and, after five runs,
// keeps a generic plan built from the statistics of that moment: on a
// new database, when the table held a few rows, the check that a record
// has a pending delivery (waitingNext) was planned as a sequential scan,
// and kept as one while the table grew, until autovacuum next analyzed
// it (a minute apart at best). At 500 events a second on a fresh
// database, the two-row insert of deliveries read 2,970 buffers a call
// and took 7.4 ms (680 µs of the server's time per delivery). An
// ANALYZE invalidates those plans. Herald runs one once the rows changed
// since the last pass 1,000 plus a tenth of the live ones: often while
// the table is small and the pass costs a millisecond, rarely once it is
// large, where autovacuum's own scale factor (a tenth) takes over.
//
// What these passes are for is the table's size and the share of each
// status, not fine distributions, so they sample 3,000 rows (a
// statistics target of 10) where the server's default samples 30,000:
// on 100,000 rows a pass took 12–13 ms instead of 150–175 ms. Before
// that, on a fan-out of 500 events to 50 webhooks, five passes of 180 ms
// each were a sixth of the server's time.
const (
	analyzeMinChanged     = 1_000
	analyzeChangedPerLive = 0.1
	analyzeTarget         = 10
)

// vacuumLoop vacuums deliveries whenever its dead rows pass the threshold,
// until ctx ends. With several processes on one database, a vacuum that
// finds another already running skips (SKIP_LOCKED) and the next check
// sees the count it left.
func (db *DB) vacuumLoop(ctx context.Context) {
	defer db.loops.Done()
	t := time.NewTicker(vacuumCheckEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		// A failed check or vacuum (a restarting server, a lost
		// connection) is tried again at the next tick.
		_, _ = db.vacuumIfDead(ctx, vacuumMinDead, vacuumDeadPerLive)
		_, _ = db.analyzeIfChanged(ctx, analyzeMinChanged, analyzeChangedPerLive)
	}
}

// vacuumIfDead vacuums deliveries if it holds at least minDead +
// perLive × live dead rows, by the statistics PostgreSQL keeps, and
// reports whether it did.
func (db *DB) vacuumIfDead(ctx context.Context, minDead int64, perLive float64) (bool, error) {
	var dead, live int64
	err := db.pool.QueryRowContext(ctx, `SELECT pg_stat_get_dead_tuples(c.oid), pg_stat_get_live_tuples(c.oid)
		FROM pg_class c WHERE c.oid = 'deliveries'::regclass`).Scan(&dead, &live)
	if err != nil {
		return false, fmt.Errorf("count dead deliveries: %w", err)
	}
	if float64(dead) < float64(minDead)+perLive*float64(live) {
		return false, nil
	}
	// Truncating empty pages off the table's end takes a lock that stops
	// the API's writes; autovacuum still does that, now and then.
	if _, err := db.pool.ExecContext(ctx, "VACUUM (SKIP_LOCKED, TRUNCATE false) deliveries"); err != nil {
		return false, fmt.Errorf("vacuum deliveries: %w", err)
	}
	return true, nil
}

// analyzeIfChanged analyzes deliveries if at least minChanged + perLive ×
// live of its rows changed since it was last analyzed, and reports
// whether it did.
func (db *DB) analyzeIfChanged(ctx context.Context, minChanged int64, perLive float64) (bool, error) {
	var changed, live int64
	err := db.pool.QueryRowContext(ctx, `SELECT pg_stat_get_mod_since_analyze(c.oid), pg_stat_get_live_tuples(c.oid)
		FROM pg_class c WHERE c.oid = 'deliveries'::regclass`).Scan(&changed, &live)
	if err != nil {
		return false, fmt.Errorf("count changed deliveries: %w", err)
	}
	if float64(changed) < float64(minChanged)+perLive*float64(live) {
		return false, nil
	}
	if err := db.analyze(ctx); err != nil {
		return false, fmt.Errorf("analyze deliveries: %w", err)
	}
	return true, nil
}

// analyze analyzes deliveries with analyzeTarget, set for this
// transaction only.
func (db *DB) analyze(ctx context.Context) error {
	tx, err := db.pool.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, "SET LOCAL default_statistics_target = "+strconv.Itoa(analyzeTarget)); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, "ANALYZE (SKIP_LOCKED) deliveries"); err != nil {
		return err
	}
	return tx.Commit()
}

// whyNoVacuum returns nil when this process can vacuum deliveries, and
// otherwise why not: the options it uses came with PostgreSQL 12, and only
// a role that owns the table or the database, or a superuser, may vacuum
// it (any other role's VACUUM warns and does nothing).
func (db *DB) whyNoVacuum(ctx context.Context) error {
	var version int
	var name string
	var may bool
	err := db.pool.QueryRowContext(ctx, `SELECT current_setting('server_version_num')::int, current_setting('server_version'),
			pg_has_role(c.relowner, 'USAGE') OR pg_has_role(d.datdba, 'USAGE')
			OR (SELECT rolsuper FROM pg_roles WHERE rolname = current_user)
		FROM pg_class c, pg_database d WHERE c.oid = 'deliveries'::regclass AND d.datname = current_database()`).Scan(&version, &name, &may)
	switch {
	case err != nil:
		return fmt.Errorf("check whether the deliveries table may be vacuumed: %w", err)
	case version < 120000:
		return fmt.Errorf("PostgreSQL %s is older than 12; the table is left to autovacuum, and a large backlog drains slower", name)
	case !may:
		return errors.New("the database role owns neither the deliveries table nor the database; the table is left to autovacuum, and a large backlog drains slower")
	}
	return nil
}
