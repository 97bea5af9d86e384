package sqlstore_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
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

// Concurrent updates (on SQLite, one group's writes), some of them
// refused or of a missing record, mixed with creations: each gets its own
// result, each applied one its event and delivery, and a refused one
// changes nothing. On PostgreSQL updates do not group: the same holds.
func TestConcurrentUpdatesEachGetTheirOwnResult(t *testing.T) {
	t.Parallel()
	for name, open := range engines {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			db, _ := open(t)
			ws, _, err := db.EnsureWorkspace(ctx, "updates")
			if err != nil {
				t.Fatal(err)
			}
			now := herald.Now()
			hook := &herald.Webhook{ID: "00000000-0000-4000-8000-00000000000a", WorkspaceID: ws.ID, TargetURL: "http://127.0.0.1:1/", Operations: []string{"person.updated"},
				Secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", Status: herald.WebhookActive, PayloadFormat: herald.PayloadHerald, CreatedAt: now, UpdatedAt: now}
			if err := db.CreateWebhook(ctx, hook); err != nil {
				t.Fatal(err)
			}
			person := herald.StandardObjects()[0]
			input := func(body string) *record.Input {
				in, err := record.ParseInput(person, json.RawMessage(body), false)
				if err != nil {
					t.Fatal(err)
				}
				return in
			}
			var ids []string
			for range 10 {
				r, ev := record.New(person, ws.ID, "actor", input(`{"city":"Start"}`), time.Now())
				if err := db.CreateRecords(ctx, []*herald.Record{r}, []*herald.Event{ev}); err != nil {
					t.Fatal(err)
				}
				ids = append(ids, r.ID)
			}
			refused := herald.FieldErrorf("city", "refused")
			var wg sync.WaitGroup
			var mu sync.Mutex
			applied := 0
			for i := range 60 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					id := ids[i%len(ids)]
					switch i % 4 {
					case 0: // a missing record
						_, err := db.UpdateRecord(ctx, ws.ID, "person", "00000000-0000-4000-8000-000000000999", func(r *herald.Record) (*herald.Event, error) {
							return record.Apply(person, r, input(`{"city":"Nowhere"}`), time.Now()), nil
						})
						if herald.ErrorCode(err) != herald.ENOTFOUND {
							t.Errorf("update of a missing record: %v", err)
						}
					case 1: // refused half way
						_, err := db.UpdateRecord(ctx, ws.ID, "person", id, func(r *herald.Record) (*herald.Event, error) {
							record.Apply(person, r, input(`{"city":"Refused"}`), time.Now())
							return nil, refused
						})
						if !errors.Is(err, refused) {
							t.Errorf("a refused update: %v", err)
						}
					case 2: // a creation in the same groups
						r, ev := record.New(person, ws.ID, "actor", input(`{"city":"New"}`), time.Now())
						if err := db.CreateRecords(ctx, []*herald.Record{r}, []*herald.Event{ev}); err != nil {
							t.Error(err)
						}
					default:
						r, err := db.UpdateRecord(ctx, ws.ID, "person", id, func(r *herald.Record) (*herald.Event, error) {
							return record.Apply(person, r, input(fmt.Sprintf(`{"jobTitle":"Update %d"}`, i)), time.Now()), nil
						})
						if err != nil || !strings.Contains(string(r.Values["jobTitle"]), fmt.Sprint(i)) {
							t.Errorf("update %d: %v", i, err)
							return
						}
						mu.Lock()
						applied++
						mu.Unlock()
					}
				}()
			}
			wg.Wait()
			for _, id := range ids {
				r, err := db.FindRecord(ctx, ws.ID, "person", id)
				if err != nil || string(r.Values["city"]) != `"Start"` {
					t.Fatalf("record %s after the updates: %v %s", id, err, r.Values["city"])
				}
			}
			ds, _, err := db.ListDeliveries(ctx, herald.DeliveryQuery{WorkspaceID: ws.ID, WebhookID: hook.ID, Limit: 200})
			if err != nil || len(ds) != applied || applied != 15 {
				t.Fatalf("%d deliveries of %d updates applied, want 15: %v", len(ds), applied, err)
			}
		})
	}
}

// A leader lingers for requests that come close together, so that they
// share its commit, and does not when they come further apart than the
// linger: there is nothing to wait for.
func TestGroupLinger(t *testing.T) {
	t.Parallel()
	person := herald.StandardObjects()[0]
	in, err := record.ParseInput(person, json.RawMessage(`{"name":{"firstName":"L"}}`), true)
	if err != nil {
		t.Fatal(err)
	}
	create := func(t *testing.T, db *sqlstore.DB, ws *herald.Workspace) {
		r, ev := record.New(person, ws.ID, "actor", &record.Input{Values: in.Values, Order: in.Order}, time.Now())
		if err := db.CreateRecords(context.Background(), []*herald.Record{r}, []*herald.Event{ev}); err != nil {
			t.Error(err)
		}
	}
	for name, open := range engines {
		t.Run(name+"/Close", func(t *testing.T) {
			t.Parallel()
			// A linger far longer than the test: the group ends when it
			// has lingerRecords (16) requests, not by its timer. The
			// first request, with no gap before it known, goes alone.
			db, ws := lingering(t, open, time.Minute)
			create(t, db, ws)
			var wg sync.WaitGroup
			for range 16 {
				wg.Go(func() { create(t, db, ws) })
			}
			wg.Wait()
			if n, _ := sqlstore.GroupsFormed(db); n != 2 {
				t.Errorf("one request, then 16 at once, committed in %d groups, want 2", n)
			}
		})
		t.Run(name+"/OneClient", func(t *testing.T) {
			t.Parallel()
			// One request after another: the gaps are short, but no
			// linger can gather anything, so few are tried.
			db, ws := lingering(t, open, 50*time.Millisecond)
			for range 50 {
				create(t, db, ws)
			}
			if n, lingered := sqlstore.GroupsFormed(db); n != 50 || lingered > 8 {
				t.Errorf("50 requests one after another: %d groups, %d leaders lingered; want 50 groups, at most 8 lingering", n, lingered)
			}
		})
		t.Run(name+"/Apart", func(t *testing.T) {
			t.Parallel()
			db, ws := lingering(t, open, 5*time.Millisecond)
			for range 5 {
				start := time.Now()
				create(t, db, ws)
				time.Sleep(50*time.Millisecond - time.Since(start))
			}
			if n, lingered := sqlstore.GroupsFormed(db); n != 5 || lingered != 0 {
				t.Errorf("5 requests 50 ms apart: %d groups, %d leaders lingered; want 5 groups, none lingering", n, lingered)
			}
		})
	}
}

// lingering opens a store whose group leaders linger for linger, with a
// workspace.
func lingering(t *testing.T, open func(t *testing.T) (*sqlstore.DB, *sql.DB), linger time.Duration) (*sqlstore.DB, *herald.Workspace) {
	t.Helper()
	db, _ := open(t)
	ws, _, err := db.EnsureWorkspace(context.Background(), "linger")
	if err != nil {
		t.Fatal(err)
	}
	sqlstore.SetGroupLinger(db, linger)
	return db, ws
}
