package storetest

import (
	"testing"
	"time"

	"github.com/heraldhq/herald"
	"github.com/heraldhq/herald/record"
)

var outboxCases = []testCase{
	// Each change writes one delivery per webhook whose operations match,
	// in its own workspace; a disabled webhook's is skipped.
	{"FanOut", func(t *testing.T, b *bundle) {
		all := b.webhook()
		created := b.webhook("person.created")
		updatedAny := b.webhook("*.updated")
		companies := b.webhook("company.*")
		disabled := b.webhook()
		b.disable(disabled)
		other := b.other()
		foreign := other.webhook()

		r := b.create(`{"name":{"firstName":"Ada"}}`)
		b.update(r.ID, `{"city":"Paris"}`)
		b.update(r.ID, `{"city":"Paris"}`) // no change: no event

		for w, n := range map[*herald.Webhook]int{all: 2, created: 1, updatedAny: 1, companies: 0} {
			if got := len(b.deliveries(w, herald.DeliveryPending)); got != n {
				t.Errorf("webhook %v: %d pending deliveries, want %d", w.Operations, got, n)
			}
		}
		if got := other.deliveries(foreign, ""); len(got) != 0 {
			t.Errorf("another workspace's webhook got %d deliveries", len(got))
		}
		if got := b.deliveries(disabled, ""); len(got) != 2 || got[0].Status != herald.DeliverySkipped {
			t.Errorf("disabled webhook: %d deliveries, want 2 skipped", len(got))
		}
	}},
	{"FindDelivery", func(t *testing.T, b *bundle) {
		w := b.webhook()
		r := b.create(`{"name":{"firstName":"Ada"}}`)
		b.update(r.ID, `{"city":"Paris"}`)
		ds := b.deliveries(w, "")
		if len(ds) != 2 || ds[0].EventName != "person.updated" || ds[1].EventName != "person.created" {
			t.Fatalf("deliveries newest first: %+v", ds)
		}
		_, ev, _, err := b.s.FindDelivery(b.ctx, b.ws.ID, ds[0].ID)
		must(t, err)
		if len(ev.UpdatedFields) != 1 || ev.UpdatedFields[0] != "city" || string(ev.PreviousData) != `{"city":null}` || ev.RecordID != r.ID {
			t.Errorf("updated event: fields %v previous %s", ev.UpdatedFields, ev.PreviousData)
		}
		_, _, _, err = b.s.FindDelivery(b.ctx, b.other().ws.ID, ds[0].ID)
		wantCode(t, err, herald.ENOTFOUND)
	}},
	// A failed write leaves no event behind.
	{"FailedWriteWritesNoDelivery", func(t *testing.T, b *bundle) {
		w := b.webhook()
		r := b.create(`{"name":{"firstName":"Ada"}}`)
		dup := r.Clone()
		_, ev := record.New(person, b.ws.ID, b.actor, &record.Input{ID: r.ID, Values: dup.Values}, time.Now())
		wantCode(t, b.s.CreateRecords(b.ctx, []*herald.Record{dup}, []*herald.Event{ev}), herald.ECONFLICT)
		if n := len(b.deliveries(w, "")); n != 1 {
			t.Errorf("%d deliveries after a failed create, want the first one's", n)
		}
	}},
	// Deleting a webhook takes its deliveries with it.
	{"DeleteWebhook", func(t *testing.T, b *bundle) {
		w := b.webhook()
		b.create(`{"name":{"firstName":"Ada"}}`)
		d := b.deliveries(w, "")[0]
		wantCode(t, b.s.DeleteWebhook(b.ctx, b.other().ws.ID, w.ID), herald.ENOTFOUND)
		must(t, b.s.DeleteWebhook(b.ctx, b.ws.ID, w.ID))
		_, _, _, err := b.s.FindDelivery(b.ctx, b.ws.ID, d.ID)
		wantCode(t, err, herald.ENOTFOUND)
		wantCode(t, b.s.DeleteWebhook(b.ctx, b.ws.ID, w.ID), herald.ENOTFOUND)
	}},
}
