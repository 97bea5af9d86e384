package sqlite_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/heraldhq/herald"
	"github.com/heraldhq/herald/record"
	"github.com/heraldhq/herald/store/sqlite"
)

// The writer never checkpoints at commit; the background checkpoints must
// still keep the WAL from growing while writes never pause.
func TestWALStaysBoundedUnderSustainedWrites(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "herald.db")
	s, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ws, _, err := s.EnsureWorkspace(ctx, "wal")
	if err != nil {
		t.Fatal(err)
	}
	in, err := record.ParseInput(person, json.RawMessage(`{"name":{"firstName":"W"},"city":"Paris"}`), true)
	if err != nil {
		t.Fatal(err)
	}
	// Two writers, flat out, for 3 s (or 4,000 batches of 20).
	deadline := time.Now().Add(3 * time.Second)
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 2000 && time.Now().Before(deadline); i++ {
				recs, evs := make([]*herald.Record, 20), make([]*herald.Event, 20)
				for j := range recs {
					recs[j], evs[j] = record.New(person, ws.ID, "actor", &record.Input{Values: in.Values, Order: in.Order}, time.Now())
				}
				if err := s.CreateRecords(ctx, recs, evs); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		t.Fatal(err)
	}
	wal, err := os.Stat(path + "-wal")
	if err != nil {
		t.Fatal(err)
	}
	db, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("database %d MB, WAL %d MB", db.Size()>>20, wal.Size()>>20)
	// Left to itself the WAL reached 200-300 MB in these 3 s.
	if wal.Size() > 96<<20 {
		t.Fatalf("the WAL grew to %d MB while writes went on (database %d MB)", wal.Size()>>20, db.Size()>>20)
	}
	// Once the burst is over, the WAL starts over at the next write and
	// is cut back to 32 MB: it does not keep its largest size for good.
	for range 100 { // 100 × 50 ms: well past a checkpoint that copies it all
		time.Sleep(50 * time.Millisecond)
		if _, _, err := s.EnsureWorkspace(ctx, "after-the-burst-"+time.Now().String()); err != nil {
			t.Fatal(err)
		}
		if wal, err = os.Stat(path + "-wal"); err != nil {
			t.Fatal(err)
		}
		if wal.Size() <= 32<<20 {
			return
		}
	}
	t.Fatalf("the WAL stayed at %d MB after the burst", wal.Size()>>20)
}
