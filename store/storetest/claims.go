package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/heraldhq/herald"
)

var claimCases = []testCase{
	{"QueueStats", func(t *testing.T, b *bundle) {
		b.webhook()
		b.webhook()
		if st, err := b.s.QueueStats(b.ctx); err != nil || st.Pending != 0 || !st.OldestPending.IsZero() {
			t.Fatalf("QueueStats of an empty queue = %+v, %v", st, err)
		}
		start := time.Now().Truncate(time.Millisecond)
		b.createN(5, `{"name":{"firstName":"P"}}`)
		if st, err := b.s.QueueStats(b.ctx); err != nil || st.Pending != 10 || st.OldestPending.Before(start) || st.OldestPending.After(time.Now()) {
			t.Fatalf("QueueStats after 5 events to 2 webhooks = %+v, %v; want 10 pending since %v", st, err, start)
		}
		due, err := b.s.DueWebhooks(b.ctx, time.Now())
		must(t, err)
		if len(due) != 2 {
			t.Fatalf("DueWebhooks = %v, want both", due)
		}
		next, ok, err := b.s.NextDue(b.ctx)
		must(t, err)
		if !ok || next.After(time.Now()) {
			t.Fatalf("NextDue = %s, %v; want a time already passed", next, ok)
		}
	}},
	// Each lane gets at most its limit, with what a delivery needs; leased
	// deliveries are not claimed again.
	{"ClaimDeliveries", func(t *testing.T, b *bundle) {
		fast, slow := b.webhook(), b.webhook()
		for i := range 5 {
			b.create(fmt.Sprintf(`{"name":{"firstName":"P%d"}}`, i))
		}
		cs := b.claim("a", herald.Lane{WebhookID: fast.ID, Limit: 3}, herald.Lane{WebhookID: slow.ID, Limit: 1})
		per := map[string]int{}
		for _, c := range cs {
			per[c.Webhook.ID]++
			if c.Event == nil || c.Event.Name != "person.created" || c.Webhook.Secret == "" {
				t.Fatalf("claim without its event or webhook: %+v", c)
			}
		}
		if per[fast.ID] != 3 || per[slow.ID] != 1 {
			t.Fatalf("claimed per lane %v, want 3 and 1", per)
		}
		if again := b.claim("b", herald.Lane{WebhookID: fast.ID, Limit: 10}); len(again) != 2 {
			t.Fatalf("second claim got %d, want the 2 unleased", len(again))
		}
		// Disabled webhooks are not claimed; their pending work waits.
		b.disable(slow)
		if got := b.claim("c", herald.Lane{WebhookID: slow.ID, Limit: 10}); len(got) != 0 {
			t.Fatalf("claimed %d from a disabled webhook", len(got))
		}
		if due, err := b.s.DueWebhooks(b.ctx, time.Now()); err != nil || len(due) != 0 {
			t.Fatalf("DueWebhooks with one lane leased and one disabled = %v, %v", due, err)
		}
	}},
	// Outcomes: delivered, retried later, failed for good; an outcome from
	// an owner that does not hold the lease is ignored.
	{"CompleteDeliveries", func(t *testing.T, b *bundle) {
		w := b.webhook()
		b.createN(4, `{"name":{"firstName":"P"}}`)
		lane := herald.Lane{WebhookID: w.ID, Limit: 3}
		cs := b.claim("a", lane)
		theirs := b.claim("b", lane)
		later := time.Now().Add(time.Hour)
		must(t, b.s.CompleteDeliveries(b.ctx, []herald.Outcome{
			outcome(cs[0], "a", herald.DeliveryDelivered, 200, time.Time{}),
			outcome(cs[1], "a", herald.DeliveryPending, 500, later),
			outcome(cs[2], "a", herald.DeliveryFailed, 500, time.Time{}),
			outcome(theirs[0], "not-the-owner", herald.DeliveryDelivered, 200, time.Time{}),
		}))
		for i, want := range []string{herald.DeliveryDelivered, herald.DeliveryPending, herald.DeliveryFailed} {
			d, _, attempts, err := b.s.FindDelivery(b.ctx, b.ws.ID, cs[i].DeliveryID)
			must(t, err)
			if d.Status != want || d.Attempts != 1 || len(attempts) != 1 {
				t.Fatalf("delivery %d: %+v with %d attempts, want %s after one", i, d, len(attempts), want)
			}
		}
		d, _, attempts, err := b.s.FindDelivery(b.ctx, b.ws.ID, cs[1].DeliveryID)
		must(t, err)
		if attempts[0].StatusCode != 500 || attempts[0].ResponseBody != "answer 500" || d.NextAttemptAt == nil || d.NextAttemptAt.Unix() != later.Unix() {
			t.Fatalf("retried delivery = %+v, attempts %+v", d, attempts)
		}
		if d, _, _, _ := b.s.FindDelivery(b.ctx, b.ws.ID, theirs[0].DeliveryID); d.Status != herald.DeliveryPending || d.Attempts != 0 {
			t.Fatalf("outcome from a non-owner was recorded: %+v", d)
		}
	}},
	// A retry by hand makes a delivery due now, whatever its status.
	{"RetryDelivery", func(t *testing.T, b *bundle) {
		w := b.webhook()
		b.create(`{"name":{"firstName":"P"}}`)
		cs := b.claim("a", herald.Lane{WebhookID: w.ID, Limit: 1})
		must(t, b.s.CompleteDeliveries(b.ctx, []herald.Outcome{outcome(cs[0], "a", herald.DeliveryFailed, 500, time.Time{})}))
		r, err := b.s.RetryDelivery(b.ctx, b.ws.ID, cs[0].DeliveryID, time.Now())
		must(t, err)
		if r.Status != herald.DeliveryPending || r.NextAttemptAt == nil {
			t.Fatalf("RetryDelivery = %+v", r)
		}
		if again := b.claim("a", herald.Lane{WebhookID: w.ID, Limit: 1}); len(again) != 1 || again[0].Round != 0 || again[0].Attempts != 1 {
			t.Fatalf("after a retry by hand, claimed %+v: want it, on a fresh schedule", again)
		}
		_, err = b.s.RetryDelivery(b.ctx, b.other().ws.ID, cs[0].DeliveryID, time.Now())
		wantCode(t, err, herald.ENOTFOUND)
	}},
}
