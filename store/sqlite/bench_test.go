package sqlite_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strconv"
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
	return s, ws, addWebhook(b, s, ws)
}

// addWebhook makes a webhook of every event in ws.
func addWebhook(b *testing.B, s *sqlite.DB, ws *herald.Workspace) *herald.Webhook {
	b.Helper()
	now := time.Now()
	w := &herald.Webhook{ID: uuid.NewString(), WorkspaceID: ws.ID, TargetURL: "http://127.0.0.1:1/", Operations: []string{"*.*"},
		Secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", Status: herald.WebhookActive, PayloadFormat: herald.PayloadHerald, CreatedAt: now, UpdatedAt: now}
	if err := s.CreateWebhook(context.Background(), w); err != nil {
		b.Fatal(err)
	}
	return w
}

var person = herald.StandardObjects()[0]

// writeBatch creates n people with their events in one transaction.
func writeBatch(b *testing.B, s *sqlite.DB, ws *herald.Workspace, n int) {
	in, err := record.ParseInput(person, json.RawMessage(`{"name":{"firstName":"Bench","lastName":"Person"},"emails":{"primaryEmail":"bench@example.com"},"city":"Paris"}`), true)
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

// BenchmarkOutboxInsertFanout: record changes with their events, each
// fanned out to 100 webhooks, in batches of 50 as the batch API writes
// them. ns/op is per delivery.
func BenchmarkOutboxInsertFanout(b *testing.B) {
	s, ws, _ := benchStore(b)
	const hooks = 100
	for range hooks - 1 {
		addWebhook(b, s, ws)
	}
	b.ResetTimer()
	for done := 0; done < b.N; done += 50 * hooks {
		writeBatch(b, s, ws, max(1, min(50, (b.N-done)/hooks)))
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
	b.ResetTimer()
	for done := 0; done < b.N; {
		n := deliverDue(b, s, w, 128)
		if n == 0 {
			b.Fatalf("nothing to claim after %d of %d", done, b.N)
		}
		done += n
	}
}

// deliverDue claims up to limit due deliveries of w and records each as
// delivered; it returns how many there were.
func deliverDue(b *testing.B, s *sqlite.DB, w *herald.Webhook, limit int) int {
	ctx := context.Background()
	now := time.Now()
	claims, err := s.ClaimDeliveries(ctx, herald.ClaimRequest{Owner: "bench", Now: now.Add(time.Second), LeaseUntil: now.Add(time.Minute),
		Lanes: []herald.Lane{{WebhookID: w.ID, Limit: limit}}})
	if err != nil {
		b.Fatal(err)
	}
	if len(claims) == 0 {
		return 0
	}
	outs := make([]herald.Outcome, len(claims))
	for i, c := range claims {
		outs[i] = herald.Outcome{DeliveryID: c.DeliveryID, WebhookID: w.ID, Owner: "bench", Status: herald.DeliveryDelivered,
			Attempt: herald.Attempt{DeliveryID: c.DeliveryID, Number: 1, StartedAt: now, StatusCode: 204, Latency: time.Millisecond}}
	}
	if err := s.CompleteDeliveries(ctx, outs); err != nil {
		b.Fatal(err)
	}
	return len(claims)
}

// BenchmarkClaimCompleteHotRecord: b.N changes of one record wait for one
// webhook, as after an outage during which something kept updating it.
// Per-record order lets one go at a time: claim it, record it delivered.
// ns/op is per delivery; it must not grow with the backlog.
func BenchmarkClaimCompleteHotRecord(b *testing.B) {
	s, ws, w := benchStore(b)
	ctx := context.Background()
	writeBatch(b, s, ws, 1)
	ds, _, err := s.ListDeliveries(ctx, herald.DeliveryQuery{WorkspaceID: ws.ID, WebhookID: w.ID, Limit: 1})
	if err != nil || len(ds) != 1 {
		b.Fatalf("first delivery: %v", err)
	}
	_, ev, _, err := s.FindDelivery(ctx, ws.ID, ds[0].ID)
	if err != nil {
		b.Fatal(err)
	}
	for i := 1; i < b.N; i++ {
		_, err := s.UpdateRecord(ctx, ws.ID, person.NameSingular, ev.RecordID, func(r *herald.Record) (*herald.Event, error) {
			in, err := record.ParseInput(person, json.RawMessage(`{"city":"Lyon `+strconv.Itoa(i)+`"}`), false)
			if err != nil {
				return nil, err
			}
			return record.Apply(person, r, in, time.Now()), nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for done := range b.N {
		if n := deliverDue(b, s, w, 128); n != 1 {
			b.Fatalf("claimed %d of one record's deliveries at once, after %d of %d", n, done, b.N)
		}
	}
}
