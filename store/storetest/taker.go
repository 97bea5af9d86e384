package storetest

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/heraldhq/herald"
	"github.com/heraldhq/herald/record"
)

// taker is a herald.Taker with room for a given number of deliveries,
// that keeps what it is handed.
type taker struct {
	mu       sync.Mutex
	room     int
	refuse   map[string]bool // webhooks it never takes
	reserved map[string]int
	taken    []*herald.Claim
	// onReserve, when set, runs at each reservation granted.
	onReserve func()
	notified  int
}

func newTaker(room int) *taker {
	return &taker{room: room, refuse: map[string]bool{}, reserved: map[string]int{}}
}

func (k *taker) Owner() string                      { return "taker" }
func (k *taker) LeaseUntil(now time.Time) time.Time { return now.Add(time.Minute) }

func (k *taker) Reserve(webhookID string) bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.room == 0 || k.refuse[webhookID] {
		return false
	}
	k.room--
	k.reserved[webhookID]++
	if k.onReserve != nil {
		k.onReserve()
	}
	return true
}

func (k *taker) Unreserve(webhookID string, n int) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.room += n
	k.reserved[webhookID] -= n
}

func (k *taker) Notify() {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.notified++
}

// wasNotified reports whether Notify was called since it last asked.
func (k *taker) wasNotified() bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	n := k.notified
	k.notified = 0
	return n > 0
}

func (k *taker) Take(claims []*herald.Claim) {
	k.mu.Lock()
	defer k.mu.Unlock()
	for _, c := range claims {
		k.reserved[c.Webhook.ID]--
	}
	k.taken = append(k.taken, claims...)
}

// check fails unless every reservation was taken or given back, and
// returns what was taken since the last check.
func (k *taker) check(t *testing.T) []*herald.Claim {
	t.Helper()
	k.mu.Lock()
	defer k.mu.Unlock()
	for id, n := range k.reserved {
		if n != 0 {
			t.Fatalf("webhook %s: %d reservations neither taken nor given back", id, n)
		}
	}
	taken := k.taken
	k.taken = nil
	return taken
}

func testTaking(t *testing.T, s herald.Store) {
	b := setup(t, s, "taking")
	w := b.webhook()
	other := b.webhook("person.created")
	off := b.webhook()
	b.disable(off)
	k := newTaker(2)
	k.refuse[other.ID] = true
	s.SetTaker(k)

	// A new delivery the taker has room for is handed over leased, with
	// what a claim of it would carry; the others are written as before.
	r1 := b.create(`{"firstName":"A"}`)
	taken := k.check(t)
	if len(taken) != 1 || taken[0].Webhook.ID != w.ID || taken[0].Event.RecordID != r1.ID || taken[0].Attempts != 0 {
		t.Fatalf("taken after one create: %+v, want one claim for webhook %s", taken, w.ID)
	}
	if !k.wasNotified() {
		t.Fatal("the refused webhook's delivery was written due, and the taker not told")
	}
	if got := len(b.deliveries(off, herald.DeliverySkipped)); got != 1 {
		t.Fatalf("disabled webhook: %d skipped deliveries, want 1", got)
	}
	if cs := b.claim("other", herald.Lane{WebhookID: w.ID, Limit: 10}); len(cs) != 0 {
		t.Fatalf("a taken delivery was claimed again by another owner: %d", len(cs))
	}
	if cs := b.claim("other", herald.Lane{WebhookID: other.ID, Limit: 10}); len(cs) != 1 {
		t.Fatalf("the refused webhook's delivery: %d claimable, want 1", len(cs))
	} else {
		must(t, s.CompleteDeliveries(b.ctx, []herald.Outcome{outcome(cs[0], "other", herald.DeliveryDelivered, 200, time.Time{})}))
	}
	// The claim carries the webhook and the event as a claim reads them.
	c := taken[0]
	_, stored, _, err := s.FindDelivery(b.ctx, b.ws.ID, c.DeliveryID)
	must(t, err)
	if c.Webhook.TargetURL != w.TargetURL || c.Webhook.Secret != w.Secret || c.Webhook.PayloadFormat != w.PayloadFormat ||
		c.Event.ID != stored.ID || c.Event.Seq != stored.Seq || !c.Event.Timestamp.Equal(stored.Timestamp) || string(c.Event.Data) != string(stored.Data) {
		t.Fatalf("taken claim %+v / %+v differs from the stored delivery's event %+v", c.Webhook, c.Event, stored)
	}

	// An update of the record while its creation is in flight waits, and is
	// not taken: it goes once the creation is done.
	b.update(r1.ID, `{"city":"Paris"}`)
	if taken := k.check(t); len(taken) != 0 {
		t.Fatalf("a delivery waiting behind its record's earlier one was taken: %+v", taken)
	}
	if k.wasNotified() {
		t.Fatal("told of a delivery that waits")
	}
	must(t, s.CompleteDeliveries(b.ctx, []herald.Outcome{outcome(c, "taker", herald.DeliveryDelivered, 200, time.Time{})}))
	if !k.wasNotified() {
		t.Fatal("a completion scheduled the waiting update, and the taker was not told")
	}
	cs := b.claim("other", herald.Lane{WebhookID: w.ID, Limit: 10})
	if len(cs) != 1 || cs[0].Event.Name != "person.updated" {
		t.Fatalf("after the taken creation was delivered, claimed %d, want the update", len(cs))
	}
	must(t, s.CompleteDeliveries(b.ctx, []herald.Outcome{outcome(cs[0], "other", herald.DeliveryDelivered, 200, time.Time{})}))
	// With every new delivery taken, there is nothing to tell.
	k.wasNotified()
	b.update(r1.ID, `{"city":"Lyon"}`)
	if taken := k.check(t); len(taken) != 1 || k.wasNotified() {
		t.Fatalf("an update taken whole: %d taken, want 1 and the taker not told", len(taken))
	} else {
		must(t, s.CompleteDeliveries(b.ctx, []herald.Outcome{outcome(taken[0], "taker", herald.DeliveryDelivered, 200, time.Time{})}))
	}

	// Without room, deliveries are written unleased, for a claim.
	k.room = 0
	b.create(`{"firstName":"B"}`)
	if taken := k.check(t); len(taken) != 0 || !k.wasNotified() {
		t.Fatalf("with no room: %d taken, want none and the taker told", len(taken))
	}
	if cs := b.claim("other", herald.Lane{WebhookID: w.ID, Limit: 10}); len(cs) != 1 {
		t.Fatalf("with no room: %d claimable, want 1", len(cs))
	}

	// A batch that fails writes nothing and gives its reservations back.
	k.room = 10
	in, err := record.ParseInput(person, json.RawMessage(`{"firstName":"C"}`), true)
	must(t, err)
	var recs []*herald.Record
	var evs []*herald.Event
	for i := range 3 {
		r, ev := record.New(person, b.ws.ID, b.actor, &record.Input{Values: in.Values, Order: in.Order}, time.Now())
		if i == 2 {
			r.ID, ev.RecordID = r1.ID, r1.ID
		}
		recs, evs = append(recs, r), append(evs, ev)
	}
	wantCode(t, s.CreateRecords(b.ctx, recs, evs), herald.ECONFLICT)
	if taken := k.check(t); len(taken) != 0 || k.wasNotified() {
		t.Fatalf("a failed batch handed over %d claims, or told the taker", len(taken))
	}

	// So does one whose request ends after the reservation.
	ctx, cancel := context.WithCancel(b.ctx)
	k.onReserve = cancel
	r, ev := record.New(person, b.ws.ID, b.actor, &record.Input{Values: in.Values, Order: in.Order}, time.Now())
	if err := s.CreateRecords(ctx, []*herald.Record{r}, []*herald.Event{ev}); err == nil {
		t.Fatal("a create whose context ended during its transaction succeeded")
	}
	k.onReserve = nil
	if taken := k.check(t); len(taken) != 0 {
		t.Fatalf("a canceled create handed over %d claims", len(taken))
	}
	if _, err := s.FindRecord(b.ctx, b.ws.ID, "person", r.ID); herald.ErrorCode(err) != herald.ENOTFOUND {
		t.Fatalf("a canceled create left its record: %v", err)
	}

	// Concurrent creates, some failing: every reservation is accounted
	// for, and every delivery written is taken exactly once.
	created := b.createConcurrently(24, 4, r1.ID)
	taken = k.check(t)
	seen := map[int64]bool{}
	for _, c := range taken {
		seen[c.DeliveryID] = true
	}
	unleased := b.claim("other", herald.Lane{WebhookID: w.ID, Limit: 100})
	if len(seen) != len(taken) || len(taken)+len(unleased) != created || len(taken) != min(created, 10) {
		t.Fatalf("%d created: %d taken (%d distinct), %d left to claim; want min(created, room 10) taken", created, len(taken), len(seen), len(unleased))
	}

	// A write begun before the taker was set and committed after tells it:
	// an engine starting while the API writes must not wait for its poll.
	s.SetTaker(nil)
	k.wasNotified()
	_, err = s.UpdateRecord(b.ctx, b.ws.ID, person.NameSingular, r1.ID, func(r *herald.Record) (*herald.Event, error) {
		s.SetTaker(k)
		in, err := record.ParseInput(person, json.RawMessage(`{"city":"Nice"}`), false)
		if err != nil {
			return nil, err
		}
		return record.Apply(person, r, in, time.Now()), nil
	})
	must(t, err)
	if taken := k.check(t); len(taken) != 0 || !k.wasNotified() {
		t.Fatalf("a write that began before the taker was set: %d taken, want none and the taker told", len(taken))
	}
	// So do a manual retry, a replay and a webhook's re-enabling.
	retried := b.claim("other", herald.Lane{WebhookID: w.ID, Limit: 1})
	must(t, s.CompleteDeliveries(b.ctx, []herald.Outcome{outcome(retried[0], "other", herald.DeliveryFailed, 500, time.Time{})}))
	k.wasNotified()
	_, err = s.RetryDelivery(b.ctx, b.ws.ID, retried[0].DeliveryID, time.Now())
	must(t, err)
	if !k.wasNotified() {
		t.Fatal("a retried delivery was made due, and the taker not told")
	}
	_, err = s.ReplayDeliveries(b.ctx, b.ws.ID, off.ID, time.Now().Add(-time.Hour), time.Now())
	must(t, err)
	if !k.wasNotified() {
		t.Fatal("a replay made deliveries due, and the taker not told")
	}
	_, err = s.UpdateWebhook(b.ctx, b.ws.ID, off.ID, func(w *herald.Webhook) error { w.Status = herald.WebhookActive; return nil })
	must(t, err)
	if !k.wasNotified() {
		t.Fatal("a webhook was enabled again, and the taker not told")
	}
	// And claims given back unattempted.
	released := b.claim("other", herald.Lane{WebhookID: off.ID, Limit: 1})
	if len(released) != 1 {
		t.Fatalf("the re-enabled webhook: %d claimable, want its replayed delivery", len(released))
	}
	k.wasNotified()
	must(t, s.ReleaseClaims(b.ctx, "other", []int64{released[0].DeliveryID}))
	if !k.wasNotified() {
		t.Fatal("claims were released, and the taker not told")
	}

	// Without a taker nothing is reserved.
	s.SetTaker(nil)
	k.room = 10
	b.create(`{"firstName":"D"}`)
	if taken := k.check(t); len(taken) != 0 {
		t.Fatalf("taken after SetTaker(nil): %d", len(taken))
	}
}
