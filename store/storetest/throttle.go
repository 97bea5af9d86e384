package storetest

import (
	"testing"
	"time"

	"github.com/heraldhq/herald"
)

// throttled makes a webhook sent at most rate requests a second.
func (b *bundle) throttled(rate int) *herald.Webhook {
	b.t.Helper()
	w := b.webhook()
	w, err := b.s.UpdateWebhook(b.ctx, b.ws.ID, w.ID, func(w *herald.Webhook) error { w.ThrottleRate = rate; return nil })
	must(b.t, err)
	return w
}

// claimAt claims as of now.
func (b *bundle) claimAt(owner string, now time.Time, lanes ...herald.Lane) []*herald.Claim {
	b.t.Helper()
	cs, err := b.s.ClaimDeliveries(b.ctx, herald.ClaimRequest{Owner: owner, Now: now, LeaseUntil: now.Add(time.Minute), Lanes: lanes})
	must(b.t, err)
	return cs
}

var throttleCases = []testCase{
	// DueWebhooks names a throttled lane's rate; its claims get the turns
	// of the next ThrottleHorizon, one each 1/rate second, and claimers
	// after them (whoever they are) get the turns that follow, not the
	// same ones. A lane without a rate is claimed as ever.
	{"Turns", func(t *testing.T, b *bundle) {
		w := b.throttled(10)
		free := b.webhook()
		b.createN(40, `{"name":{"firstName":"T"}}`)
		due, err := b.s.DueWebhooks(b.ctx, time.Now())
		must(t, err)
		for _, l := range due {
			if want := map[string]int{w.ID: 10, free.ID: 0}[l.WebhookID]; l.Throttle != want {
				t.Fatalf("DueWebhooks: lane %+v, want Throttle %d", l, want)
			}
		}
		now := time.Now()
		cs := b.claimAt("a", now, herald.Lane{WebhookID: w.ID, Limit: 100, Throttle: 10}, herald.Lane{WebhookID: free.ID, Limit: 100})
		per := map[string][]*herald.Claim{}
		for _, c := range cs {
			per[c.Webhook.ID] = append(per[c.Webhook.ID], c)
		}
		if len(per[free.ID]) != 40 || !per[free.ID][0].NotBefore.IsZero() {
			t.Fatalf("the unthrottled lane: %d claims, want all 40 at once", len(per[free.ID]))
		}
		got := per[w.ID]
		if len(got) != 20 {
			t.Fatalf("throttled at 10/s: %d claims, want the 20 turns of the next %s", len(got), herald.ThrottleHorizon(time.Minute))
		}
		for i, c := range got {
			if want := now.Add(time.Duration(i) * 100 * time.Millisecond); c.NotBefore.Sub(want).Abs() > time.Millisecond {
				t.Fatalf("claim %d: turn %s, want %s", i, c.NotBefore.Format(time.StampMicro), want.Format(time.StampMicro))
			}
		}
		if again := b.claimAt("b", now, herald.Lane{WebhookID: w.ID, Limit: 100, Throttle: 10}); len(again) != 0 {
			t.Fatalf("another claimer at once got %d, want none: the turns are taken", len(again))
		}
		later := b.claimAt("b", now.Add(time.Second), herald.Lane{WebhookID: w.ID, Limit: 100, Throttle: 10})
		if len(later) != 10 {
			t.Fatalf("a second later: %d claims, want the 10 turns that came into the horizon", len(later))
		}
		if want := now.Add(2 * time.Second); later[0].NotBefore.Sub(want).Abs() > time.Millisecond {
			t.Fatalf("the next claim's first turn is %s, want right after the last one taken, %s", later[0].NotBefore, want)
		}
		// A turn long past is not saved up: a quiet webhook starts again
		// from now, at the rate.
		late := now.Add(time.Hour)
		cs = b.claimAt("c", late, herald.Lane{WebhookID: w.ID, Limit: 5, Throttle: 10})
		if len(cs) != 5 || cs[0].NotBefore.Sub(late).Abs() > time.Millisecond || cs[4].NotBefore.Sub(late.Add(400*time.Millisecond)).Abs() > time.Millisecond {
			t.Fatalf("after an hour: %d claims from %v, want 5 from %v", len(cs), cs[0].NotBefore, late)
		}
	}},
	// A throttled webhook's new deliveries are never taken as written:
	// only a claim gives turns.
	{"NotTaken", func(t *testing.T, b *bundle) {
		k, w := b.taking(10)
		_, err := b.s.UpdateWebhook(b.ctx, b.ws.ID, w.ID, func(w *herald.Webhook) error { w.ThrottleRate = 5; return nil })
		must(t, err)
		b.create(`{"name":{"firstName":"N"}}`)
		if taken := k.check(t); len(taken) != 0 || !k.wasNotified() {
			t.Fatalf("a throttled webhook's delivery: %d taken, want none and the taker told", len(taken))
		}
		if cs := b.claim("other", herald.Lane{WebhookID: w.ID, Limit: 10, Throttle: 5}); len(cs) != 1 || cs[0].NotBefore.IsZero() {
			t.Fatalf("claimed %+v, want the one delivery with its turn", cs)
		}
	}},
}

// dueLane reports whether due holds the webhook's lane.
func dueLane(due []herald.Lane, webhookID string) bool {
	for _, l := range due {
		if l.WebhookID == webhookID {
			return true
		}
	}
	return false
}
