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
	waiting   int
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

func (k *taker) Waiting() {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.waiting++
}

// wasAwaited reports whether Waiting was called since it last asked.
func (k *taker) wasAwaited() bool { return k.since(&k.waiting) }

// wasNotified reports whether Notify was called since it last asked.
func (k *taker) wasNotified() bool { return k.since(&k.notified) }

// since reports whether the count n moved since it was last asked, and
// starts it over.
func (k *taker) since(n *int) bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	moved := *n > 0
	*n = 0
	return moved
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

// taking sets a taker with room for room deliveries on b's store, and
// makes a webhook for it.
func (b *bundle) taking(room int) (*taker, *herald.Webhook) {
	b.t.Helper()
	w := b.webhook()
	k := newTaker(room)
	b.s.SetTaker(k)
	return k, w
}

// done delivers c for its owner.
func (b *bundle) done(c *herald.Claim, owner string) {
	b.t.Helper()
	must(b.t, b.s.CompleteDeliveries(b.ctx, []herald.Outcome{outcome(c, owner, herald.DeliveryDelivered, 200, time.Time{})}))
}

var takingCases = []testCase{
	// A new delivery the taker has room for is handed over leased, with
	// what a claim of it would carry; the others are written as before.
	{"TakenAsWritten", func(t *testing.T, b *bundle) {
		refused := b.webhook("person.created")
		off := b.webhook()
		b.disable(off)
		k, w := b.taking(2)
		k.refuse[refused.ID] = true
		r := b.create(`{"name":{"firstName":"A"}}`)
		taken := k.check(t)
		if len(taken) != 1 || taken[0].Webhook.ID != w.ID || taken[0].Event.RecordID != r.ID || taken[0].Attempts != 0 || !taken[0].Taken {
			t.Fatalf("taken after one create: %+v, want one claim for webhook %s, marked Taken", taken, w.ID)
		}
		if k.wasAwaited() {
			t.Fatal("a created record's deliveries wait for nothing, and the taker was told they did")
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
		if cs := b.claim("other", herald.Lane{WebhookID: refused.ID, Limit: 10}); len(cs) != 1 || cs[0].Taken {
			t.Fatalf("the refused webhook's delivery: %d claimable, want 1, not marked Taken", len(cs))
		}
		// The claim carries the webhook and the event as a claim reads them.
		c := taken[0]
		_, stored, _, err := b.s.FindDelivery(b.ctx, b.ws.ID, c.DeliveryID)
		must(t, err)
		if c.Webhook.TargetURL != w.TargetURL || c.Webhook.Secret != w.Secret || c.Webhook.PayloadFormat != w.PayloadFormat ||
			c.Event.ID != stored.ID || c.Event.Seq != stored.Seq || !c.Event.Timestamp.Equal(stored.Timestamp) || string(c.Event.Data) != string(stored.Data) {
			t.Fatalf("taken claim %+v / %+v differs from the stored delivery's event %+v", c.Webhook, c.Event, stored)
		}
	}},
	// An update of a record whose creation is in flight waits, and is not
	// taken: it goes once the creation is done. With nothing to wait for,
	// it is taken whole, and there is nothing to tell.
	{"WaitingIsNotTaken", func(t *testing.T, b *bundle) {
		k, w := b.taking(2)
		r := b.create(`{"name":{"firstName":"A"}}`)
		c := k.check(t)[0]
		k.wasNotified()
		b.update(r.ID, `{"city":"Paris"}`)
		if taken := k.check(t); len(taken) != 0 {
			t.Fatalf("a delivery waiting behind its record's earlier one was taken: %+v", taken)
		}
		if k.wasNotified() {
			t.Fatal("told of a delivery that waits")
		}
		if !k.wasAwaited() {
			t.Fatal("an update waits behind its record's taken creation, and the taker was not told (Waiting)")
		}
		b.done(c, "taker")
		if !k.wasNotified() {
			t.Fatal("a completion scheduled the waiting update, and the taker was not told")
		}
		cs := b.claim("other", herald.Lane{WebhookID: w.ID, Limit: 10})
		if len(cs) != 1 || cs[0].Event.Name != "person.updated" {
			t.Fatalf("after the taken creation was delivered, claimed %d, want the update", len(cs))
		}
		b.done(cs[0], "other")
		k.wasNotified()
		b.update(r.ID, `{"city":"Lyon"}`)
		if taken := k.check(t); len(taken) != 1 || k.wasNotified() || k.wasAwaited() {
			t.Fatalf("an update taken whole: %d taken, want 1 and the taker not told", len(taken))
		}
	}},
	// Without room, deliveries are written unleased, for a claim.
	{"NoRoom", func(t *testing.T, b *bundle) {
		k, w := b.taking(0)
		b.create(`{"name":{"firstName":"B"}}`)
		if taken := k.check(t); len(taken) != 0 || !k.wasNotified() {
			t.Fatalf("with no room: %d taken, want none and the taker told", len(taken))
		}
		cs := b.claim("other", herald.Lane{WebhookID: w.ID, Limit: 10})
		if len(cs) != 1 {
			t.Fatalf("with no room: %d claimable, want 1", len(cs))
		}
		// An update written unleased may wait in the store behind one
		// the taker holds: it is told so.
		b.update(cs[0].Event.RecordID, `{"city":"Paris"}`)
		if !k.wasAwaited() {
			t.Fatal("an update written unleased behind a pending delivery of its record, and the taker not told (Waiting)")
		}
	}},
	// A batch that fails writes nothing and gives its reservations back;
	// so does one whose request ends after the reservation.
	{"FailedWritesGiveBack", func(t *testing.T, b *bundle) {
		taken := b.create(`{"name":{"firstName":"Taken"}}`)
		k, _ := b.taking(10)
		in, err := record.ParseInput(person, json.RawMessage(`{"name":{"firstName":"C"}}`), true)
		must(t, err)
		var recs []*herald.Record
		var evs []*herald.Event
		for i := range 3 {
			r, ev := record.New(person, b.ws.ID, b.actor, &record.Input{Values: in.Values, Order: in.Order}, time.Now())
			if i == 2 {
				r.ID, ev.RecordID = taken.ID, taken.ID
			}
			recs, evs = append(recs, r), append(evs, ev)
		}
		wantCode(t, b.s.CreateRecords(b.ctx, recs, evs), herald.ECONFLICT)
		if got := k.check(t); len(got) != 0 || k.wasNotified() {
			t.Fatalf("a failed batch handed over %d claims, or told the taker", len(got))
		}
		ctx, cancel := context.WithCancel(b.ctx)
		k.onReserve = cancel
		r, ev := record.New(person, b.ws.ID, b.actor, &record.Input{Values: in.Values, Order: in.Order}, time.Now())
		if err := b.s.CreateRecords(ctx, []*herald.Record{r}, []*herald.Event{ev}); err == nil {
			t.Fatal("a create whose context ended during its transaction succeeded")
		}
		k.onReserve = nil
		if got := k.check(t); len(got) != 0 {
			t.Fatalf("a canceled create handed over %d claims", len(got))
		}
		if _, err := b.s.FindRecord(b.ctx, b.ws.ID, "person", r.ID); herald.ErrorCode(err) != herald.ENOTFOUND {
			t.Fatalf("a canceled create left its record: %v", err)
		}
	}},
	// Concurrent creates, some failing: every reservation is accounted
	// for, and every delivery written is taken exactly once.
	{"ConcurrentCreates", func(t *testing.T, b *bundle) {
		taken := b.create(`{"name":{"firstName":"Taken"}}`)
		k, w := b.taking(10)
		created := b.createConcurrently(24, 4, taken.ID)
		got := k.check(t)
		seen := map[int64]bool{}
		for _, c := range got {
			seen[c.DeliveryID] = true
		}
		unleased := b.claim("other", herald.Lane{WebhookID: w.ID, Limit: 100})
		if len(seen) != len(got) || len(got)+len(unleased) != created || len(got) != min(created, 10) {
			t.Fatalf("%d created: %d taken (%d distinct), %d left to claim; want min(created, room 10) taken", created, len(got), len(seen), len(unleased))
		}
	}},
	// A write begun before the taker was set and committed after tells it:
	// an engine starting while the API writes must not wait for its poll.
	{"TakerSetDuringWrite", func(t *testing.T, b *bundle) {
		w := b.webhook()
		r := b.create(`{"name":{"firstName":"A"}}`)
		b.done(b.claim("other", herald.Lane{WebhookID: w.ID, Limit: 1})[0], "other")
		k := newTaker(10)
		_, err := b.s.UpdateRecord(b.ctx, b.ws.ID, person.NameSingular, r.ID, func(r *herald.Record) (*herald.Event, error) {
			b.s.SetTaker(k)
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
	}},
	// So do a manual retry, a replay, a webhook's re-enabling and claims
	// given back unattempted.
	{"MadeDueTellsTaker", func(t *testing.T, b *bundle) {
		w := b.webhook()
		off := b.webhook()
		b.disable(off)
		b.create(`{"name":{"firstName":"A"}}`)
		k := newTaker(0)
		b.s.SetTaker(k)
		retried := b.claim("other", herald.Lane{WebhookID: w.ID, Limit: 1})
		must(t, b.s.CompleteDeliveries(b.ctx, []herald.Outcome{outcome(retried[0], "other", herald.DeliveryFailed, 500, time.Time{})}))
		k.wasNotified()
		_, err := b.s.RetryDelivery(b.ctx, b.ws.ID, retried[0].DeliveryID, time.Now())
		must(t, err)
		if !k.wasNotified() {
			t.Fatal("a retried delivery was made due, and the taker not told")
		}
		_, err = b.s.ReplayDeliveries(b.ctx, b.ws.ID, off.ID, time.Now().Add(-time.Hour), time.Now())
		must(t, err)
		if !k.wasNotified() {
			t.Fatal("a replay made deliveries due, and the taker not told")
		}
		_, err = b.s.UpdateWebhook(b.ctx, b.ws.ID, off.ID, func(w *herald.Webhook) error { w.Status = herald.WebhookActive; return nil })
		must(t, err)
		if !k.wasNotified() {
			t.Fatal("a webhook was enabled again, and the taker not told")
		}
		released := b.claim("other", herald.Lane{WebhookID: off.ID, Limit: 1})
		if len(released) != 1 {
			t.Fatalf("the re-enabled webhook: %d claimable, want its replayed delivery", len(released))
		}
		k.wasNotified()
		must(t, b.s.ReleaseClaims(b.ctx, "other", []int64{released[0].DeliveryID}))
		if !k.wasNotified() {
			t.Fatal("claims were released, and the taker not told")
		}
	}},
	// Without a taker nothing is reserved.
	{"NoTaker", func(t *testing.T, b *bundle) {
		k, _ := b.taking(10)
		b.s.SetTaker(nil)
		b.create(`{"name":{"firstName":"D"}}`)
		if taken := k.check(t); len(taken) != 0 {
			t.Fatalf("taken after SetTaker(nil): %d", len(taken))
		}
	}},
}
