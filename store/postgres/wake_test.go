package postgres_test

import (
	"context"
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
	// Listening starts in the background; wait for it.
	deadline := time.Now().Add(20 * time.Second)
	for {
		var n int
		err := pool.QueryRowContext(ctx, `SELECT count(*) FROM pg_stat_activity
			WHERE datname = current_database() AND query LIKE 'LISTEN %'`).Scan(&n)
		if err != nil {
			t.Fatal(err)
		}
		if n == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the delivering process never listened")
		}
		time.Sleep(10 * time.Millisecond)
	}

	storetest.Seed(t, api, 3)
	select {
	case <-k.woken:
	case <-time.After(20 * time.Second):
		t.Fatal("deliveries written by an API-only process did not wake the delivering one")
	}
}
