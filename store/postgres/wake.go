package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
)

// Processes that share a database deliver each other's events. An engine
// learns of the deliveries its own process writes at once (herald.Taker),
// but those written by a process that does not deliver (--deliver=false,
// or an engine not started yet) it would only find at its next poll, up
// to a second later. So such a process announces them: after the commit,
// it sends NOTIFY on dueChannel, and every delivering process LISTENs on
// it and wakes its engine.
//
// The NOTIFY is a statement of its own, sent after the commit by one
// goroutine that folds the announcements made while it was busy into one,
// rather than a statement in the writing transaction: a transaction that
// notifies takes a lock at commit that orders all such commits of the
// database, through their WAL flushes. Lost (the process dies between the
// commit and the NOTIFY), it costs only the wait for the poll.
const dueChannel = "herald_deliveries_due"

// announceLoop sends one NOTIFY for the announcements made since the last,
// until ctx ends.
func (db *DB) announceLoop(ctx context.Context) {
	defer db.loops.Done()
	for {
		select {
		case <-ctx.Done():
			return
		case <-db.announced:
		}
		// A NOTIFY that fails (a restarting server) leaves the deliveries
		// to the pollers.
		_, _ = db.pool.ExecContext(ctx, "SELECT pg_notify($1, '')", dueChannel)
	}
}

// announce asks announceLoop for a NOTIFY; it never blocks.
func (db *DB) announce() {
	select {
	case db.announced <- struct{}{}:
	default:
	}
}

// listenLoop wakes the taker on each NOTIFY on dueChannel, until ctx ends.
// It holds a connection of its own, outside the pool, and reconnects after
// losing it.
func (db *DB) listenLoop(ctx context.Context) {
	defer db.loops.Done()
	const minBackoff = 100 * time.Millisecond
	backoff := minBackoff
	for first := true; ctx.Err() == nil; first = false {
		start := time.Now()
		db.listen(ctx, !first)
		if time.Since(start) > time.Minute {
			backoff = minBackoff // it had been listening: a fresh loss
		}
		select {
		case <-ctx.Done():
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 10*time.Second)
	}
}

// listen connects, listens and wakes the taker on each notification until
// the connection or ctx ends. Reconnecting, it also wakes the taker once
// listening, for what was announced while it was not. (The first time,
// it does not: an engine claims as it starts.)
func (db *DB) listen(ctx context.Context, reconnect bool) {
	conn, err := pgx.ConnectConfig(ctx, db.cfg)
	if err != nil {
		return
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "LISTEN "+dueChannel); err != nil {
		return
	}
	if reconnect {
		db.WakeTaker()
	}
	for {
		if _, err := conn.WaitForNotification(ctx); err != nil {
			return
		}
		db.WakeTaker()
	}
}
