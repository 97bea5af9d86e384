package storetest

import (
	"testing"
	"time"

	"github.com/heraldhq/herald"
)

// attemptAt is an outcome of an attempt that started at a given time.
func attemptAt(c *herald.Claim, status string, code int, at time.Time, errText string) herald.Outcome {
	o := outcome(c, "h", status, code, at)
	o.Attempt.StartedAt, o.Attempt.Error = at, errText
	return o
}

func (b *bundle) findWebhook(id string) *herald.Webhook {
	b.t.Helper()
	w, err := b.s.FindWebhook(b.ctx, b.ws.ID, id)
	must(b.t, err)
	return w
}

// history records four attempts of w's deliveries, an hour apart from t0
// ten days ago: three failures (500, a timeout, 502), then a success.
func (b *bundle) history(w *herald.Webhook) time.Time {
	b.t.Helper()
	b.createN(4, `{"name":{"firstName":"H"}}`)
	cs := b.claim("h", herald.Lane{WebhookID: w.ID, Limit: 4})
	if len(cs) != 4 {
		b.t.Fatalf("claimed %d", len(cs))
	}
	t0 := time.Now().Add(-10 * 24 * time.Hour).Truncate(time.Millisecond)
	must(b.t, b.s.CompleteDeliveries(b.ctx, []herald.Outcome{
		attemptAt(cs[0], herald.DeliveryFailed, 500, t0, "HTTP 500 Internal Server Error"),
		attemptAt(cs[1], herald.DeliveryFailed, 0, t0.Add(time.Hour), "timeout: no answer within 10s"),
		attemptAt(cs[2], herald.DeliveryFailed, 502, t0.Add(2*time.Hour), "HTTP 502 Bad Gateway"),
		attemptAt(cs[3], herald.DeliveryDelivered, 200, t0.Add(3*time.Hour), ""),
	}))
	return t0
}

var healthCases = []testCase{
	// A webhook is failing since the first failure after its last success.
	{"FailingSince", func(t *testing.T, b *bundle) {
		s := b.s
		w := b.webhook()
		b.createN(4, `{"name":{"firstName":"H"}}`)
		cs := b.claim("h", herald.Lane{WebhookID: w.ID, Limit: 10})
		t0 := time.Now().Add(-10 * 24 * time.Hour).Truncate(time.Millisecond)
		must(t, s.CompleteDeliveries(b.ctx, []herald.Outcome{
			attemptAt(cs[0], herald.DeliveryFailed, 500, t0, "HTTP 500 Internal Server Error"),
			attemptAt(cs[1], herald.DeliveryFailed, 0, t0.Add(time.Hour), "timeout: no answer within 10s"),
		}))
		got := b.findWebhook(w.ID)
		if got.FailingSince == nil || !got.FailingSince.Equal(t0) || got.LastError != "timeout: no answer within 10s" || got.LastSuccessAt != nil {
			t.Fatalf("after two failures: failingSince %v, lastError %q, lastSuccess %v", got.FailingSince, got.LastError, got.LastSuccessAt)
		}
		// A later failure keeps the first failure time.
		must(t, s.CompleteDeliveries(b.ctx, []herald.Outcome{attemptAt(cs[2], herald.DeliveryFailed, 502, t0.Add(2*time.Hour), "HTTP 502 Bad Gateway")}))
		if got := b.findWebhook(w.ID); !got.FailingSince.Equal(t0) || got.LastError != "HTTP 502 Bad Gateway" {
			t.Fatalf("a later failure moved failingSince to %v", got.FailingSince)
		}
		// Not failing for long enough: nothing is disabled.
		hooks, err := s.DisableFailingWebhooks(b.ctx, t0.Add(-time.Minute), time.Now())
		must(t, err)
		if len(hooks) != 0 {
			t.Fatalf("disabled %d webhooks failing for less than the limit", len(hooks))
		}
		// A success clears it.
		must(t, s.CompleteDeliveries(b.ctx, []herald.Outcome{attemptAt(cs[3], herald.DeliveryDelivered, 200, t0.Add(3*time.Hour), "")}))
		got = b.findWebhook(w.ID)
		if got.FailingSince != nil || got.LastSuccessAt == nil || !got.LastSuccessAt.Equal(t0.Add(3*time.Hour)) || got.LastError != "HTTP 502 Bad Gateway" {
			t.Fatalf("after a success: failingSince %v, lastSuccess %v, lastError %q", got.FailingSince, got.LastSuccessAt, got.LastError)
		}
	}},
	// Hourly buckets from t0: failures at +0h, +1h and +2h, the success at
	// +3h, nothing at +4h; another workspace sees nothing.
	{"AttemptHistogram", func(t *testing.T, b *bundle) {
		w := b.webhook()
		t0 := b.history(w)
		hist, err := b.s.AttemptHistogram(b.ctx, b.ws.ID, w.ID, t0, t0.Add(4*time.Hour+time.Minute), time.Hour)
		must(t, err)
		want := [][2]int{{1, 0}, {1, 0}, {1, 0}, {1, 1}, {0, 0}}
		if len(hist) != len(want) {
			t.Fatalf("AttemptHistogram: %d buckets, want %d", len(hist), len(want))
		}
		for i, h := range hist {
			if !h.Start.Equal(t0.Add(time.Duration(i)*time.Hour)) || h.Attempts != want[i][0] || h.Succeeded != want[i][1] {
				t.Fatalf("AttemptHistogram[%d] = %+v, want attempts and successes %v", i, h, want[i])
			}
		}
		hist, err = b.s.AttemptHistogram(b.ctx, b.other().ws.ID, w.ID, t0, t0.Add(4*time.Hour), time.Hour)
		must(t, err)
		for _, h := range hist {
			if h.Attempts != 0 {
				t.Fatalf("another workspace sees attempts: %+v", hist)
			}
		}
	}},
	// Stats count attempts since a time and the backlog.
	{"WebhookStats", func(t *testing.T, b *bundle) {
		w := b.webhook()
		quiet := b.webhook("company.*") // never gets a delivery
		t0 := b.history(w)
		b.createN(2, `{"name":{"firstName":"H2"}}`)
		cs := b.claim("h", herald.Lane{WebhookID: w.ID, Limit: 1})
		must(t, b.s.CompleteDeliveries(b.ctx, []herald.Outcome{attemptAt(cs[0], herald.DeliveryPending, 500, t0.Add(4*time.Hour), "HTTP 500 Internal Server Error")}))
		stats, err := b.s.WebhookStats(b.ctx, b.ws.ID, t0.Add(90*time.Minute))
		must(t, err)
		if st := stats[w.ID]; st.Attempts != 3 || st.Succeeded != 1 || st.Pending != 2 {
			t.Fatalf("stats = %+v, want 3 attempts, 1 succeeded, 2 pending", st)
		}
		if _, ok := stats[quiet.ID]; ok {
			t.Fatal("stats for a webhook without deliveries")
		}
		stats, err = b.s.WebhookStats(b.ctx, b.other().ws.ID, t0)
		must(t, err)
		if len(stats) != 0 {
			t.Fatalf("another workspace sees stats of %d webhooks", len(stats))
		}
	}},
	// A webhook failing for longer than the limit is disabled, with the
	// reason; events while it is disabled are skipped, its retry waits.
	{"DisableFailingWebhooks", func(t *testing.T, b *bundle) {
		w := b.webhook()
		quiet := b.webhook("company.*")
		b.createN(2, `{"name":{"firstName":"H"}}`)
		lane := herald.Lane{WebhookID: w.ID, Limit: 1}
		cs := b.claim("h", lane)
		t0 := time.Now().Add(-10 * 24 * time.Hour).Truncate(time.Millisecond)
		must(t, b.s.CompleteDeliveries(b.ctx, []herald.Outcome{attemptAt(cs[0], herald.DeliveryPending, 500, t0, "HTTP 500 Internal Server Error")}))
		hooks, err := b.s.DisableFailingWebhooks(b.ctx, t0.Add(time.Hour), time.Now())
		must(t, err)
		if len(hooks) != 1 || hooks[0].ID != w.ID || hooks[0].Status != herald.WebhookDisabled {
			t.Fatalf("DisableFailingWebhooks = %d webhooks", len(hooks))
		}
		got := b.findWebhook(w.ID)
		if got.Status != herald.WebhookDisabled || got.DisabledAt == nil || got.DisabledReason != herald.FailingReason(t0, "HTTP 500 Internal Server Error") {
			t.Fatalf("disabled webhook: status %s, at %v, reason %q", got.Status, got.DisabledAt, got.DisabledReason)
		}
		if b.findWebhook(quiet.ID).Status != herald.WebhookActive {
			t.Fatal("a webhook with no deliveries was disabled")
		}
		b.create(`{"name":{"firstName":"While disabled"}}`)
		if n := len(b.deliveries(w, herald.DeliverySkipped)); n != 1 {
			t.Fatalf("%d skipped deliveries, want 1", n)
		}
		if got := b.claim("h", herald.Lane{WebhookID: w.ID, Limit: 10}); len(got) != 0 {
			t.Fatalf("claimed %d deliveries of a disabled webhook", len(got))
		}
	}},
	// 410 Gone disables the webhook at once.
	{"Gone", func(t *testing.T, b *bundle) {
		gone := b.webhook()
		b.create(`{"name":{"firstName":"Gone"}}`)
		cs := b.claim("h", herald.Lane{WebhookID: gone.ID, Limit: 10})
		o := attemptAt(cs[0], herald.DeliveryFailed, 410, time.Now(), "HTTP 410 Gone")
		o.DisableWebhook = herald.ReasonGone
		must(t, b.s.CompleteDeliveries(b.ctx, []herald.Outcome{o}))
		if got := b.findWebhook(gone.ID); got.Status != herald.WebhookDisabled || got.DisabledReason != herald.ReasonGone {
			t.Fatalf("after 410: status %s, reason %q", got.Status, got.DisabledReason)
		}
	}},
}
