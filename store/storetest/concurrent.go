package storetest

import (
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/heraldhq/herald"
	"github.com/heraldhq/herald/record"
)

var concurrencyCases = []testCase{
	{"ConcurrentCreates", testConcurrentCreates},
}

// testConcurrentCreates: many creations at once (on SQLite they share
// transactions) each succeed or fail alone; a failed one leaves nothing.
func testConcurrentCreates(t *testing.T, b *bundle) {
	s := b.s
	w := b.webhook()
	taken := b.create(`{"name":{"firstName":"Taken"}}`)
	// Without a conflict, a shared transaction writes its requests
	// together; with some, each under a savepoint.
	ok := b.createConcurrently(48, 0, "")
	if ok != 48 {
		t.Errorf("%d of 48 created without a conflict", ok)
	}
	ok += b.createConcurrently(64, 8, taken.ID)
	if got := len(b.deliveries(w, herald.DeliveryPending)); got != ok+1 {
		t.Errorf("%d pending deliveries, want %d (one per created person)", got, ok+1)
	}
	got, err := s.FindRecord(b.ctx, b.ws.ID, "person", taken.ID)
	must(t, err)
	if firstName(got) != "Taken" {
		t.Errorf("a conflicting create changed the record: %v", got.Values)
	}
}

// createConcurrently creates n people at once, every conflictEvery-th
// (none when 0) with the id of an existing one; it checks that exactly
// those fail, with a conflict, and returns how many were created.
func (b *bundle) createConcurrently(n, conflictEvery int, takenID string) int {
	b.t.Helper()
	errs, ids := make([]error, n), make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			in, err := record.ParseInput(person, json.RawMessage(fmt.Sprintf(`{"name":{"firstName":"P%d"}}`, i)), true)
			if err != nil {
				errs[i] = err
				return
			}
			if conflicts(i, conflictEvery) {
				in.ID = takenID
			}
			r, ev := record.New(person, b.ws.ID, b.actor, in, time.Now())
			ids[i] = r.ID
			errs[i] = b.s.CreateRecords(b.ctx, []*herald.Record{r}, []*herald.Event{ev})
		}()
	}
	wg.Wait()
	created := 0
	for i, err := range errs {
		switch {
		case conflicts(i, conflictEvery):
			wantCode(b.t, err, herald.ECONFLICT)
		case err != nil:
			b.t.Errorf("create %d: %v", i, err)
		default:
			created++
			got, err := b.s.FindRecord(b.ctx, b.ws.ID, "person", ids[i])
			if err != nil || firstName(got) != fmt.Sprintf("P%d", i) {
				b.t.Errorf("create %d succeeded, then found %v, %v", i, got, err)
			}
		}
	}
	return created
}

func conflicts(i, every int) bool { return every > 0 && i%every == 0 }
