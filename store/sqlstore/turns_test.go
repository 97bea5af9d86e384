package sqlstore_test

import (
	"context"
	"testing"
)

// Written receives after each write a single writer lets through, and not
// after reads: SQLite's checkpointer sleeps on it when it has copied
// everything.
func TestWrittenSignalsWritesOnly(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, _ := engines["sqlite"](t)
	drain := func() {
		select {
		case <-db.Written():
		default:
		}
	}
	drain()
	ws, _, err := db.EnsureWorkspace(ctx, "written")
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-db.Written():
	default:
		t.Fatal("a workspace was made and Written did not receive")
	}
	if _, err := db.ListWebhooks(ctx, ws.ID); err != nil {
		t.Fatal(err)
	}
	select {
	case <-db.Written():
		t.Error("Written received after a read only")
	default:
	}
	pg, _ := engines["postgres"](t)
	if pg.Written() != nil {
		t.Error("PostgreSQL, which has no single writer, has a Written channel")
	}
}
