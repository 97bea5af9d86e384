package sqlstore_test

import (
	"context"
	"testing"
)

// WriteTurns moves with every write a single writer lets through, and
// not with reads: SQLite's checkpointer skips its pass when it has not
// moved.
func TestWriteTurnsCountWritesOnly(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, _ := engines["sqlite"](t)
	before := db.WriteTurns()
	ws, _, err := db.EnsureWorkspace(ctx, "turns")
	if err != nil {
		t.Fatal(err)
	}
	written := db.WriteTurns()
	if written == before {
		t.Fatalf("a workspace was made and WriteTurns stayed at %d", before)
	}
	if _, err := db.ListWebhooks(ctx, ws.ID); err != nil {
		t.Fatal(err)
	}
	if db.WriteTurns() != written {
		t.Errorf("a read moved WriteTurns from %d to %d", written, db.WriteTurns())
	}
	pg, _ := engines["postgres"](t)
	if _, _, err := pg.EnsureWorkspace(ctx, "turns"); err != nil {
		t.Fatal(err)
	}
	if n := pg.WriteTurns(); n != 0 {
		t.Errorf("PostgreSQL, which has no single writer: WriteTurns = %d, want 0", n)
	}
}
