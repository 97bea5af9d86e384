package sqlstore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"slices"
	"time"
)

// Statement is one statement of a pipeline, in the dialect's own
// placeholders. Scan, when set, reads each row it returns; Affected, when
// set, receives the count of rows it changed.
type Statement struct {
	Query    string
	Args     []any
	Scan     func(scanner) error
	Affected *int64
	// settled: Scan returns no error, so the statement may go out with
	// COMMIT (see runPipelined).
	settled bool
}

// Pipeline sends stmts on c in one round trip and runs them in order. It
// stops at the first that fails, and returns that error.
type Pipeline func(ctx context.Context, c *sql.Conn, stmts []Statement) error

// pipe is a write transaction whose statements wait to go out together:
// BEGIN with the first query, statements whose result nobody needs yet
// (conn.later) with the next query, the last of them with COMMIT. On
// PostgreSQL every statement was a round trip of its own, and each round
// trip parks and wakes a goroutine on both sides: at 500 created records
// a second, a creation's six took 28% of Herald's CPU.
type pipe struct {
	send   Pipeline
	c      *sql.Conn
	queued []Statement
	// sent is set once a statement went out: from then on the server
	// holds a transaction to end.
	sent bool
	// err is the first failure of a round trip; the transaction can only
	// roll back.
	err error
}

func (p *pipe) queue(s Statement) { p.queued = append(p.queued, s) }

// flush sends what is queued.
func (p *pipe) flush(ctx context.Context) error {
	if p.err != nil || len(p.queued) == 0 {
		return p.err
	}
	stmts := p.queued
	p.queued, p.sent = nil, true
	p.err = p.send(ctx, p.c, stmts)
	return p.err
}

// rollback ends a transaction that failed. A connection that cannot roll
// back is closed rather than returned to the pool inside the transaction.
func (p *pipe) rollback(ctx context.Context) {
	if !p.sent {
		return // BEGIN never went out
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if _, err := p.c.ExecContext(ctx, "ROLLBACK"); err != nil {
		_ = p.c.Raw(func(any) error { return driver.ErrBadConn })
	}
}

// runPipelined is runTxOnce with a pipeline: fn's statements go out
// together where they can, and errors stay those of the statement that
// failed.
func (db *DB) runPipelined(ctx context.Context, h *handoff, fn func(tx conn) error) error {
	c, err := db.writeDB.Conn(ctx)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer c.Close()
	p := &pipe{send: db.pipeline, c: c}
	p.queue(Statement{Query: "BEGIN"})
	err = fn(conn{q: c, d: db.d, h: h, p: p})
	// A failure of a round trip stands, whatever fn made of it.
	if p.err != nil {
		err = p.err
	}
	if err == nil && slices.ContainsFunc(p.queued, func(s Statement) bool { return s.Scan != nil && !s.settled }) {
		// Rows must be read before COMMIT goes out: a failure to read
		// them after it would report as failed a transaction that
		// committed.
		err = p.flush(ctx)
	}
	if err == nil {
		p.queue(Statement{Query: "COMMIT"})
		if err = p.flush(ctx); err != nil {
			err = fmt.Errorf("commit: %w", err)
		}
	}
	if err != nil {
		p.rollback(ctx)
	}
	return err
}

// later runs a statement whose result the caller needs only by the end of
// the transaction: in a pipe it goes out with the next round trip, and
// scan (when set) reads its rows then; elsewhere it runs at once.
func (c conn) later(ctx context.Context, scan func(scanner) error, query string, args ...any) error {
	return c.queue(ctx, false, scan, query, args...)
}

// laterSettled is later for a statement whose rows may be left unread:
// a failure of scan leaves that row out and fails nothing, so the
// statement may go out with COMMIT.
func (c conn) laterSettled(ctx context.Context, scan func(scanner) error, query string, args ...any) error {
	return c.queue(ctx, true, func(s scanner) error { _ = scan(s); return nil }, query, args...)
}

func (c conn) queue(ctx context.Context, settled bool, scan func(scanner) error, query string, args ...any) error {
	if c.p != nil {
		c.p.queue(Statement{Query: c.d.Rebind(query), Args: args, Scan: scan, settled: settled})
		return nil
	}
	if scan == nil {
		_, err := c.ExecContext(ctx, query, args...)
		return err
	}
	rows, err := c.QueryContext(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := scan(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

// flush sends what later queued. Outside a pipe there is nothing queued.
func (c conn) flush(ctx context.Context) error {
	if c.p == nil {
		return nil
	}
	return c.p.flush(ctx)
}

// rewind drops what the pipe holds and the failure of its last round
// trip, before a rollback to a savepoint taken when it held nothing:
// that rollback undoes both.
func (c conn) rewind() {
	if c.p != nil {
		c.p.queued, c.p.err = nil, nil
	}
}

// execPiped is ExecContext in a pipe: the statement goes out with what
// is queued.
func (c conn) execPiped(ctx context.Context, query string, args []any) (sql.Result, error) {
	var n int64
	c.p.queue(Statement{Query: c.d.Rebind(query), Args: args, Affected: &n})
	if err := c.p.flush(ctx); err != nil {
		return nil, err
	}
	return driver.RowsAffected(n), nil
}
