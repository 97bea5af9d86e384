package service_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/heraldhq/herald"
	"github.com/heraldhq/herald/service"
)

func TestWebhookInput(t *testing.T) {
	t.Parallel()
	refused := errors.New("that address is private")
	guard := func(c *service.Config) {
		c.CheckTarget = func(ctx context.Context, u string) (string, error) {
			switch {
			case strings.Contains(u, "private"):
				return "", herald.FieldErrorf("targetUrl", "%v", refused)
			case strings.Contains(u, "unresolved"):
				return "the name does not resolve yet", nil
			}
			return "", nil
		}
	}
	ok := "https://hooks.example.com/in"
	for _, tc := range []struct {
		name     string
		in       service.WebhookInput
		field    string // the field refused; "" when saved
		warnings int
		check    func(t *testing.T, w *herald.Webhook)
	}{
		{name: "defaults", in: service.WebhookInput{TargetURL: &ok}, check: func(t *testing.T, w *herald.Webhook) {
			if len(w.Operations) != 1 || w.Operations[0] != "*.*" || w.Status != herald.WebhookActive ||
				w.PayloadFormat != herald.PayloadHerald || !strings.HasPrefix(w.Secret, "whsec_") {
				t.Fatalf("defaults: %+v", w)
			}
		}},
		{name: "no target", in: service.WebhookInput{}, field: "targetUrl"},
		{name: "not http", in: service.WebhookInput{TargetURL: ptr("ftp://example.com/")}, field: "targetUrl"},
		{name: "guard refuses", in: service.WebhookInput{TargetURL: ptr("https://private.example.com/")}, field: "targetUrl"},
		{name: "guard warns", in: service.WebhookInput{TargetURL: ptr("https://unresolved.example.com/")}, warnings: 1},
		{name: "older operation", in: service.WebhookInput{TargetURL: &ok, Operation: ptr("person.created")}, check: func(t *testing.T, w *herald.Webhook) {
			if len(w.Operations) != 1 || w.Operations[0] != "person.created" {
				t.Fatalf("operations %v", w.Operations)
			}
		}},
		{name: "both operation forms", in: service.WebhookInput{TargetURL: &ok, Operation: ptr("person.created"), Operations: &[]string{"*.*"}}, field: "operation"},
		{name: "bad operation", in: service.WebhookInput{TargetURL: &ok, Operations: &[]string{"person"}}, field: "operations"},
		{name: "long description", in: service.WebhookInput{TargetURL: &ok, Description: ptr(strings.Repeat("x", 1025))}, field: "description"},
		{name: "short secret", in: service.WebhookInput{TargetURL: &ok, Secret: ptr("short")}, field: "secret"},
		{name: "any long secret", in: service.WebhookInput{TargetURL: &ok, Secret: ptr("a Twenty secret of any kind")}, check: func(t *testing.T, w *herald.Webhook) {
			if w.Secret != "a Twenty secret of any kind" {
				t.Fatalf("secret %q", w.Secret)
			}
		}},
		{name: "payload format", in: service.WebhookInput{TargetURL: &ok, PayloadFormat: ptr("xml")}, field: "payloadFormat"},
		{name: "status", in: service.WebhookInput{TargetURL: &ok, Status: ptr("paused")}, field: "status"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			forEach(t, guard, func(t *testing.T, f *fixture) {
				ctx, ws := context.Background(), f.workspace(t)
				hook, warnings, err := f.svc.Webhooks.Create(ctx, ws.ID, tc.in)
				if tc.field != "" {
					wantError(t, err, herald.EINVALID, tc.field)
					if list, _ := f.svc.Webhooks.List(ctx, ws.ID); len(list) != 0 {
						t.Fatalf("a refused webhook was saved: %+v", list)
					}
					return
				}
				must(t, err)
				if len(warnings) != tc.warnings {
					t.Fatalf("warnings %v, want %d", warnings, tc.warnings)
				}
				if tc.check != nil {
					tc.check(t, hook)
				}
				// An update with the same input is held to the same rules.
				_, _, err = f.svc.Webhooks.Update(ctx, ws.ID, hook.ID, tc.in)
				must(t, err)
			})
		})
	}
}

func TestWebhookStatus(t *testing.T) {
	t.Parallel()
	forEach(t, nil, func(t *testing.T, f *fixture) {
		ctx, ws := context.Background(), f.workspace(t)
		hook := f.webhook(t, ws)
		off, _, err := f.svc.Webhooks.Update(ctx, ws.ID, hook.ID, service.WebhookInput{Status: ptr(herald.WebhookDisabled)})
		must(t, err)
		if off.Status != herald.WebhookDisabled || off.DisabledAt == nil || off.DisabledReason == "" {
			t.Fatalf("disabled: %+v", off)
		}
		// A failing streak before it was disabled does not count after.
		_, err = f.store.UpdateWebhook(ctx, ws.ID, hook.ID, func(w *herald.Webhook) error {
			since := time.Now().Add(-time.Hour)
			w.FailingSince = &since
			return nil
		})
		must(t, err)
		on, _, err := f.svc.Webhooks.Update(ctx, ws.ID, hook.ID, service.WebhookInput{Status: ptr(herald.WebhookActive)})
		must(t, err)
		if on.Status != herald.WebhookActive || on.DisabledAt != nil || on.DisabledReason != "" || on.FailingSince != nil {
			t.Fatalf("enabled: %+v", on)
		}
		_, _, err = f.svc.Webhooks.Update(ctx, ws.ID, "no-such-webhook", service.WebhookInput{Status: ptr(herald.WebhookActive)})
		wantError(t, err, herald.ENOTFOUND, "")
		// Another workspace's webhook is not found either.
		_, _, err = f.svc.Webhooks.Update(ctx, f.workspace(t).ID, hook.ID, service.WebhookInput{Status: ptr(herald.WebhookDisabled)})
		wantError(t, err, herald.ENOTFOUND, "")
	})
}

func TestRotateSecret(t *testing.T) {
	t.Parallel()
	forEach(t, func(c *service.Config) { c.SecretOverlap = time.Hour }, func(t *testing.T, f *fixture) {
		ctx, ws := context.Background(), f.workspace(t)
		hook := f.webhook(t, ws)
		before := time.Now()
		rotated, err := f.svc.Webhooks.RotateSecret(ctx, ws.ID, hook.ID, nil)
		must(t, err)
		if rotated.Secret == hook.Secret || rotated.PreviousSecret != hook.Secret || rotated.PreviousSecretExpiresAt == nil {
			t.Fatalf("rotated: %+v", rotated)
		}
		if until := rotated.PreviousSecretExpiresAt.Sub(before); until < time.Hour-time.Second || until > time.Hour+time.Minute {
			t.Fatalf("the previous secret signs for %s, want the 1h overlap", until)
		}
		if got := rotated.Secrets(time.Now()); len(got) != 2 || got[0] != rotated.Secret {
			t.Fatalf("signing secrets %v", got)
		}
		_, err = f.svc.Webhooks.RotateSecret(ctx, ws.ID, hook.ID, &rotated.Secret)
		wantError(t, err, herald.EINVALID, "secret")
		_, err = f.svc.Webhooks.RotateSecret(ctx, ws.ID, hook.ID, ptr("tiny"))
		wantError(t, err, herald.EINVALID, "secret")
		mine := "my own secret, long enough"
		again, err := f.svc.Webhooks.RotateSecret(ctx, ws.ID, hook.ID, &mine)
		must(t, err)
		if again.Secret != mine || again.PreviousSecret != rotated.Secret {
			t.Fatalf("rotated to a given secret: %+v", again)
		}
	})
}

func TestTestSend(t *testing.T) {
	t.Parallel()
	forEach(t, nil, func(t *testing.T, f *fixture) {
		ctx, ws := context.Background(), f.workspace(t)
		hook := f.webhook(t, ws, "person.created") // a test is sent whatever the webhook's events
		res, err := f.svc.Webhooks.Test(ctx, ws.ID, hook.ID)
		must(t, err)
		if res.Outcome.Status != herald.DeliveryDelivered || res.Outcome.Attempt.StatusCode != 200 || f.received.Load() != 1 {
			t.Fatalf("test send: %+v, %d received", res.Outcome, f.received.Load())
		}
		d, err := f.svc.Deliveries.Find(ctx, ws.ID, res.DeliveryID)
		must(t, err)
		if d.EventName != herald.TestEventName || len(d.Attempts) != 1 || !strings.Contains(string(d.Body), hook.ID) {
			t.Fatalf("the test delivery: %+v, body %s", d.Delivery, d.Body)
		}
		found, err := f.svc.Webhooks.Find(ctx, ws.ID, hook.ID)
		must(t, err)
		if h := found.Health; h == nil || h.Attempts != 1 || h.Succeeded != 1 || h.SuccessRate == nil || *h.SuccessRate != 1 {
			t.Fatalf("health after one success: %+v", found.Health)
		}

		f.status.Store(500)
		res, err = f.svc.Webhooks.Test(ctx, ws.ID, hook.ID)
		must(t, err)
		if res.Outcome.Attempt.Succeeded() || res.Outcome.Attempt.StatusCode != 500 {
			t.Fatalf("test send to a failing receiver: %+v", res.Outcome)
		}
		list, err := f.svc.Webhooks.List(ctx, ws.ID)
		must(t, err)
		if h := list[0].Health; len(list) != 1 || h.Attempts != 2 || *h.SuccessRate != 0.5 || list[0].LastError == "" {
			t.Fatalf("health after a failure: %+v", list[0])
		}
		_, err = f.svc.Webhooks.Test(ctx, ws.ID, "no-such-webhook")
		wantError(t, err, herald.ENOTFOUND, "")
	})
}

func TestHistogram(t *testing.T) {
	t.Parallel()
	forEach(t, nil, func(t *testing.T, f *fixture) {
		ctx, ws := context.Background(), f.workspace(t)
		hook := f.webhook(t, ws)
		_, err := f.svc.Webhooks.Test(ctx, ws.ID, hook.ID)
		must(t, err)
		for _, tc := range []struct {
			window, width time.Duration
			buckets       int // 0: refused
		}{
			{24 * time.Hour, time.Hour, 24},
			{time.Hour, 15 * time.Minute, 4},
			{time.Hour, 2 * time.Hour, 0},
			{time.Hour, time.Millisecond, 0},
			{2000 * time.Hour, time.Hour, 0},
		} {
			buckets, err := f.svc.Webhooks.Histogram(ctx, ws.ID, hook.ID, tc.window, tc.width)
			if tc.buckets == 0 {
				wantError(t, err, herald.EINVALID, "bucket")
				continue
			}
			must(t, err)
			total := 0
			for _, b := range buckets {
				total += b.Attempts
			}
			if len(buckets) != tc.buckets || total != 1 {
				t.Fatalf("%s by %s: %d buckets, %d attempts, want %d buckets and the one attempt", tc.window, tc.width, len(buckets), total, tc.buckets)
			}
		}
		_, err = f.svc.Webhooks.Histogram(ctx, ws.ID, "no-such-webhook", time.Hour, time.Hour)
		wantError(t, err, herald.ENOTFOUND, "")
	})
}
