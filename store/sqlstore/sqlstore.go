// Package sqlstore implements herald.Store once, in SQL that SQLite and
// PostgreSQL both run; store/sqlite and store/postgres open the
// connections, run their migrations and supply a Dialect for the few
// places where the engines differ.
//
// Queries are written with "?" placeholders; the Dialect rebinds them for
// engines that number their parameters.
package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/heraldhq/herald"
	"github.com/heraldhq/herald/store/sqlbuild"
)

// Dialect is what differs between the engines.
type Dialect interface {
	sqlbuild.Dialect
	// Rebind rewrites a query's "?" placeholders for the engine.
	Rebind(query string) string
	// IsUniqueViolation reports whether err is a unique-key violation.
	IsUniqueViolation(err error) bool
	// ForUpdate is appended to a select of rows a transaction will change,
	// where concurrent writers are possible ("" on SQLite's single writer).
	ForUpdate() string
	// ForShare is appended to a select of rows whose state a transaction
	// relies on ("" on SQLite's single writer).
	ForShare() string
	// KeyShare is appended to a select of rows that the transaction's
	// new rows will refer to, so that they are not deleted before it
	// commits; it does not wait for writers that only update them ("" on
	// SQLite's single writer).
	KeyShare() string
	// SkipLocked is appended to the claim's per-lane selects, so that
	// concurrent claimers skip each other's rows instead of waiting.
	SkipLocked() string
	// JSONRemove returns the data column with a user field removed.
	JSONRemove(name string) string
	// IsStorageFull reports whether err says the database has no space
	// left to write (SQLite's SQLITE_FULL, PostgreSQL's disk_full).
	IsStorageFull(err error) bool
	// InsertsInWith reports whether an INSERT may stand in a WITH clause
	// of another (PostgreSQL), so that one statement writes two tables.
	InsertsInWith() bool
	// BindsArrays reports whether a slice may be bound as an array
	// parameter and read back as rows with unnest (PostgreSQL).
	BindsArrays() bool
	// AsyncCommit is a statement that lets the transaction's COMMIT
	// return before its changes are on disk, or "" where a commit does
	// not wait for the disk (SQLite in WAL with synchronous=NORMAL). A
	// crash of the database may then undo the transaction.
	AsyncCommit() string
}

// DB is a herald.Store over two pools, which may be the same: writes go
// through write, reads through read.
type DB struct {
	write, read conn
	writeDB     *sql.DB
	readDB      *sql.DB
	d           Dialect
	// singleEngine is set when this process is known to be the only one
	// delivering, so every lease at start belongs to a dead process.
	singleEngine atomic.Bool
	// writeGate, when set, orders transactions on a single writer, and
	// stmts keeps the statements they run prepared.
	writeGate *gate
	stmts     *stmtCache
	// group, when set, commits concurrent record creations together.
	group *group
	// taker, when set, takes new deliveries as they are written.
	taker atomic.Pointer[herald.Taker]
	// announce, when set, tells other processes of due deliveries.
	announce func()
	// pipeline, when set, sends a write transaction's statements
	// together (pipe.go).
	pipeline Pipeline
	// full is set when a write failed for lack of space, and cleared by
	// the next write that succeeds (Ping probes for it).
	full atomic.Bool
}

var _ herald.Store = (*DB)(nil)

// Options are how an engine's store behaves, fixed when it is made.
type Options struct {
	// SingleWriter says that the database takes one writer at a time
	// (SQLite): transactions then queue in the store, urgent ones first
	// (herald.Urgent), instead of in the connection pool; their
	// statements stay prepared; and concurrent record creations share a
	// transaction, one at a time.
	SingleWriter bool
	// GroupLeaders, when above 0, makes concurrent creations of a few
	// records share a transaction, with up to that many such transactions
	// at once (group.go).
	GroupLeaders int
	// GroupLinger is how long a group's leader waits for more requests
	// when few are queued, trading that much latency for a share of the
	// commit (group.go).
	GroupLinger time.Duration
	// Announce, when set, tells other processes that deliveries became
	// due which no taker of this process will deliver: it is called after
	// such a commit, when no taker is set (PostgreSQL's NOTIFY, for an
	// API-only process or one whose engine has not started yet). It must
	// not block.
	Announce func()
	// Pipeline, when set, sends statements of a write transaction
	// together, in one round trip, where they do not wait for each
	// other's results (pipe.go). The engine must run statements sent
	// after a failed one as not at all (PostgreSQL's pipeline mode).
	Pipeline Pipeline
}

// New returns a store over the pools; read may equal write.
func New(write, read *sql.DB, d Dialect, opts Options) *DB {
	db := &DB{write: conn{q: write, d: d}, read: conn{q: read, d: d}, writeDB: write, readDB: read, d: d, announce: opts.Announce, pipeline: opts.Pipeline}
	if opts.SingleWriter {
		db.writeGate, db.stmts = &gate{written: make(chan struct{}, 1)}, &stmtCache{}
		opts.GroupLeaders = 1
	}
	if opts.GroupLeaders > 0 {
		db.group = &group{leaders: opts.GroupLeaders, linger: opts.GroupLinger, more: make(chan struct{}, 1)}
	}
	return db
}

// SetSingleEngine tells the store that no other process delivers from
// this database (see RecoverClaims): what holding SQLite's engine lock
// proves.
func (db *DB) SetSingleEngine() { db.singleEngine.Store(true) }

// Ping checks that the database answers a query and, after a write
// failed for lack of space, that it takes writes again: a write that
// changes nothing but still needs room in the log (a row rewritten as it
// is).
func (db *DB) Ping(ctx context.Context) error {
	var one int
	if err := db.read.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
		return err
	}
	if !db.full.Load() {
		return nil
	}
	_, err := db.exec(ctx, `UPDATE workspaces SET name = name WHERE id = (SELECT min(id) FROM workspaces)`)
	return err
}

// errStorageFull is what a write refused for lack of space becomes: a
// clear answer (507) instead of an internal error.
var errStorageFull = herald.Errorf(herald.EINSUFFICIENTSTORAGE,
	"Herald's database has no space left to write: nothing was saved. Retry once space is freed")

// wrote notes how a write ended, for Ping, and turns a lack of space into
// errStorageFull.
func (db *DB) wrote(err error) error {
	if err == nil {
		db.full.Store(false)
		return nil
	}
	if db.d.IsStorageFull(err) {
		db.full.Store(true)
		return fmt.Errorf("%w (%v)", errStorageFull, err)
	}
	return err
}

// exec runs one write statement outside a transaction, through the gate
// like a transaction (so that Urgent and Exclusively hold for it too).
func (db *DB) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	var res sql.Result
	err := db.gated(ctx, func() (err error) {
		res, err = db.write.ExecContext(ctx, query, args...)
		return err
	})
	return res, err
}

// gated runs one write outside a transaction through the gate, and notes
// how it ended (wrote).
func (db *DB) gated(ctx context.Context, write func() error) error {
	if db.writeGate != nil {
		if err := db.writeGate.acquire(ctx, herald.IsUrgent(ctx)); err != nil {
			return err
		}
		defer db.writeGate.release()
	}
	return db.wrote(write())
}

// Close closes the pools.
func (db *DB) Close() error {
	if db.stmts != nil {
		db.stmts.close()
	}
	if db.readDB == db.writeDB {
		return db.writeDB.Close()
	}
	return errors.Join(db.readDB.Close(), db.writeDB.Close())
}

// conn runs "?" queries on a pool or a transaction, rebinding them. In a
// transaction with a statement cache, statements prepared once are reused.
type conn struct {
	q interface {
		QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
		QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
		ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
		PrepareContext(ctx context.Context, query string) (*sql.Stmt, error)
	}
	d     Dialect
	tx    *sql.Tx
	cache *stmtCache
	// h collects what the transaction leases to the taker.
	h *handoff
	// p, when set, is the transaction's pipe (pipe.go): statements that
	// go to the server directly first send what it holds.
	p *pipe
}

// stmt returns the cached statement for query in c's transaction, or nil.
func (c conn) stmt(ctx context.Context, query string) *sql.Stmt {
	if c.cache == nil || c.tx == nil {
		return nil
	}
	if st := c.cache.get(query); st != nil {
		return c.tx.StmtContext(ctx, st)
	}
	return nil
}

func (c conn) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	// A failed flush aborted the transaction, so the query fails too, and
	// the transaction ends with the flush's error (runPipelined).
	_ = c.flush(ctx)
	query = c.d.Rebind(query)
	if st := c.stmt(ctx, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return c.q.QueryRowContext(ctx, query, args...)
}

func (c conn) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if err := c.flush(ctx); err != nil {
		return nil, err
	}
	query = c.d.Rebind(query)
	if st := c.stmt(ctx, query); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return c.q.QueryContext(ctx, query, args...)
}

func (c conn) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if c.p != nil {
		return c.execPiped(ctx, query, args)
	}
	query = c.d.Rebind(query)
	if st := c.stmt(ctx, query); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return c.q.ExecContext(ctx, query, args...)
}

func (c conn) PrepareContext(ctx context.Context, query string) (*sql.Stmt, error) {
	if err := c.flush(ctx); err != nil {
		return nil, err
	}
	return c.q.PrepareContext(ctx, c.d.Rebind(query))
}

// inTx runs fn in a write transaction, committing when it returns nil.
// Deliveries leased to the taker are handed over once the transaction
// has committed and the writer is free again.
func (db *DB) inTx(ctx context.Context, fn func(tx conn) error) error {
	h := db.newHandoff(time.Now())
	err := db.runTx(ctx, h, fn)
	db.endHandoff(h, err == nil)
	return err
}

func (db *DB) runTx(ctx context.Context, h *handoff, fn func(tx conn) error) error {
	var herr *herald.Error
	err := db.runTxOnce(ctx, h, fn)
	if errors.As(err, &herr) {
		return err // the caller's own refusal
	}
	return db.wrote(err)
}

func (db *DB) runTxOnce(ctx context.Context, h *handoff, fn func(tx conn) error) error {
	if db.pipeline != nil {
		return db.runPipelined(ctx, h, fn)
	}
	if db.writeGate != nil {
		if err := db.writeGate.acquire(ctx, herald.IsUrgent(ctx)); err != nil {
			return err
		}
		defer db.writeGate.release()
	}
	tx, err := db.writeDB.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	if err := fn(conn{q: tx, d: db.d, tx: tx, cache: db.stmts, h: h}); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	if db.stmts != nil {
		// The connection is free again and the gate still held: prepare
		// what this transaction ran unprepared, for the next ones.
		db.stmts.prepareSeen(ctx, db.writeDB)
	}
	return nil
}

// Written receives after a single writer let a write through (a
// transaction, a statement or Exclusively) since the last receive. Without
// a single writer it never does.
func (db *DB) Written() <-chan struct{} {
	if db.writeGate == nil {
		return nil
	}
	return db.writeGate.written
}

// Exclusively runs fn while no write transaction runs: on a single writer,
// fn waits its turn at the gate like a transaction; otherwise it runs at
// once.
func (db *DB) Exclusively(ctx context.Context, fn func() error) error {
	if db.writeGate != nil {
		if err := db.writeGate.acquire(ctx, false); err != nil {
			return err
		}
		defer db.writeGate.release()
	}
	return fn()
}

// RebindNumbered rewrites "?" placeholders as $1, $2, ... (PostgreSQL).
// Herald's queries hold no "?" inside string literals.
func RebindNumbered(query string) string {
	n := strings.Count(query, "?")
	if n == 0 {
		return query
	}
	// Every statement a transaction sends passes here: the runs between
	// placeholders are copied whole.
	var b strings.Builder
	b.Grow(len(query) + 3*n)
	var num [20]byte
	for i := int64(1); ; i++ {
		at := strings.IndexByte(query, '?')
		if at < 0 {
			break
		}
		b.WriteString(query[:at])
		b.WriteByte('$')
		b.Write(strconv.AppendInt(num[:0], i, 10))
		query = query[at+1:]
	}
	b.WriteString(query)
	return b.String()
}

func ms(t time.Time) int64 { return t.UnixMilli() }

func nullMS(t *time.Time) sql.NullInt64 {
	if t == nil {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: t.UnixMilli(), Valid: true}
}

func fromMS(n int64) time.Time { return time.UnixMilli(n).UTC() }

func fromNullMS(n sql.NullInt64) *time.Time {
	if !n.Valid {
		return nil
	}
	t := fromMS(n.Int64)
	return &t
}

func notFound(what string) error { return herald.Errorf(herald.ENOTFOUND, "%s not found", what) }

// scanner is a *sql.Row or *sql.Rows.
type scanner interface{ Scan(dest ...any) error }

// queryAll runs a query and scans every row with scan.
// In a pipe it goes out with what is queued.
func queryAll[T any](ctx context.Context, q conn, scan func(scanner) (T, error), query string, args ...any) ([]T, error) {
	var out []T
	err := q.later(ctx, func(s scanner) error {
		v, err := scan(s)
		out = append(out, v)
		return err
	}, query, args...)
	if err == nil {
		err = q.flush(ctx)
	}
	if err != nil {
		return nil, err
	}
	return out, nil
}

func scanString(s scanner) (v string, err error) { return v, s.Scan(&v) }
