package delivery

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/heraldhq/herald"
)

func TestMaintainDisablesFailingWebhooksAndPrunes(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(500) }))
	defer srv.Close()
	b := setup(t, srv.URL, 3)
	e := New(b.db, Config{Schedule: []time.Duration{time.Hour}, DisableAfter: time.Millisecond, Retention: -1})
	ctx := context.Background()
	now := time.Now()
	claims, err := b.db.ClaimDeliveries(ctx, herald.ClaimRequest{Owner: e.Owner(), Now: now, LeaseUntil: now.Add(time.Minute),
		Lanes: []herald.Lane{{WebhookID: b.hook.ID, Limit: 10}}})
	if err != nil || len(claims) != 3 {
		t.Fatalf("claim: %d, %v", len(claims), err)
	}
	// One failed attempt; the webhook is failing from then on.
	if _, err := e.SendNow(ctx, claims[0]); err != nil {
		t.Fatal(err)
	}
	time.Sleep(5 * time.Millisecond)
	e.Maintain(ctx)
	w, err := b.db.FindWebhook(ctx, b.ws.ID, b.hook.ID)
	if err != nil {
		t.Fatal(err)
	}
	if w.Status != herald.WebhookDisabled || !strings.Contains(w.DisabledReason, "HTTP 500 Internal Server Error") {
		t.Fatalf("after failing past DisableAfter: status %s, reason %q", w.Status, w.DisabledReason)
	}

	// Retention prunes the finished delivery and nothing pending.
	e = New(b.db, Config{DisableAfter: -1, Retention: time.Millisecond})
	e.Maintain(ctx)
	ds := b.deliveries(t)
	if len(ds) != 2 {
		t.Fatalf("%d deliveries after pruning, want the 2 pending ones", len(ds))
	}
	for _, d := range ds {
		if d.Status != herald.DeliveryPending {
			t.Errorf("pruning left a %s delivery", d.Status)
		}
	}
}
