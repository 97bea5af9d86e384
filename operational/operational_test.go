package operational

import (
	"strings"
	"testing"
	"time"

	"github.com/heraldhq/herald"
)

func TestEvents(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	w := &herald.Webhook{ID: "w1", WorkspaceID: "ws", TargetURL: "https://example.com/a?b=1&c=2", Status: herald.WebhookDisabled,
		Secret: "whsec_secret", Headers: map[string]string{"Authorization": "Bearer token"}, DisabledAt: &now, DisabledReason: "410 Gone"}
	ev := WebhookChanged(w, now)
	want := `{"id":"w1","targetUrl":"https://example.com/a?b=1&c=2","operations":[],"description":"","status":"disabled",` +
		`"disabledReason":"410 Gone","disabledAt":"2026-12-02T10:00:00.000Z","failingSince":null,"lastError":"","updatedAt":"2026-12-02T10:00:00.000Z"}`
	if ev.Name != WebhookDisabled || ev.RecordID != "w1" || string(ev.Data) != want || !ev.About("w1") || ev.About("w2") {
		t.Fatalf("webhook.disabled %s %s about %s:\n%s\nwant\n%s", ev.Name, ev.ID, ev.RecordID, ev.Data, want)
	}
	if strings.Contains(string(ev.Data), "secret") || strings.Contains(string(ev.Data), "token") {
		t.Fatalf("the event shows the webhook's credentials: %s", ev.Data)
	}
	w.Status = herald.WebhookActive
	if ev := WebhookChanged(w, now); ev.Name != WebhookEnabled {
		t.Fatalf("enabled: %s", ev.Name)
	}
	record := &herald.Event{ID: "evt_1", Name: "person.created", Object: "person", RecordID: "p1"}
	ex, ok := Exhausted("dlv_x", w, record, herald.Attempt{Number: 8, Error: "timeout: no answer within 10s"}, now)
	if !ok || ex.Name != DeliveryExhausted || !ex.About("w1") || !strings.Contains(string(ex.Data), `"lastStatusCode":null,"lastError":"timeout: no answer within 10s"`) {
		t.Fatalf("delivery.exhausted %v %s", ok, ex.Data)
	}
	if _, ok := Exhausted("dlv_y", w, ex, herald.Attempt{Number: 8}, now); ok {
		t.Fatal("the failed delivery of an operational event makes another")
	}
}
