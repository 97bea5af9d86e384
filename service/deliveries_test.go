package service_test

import (
	"context"
	"testing"
	"time"

	"github.com/heraldhq/herald"
	"github.com/heraldhq/herald/service"
	"github.com/heraldhq/herald/store/teststore"
)

// companies makes n companies in ws: with a webhook, n pending deliveries
// (the engine does not run).
func (f *fixture) companies(t *testing.T, ws *teststore.Workspace, n int) {
	t.Helper()
	obj, err := f.svc.Objects.ByPlural(context.Background(), ws.ID, "companies")
	must(t, err)
	for range n {
		_, err := f.svc.Records.Create(context.Background(), ws.Key, obj, []byte(`{"name":"Acme & Co"}`), false)
		must(t, err)
	}
}

func TestDeliveryLog(t *testing.T) {
	t.Parallel()
	forEach(t, nil, func(t *testing.T, f *fixture) {
		ctx, ws := context.Background(), f.workspace(t)
		hook := f.webhook(t, ws)
		f.companies(t, ws, 5)

		// Pages, newest first, by public ids.
		var seen []string
		after := ""
		for range 3 {
			page, err := f.svc.Deliveries.List(ctx, ws.ID, service.DeliveryQuery{WebhookID: hook.ID, Limit: 2, After: after})
			must(t, err)
			for _, d := range page.Deliveries {
				if d.Status != herald.DeliveryPending || d.EventName != "company.created" || len(d.ID) < 5 || d.ID[:4] != "dlv_" {
					t.Fatalf("delivery %+v", d)
				}
				seen = append(seen, d.ID)
			}
			if !page.HasMore {
				break
			}
			after = page.Deliveries[len(page.Deliveries)-1].ID
		}
		if len(seen) != 5 {
			t.Fatalf("paged through %d deliveries, want 5: %v", len(seen), seen)
		}

		d, err := f.svc.Deliveries.Find(ctx, ws.ID, seen[0])
		must(t, err)
		if d.Webhook.ID != hook.ID || len(d.Attempts) != 0 || len(d.Body) == 0 {
			t.Fatalf("detail %+v", d)
		}
		retried, err := f.svc.Deliveries.Retry(ctx, ws.ID, seen[0])
		must(t, err)
		if retried.ID != seen[0] || retried.Status != herald.DeliveryPending {
			t.Fatalf("retried %+v", retried)
		}

		for _, tc := range []struct {
			name        string
			q           service.DeliveryQuery
			code, field string
		}{
			{"unknown status", service.DeliveryQuery{WebhookID: hook.ID, Status: "lost"}, herald.EINVALID, "status"},
			{"bad cursor", service.DeliveryQuery{WebhookID: hook.ID, After: "nope"}, herald.EINVALID, "starting_after"},
			{"unknown webhook", service.DeliveryQuery{WebhookID: "nope"}, herald.ENOTFOUND, ""},
		} {
			_, err := f.svc.Deliveries.List(ctx, ws.ID, tc.q)
			wantError(t, err, tc.code, tc.field)
		}
		for _, id := range []string{"dlv_nope", "12", ""} {
			_, err := f.svc.Deliveries.Find(ctx, ws.ID, id)
			wantError(t, err, herald.ENOTFOUND, "")
			_, err = f.svc.Deliveries.Retry(ctx, ws.ID, id)
			wantError(t, err, herald.ENOTFOUND, "")
		}
		// Another workspace does not see them.
		_, err = f.svc.Deliveries.Find(ctx, f.workspace(t).ID, seen[0])
		wantError(t, err, herald.ENOTFOUND, "")

		// A status filter keeps only those.
		page, err := f.svc.Deliveries.List(ctx, ws.ID, service.DeliveryQuery{WebhookID: hook.ID, Status: herald.DeliveryDelivered})
		must(t, err)
		if len(page.Deliveries) != 0 {
			t.Fatalf("delivered: %+v", page.Deliveries)
		}
	})
}

func TestReplay(t *testing.T) {
	t.Parallel()
	forEach(t, nil, func(t *testing.T, f *fixture) {
		ctx, ws := context.Background(), f.workspace(t)
		f.companies(t, ws, 3)
		// A webhook made after the events gets them by replay.
		hook := f.webhook(t, ws, "company.*")
		n, err := f.svc.Webhooks.Replay(ctx, ws.ID, hook.ID, time.Now().Add(-time.Hour))
		must(t, err)
		if n != 3 {
			t.Fatalf("replayed %d, want 3", n)
		}
		n, err = f.svc.Webhooks.Replay(ctx, ws.ID, hook.ID, time.Now().Add(time.Hour))
		must(t, err)
		if n != 0 {
			t.Fatalf("replayed %d from the future, want 0", n)
		}
	})
}
