package storetest

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/heraldhq/herald"
	"github.com/heraldhq/herald/record"
)

// Per-record order: of a record's pending deliveries to one webhook only
// the earliest is ever claimable.
var orderCases = []testCase{
	// Only a record made under an id of Herald's has no past: one created
	// again under the id of a destroyed one waits behind that one's
	// deliveries, while a new record's go at once.
	{"RecreatedRecordWaits", func(t *testing.T, b *bundle) {
		w := b.webhook()
		r := b.create(`{"name":{"firstName":"A"}}`)
		_, err := b.s.DestroyRecord(b.ctx, b.ws.ID, "person", r.ID, func(r *herald.Record) (*herald.Event, error) {
			return record.NewEvent(person, r, herald.ActionDestroyed, time.Now()), nil
		})
		must(t, err)
		in, err := record.ParseInput(person, json.RawMessage(`{"id":"`+r.ID+`","name":{"firstName":"A again"}}`), true)
		must(t, err)
		again, ev := record.New(person, b.ws.ID, b.actor, in, time.Now())
		if again.ID != r.ID || ev.Fresh {
			t.Fatalf("created again: id %s, fresh %v; want %s, not fresh", again.ID, ev.Fresh, r.ID)
		}
		must(t, b.s.CreateRecords(b.ctx, []*herald.Record{again}, []*herald.Event{ev}))
		other := b.create(`{"name":{"firstName":"B"}}`)
		scheduled := map[string]int{}
		for _, d := range b.deliveries(w, herald.DeliveryPending) {
			if d.NextAttemptAt != nil {
				scheduled[d.EventName]++
			}
		}
		if scheduled["person.created"] != 2 || scheduled["person.destroyed"] != 0 {
			t.Fatalf("scheduled deliveries by event: %v; want the first creation and %s's, the rest waiting", scheduled, other.ID)
		}
		cs := b.claim("a", herald.Lane{WebhookID: w.ID, Limit: 10})
		if len(cs) != 2 || cs[0].Event.RecordID != r.ID || cs[0].Event.Name != "person.created" || cs[1].Event.RecordID != other.ID {
			t.Fatalf("claimed %d deliveries; want the first creation and the other record's", len(cs))
		}
		must(t, b.s.CompleteDeliveries(b.ctx, []herald.Outcome{outcome(cs[0], "a", herald.DeliveryDelivered, 200, time.Time{})}))
		if cs := b.claim("a", herald.Lane{WebhookID: w.ID, Limit: 10}); len(cs) != 1 || cs[0].Event.Name != "person.destroyed" {
			t.Fatalf("after the first creation, claimed %d; want the destruction", len(cs))
		}
	}},
	{"LaterEventsWait", func(t *testing.T, b *bundle) {
		w, r1, r2 := b.orderFixture()
		lane := herald.Lane{WebhookID: w.ID, Limit: 10}
		waiting := 0
		for _, d := range b.deliveries(w, herald.DeliveryPending) {
			if d.NextAttemptAt == nil {
				waiting++
			}
		}
		if waiting != 2 {
			t.Fatalf("%d deliveries wait unscheduled, want r1's 2 updates", waiting)
		}
		due, err := b.s.DueWebhooks(b.ctx, time.Now())
		must(t, err)
		if !dueLane(due, w.ID) {
			t.Fatalf("DueWebhooks = %v, want %s", due, w.ID)
		}
		cs := b.claim("a", lane)
		if len(cs) != 2 || cs[0].Event.RecordID != r1.ID || cs[1].Event.RecordID != r2.ID {
			t.Fatalf("first claim: %d deliveries, want the first event of each record", len(cs))
		}
		// With the heads leased, nothing of this webhook is due.
		if due, err := b.s.DueWebhooks(b.ctx, time.Now()); err != nil || dueLane(due, w.ID) {
			t.Fatalf("DueWebhooks with the heads in flight = %v, %v", due, err)
		}
		// A retry keeps the record's later events waiting.
		must(t, b.s.CompleteDeliveries(b.ctx, []herald.Outcome{outcome(cs[0], "a", herald.DeliveryPending, 503, time.Now().Add(-time.Second)),
			outcome(cs[1], "a", herald.DeliveryDelivered, 200, time.Time{})}))
		cs2 := b.claim("a", lane)
		if len(cs2) != 1 || cs2[0].DeliveryID != cs[0].DeliveryID {
			t.Fatalf("after a retry was scheduled, claimed %d; want only the retry", len(cs2))
		}
		must(t, b.s.CompleteDeliveries(b.ctx, []herald.Outcome{outcome(cs2[0], "a", herald.DeliveryDelivered, 200, time.Time{})}))
		cs3 := b.claim("a", lane)
		if len(cs3) != 1 || cs3[0].Event.Name != "person.updated" || string(cs3[0].Event.PreviousData) != `{"city":null}` {
			t.Fatalf("after delivery, want the first update; got %d", len(cs3))
		}
		// A delivery that failed for good no longer blocks the record.
		must(t, b.s.CompleteDeliveries(b.ctx, []herald.Outcome{outcome(cs3[0], "a", herald.DeliveryFailed, 500, time.Time{})}))
		cs4 := b.claim("a", lane)
		if len(cs4) != 1 || string(cs4[0].Event.PreviousData) != `{"city":"One"}` {
			t.Fatalf("after a final failure, want the second update; got %d", len(cs4))
		}
	}},
	// Retrying an old delivery by hand while the record has one in flight
	// queues it behind that one; retrying the head keeps it the head.
	{"RetryBehindInFlight", func(t *testing.T, b *bundle) {
		w, _, _ := b.orderFixture()
		lane := herald.Lane{WebhookID: w.ID, Limit: 10}
		heads := b.claim("a", lane)
		must(t, b.s.CompleteDeliveries(b.ctx, []herald.Outcome{outcome(heads[0], "a", herald.DeliveryDelivered, 200, time.Time{}),
			outcome(heads[1], "a", herald.DeliveryDelivered, 200, time.Time{})}))
		first := b.claim("a", lane)
		must(t, b.s.CompleteDeliveries(b.ctx, []herald.Outcome{outcome(first[0], "a", herald.DeliveryDelivered, 200, time.Time{})}))
		second := b.claim("a", lane) // r1's last update, in flight
		if len(second) != 1 || string(second[0].Event.PreviousData) != `{"city":"One"}` {
			t.Fatalf("want r1's second update in flight; claimed %d", len(second))
		}
		retried, err := b.s.RetryDelivery(b.ctx, b.ws.ID, heads[0].DeliveryID, time.Now())
		must(t, err)
		if retried.NextAttemptAt != nil {
			t.Fatalf("a retry behind a delivery in flight is scheduled at %v", retried.NextAttemptAt)
		}
		if got := b.claim("a", lane); len(got) != 0 {
			t.Fatalf("claimed %d while the record's delivery is in flight", len(got))
		}
		must(t, b.s.CompleteDeliveries(b.ctx, []herald.Outcome{outcome(second[0], "a", herald.DeliveryDelivered, 200, time.Time{})}))
		next := b.claim("a", lane)
		if len(next) != 1 || next[0].DeliveryID != heads[0].DeliveryID {
			t.Fatalf("after the delivery in flight, want the retried one; got %d", len(next))
		}
		again, err := b.s.RetryDelivery(b.ctx, b.ws.ID, next[0].DeliveryID, time.Now())
		must(t, err)
		if again.NextAttemptAt == nil {
			t.Fatal("retrying the record's head left it unscheduled")
		}
	}},
	// A replay queues each record's events in order again: one head each.
	{"ReplayInOrder", func(t *testing.T, b *bundle) {
		w, r1, _ := b.orderFixture()
		lane := herald.Lane{WebhookID: w.ID, Limit: 10}
		for {
			cs := b.claim("a", lane)
			if len(cs) == 0 {
				break
			}
			for _, c := range cs {
				must(t, b.s.CompleteDeliveries(b.ctx, []herald.Outcome{outcome(c, "a", herald.DeliveryDelivered, 200, time.Time{})}))
			}
		}
		n, err := b.s.ReplayDeliveries(b.ctx, b.ws.ID, w.ID, time.Now().Add(-time.Hour), time.Now())
		must(t, err)
		if n != 4 {
			t.Fatalf("replayed %d, want 4", n)
		}
		cs := b.claim("a", lane)
		if len(cs) != 2 || cs[0].Event.Name != "person.created" || cs[1].Event.Name != "person.created" {
			t.Fatalf("after a replay, claimed %d; want each record's creation", len(cs))
		}
		head := cs[0]
		for i := range 2 { // r1's updates follow one by one
			must(t, b.s.CompleteDeliveries(b.ctx, []herald.Outcome{outcome(head, "a", herald.DeliveryDelivered, 200, time.Time{})}))
			next := b.claim("a", lane)
			if len(next) != 1 || next[0].Event.Name != "person.updated" || next[0].Event.RecordID != r1.ID {
				t.Fatalf("after r1's event %d, claimed %d; want its next update", i+1, len(next))
			}
			head = next[0]
		}
	}},
	// A record keeps changing while its deliveries go out as fast as they
	// can. Each change's delivery becomes pending just as the one before it
	// may be completing; every one must still go, one at a time, in order.
	{"OrderWhileChanging", func(t *testing.T, b *bundle) {
		s := b.s
		w := b.webhook()
		r := b.create(`{"name":{"firstName":"Hot"}}`)
		const changes = 150
		updated := make(chan error, 1)
		go func() {
			for i := range changes {
				in, err := record.ParseInput(person, json.RawMessage(fmt.Sprintf(`{"city":"C%d"}`, i)), false)
				if err == nil {
					_, err = s.UpdateRecord(b.ctx, b.ws.ID, "person", r.ID, func(r *herald.Record) (*herald.Event, error) {
						return record.Apply(person, r, in, time.Now()), nil
					})
				}
				if err != nil {
					updated <- err
					return
				}
			}
			updated <- nil
		}()
		lane := herald.Lane{WebhookID: w.ID, Limit: 10}
		var lastSeq int64
		delivered, writing := 0, true
		deadline := time.Now().Add(time.Minute)
		for delivered < changes+1 {
			if time.Now().After(deadline) {
				t.Fatalf("%d of %d deliveries went in a minute: the rest never became due", delivered, changes+1)
			}
			select {
			case err := <-updated:
				must(t, err)
				writing = false
			default:
			}
			cs := b.claim("a", lane)
			if len(cs) > 1 {
				t.Fatalf("claimed %d deliveries of one record at once", len(cs))
			}
			if len(cs) == 0 {
				time.Sleep(time.Millisecond)
				continue
			}
			if seq := cs[0].Event.Seq; seq <= lastSeq {
				t.Fatalf("event %d delivered after event %d", seq, lastSeq)
			} else {
				lastSeq = seq
			}
			must(t, s.CompleteDeliveries(b.ctx, []herald.Outcome{outcome(cs[0], "a", herald.DeliveryDelivered, 200, time.Time{})}))
			delivered++
		}
		if writing {
			must(t, <-updated)
		}
	}},
}

// orderFixture is a webhook and two records: r1 created and updated twice
// (city One, then Two), then r2 created.
func (b *bundle) orderFixture() (w *herald.Webhook, r1, r2 *herald.Record) {
	w = b.webhook()
	r1 = b.create(`{"name":{"firstName":"A"}}`)
	b.update(r1.ID, `{"city":"One"}`)
	b.update(r1.ID, `{"city":"Two"}`)
	r2 = b.create(`{"name":{"firstName":"B"}}`)
	return w, r1, r2
}
