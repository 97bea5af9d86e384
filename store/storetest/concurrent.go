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

// testConcurrentCreates: many creations at once (on SQLite they share
// transactions) each succeed or fail alone; a failed one leaves nothing.
func testConcurrentCreates(t *testing.T, s herald.Store) {
	b := setup(t, s, "concurrent")
	w := b.webhook()
	taken := b.create(`{"firstName":"Taken"}`)
	const n = 64
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			in, err := record.ParseInput(person, json.RawMessage(fmt.Sprintf(`{"firstName":"P%d"}`, i)), true)
			if err != nil {
				errs[i] = err
				return
			}
			if i%8 == 0 { // every eighth reuses an id: a conflict
				in.ID = taken.ID
			}
			r, ev := record.New(person, b.ws.ID, b.actor, in, time.Now())
			errs[i] = s.CreateRecords(b.ctx, []*herald.Record{r}, []*herald.Event{ev})
		}()
	}
	wg.Wait()
	ok := 0
	for i, err := range errs {
		switch {
		case i%8 == 0:
			wantCode(t, err, herald.ECONFLICT)
		case err != nil:
			t.Errorf("create %d: %v", i, err)
		default:
			ok++
		}
	}
	if got := len(b.deliveries(w, herald.DeliveryPending)); got != ok+1 {
		t.Errorf("%d pending deliveries, want %d (one per created person)", got, ok+1)
	}
	got, err := s.FindRecord(b.ctx, b.ws.ID, "person", taken.ID)
	must(t, err)
	if string(got.Values["firstName"]) != `"Taken"` {
		t.Errorf("a conflicting create changed the record: %v", got.Values)
	}
}
