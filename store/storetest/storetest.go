// Package storetest is the behaviour every herald.Store must show. Each
// engine's tests call Run with a constructor of fresh, empty stores, so
// SQLite and PostgreSQL are held to one suite (River's riverdrivertest).
package storetest

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/heraldhq/herald"
	"github.com/heraldhq/herald/record"
)

// Run runs the whole suite: a concept per file, a case per subtest, each
// case with a store of its own (newStore returns an empty, migrated store
// and arranges its closing) and a fresh workspace in it, so that no case
// depends on another's leftovers, and queue-wide calls (claims, expiries,
// pruning) see only the case's own deliveries.
func Run(t *testing.T, newStore func(t *testing.T) herald.Store) {
	for _, concept := range []struct {
		name  string
		cases []testCase
	}{
		{"Workspaces", workspaceCases},
		{"Records", recordCases},
		{"Outbox", outboxCases},
		{"Claims", claimCases},
		{"Order", orderCases},
		{"Leases", leaseCases},
		{"DeliveryLog", deliveryLogCases},
		{"Health", healthCases},
		{"Objects", objectCases},
		{"Concurrency", concurrencyCases},
		{"Taking", takingCases},
		{"Throttle", throttleCases},
		{"Operational", operationalCases},
	} {
		t.Run(concept.name, func(t *testing.T) {
			t.Parallel()
			for _, tc := range concept.cases {
				t.Run(tc.name, func(t *testing.T) {
					t.Parallel()
					tc.test(t, setup(t, newStore(t), "case"))
				})
			}
		})
	}
}

// testCase is one behaviour of the store, checked in a fresh store.
type testCase struct {
	name string
	test func(t *testing.T, b *bundle)
}

// Seed makes a workspace in s with one webhook for every event and n
// person.created events for it, and returns the webhook's id: a queue to
// claim from, for engine-specific tests.
func Seed(t *testing.T, s herald.Store, n int) string {
	t.Helper()
	b := setup(t, s, "seed-"+uuid.NewString())
	w := b.webhook()
	b.createN(n, `{"name":{"firstName":"Seed"}}`)
	return w.ID
}

// bundle is a workspace with helpers to write into it.
type bundle struct {
	t     *testing.T
	ctx   context.Context
	s     herald.Store
	ws    *herald.Workspace
	actor string
}

// other is another workspace of b's store.
func (b *bundle) other() *bundle {
	b.t.Helper()
	return setup(b.t, b.s, "other-"+uuid.NewString())
}

func setup(t *testing.T, s herald.Store, name string) *bundle {
	t.Helper()
	ctx := context.Background()
	ws, created, err := s.EnsureWorkspace(ctx, name)
	must(t, err)
	if !created {
		t.Fatalf("workspace %s existed in a fresh store", name)
	}
	return &bundle{t: t, ctx: ctx, s: s, ws: ws, actor: record.APIActor("storetest")}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if got := herald.ErrorCode(err); got != code {
		t.Fatalf("error %v: code %q, want %q", err, got, code)
	}
}

var person = herald.StandardObjects()[0]

// firstName is a person's name.firstName.
func firstName(r *herald.Record) string {
	var name struct{ FirstName string }
	_ = json.Unmarshal(r.Values["name"], &name)
	return name.FirstName
}

// create inserts a person with the given JSON fields.
func (b *bundle) create(fields string) *herald.Record {
	b.t.Helper()
	in, err := record.ParseInput(person, json.RawMessage(fields), true)
	must(b.t, err)
	r, ev := record.New(person, b.ws.ID, b.actor, in, time.Now())
	must(b.t, b.s.CreateRecords(b.ctx, []*herald.Record{r}, []*herald.Event{ev}))
	return r
}

// createN inserts n people with the same fields.
func (b *bundle) createN(n int, fields string) {
	b.t.Helper()
	for i := 0; i < n; i++ {
		b.create(fields)
	}
}

// update changes a person's fields.
func (b *bundle) update(id, fields string) *herald.Record {
	b.t.Helper()
	in, err := record.ParseInput(person, json.RawMessage(fields), false)
	must(b.t, err)
	r, err := b.s.UpdateRecord(b.ctx, b.ws.ID, "person", id, func(r *herald.Record) (*herald.Event, error) {
		return record.Apply(person, r, in, time.Now()), nil
	})
	must(b.t, err)
	return r
}

func (b *bundle) webhook(ops ...string) *herald.Webhook {
	b.t.Helper()
	if len(ops) == 0 {
		ops = []string{"*.*"}
	}
	now := herald.Now()
	w := &herald.Webhook{
		ID: uuid.NewString(), WorkspaceID: b.ws.ID, TargetURL: "http://127.0.0.1:1/hook", Operations: ops,
		Secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", Status: herald.WebhookActive, PayloadFormat: herald.PayloadHerald,
		CreatedAt: now, UpdatedAt: now,
	}
	must(b.t, b.s.CreateWebhook(b.ctx, w))
	return w
}

func (b *bundle) disable(w *herald.Webhook) {
	b.t.Helper()
	_, err := b.s.UpdateWebhook(b.ctx, b.ws.ID, w.ID, func(w *herald.Webhook) error { w.Status = herald.WebhookDisabled; return nil })
	must(b.t, err)
}

func (b *bundle) claim(owner string, lanes ...herald.Lane) []*herald.Claim {
	b.t.Helper()
	return b.claimAt(owner, time.Now(), lanes...)
}

// page is a page of w's delivery log: limit deliveries, of events older
// than the delivery before's when it is set.
func (b *bundle) page(w *herald.Webhook, limit int, before int64) ([]*herald.Delivery, bool) {
	b.t.Helper()
	ds, more, err := b.s.ListDeliveries(b.ctx, herald.DeliveryQuery{WorkspaceID: b.ws.ID, WebhookID: w.ID, Limit: limit, BeforeID: before})
	must(b.t, err)
	return ds, more
}

func (b *bundle) deliveries(w *herald.Webhook, status string) []*herald.Delivery {
	b.t.Helper()
	ds, _, err := b.s.ListDeliveries(b.ctx, herald.DeliveryQuery{WorkspaceID: b.ws.ID, WebhookID: w.ID, Status: status, Limit: 200})
	must(b.t, err)
	return ds
}

func outcome(c *herald.Claim, owner, status string, code int, next time.Time) herald.Outcome {
	return herald.Outcome{
		DeliveryID: c.DeliveryID, WebhookID: c.Webhook.ID, Owner: owner, Status: status, NextAttemptAt: next,
		Attempt: herald.Attempt{Number: c.Attempts + 1, StartedAt: time.Now(), StatusCode: code, Latency: time.Millisecond, ResponseBody: fmt.Sprintf("answer %d", code)},
	}
}
