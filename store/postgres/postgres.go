// Package postgres implements herald.Store on PostgreSQL, through pgx's
// database/sql driver so that it shares store/sqlstore's SQL with SQLite,
// and pgx's batches for the pipelines of write transactions.
// Any number of `herald serve` processes may share one database: claims
// lock rows with FOR UPDATE SKIP LOCKED, and leases let a process take
// over what a crashed one had claimed.
package postgres

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"github.com/heraldhq/herald"
	"github.com/heraldhq/herald/store/sqlbuild"
	"github.com/heraldhq/herald/store/sqlstore"
)

//go:embed migrations/*.sql
var migrations embed.FS

// DB is a herald.Store on a PostgreSQL database.
type DB struct {
	*sqlstore.DB
	pool *sql.DB
	cfg  *pgx.ConnConfig
	// vacuumErr says why this process leaves the deliveries table to
	// autovacuum; when nil, vacuumLoop runs.
	vacuumErr error
	// announced asks announceLoop for a NOTIFY (wake.go).
	announced chan struct{}
	listening sync.Once
	// The background loops run on loopCtx until Close.
	loopCtx   context.Context
	stopLoops context.CancelFunc
	loops     sync.WaitGroup
}

var (
	_ herald.Store    = (*DB)(nil)
	_ herald.Vacuumer = (*DB)(nil)
)

// MaxConns bounds one process's connections.
const MaxConns = 32

// IsURL reports whether s names a PostgreSQL database.
func IsURL(s string) bool {
	return strings.HasPrefix(s, "postgres://") || strings.HasPrefix(s, "postgresql://")
}

// Open connects to the database at url and brings its schema up to date.
// Processes starting together take turns migrating (an advisory lock).
func Open(ctx context.Context, url string) (*DB, error) {
	cfg, err := parseConfig(url)
	if err != nil {
		return nil, err
	}
	db := stdlib.OpenDB(*cfg)
	db.SetMaxOpenConns(MaxConns)
	db.SetMaxIdleConns(MaxConns)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("connect to postgres: %w", err)
	}
	if err := migrate(ctx, db); err != nil {
		db.Close()
		return nil, err
	}
	s := &DB{pool: db, cfg: cfg, announced: make(chan struct{}, 1)}
	// Single-record creations at 1,000 a second saturated 2 cores with
	// round trips and commits (p99 commit→receipt 89–131 ms); grouped,
	// p99 was 15–24 ms. With two groups in flight, one's round trips
	// overlap the other's instead of queueing behind them: p99 at 1,000 a
	// second went from 28.5 / 25.8 / 15.5 ms to 14.1 / 17.5 / 8.7 ms, at
	// 1,500 from 47 to 13.5 ms (one run). Four did no better than two,
	// and near saturation (2,500 a second on 2 cores) two did worse than
	// one (p99 27 / 30 / 42 against 28 / 21 / 32 ms): more commits for
	// the same work.
	// Lingering up to 5 ms for more requests (group.go) took the CPU of a
	// delivery at 500/s, Herald's and the server's, from 2,721 / 2,679 to
	// 2,095 / 2,228 µs, p99 unchanged (17–22 ms), p50 4.4 → 8.8 ms.
	// 8 ms instead of 5 (herald bench --against, 3 rounds at once, each
	// side on a server of its own): at 500/s 0.908 / 0.843 / 0.900 the
	// CPU, the server's and Herald's alike, for p99 ×1.2–1.36; at
	// 1,000/s p99 11–12 → 14–15 ms.
	s.DB = sqlstore.New(db, db, dialect{}, sqlstore.Options{GroupLeaders: 2, GroupLinger: 8 * time.Millisecond, Announce: s.announce,
		Pipeline: pipeline})
	s.loopCtx, s.stopLoops = context.WithCancel(context.WithoutCancel(ctx))
	s.loops.Add(1)
	go s.announceLoop(s.loopCtx)
	if s.vacuumErr = s.whyNoVacuum(ctx); s.vacuumErr == nil {
		s.loops.Add(1)
		go s.vacuumLoop(s.loopCtx)
	}
	return s, nil
}

// SetTaker is sqlstore's, and starts listening for the deliveries other
// processes announce, for the taker (wake.go).
func (db *DB) SetTaker(t herald.Taker) {
	db.DB.SetTaker(t)
	if t != nil {
		db.listening.Do(func() {
			db.loops.Add(1)
			go db.listenLoop(db.loopCtx)
		})
	}
}

// Vacuuming returns nil when this process vacuums the deliveries table
// itself, and otherwise why it does not.
func (db *DB) Vacuuming() error { return db.vacuumErr }

// Close stops the background loops and closes the pool.
func (db *DB) Close() error {
	db.stopLoops()
	db.loops.Wait()
	return db.DB.Close()
}

// Connect opens a pool on url whose sessions run with Herald's settings,
// unless url sets them itself:
//
//   - jit=off. Herald's statements are short, but the planner's cost of a
//     claim grows with the queue until it passes jit_above_cost, and then
//     each claim spent about 500 ms compiling for 5 ms of work (measured
//     on a 300k backlog).
func Connect(url string) (*sql.DB, error) {
	cfg, err := parseConfig(url)
	if err != nil {
		return nil, err
	}
	return stdlib.OpenDB(*cfg), nil
}

func parseConfig(url string) (*pgx.ConnConfig, error) {
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("open postgres: %w", err)
	}
	if _, set := cfg.RuntimeParams["jit"]; !set {
		cfg.RuntimeParams["jit"] = "off"
	}
	return cfg, nil
}

func migrate(ctx context.Context, db *sql.DB) error {
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return err
	}
	locker, err := lock.NewPostgresSessionLocker()
	if err != nil {
		return fmt.Errorf("migrations: %w", err)
	}
	p, err := goose.NewProvider(goose.DialectPostgres, db, sub, goose.WithSessionLocker(locker))
	if err != nil {
		return fmt.Errorf("migrations: %w", err)
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("migrate postgres: %w", err)
	}
	return nil
}

type dialect struct{}

func (dialect) Param(int) string { return "?" } // rebound to $n by Rebind

// JSONField reads a user field from the JSONB column, cast so it compares
// with the bound Go value; text in byte order, as on SQLite.
func (dialect) JSONField(column, path string, t herald.FieldType) string {
	src := column
	if column != "data" {
		// A text column (createdBy): JSON, or an id kept before it was.
		src = "(CASE WHEN left(" + column + ", 1) = '{' THEN " + column + "::jsonb END)"
	}
	expr := "(" + src + " ->> '" + path + "')"
	if strings.Contains(path, ".") {
		expr = "(" + src + " #>> '{" + strings.ReplaceAll(path, ".", ",") + "}')"
	}
	switch t {
	case herald.FieldNumber:
		return expr + "::float8"
	case herald.FieldBoolean:
		return expr + "::boolean"
	}
	return expr + ` COLLATE "C"`
}

func (dialect) ContainsAny(path string, params []string) string {
	// jsonb_exists_any is the function behind ?|, which the "?"
	// placeholders of the store's queries cannot hold.
	return "jsonb_exists_any(data #> '{" + strings.ReplaceAll(path, ".", ",") + "}', ARRAY[" + strings.Join(params, ", ") + "]::text[])"
}

func (dialect) JSONRemove(name string) string { return "(data - '" + name + "')" }

func (dialect) Like(expr, param string, insensitive bool) string {
	return sqlbuild.Like(expr, param, insensitive)
}

func (dialect) Rebind(q string) string { return sqlstore.RebindNumbered(q) }

// ForUpdate takes the lock of a row whose key stays as it is: rows that
// refer to it (a webhook's new deliveries, whose foreign key checks take
// KEY SHARE) are not held up while a claim takes its throttled turns or
// an update saves.
func (dialect) ForUpdate() string  { return " FOR NO KEY UPDATE" }
func (dialect) ForShare() string   { return " FOR SHARE" }
func (dialect) KeyShare() string   { return " FOR KEY SHARE" }
func (dialect) SkipLocked() string { return " FOR UPDATE SKIP LOCKED" }

func (dialect) IsUniqueViolation(err error) bool {
	var e *pgconn.PgError
	return errors.As(err, &e) && e.Code == "23505"
}

// IsStorageFull: SQLSTATE 53100, disk_full.
func (dialect) IsStorageFull(err error) bool {
	var e *pgconn.PgError
	return errors.As(err, &e) && e.Code == "53100"
}

// A data-modifying WITH: one statement writes records and their events.
func (dialect) InsertsInWith() bool { return true }

func (dialect) BindsArrays() bool { return true }

// AsyncCommit turns synchronous_commit off for the transaction alone: its
// COMMIT no longer waits for a WAL flush, which the WAL writer does
// within wal_writer_delay (200 ms by default) or the next synchronous
// commit does first.
func (dialect) AsyncCommit() string { return "SET LOCAL synchronous_commit = off" }
