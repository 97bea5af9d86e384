package sqlstore_test

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/heraldhq/herald"
	"github.com/heraldhq/herald/record"
	"github.com/heraldhq/herald/store/sqlstore"
)

// Concurrent creations under several group leaders each commit exactly
// once, whichever leader takes them, and every leader's turn ends.
func TestGroupsWithSeveralLeaders(t *testing.T) {
	t.Parallel()
	for name, open := range engines {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			db, _ := open(t)
			sqlstore.SetGroupLeaders(db, 3)
			ws, _, err := db.EnsureWorkspace(ctx, "groups")
			if err != nil {
				t.Fatal(err)
			}
			person := herald.StandardObjects()[0]
			in, err := record.ParseInput(person, json.RawMessage(`{"name":{"firstName":"G"}}`), true)
			if err != nil {
				t.Fatal(err)
			}
			const rounds, perRound = 5, 60
			ids := make([]string, 0, rounds*perRound)
			for range rounds {
				var wg sync.WaitGroup
				var mu sync.Mutex
				for i := range perRound {
					wg.Add(1)
					go func() {
						defer wg.Done()
						var recs []*herald.Record
						var evs []*herald.Event
						for range 1 + i%3 {
							r, ev := record.New(person, ws.ID, "actor", &record.Input{Values: in.Values, Order: in.Order}, time.Now())
							recs, evs = append(recs, r), append(evs, ev)
						}
						if err := db.CreateRecords(ctx, recs, evs); err != nil {
							t.Error(err)
							return
						}
						mu.Lock()
						for _, r := range recs {
							ids = append(ids, r.ID)
						}
						mu.Unlock()
					}()
				}
				wg.Wait()
				if n := sqlstore.GroupBusy(db); n != 0 {
					t.Fatalf("after every creation returned: %d leaders or queued requests left", n)
				}
			}
			for _, id := range ids {
				if _, err := db.FindRecord(ctx, ws.ID, person.NameSingular, id); err != nil {
					t.Fatalf("a created record: %v", err)
				}
			}
		})
	}
}
