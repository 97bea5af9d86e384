package postgres_test

import (
	"context"
	"database/sql"
	"errors"
	"testing"
	"time"

	"github.com/heraldhq/herald"
	"github.com/heraldhq/herald/store/postgres"
	"github.com/heraldhq/herald/store/postgres/pgtest"
	"github.com/heraldhq/herald/store/storetest"
)

// wakeCounter is a taker that takes nothing and reports each Notify.
type wakeCounter struct{ woken chan struct{} }

func (wakeCounter) Owner() string                      { return "engine" }
func (wakeCounter) LeaseUntil(now time.Time) time.Time { return now.Add(time.Minute) }
func (wakeCounter) Reserve(string) bool                { return false }
func (wakeCounter) Take([]*herald.Claim)               {}
func (wakeCounter) Unreserve(string, int)              {}
func (wakeCounter) Waiting()                           {}
func (w wakeCounter) Notify() {
	select {
	case w.woken <- struct{}{}:
	default:
	}
}

// A process that writes deliveries and does not deliver them (API only)
// wakes the delivering processes on its database, which would otherwise
// find them at their next poll. The engine's poll plays no part here: only
// the announcement reaches the taker.
func TestWritesWakeOtherProcesses(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := pgtest.NewDatabase(t)
	open := func() *postgres.DB {
		db, err := postgres.Open(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	}
	api, delivering := open(), open()
	pool, err := postgres.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	k := wakeCounter{woken: make(chan struct{}, 1)}
	delivering.SetTaker(k)
	wake := func(what string) {
		t.Helper()
		select {
		case <-k.woken:
		case <-time.After(20 * time.Second):
			t.Fatalf("%s did not wake the delivering process", what)
		}
	}
	// listener waits until the delivering process listens (it starts in
	// the background) and returns its backend's pid.
	listener := func(not int) int {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for {
			var pid int
			err := pool.QueryRowContext(ctx, `SELECT pid FROM pg_stat_activity
				WHERE datname = current_database() AND query LIKE 'LISTEN %' AND pid <> $1`, not).Scan(&pid)
			if err == nil {
				return pid
			}
			if !errors.Is(err, sql.ErrNoRows) {
				t.Fatal(err)
			}
			if time.Now().After(deadline) {
				t.Fatal("the delivering process is not listening")
			}
			time.Sleep(10 * time.Millisecond)
		}
	}

	pid := listener(0)
	storetest.Seed(t, api, 3)
	wake("deliveries written by an API-only process")

	// The listening connection is lost (a server restart, a proxy's
	// timeout): the process listens again, and wakes its engine for what
	// it may have missed meanwhile, then for new writes. The Seed's later
	// announcements are let through first, so that they are not taken for
	// those wake-ups.
	time.Sleep(200 * time.Millisecond)
	select {
	case <-k.woken:
	default:
	}
	var killed bool
	if err := pool.QueryRowContext(ctx, `SELECT pg_terminate_backend($1)`, pid).Scan(&killed); err != nil || !killed {
		t.Fatalf("terminate the listening connection: %v, %v", killed, err)
	}
	listener(pid)
	wake("listening again after the connection was lost")
	storetest.Seed(t, api, 3)
	wake("deliveries written after the listener reconnected")
}
