package storetest

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/heraldhq/herald"
	"github.com/heraldhq/herald/operational"
)

// told returns the events of the deliveries pending for w, oldest first.
func (b *bundle) told(w *herald.Webhook) []*herald.Event {
	b.t.Helper()
	ds := b.deliveries(w, herald.DeliveryPending)
	evs := make([]*herald.Event, len(ds))
	for i, d := range ds {
		_, ev, _, err := b.s.FindDelivery(b.ctx, b.ws.ID, d.ID)
		must(b.t, err)
		evs[len(ds)-1-i] = ev // the log is newest first
	}
	return evs
}

// wantTold checks the events w was told of: names in order, each about
// the webhook of id.
func wantTold(t *testing.T, evs []*herald.Event, id string, names ...string) {
	t.Helper()
	if len(evs) != len(names) {
		t.Fatalf("%d operational events, want %v", len(evs), names)
	}
	for i, ev := range evs {
		var data struct{ ID, WebhookID string }
		_ = json.Unmarshal(ev.Data, &data)
		if ev.Name != names[i] || ev.RecordID != id || data.ID != id && data.WebhookID != id {
			t.Fatalf("event %d: %s about %s (%s), want %s about %s", i, ev.Name, ev.RecordID, ev.Data, names[i], id)
		}
	}
}

var operationalCases = []testCase{
	// A webhook disabled or enabled through an update tells the webhooks
	// that subscribe, in the same transaction: not itself, not one for
	// every object; an update that leaves the status tells nobody.
	{"StatusChanges", func(t *testing.T, b *bundle) {
		w := b.webhook("webhook.*")
		watcher := b.webhook("webhook.*")
		all := b.webhook("*.*")
		set := func(status string) {
			_, err := b.s.UpdateWebhook(b.ctx, b.ws.ID, w.ID, func(w *herald.Webhook) error {
				w.Status, w.Description = status, "changed "+status
				if status == herald.WebhookDisabled {
					now := time.Now()
					w.DisabledAt, w.DisabledReason = &now, "disabled through the API"
				}
				return nil
			})
			must(t, err)
		}
		set(herald.WebhookActive)
		set(herald.WebhookDisabled)
		set(herald.WebhookDisabled)
		set(herald.WebhookActive)
		evs := b.told(watcher)
		wantTold(t, evs, w.ID, operational.WebhookDisabled, operational.WebhookEnabled)
		var data operational.Webhook
		must(t, json.Unmarshal(evs[0].Data, &data))
		if data.Status != herald.WebhookDisabled || data.DisabledReason != "disabled through the API" || data.TargetURL != w.TargetURL || data.DisabledAt == nil {
			t.Fatalf("webhook.disabled data %s", evs[0].Data)
		}
		if n := len(b.deliveries(w, "")) + len(b.deliveries(all, "")); n != 0 {
			t.Fatalf("%d deliveries to the webhook itself or to one for every object", n)
		}
	}},
	// Auto-disable and 410 Gone tell too.
	{"Disabled", func(t *testing.T, b *bundle) {
		failing, gone := b.webhook("person.*"), b.webhook("person.*")
		watcher := b.webhook("webhook.disabled")
		b.create(`{"name":{"firstName":"D"}}`)
		t0 := time.Now().Add(-10 * 24 * time.Hour).Truncate(time.Millisecond)
		cs := b.claim("h", herald.Lane{WebhookID: failing.ID, Limit: 1}, herald.Lane{WebhookID: gone.ID, Limit: 1})
		var outs []herald.Outcome
		for _, c := range cs {
			if c.Webhook.ID == failing.ID {
				outs = append(outs, attemptAt(c, herald.DeliveryPending, 500, t0, "HTTP 500 Internal Server Error"))
			} else {
				o := attemptAt(c, herald.DeliveryFailed, 410, time.Now(), "HTTP 410 Gone")
				o.DisableWebhook = herald.ReasonGone
				outs = append(outs, o)
			}
		}
		must(t, b.s.CompleteDeliveries(b.ctx, outs))
		wantTold(t, b.told(watcher), gone.ID, operational.WebhookDisabled)
		_, err := b.s.DisableFailingWebhooks(b.ctx, t0.Add(time.Hour), time.Now())
		must(t, err)
		evs := b.told(watcher)
		wantTold(t, evs[1:], failing.ID, operational.WebhookDisabled)
		if !json.Valid(evs[1].Data) || evs[1].ObjectPlural != herald.WebhookObjectPlural {
			t.Fatalf("event %+v", evs[1])
		}
	}},
	// An outcome's event is published with it when it is recorded, and
	// not when it is stale.
	{"PublishedWithOutcome", func(t *testing.T, b *bundle) {
		w := b.webhook("person.*")
		watcher := b.webhook("delivery.*")
		b.create(`{"name":{"firstName":"E"}}`)
		c := b.claim("h", herald.Lane{WebhookID: w.ID, Limit: 1})[0]
		exhausted := func(owner string) herald.Outcome {
			o := outcome(c, owner, herald.DeliveryFailed, 503, time.Time{})
			o.Attempt.Error = "HTTP 503 Service Unavailable"
			var ok bool
			o.Publish, ok = operational.Exhausted("dlv_test", c.Webhook, c.Event, o.Attempt, time.Now())
			if !ok {
				t.Fatal("a record event's delivery has no delivery.exhausted")
			}
			return o
		}
		must(t, b.s.CompleteDeliveries(b.ctx, []herald.Outcome{exhausted("someone else")}))
		if evs := b.told(watcher); len(evs) != 0 {
			t.Fatalf("a stale outcome published %d events", len(evs))
		}
		must(t, b.s.CompleteDeliveries(b.ctx, []herald.Outcome{exhausted("h")}))
		evs := b.told(watcher)
		wantTold(t, evs, w.ID, operational.DeliveryExhausted)
		var data operational.Delivery
		must(t, json.Unmarshal(evs[0].Data, &data))
		if data.ID != "dlv_test" || data.Event != "person.created" || data.EventID != c.Event.ID || data.AttemptCount != 1 ||
			data.LastStatusCode == nil || *data.LastStatusCode != 503 || data.LastError != "HTTP 503 Service Unavailable" {
			t.Fatalf("delivery.exhausted data %s", evs[0].Data)
		}
		// The watcher's own failure to be told is told to nobody.
		cw := b.claim("h", herald.Lane{WebhookID: watcher.ID, Limit: 1})[0]
		if _, ok := operational.Exhausted("dlv_2", cw.Webhook, cw.Event, herald.Attempt{Number: 1}, time.Now()); ok {
			t.Fatal("a delivery of an operational event has a delivery.exhausted of its own")
		}
	}},
}
