package sqlite_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/heraldhq/herald"
	"github.com/heraldhq/herald/record"
	"github.com/heraldhq/herald/store/sqlite"
)

// benchStore opens a fresh store with one workspace and one webhook.
func benchStore(b *testing.B) (*sqlite.DB, *herald.Workspace, *herald.Webhook) {
	b.Helper()
	ctx := context.Background()
	s, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "herald.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	if err := s.LockEngine(); err != nil {
		b.Fatal(err)
	}
	ws, _, err := s.EnsureWorkspace(ctx, "bench")
	if err != nil {
		b.Fatal(err)
	}
	now := time.Now()
	w := &herald.Webhook{ID: uuid.NewString(), WorkspaceID: ws.ID, TargetURL: "http://127.0.0.1:1/", Operations: []string{"*.*"},
		Secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", Status: herald.WebhookActive, PayloadFormat: herald.PayloadHerald, CreatedAt: now, UpdatedAt: now}
	if err := s.CreateWebhook(ctx, w); err != nil {
		b.Fatal(err)
	}
	return s, ws, w
}

var person = herald.StandardObjects()[0]

// writeBatch creates n people with their events in one transaction.
func writeBatch(b *testing.B, s *sqlite.DB, ws *herald.Workspace, n int) {
	in, err := record.ParseInput(person, json.RawMessage(`{"firstName":"Bench","lastName":"Person","email":"bench@example.com","city":"Paris"}`), true)
	if err != nil {
		b.Fatal(err)
	}
	recs, evs := make([]*herald.Record, n), make([]*herald.Event, n)
	for i := range n {
		recs[i], evs[i] = record.New(person, ws.ID, "actor", &record.Input{Values: in.Values, Order: in.Order}, time.Now())
	}
	if err := s.CreateRecords(context.Background(), recs, evs); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkOutboxInsert: one record change with its event and one
// delivery, written in batches of 50 as the batch API does. ns/op is per
// record.
func BenchmarkOutboxInsert(b *testing.B) {
	s, ws, _ := benchStore(b)
	b.ResetTimer()
	for done := 0; done < b.N; done += 50 {
		writeBatch(b, s, ws, min(50, b.N-done))
	}
}

// BenchmarkOutboxInsertSingle: one record change per transaction, as
// POST /rest/people does.
func BenchmarkOutboxInsertSingle(b *testing.B) {
	s, ws, _ := benchStore(b)
	b.ResetTimer()
	for range b.N {
		writeBatch(b, s, ws, 1)
	}
}

// BenchmarkClaimComplete: claim due deliveries in batches of 128, record
// each as delivered. ns/op is per delivery.
func BenchmarkClaimComplete(b *testing.B) {
	s, ws, w := benchStore(b)
	for done := 0; done < b.N; done += 50 {
		writeBatch(b, s, ws, min(50, b.N-done))
	}
	ctx := context.Background()
	b.ResetTimer()
	for done := 0; done < b.N; {
		now := time.Now()
		claims, err := s.ClaimDeliveries(ctx, herald.ClaimRequest{Owner: "bench", Now: now.Add(time.Second), LeaseUntil: now.Add(time.Minute),
			Lanes: []herald.Lane{{WebhookID: w.ID, Limit: 128}}})
		if err != nil {
			b.Fatal(err)
		}
		if len(claims) == 0 {
			b.Fatalf("nothing to claim after %d of %d", done, b.N)
		}
		outs := make([]herald.Outcome, len(claims))
		for i, c := range claims {
			outs[i] = herald.Outcome{DeliveryID: c.DeliveryID, WebhookID: w.ID, Owner: "bench", Status: herald.DeliveryDelivered,
				Attempt: herald.Attempt{DeliveryID: c.DeliveryID, Number: 1, StartedAt: now, StatusCode: 204, Latency: time.Millisecond}}
		}
		if err := s.CompleteDeliveries(ctx, outs); err != nil {
			b.Fatal(err)
		}
		done += len(claims)
	}
}
