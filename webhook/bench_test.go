package webhook_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/heraldhq/herald"
	"github.com/heraldhq/herald/webhook"
)

var (
	benchEvent = &herald.Event{
		ID: "evt_0192f3a4b5c6d7e8f9a0b1c2d3e4f5a6", WorkspaceID: "2b7a3c1e-0f4d-4e5a-9b8c-7d6e5f4a3b2c", Name: "person.updated",
		Object: "person", ObjectPlural: "people", RecordID: "0192f3a4-b5c6-7d7e-8f9a-0b1c2d3e4f5a",
		Data: []byte(`{"id":"0192f3a4-b5c6-7d7e-8f9a-0b1c2d3e4f5a","name":{"firstName":"Ada","lastName":"Lovelace"},"emails":{"primaryEmail":"ada@example.com"},` +
			`"phone":null,"jobTitle":"Analyst","city":"London","companyId":null,"createdAt":"2026-11-22T10:00:00.000Z",` +
			`"updatedAt":"2026-11-22T10:00:01.000Z","deletedAt":null,"createdBy":"9c8b7a6d-5e4f-4a3b-2c1d-0e9f8a7b6c5d"}`),
		UpdatedFields: []string{"jobTitle"}, PreviousData: []byte(`{"jobTitle":"Mathematician"}`), Timestamp: time.Now(),
	}
	benchHook = &herald.Webhook{ID: "5f4e3d2c-1b0a-4987-8654-3210fedcba98", TargetURL: "https://example.com/hook", Secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}
)

// BenchmarkAppendBody: encoding one delivery's body (DESIGN.md §5).
func BenchmarkAppendBody(b *testing.B) {
	var buf []byte
	b.ReportAllocs()
	for b.Loop() {
		buf = webhook.AppendBody(buf[:0], benchEvent, benchHook)
	}
	b.SetBytes(int64(len(buf)))
}

// BenchmarkSetHeaders: signing one body with both schemes, one secret.
func BenchmarkSetHeaders(b *testing.B) {
	body := webhook.AppendBody(nil, benchEvent, benchHook)
	h := http.Header{}
	secrets := []string{benchHook.Secret}
	b.ReportAllocs()
	for b.Loop() {
		if err := webhook.SetHeaders(h, "bench", benchEvent, secrets, time.Now(), body); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSignerSetHeaders: SetHeaders through a Signer, as the delivery
// engine signs: the secret's keyed HMACs are reused.
func BenchmarkSignerSetHeaders(b *testing.B) {
	body := webhook.AppendBody(nil, benchEvent, benchHook)
	h := http.Header{}
	secrets := []string{benchHook.Secret}
	var s webhook.Signer
	b.ReportAllocs()
	for b.Loop() {
		if err := s.SetHeaders(h, "bench", benchEvent, secrets, time.Now(), body); err != nil {
			b.Fatal(err)
		}
	}
}
