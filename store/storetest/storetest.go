// Package storetest is the behaviour every herald.Store must show. Each
// engine's tests call Run with a constructor of fresh, empty stores, so
// SQLite and PostgreSQL are held to one suite (River's riverdrivertest).
package storetest

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/heraldhq/herald"
	"github.com/heraldhq/herald/record"
)

// Run runs the whole suite. newStore returns an empty, migrated store and
// arranges its closing.
func Run(t *testing.T, newStore func(t *testing.T) herald.Store) {
	t.Run("Workspaces", func(t *testing.T) { t.Parallel(); testWorkspaces(t, newStore(t)) })
	t.Run("Secrets", func(t *testing.T) { t.Parallel(); testSecrets(t, newStore(t)) })
	t.Run("RecordsCRUD", func(t *testing.T) { t.Parallel(); testRecordsCRUD(t, newStore(t)) })
	t.Run("ListRecords", func(t *testing.T) { t.Parallel(); testListRecords(t, newStore(t)) })
	t.Run("Outbox", func(t *testing.T) { t.Parallel(); testOutbox(t, newStore(t)) })
	t.Run("Claiming", func(t *testing.T) { t.Parallel(); testClaiming(t, newStore(t)) })
	t.Run("PerRecordOrder", func(t *testing.T) { t.Parallel(); testPerRecordOrder(t, newStore(t)) })
	t.Run("OrderWhileChanging", func(t *testing.T) { t.Parallel(); testOrderWhileChanging(t, newStore(t)) })
	t.Run("Leases", func(t *testing.T) { t.Parallel(); testLeases(t, newStore(t)) })
	t.Run("StaleOutcomes", func(t *testing.T) { t.Parallel(); testStaleOutcomes(t, newStore(t)) })
	t.Run("DeliveryLog", func(t *testing.T) { t.Parallel(); testDeliveryLog(t, newStore(t)) })
	t.Run("Health", func(t *testing.T) { t.Parallel(); testHealth(t, newStore(t)) })
	t.Run("Replay", func(t *testing.T) { t.Parallel(); testReplay(t, newStore(t)) })
	t.Run("Retention", func(t *testing.T) { t.Parallel(); testRetention(t, newStore(t)) })
	t.Run("Objects", func(t *testing.T) { t.Parallel(); testObjects(t, newStore(t)) })
	t.Run("ConcurrentCreates", func(t *testing.T) { t.Parallel(); testConcurrentCreates(t, newStore(t)) })
	t.Run("Taking", func(t *testing.T) { t.Parallel(); testTaking(t, newStore(t)) })
}

// Seed makes a workspace in s with one webhook for every event and n
// person.created events for it, and returns the webhook's id: a queue to
// claim from, for engine-specific tests.
func Seed(t *testing.T, s herald.Store, n int) string {
	t.Helper()
	b := setup(t, s, "seed-"+uuid.NewString())
	w := b.webhook()
	b.createN(n, `{"firstName":"Seed"}`)
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

func setup(t *testing.T, s herald.Store, name string) *bundle {
	t.Helper()
	ctx := context.Background()
	ws, created, err := s.EnsureWorkspace(ctx, name)
	must(t, err)
	if !created {
		t.Fatalf("workspace %s existed in a fresh store", name)
	}
	return &bundle{t: t, ctx: ctx, s: s, ws: ws, actor: uuid.NewString()}
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
	now := time.Now()
	cs, err := b.s.ClaimDeliveries(b.ctx, herald.ClaimRequest{Owner: owner, Now: now, LeaseUntil: now.Add(time.Minute), Lanes: lanes})
	must(b.t, err)
	return cs
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

func testWorkspaces(t *testing.T, s herald.Store) {
	ctx := context.Background()
	ws, created, err := s.EnsureWorkspace(ctx, "acme")
	must(t, err)
	again, created2, err := s.EnsureWorkspace(ctx, "acme")
	must(t, err)
	if !created || created2 || again.ID != ws.ID {
		t.Fatalf("EnsureWorkspace twice: created %v then %v, ids %s %s", created, created2, ws.ID, again.ID)
	}
	secret, key := herald.NewAPIKey(ws.ID, "ci", time.Now())
	must(t, s.CreateAPIKey(ctx, key))
	found, err := s.FindAPIKey(ctx, herald.HashAPIKey(secret))
	must(t, err)
	if found.WorkspaceID != ws.ID || found.ID != key.ID {
		t.Fatalf("FindAPIKey = %+v", found)
	}
	_, err = s.FindAPIKey(ctx, herald.HashAPIKey(secret+"x"))
	wantCode(t, err, herald.ENOTFOUND)
	wantCode(t, s.RevokeAPIKey(ctx, "other-workspace", key.ID, time.Now()), herald.ENOTFOUND)
	must(t, s.RevokeAPIKey(ctx, ws.ID, key.ID, time.Now()))
	_, err = s.FindAPIKey(ctx, herald.HashAPIKey(secret))
	wantCode(t, err, herald.ENOTFOUND)
	keys, err := s.ListAPIKeys(ctx, ws.ID)
	must(t, err)
	if len(keys) != 1 || keys[0].RevokedAt == nil {
		t.Fatalf("ListAPIKeys = %+v", keys)
	}

	// Sessions act as their key, end on sign-out, expiry or revocation.
	now := time.Now()
	_, key2 := herald.NewAPIKey(ws.ID, "ui", now)
	must(t, s.CreateAPIKey(ctx, key2))
	token, sess := herald.NewSession(key2, now, time.Hour)
	must(t, s.CreateSession(ctx, sess))
	k, err := s.FindSession(ctx, herald.HashAPIKey(token), now)
	must(t, err)
	if k.ID != key2.ID || k.WorkspaceID != ws.ID {
		t.Fatalf("FindSession = %+v, want key %s", k, key2.ID)
	}
	_, err = s.FindSession(ctx, herald.HashAPIKey(token), now.Add(2*time.Hour))
	wantCode(t, err, herald.ENOTFOUND)
	// A sign-in after the first expired sweeps it away.
	_, later := herald.NewSession(key2, now.Add(3*time.Hour), time.Hour)
	must(t, s.CreateSession(ctx, later))
	_, err = s.FindSession(ctx, sess.Hash, now)
	wantCode(t, err, herald.ENOTFOUND)
	_, err = s.FindSession(ctx, later.Hash, now.Add(3*time.Hour))
	must(t, err)
	must(t, s.DeleteSession(ctx, later.Hash))
	must(t, s.DeleteSession(ctx, later.Hash))
	_, err = s.FindSession(ctx, later.Hash, now.Add(3*time.Hour))
	wantCode(t, err, herald.ENOTFOUND)
	_, third := herald.NewSession(key2, now, time.Hour)
	must(t, s.CreateSession(ctx, third))
	must(t, s.RevokeAPIKey(ctx, ws.ID, key2.ID, now))
	_, err = s.FindSession(ctx, third.Hash, now)
	wantCode(t, err, herald.ENOTFOUND)
}

func testRecordsCRUD(t *testing.T, s herald.Store) {
	b := setup(t, s, "crud")
	other := setup(t, s, "other")
	r := b.create(`{"firstName":"Ada","email":"ada@example.com"}`)

	got, err := s.FindRecord(b.ctx, b.ws.ID, "person", r.ID)
	must(t, err)
	if string(got.Values["firstName"]) != `"Ada"` || !got.CreatedAt.Equal(r.CreatedAt) || got.CreatedBy != b.actor {
		t.Fatalf("FindRecord = %+v", got)
	}
	_, err = s.FindRecord(b.ctx, other.ws.ID, "person", r.ID)
	wantCode(t, err, herald.ENOTFOUND)

	// The same id again is a conflict, and writes nothing.
	dup := r.Clone()
	wantCode(t, s.CreateRecords(b.ctx, []*herald.Record{dup}, nil), herald.ECONFLICT)
	// So is a batch with one taken id among new ones, and it writes none
	// of them.
	batch := make([]*herald.Record, 20)
	for i := range batch {
		batch[i] = r.Clone()
		batch[i].ID = uuid.NewString()
	}
	batch[13] = dup
	err = s.CreateRecords(b.ctx, batch, nil)
	wantCode(t, err, herald.ECONFLICT)
	if !strings.Contains(err.Error(), r.ID) {
		t.Errorf("conflict %q does not name the taken id %s", err, r.ID)
	}
	_, err = s.FindRecord(b.ctx, b.ws.ID, "person", batch[0].ID)
	wantCode(t, err, herald.ENOTFOUND)

	u := b.update(r.ID, `{"jobTitle":"CTO","firstName":"Ada"}`)
	if string(u.Values["jobTitle"]) != `"CTO"` {
		t.Fatalf("update: %s", u.Values["jobTitle"])
	}
	// An error from the change function changes nothing.
	_, err = s.UpdateRecord(b.ctx, b.ws.ID, "person", r.ID, func(r *herald.Record) (*herald.Event, error) {
		r.Values["jobTitle"] = json.RawMessage(`"CEO"`)
		return nil, herald.Errorf(herald.EINVALID, "no")
	})
	wantCode(t, err, herald.EINVALID)
	got, _ = s.FindRecord(b.ctx, b.ws.ID, "person", r.ID)
	if string(got.Values["jobTitle"]) != `"CTO"` {
		t.Fatalf("failed update was written: %s", got.Values["jobTitle"])
	}
	_, err = s.UpdateRecord(b.ctx, other.ws.ID, "person", r.ID, func(*herald.Record) (*herald.Event, error) { return nil, nil })
	wantCode(t, err, herald.ENOTFOUND)

	_, err = s.DestroyRecord(b.ctx, b.ws.ID, "person", r.ID, func(r *herald.Record) (*herald.Event, error) {
		return record.NewEvent(person, r, herald.ActionDestroyed, time.Now()), nil
	})
	must(t, err)
	_, err = s.FindRecord(b.ctx, b.ws.ID, "person", r.ID)
	wantCode(t, err, herald.ENOTFOUND)
}

func testListRecords(t *testing.T, s herald.Store) {
	b := setup(t, s, "list")
	names := []string{"Dora", "alice", "Bob", "Carol", "Eve", "Frank", "Grace"}
	for i, n := range names {
		fields := fmt.Sprintf(`{"firstName":%q,"city":%s}`, n, map[bool]string{true: `"Paris"`, false: "null"}[i%2 == 0])
		b.create(fields)
		time.Sleep(2 * time.Millisecond) // distinct createdAt
	}
	deleted := b.create(`{"firstName":"Zed"}`)
	_, err := s.UpdateRecord(b.ctx, b.ws.ID, "person", deleted.ID, func(r *herald.Record) (*herald.Event, error) {
		now := time.Now()
		r.DeletedAt = &now
		return record.NewEvent(person, r, herald.ActionDeleted, now), nil
	})
	must(t, err)
	other := setup(t, s, "list-other")
	other.create(`{"firstName":"Intruder"}`)

	list := func(filter, order string, limit int, after, before []any) *herald.RecordPage {
		t.Helper()
		f, err := record.ParseFilter(person, filter)
		must(t, err)
		o, err := record.ParseOrder(person, order)
		must(t, err)
		p, err := s.ListRecords(b.ctx, herald.RecordQuery{WorkspaceID: b.ws.ID, Object: person, Filter: f, Order: o, Limit: limit,
			After: after, Before: before, IncludeDeleted: f.Mentions("deletedAt")})
		must(t, err)
		return p
	}
	firstNames := func(p *herald.RecordPage) string {
		out := ""
		for _, r := range p.Records {
			var n string
			_ = json.Unmarshal(r.Values["firstName"], &n)
			out += n + " "
		}
		return out
	}

	tests := []struct {
		name, filter, order, want string
		total                     int
	}{
		{"everything oldest first", "", "", "Dora alice Bob Carol Eve Frank Grace ", 7},
		{"eq", "firstName[eq]:Bob", "", "Bob ", 1},
		{"neq and is", "firstName[neq]:Bob,city[is]:NOT_NULL", "", "Dora Eve Grace ", 3},
		{"in with quotes", `firstName[in]:["Eve","Bob"]`, "", "Bob Eve ", 2},
		{"or", "or(firstName[eq]:Eve,firstName[eq]:Frank)", "", "Eve Frank ", 2},
		{"not", "not(city[is]:NULL)", "", "Dora Bob Eve Grace ", 4},
		{"like is case-sensitive", "firstName[like]:%E%", "", "Eve ", 1},
		{"ilike ignores case in the value too", "firstName[ilike]:%E%", "", "alice Eve Grace ", 3},
		{"ilike ignores case", "firstName[ilike]:A%", "", "alice ", 1},
		{"startsWith escapes wildcards", "firstName[startsWith]:_", "", "", 0},
		{"startsWith", "firstName[startsWith]:Gr", "", "Grace ", 1},
		{"gt on text", "firstName[gt]:E", "", "alice Eve Frank Grace ", 4},
		{"desc order", "", "firstName[DescNullsLast]", "alice Grace Frank Eve Dora Carol Bob ", 7},
		{"nulls last, then text in byte order", "", "city[AscNullsLast],firstName", "Bob Dora Eve Grace Carol Frank alice ", 7},
		{"soft-deleted only when asked", "deletedAt[is]:NOT_NULL", "", "Zed ", 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := list(tc.filter, tc.order, 50, nil, nil)
			if got := firstNames(p); got != tc.want || p.TotalCount != tc.total {
				t.Fatalf("got %q (total %d), want %q (total %d)", got, p.TotalCount, tc.want, tc.total)
			}
		})
	}

	// Walk every order forwards and backwards in pages of 2: the pages
	// join up to the full list, with no gap and no repeat.
	for _, order := range []string{"", "firstName[DescNullsLast]", "city[AscNullsLast],firstName", "city[DescNullsFirst]"} {
		all := list("", order, 50, nil, nil).Records
		full := firstNames(&herald.RecordPage{Records: all})
		o, _ := record.ParseOrder(person, order)
		cursorOf := func(r *herald.Record) []any {
			c, err := record.DecodeCursor(record.EncodeCursor(r, o), "c", o)
			must(t, err)
			return c
		}
		var fwd string
		var after []any
		for {
			p := list("", order, 2, after, nil)
			fwd += firstNames(p)
			if !p.HasMore {
				break
			}
			after = cursorOf(p.Records[len(p.Records)-1])
		}
		if fwd != full {
			t.Errorf("order %q forwards: %q, want %q", order, fwd, full)
		}
		// Backwards from past the last record.
		before := cursorOf(all[len(all)-1])
		bwd := firstNames(&herald.RecordPage{Records: all[len(all)-1:]})
		for {
			p := list("", order, 2, nil, before)
			bwd = firstNames(p) + bwd
			if !p.HasMore {
				break
			}
			before = cursorOf(p.Records[0])
		}
		if bwd != full {
			t.Errorf("order %q backwards: %q, want %q", order, bwd, full)
		}
	}
}

func testOutbox(t *testing.T, s herald.Store) {
	b := setup(t, s, "outbox")
	all := b.webhook()
	created := b.webhook("person.created")
	updatedAny := b.webhook("*.updated")
	companies := b.webhook("company.*")
	disabled := b.webhook()
	b.disable(disabled)
	otherWS := setup(t, s, "outbox-other")
	foreign := otherWS.webhook()

	r := b.create(`{"firstName":"Ada"}`)
	b.update(r.ID, `{"city":"Paris"}`)
	b.update(r.ID, `{"city":"Paris"}`) // no change: no event

	counts := map[*herald.Webhook]int{all: 2, created: 1, updatedAny: 1, companies: 0}
	for w, n := range counts {
		if got := len(b.deliveries(w, herald.DeliveryPending)); got != n {
			t.Errorf("webhook %v: %d pending deliveries, want %d", w.Operations, got, n)
		}
	}
	if got := otherWS.deliveries(foreign, ""); len(got) != 0 {
		t.Errorf("another workspace's webhook got %d deliveries", len(got))
	}
	if got := b.deliveries(disabled, ""); len(got) != 2 || got[0].Status != herald.DeliverySkipped {
		t.Errorf("disabled webhook: %d deliveries, want 2 skipped", len(got))
	}
	ds := b.deliveries(all, "")
	if ds[0].EventName != "person.updated" || ds[1].EventName != "person.created" {
		t.Errorf("deliveries newest first: %s, %s", ds[0].EventName, ds[1].EventName)
	}
	_, ev, _, err := s.FindDelivery(b.ctx, b.ws.ID, ds[0].ID)
	must(t, err)
	if len(ev.UpdatedFields) != 1 || ev.UpdatedFields[0] != "city" || string(ev.PreviousData) != `{"city":null}` || ev.RecordID != r.ID {
		t.Errorf("updated event: fields %v previous %s", ev.UpdatedFields, ev.PreviousData)
	}
	_, _, _, err = s.FindDelivery(b.ctx, otherWS.ws.ID, ds[0].ID)
	wantCode(t, err, herald.ENOTFOUND)

	// A failed write leaves no event behind.
	before := len(b.deliveries(all, ""))
	dup := r.Clone()
	_, ev2 := record.New(person, b.ws.ID, b.actor, &record.Input{ID: r.ID, Values: dup.Values}, time.Now())
	wantCode(t, s.CreateRecords(b.ctx, []*herald.Record{dup}, []*herald.Event{ev2}), herald.ECONFLICT)
	if after := len(b.deliveries(all, "")); after != before {
		t.Errorf("failed create left %d deliveries", after-before)
	}

	// Deleting a webhook takes its deliveries with it.
	must(t, s.DeleteWebhook(b.ctx, b.ws.ID, all.ID))
	_, _, _, err = s.FindDelivery(b.ctx, b.ws.ID, ds[0].ID)
	wantCode(t, err, herald.ENOTFOUND)
	wantCode(t, s.DeleteWebhook(b.ctx, b.ws.ID, all.ID), herald.ENOTFOUND)
}

func testClaiming(t *testing.T, s herald.Store) {
	b := setup(t, s, "claim")
	fast, slow := b.webhook(), b.webhook()
	if st, err := s.QueueStats(b.ctx); err != nil || st.Pending != 0 || !st.OldestPending.IsZero() {
		t.Fatalf("QueueStats of an empty queue = %+v, %v", st, err)
	}
	start := time.Now().Truncate(time.Millisecond)
	for i := 0; i < 5; i++ {
		b.create(fmt.Sprintf(`{"firstName":"P%d"}`, i))
	}
	if st, err := s.QueueStats(b.ctx); err != nil || st.Pending != 10 || st.OldestPending.Before(start) || st.OldestPending.After(time.Now()) {
		t.Fatalf("QueueStats after 5 events to 2 webhooks = %+v, %v; want 10 pending since %v", st, err, start)
	}
	due, err := s.DueWebhooks(b.ctx, time.Now())
	must(t, err)
	if len(due) != 2 {
		t.Fatalf("DueWebhooks = %v, want both", due)
	}
	// Each lane gets at most its limit.
	cs := b.claim("a", herald.Lane{WebhookID: fast.ID, Limit: 3}, herald.Lane{WebhookID: slow.ID, Limit: 1})
	per := map[string]int{}
	for _, c := range cs {
		per[c.Webhook.ID]++
		if c.Event == nil || c.Event.Name != "person.created" || c.Webhook.Secret == "" {
			t.Fatalf("claim without its event or webhook: %+v", c)
		}
	}
	if per[fast.ID] != 3 || per[slow.ID] != 1 {
		t.Fatalf("claimed per lane %v, want 3 and 1", per)
	}
	// Leased deliveries are not claimed again.
	again := b.claim("b", herald.Lane{WebhookID: fast.ID, Limit: 10})
	if len(again) != 2 {
		t.Fatalf("second claim got %d, want the 2 unleased", len(again))
	}
	// Complete: one delivered, one retried later, one failed for good.
	later := time.Now().Add(time.Hour)
	must(t, s.CompleteDeliveries(b.ctx, []herald.Outcome{
		outcome(cs[0], "a", herald.DeliveryDelivered, 200, time.Time{}),
		outcome(cs[1], "a", herald.DeliveryPending, 500, later),
		outcome(cs[2], "a", herald.DeliveryFailed, 500, time.Time{}),
		outcome(again[0], "not-the-owner", herald.DeliveryDelivered, 200, time.Time{}), // lease lost: ignored
	}))
	d, _, attempts, err := s.FindDelivery(b.ctx, b.ws.ID, cs[1].DeliveryID)
	must(t, err)
	if d.Status != herald.DeliveryPending || d.Attempts != 1 || len(attempts) != 1 || attempts[0].StatusCode != 500 ||
		attempts[0].ResponseBody != "answer 500" || d.NextAttemptAt == nil || d.NextAttemptAt.Unix() != later.Unix() {
		t.Fatalf("retried delivery = %+v, attempts %+v", d, attempts)
	}
	d, _, _, _ = s.FindDelivery(b.ctx, b.ws.ID, again[0].DeliveryID)
	if d.Status != herald.DeliveryPending || d.Attempts != 0 {
		t.Fatalf("outcome from a non-owner was recorded: %+v", d)
	}
	// The slow lane still has unleased work due now.
	next, ok, err := s.NextDue(b.ctx)
	must(t, err)
	if !ok || next.After(time.Now()) {
		t.Fatalf("NextDue = %s, %v; want a time already passed", next, ok)
	}
	// Retry by hand: due now whatever the status.
	r, err := s.RetryDelivery(b.ctx, b.ws.ID, cs[2].DeliveryID, time.Now())
	must(t, err)
	if r.Status != herald.DeliveryPending {
		t.Fatalf("RetryDelivery status %s", r.Status)
	}
	_, err = s.RetryDelivery(b.ctx, "someone-else", cs[2].DeliveryID, time.Now())
	wantCode(t, err, herald.ENOTFOUND)

	// Disabled webhooks are not claimed; their pending work waits.
	b.disable(slow)
	if got := b.claim("c", herald.Lane{WebhookID: slow.ID, Limit: 10}); len(got) != 0 {
		t.Fatalf("claimed %d from a disabled webhook", len(got))
	}
}

func testPerRecordOrder(t *testing.T, s herald.Store) {
	b := setup(t, s, "order")
	w := b.webhook()
	r1 := b.create(`{"firstName":"A"}`)
	b.update(r1.ID, `{"city":"One"}`)
	b.update(r1.ID, `{"city":"Two"}`)
	r2 := b.create(`{"firstName":"B"}`)

	lane := herald.Lane{WebhookID: w.ID, Limit: 10}
	// The updates wait unscheduled behind the creation.
	waiting := 0
	for _, d := range b.deliveries(w, herald.DeliveryPending) {
		if d.NextAttemptAt == nil {
			waiting++
		}
	}
	if waiting != 2 {
		t.Fatalf("%d deliveries wait unscheduled, want r1's 2 updates", waiting)
	}
	due, err := s.DueWebhooks(b.ctx, time.Now())
	must(t, err)
	if !slices.Contains(due, w.ID) {
		t.Fatalf("DueWebhooks = %v, want %s", due, w.ID)
	}
	cs := b.claim("a", lane)
	if len(cs) != 2 || cs[0].Event.RecordID != r1.ID || cs[1].Event.RecordID != r2.ID {
		t.Fatalf("first claim: %d deliveries, want the first event of each record", len(cs))
	}
	// With the heads leased, nothing of this webhook is due.
	if due, err := s.DueWebhooks(b.ctx, time.Now()); err != nil || slices.Contains(due, w.ID) {
		t.Fatalf("DueWebhooks with the heads in flight = %v, %v", due, err)
	}
	// A retry keeps the record's later events waiting.
	must(t, s.CompleteDeliveries(b.ctx, []herald.Outcome{outcome(cs[0], "a", herald.DeliveryPending, 503, time.Now().Add(-time.Second)),
		outcome(cs[1], "a", herald.DeliveryDelivered, 200, time.Time{})}))
	cs2 := b.claim("a", lane)
	if len(cs2) != 1 || cs2[0].DeliveryID != cs[0].DeliveryID {
		t.Fatalf("after a retry was scheduled, claimed %d; want only the retry", len(cs2))
	}
	must(t, s.CompleteDeliveries(b.ctx, []herald.Outcome{outcome(cs2[0], "a", herald.DeliveryDelivered, 200, time.Time{})}))
	cs3 := b.claim("a", lane)
	if len(cs3) != 1 || cs3[0].Event.Name != "person.updated" || string(cs3[0].Event.PreviousData) != `{"city":null}` {
		t.Fatalf("after delivery, want the first update; got %d", len(cs3))
	}
	// A delivery that failed for good no longer blocks the record.
	must(t, s.CompleteDeliveries(b.ctx, []herald.Outcome{outcome(cs3[0], "a", herald.DeliveryFailed, 500, time.Time{})}))
	cs4 := b.claim("a", lane)
	if len(cs4) != 1 || string(cs4[0].Event.PreviousData) != `{"city":"One"}` {
		t.Fatalf("after a final failure, want the second update; got %d", len(cs4))
	}

	// Retrying an old delivery by hand while the record has one in flight
	// queues it behind that one.
	retried, err := s.RetryDelivery(b.ctx, b.ws.ID, cs[0].DeliveryID, time.Now())
	must(t, err)
	if retried.NextAttemptAt != nil {
		t.Fatalf("a retry behind a delivery in flight is scheduled at %v", retried.NextAttemptAt)
	}
	if got := b.claim("a", lane); len(got) != 0 {
		t.Fatalf("claimed %d while the record's delivery is in flight", len(got))
	}
	must(t, s.CompleteDeliveries(b.ctx, []herald.Outcome{outcome(cs4[0], "a", herald.DeliveryDelivered, 200, time.Time{})}))
	cs5 := b.claim("a", lane)
	if len(cs5) != 1 || cs5[0].DeliveryID != cs[0].DeliveryID {
		t.Fatalf("after the delivery in flight, want the retried one; got %d", len(cs5))
	}
	// Retrying the head itself keeps it the head.
	again, err := s.RetryDelivery(b.ctx, b.ws.ID, cs5[0].DeliveryID, time.Now())
	must(t, err)
	if again.NextAttemptAt == nil {
		t.Fatal("retrying the record's head left it unscheduled")
	}
	must(t, s.CompleteDeliveries(b.ctx, []herald.Outcome{outcome(cs5[0], "a", herald.DeliveryDelivered, 200, time.Time{})}))

	// A replay queues each record's events in order again: one head each.
	n, err := s.ReplayDeliveries(b.ctx, b.ws.ID, w.ID, time.Now().Add(-time.Hour), time.Now())
	must(t, err)
	if n != 4 {
		t.Fatalf("replayed %d, want 4", n)
	}
	cs6 := b.claim("a", lane)
	if len(cs6) != 2 || cs6[0].Event.Name != "person.created" || cs6[1].Event.Name != "person.created" {
		t.Fatalf("after a replay, claimed %d; want each record's creation", len(cs6))
	}
	for i := 0; i < 2; i++ { // r1's updates follow one by one
		must(t, s.CompleteDeliveries(b.ctx, []herald.Outcome{outcome(cs6[0], "a", herald.DeliveryDelivered, 200, time.Time{})}))
		next := b.claim("a", lane)
		if len(next) != 1 || next[0].Event.Name != "person.updated" || next[0].Event.RecordID != r1.ID {
			t.Fatalf("after r1's event %d, claimed %d; want its next update", i+1, len(next))
		}
		cs6[0] = next[0]
	}
}

// testOrderWhileChanging: a record keeps changing while its deliveries go
// out as fast as they can. Each change's delivery becomes pending just as
// the one before it may be completing; every one must still go, one at a
// time, in order.
func testOrderWhileChanging(t *testing.T, s herald.Store) {
	b := setup(t, s, "changing")
	w := b.webhook()
	r := b.create(`{"firstName":"Hot"}`)
	const changes = 150
	updated := make(chan error, 1)
	go func() {
		for i := range changes {
			in, err := record.ParseInput(person, json.RawMessage(fmt.Sprintf(`{"city":"C%d"}`, i)), false)
			if err == nil {
				_, err = s.UpdateRecord(b.ctx, b.ws.ID, "person", r.ID, func(r *herald.Record) (*herald.Event, error) {
					return record.Apply(person, r, in, time.Now()), nil
				})
			}
			if err != nil {
				updated <- err
				return
			}
		}
		updated <- nil
	}()
	lane := herald.Lane{WebhookID: w.ID, Limit: 10}
	var lastSeq int64
	delivered, writing := 0, true
	deadline := time.Now().Add(time.Minute)
	for delivered < changes+1 {
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d deliveries went in a minute: the rest never became due", delivered, changes+1)
		}
		select {
		case err := <-updated:
			must(t, err)
			writing = false
		default:
		}
		cs := b.claim("a", lane)
		if len(cs) > 1 {
			t.Fatalf("claimed %d deliveries of one record at once", len(cs))
		}
		if len(cs) == 0 {
			time.Sleep(time.Millisecond)
			continue
		}
		if seq := cs[0].Event.Seq; seq <= lastSeq {
			t.Fatalf("event %d delivered after event %d", seq, lastSeq)
		} else {
			lastSeq = seq
		}
		must(t, s.CompleteDeliveries(b.ctx, []herald.Outcome{outcome(cs[0], "a", herald.DeliveryDelivered, 200, time.Time{})}))
		delivered++
	}
	if writing {
		must(t, <-updated)
	}
}

func testLeases(t *testing.T, s herald.Store) {
	b := setup(t, s, "leases")
	w := b.webhook()
	b.createN(3, `{"firstName":"L"}`)
	lane := herald.Lane{WebhookID: w.ID, Limit: 10}
	now := time.Now()
	cs, err := s.ClaimDeliveries(b.ctx, herald.ClaimRequest{Owner: "dead", Now: now, LeaseUntil: now.Add(-time.Second), Lanes: []herald.Lane{lane}})
	must(t, err)
	if len(cs) != 3 {
		t.Fatalf("claimed %d", len(cs))
	}
	// An expired lease is recovered; a live one is kept (on engines that
	// can tell; SQLite's single engine recovers all at start).
	n, err := s.RecoverClaims(b.ctx, time.Now())
	must(t, err)
	if n != 3 {
		t.Fatalf("RecoverClaims = %d, want 3", n)
	}
	cs = b.claim("live", lane)
	ids := []int64{cs[0].DeliveryID, cs[1].DeliveryID, cs[2].DeliveryID}
	extended, err := s.ExtendLeases(b.ctx, "live", ids, time.Now().Add(time.Hour))
	must(t, err)
	if len(extended) != 3 {
		t.Fatalf("extended %v of %v", extended, ids)
	}
	// Only lapsed leases expire while engines run.
	n, err = s.ExpireLeases(b.ctx, time.Now())
	must(t, err)
	if n != 0 {
		t.Fatalf("ExpireLeases took %d live leases", n)
	}
	if n, err = s.ExpireLeases(b.ctx, time.Now().Add(2*time.Hour)); err != nil || n != 3 {
		t.Fatalf("ExpireLeases after the lease lapsed = %d, %v; want 3", n, err)
	}
	// Another owner cannot extend a lease it does not hold, and a holder
	// extends only the claims it names: one it lost track of lapses.
	cs = b.claim("live", lane)
	if extended, err := s.ExtendLeases(b.ctx, "other", ids, time.Now().Add(3*time.Hour)); err != nil || len(extended) != 0 {
		t.Fatalf("another owner extended %v (%v)", extended, err)
	}
	if extended, err := s.ExtendLeases(b.ctx, "live", ids[:2], time.Now().Add(time.Hour)); err != nil || len(extended) != 2 {
		t.Fatalf("the holder extended %v of two (%v)", extended, err)
	}
	n, err = s.ExpireLeases(b.ctx, time.Now().Add(30*time.Minute))
	must(t, err)
	if n != 1 {
		t.Fatalf("ExpireLeases of the one lease left unextended = %d, want 1", n)
	}
	if got := b.claim("other", lane); len(got) != 1 || got[0].DeliveryID != ids[2] {
		t.Fatalf("after the unextended lease lapsed, another owner claimed %d", len(got))
	}
	must(t, s.ReleaseClaims(b.ctx, "live", []int64{cs[0].DeliveryID}))
	if got := b.claim("other", lane); len(got) != 1 || got[0].DeliveryID != cs[0].DeliveryID {
		t.Fatalf("after releasing one, another owner claimed %d", len(got))
	}
}

// testStaleOutcomes: an outcome belongs to its claim. One made under a
// lease that lapsed and was claimed again, by another owner or the same
// one, is dropped, and never rolls back the outcomes written with it.
func testStaleOutcomes(t *testing.T, s herald.Store) {
	b := setup(t, s, "stale")
	w := b.webhook()
	b.createN(3, `{"firstName":"S"}`)
	lane := herald.Lane{WebhookID: w.ID, Limit: 10}
	now := time.Now()
	frozen, err := s.ClaimDeliveries(b.ctx, herald.ClaimRequest{Owner: "a", Now: now, LeaseUntil: now.Add(-time.Second), Lanes: []herald.Lane{lane}})
	must(t, err)
	if len(frozen) != 3 {
		t.Fatalf("claimed %d", len(frozen))
	}
	// a is frozen past its lease: the deliveries are claimed again, the
	// first by b, which fails it, and then, with the others, by a again.
	_, err = s.ExpireLeases(b.ctx, time.Now())
	must(t, err)
	byB := b.claim("b", herald.Lane{WebhookID: w.ID, Limit: 1})
	if len(byB) != 1 || byB[0].DeliveryID != frozen[0].DeliveryID {
		t.Fatalf("b claimed %d, not the first delivery", len(byB))
	}
	must(t, s.CompleteDeliveries(b.ctx, []herald.Outcome{outcome(byB[0], "b", herald.DeliveryPending, 500, time.Now().Add(-time.Second))}))
	again := b.claim("a", lane)
	byID := func(x, y *herald.Claim) int { return cmp.Compare(x.DeliveryID, y.DeliveryID) }
	slices.SortFunc(frozen, byID)
	slices.SortFunc(again, byID)
	if len(again) != 3 || again[0].DeliveryID != byB[0].DeliveryID || again[0].Attempts != 1 {
		t.Fatalf("claimed again: %d claims, first %+v", len(again), again[0])
	}
	// a wakes and writes its outcomes of the first claim with one of the
	// second. The first delivery's is stale: b recorded an attempt since.
	// The second's is not told from its new claim's, which has the same
	// owner and count: it is a real attempt, recorded, and the new claim's
	// own outcome is then the stale one.
	batch := []herald.Outcome{
		outcome(frozen[0], "a", herald.DeliveryDelivered, 200, time.Time{}),
		outcome(frozen[1], "a", herald.DeliveryDelivered, 200, time.Time{}),
		outcome(again[2], "a", herald.DeliveryDelivered, 200, time.Time{}),
	}
	must(t, s.CompleteDeliveries(b.ctx, batch))
	// Written twice, an outcome is recorded once.
	must(t, s.CompleteDeliveries(b.ctx, batch[2:]))
	for i, c := range again {
		d, _, attempts, err := s.FindDelivery(b.ctx, b.ws.ID, c.DeliveryID)
		must(t, err)
		if len(attempts) != 1 {
			t.Fatalf("delivery %d has %d attempts, want 1", i, len(attempts))
		}
		if wantStatus := []string{herald.DeliveryPending, herald.DeliveryDelivered, herald.DeliveryDelivered}[i]; d.Status != wantStatus {
			t.Fatalf("delivery %d is %s, want %s", i, d.Status, wantStatus)
		}
	}
	// The current claim of the first records its outcome; the second's
	// is dropped.
	must(t, s.CompleteDeliveries(b.ctx, []herald.Outcome{
		outcome(again[0], "a", herald.DeliveryDelivered, 200, time.Time{}),
		outcome(again[1], "a", herald.DeliveryFailed, 500, time.Time{}),
	}))
	if got := b.deliveries(w, herald.DeliveryDelivered); len(got) != 3 {
		t.Fatalf("%d delivered, want 3", len(got))
	}
	if _, _, attempts, err := s.FindDelivery(b.ctx, b.ws.ID, again[0].DeliveryID); err != nil || len(attempts) != 2 {
		t.Fatalf("the first delivery has %d attempts (%v), want 2", len(attempts), err)
	}
}

func testDeliveryLog(t *testing.T, s herald.Store) {
	b := setup(t, s, "log")
	w := b.webhook()
	b.createN(5, `{"firstName":"Log"}`)
	page1, more, err := s.ListDeliveries(b.ctx, herald.DeliveryQuery{WorkspaceID: b.ws.ID, WebhookID: w.ID, Limit: 3})
	must(t, err)
	page2, more2, err := s.ListDeliveries(b.ctx, herald.DeliveryQuery{WorkspaceID: b.ws.ID, WebhookID: w.ID, Limit: 3, BeforeID: page1[2].ID})
	must(t, err)
	if len(page1) != 3 || !more || len(page2) != 2 || more2 || page2[0].ID >= page1[2].ID {
		t.Fatalf("pages of 3: %d (more %v), %d (more %v)", len(page1), more, len(page2), more2)
	}
	ev := &herald.Event{ID: record.NewEventID(), WorkspaceID: b.ws.ID, Name: "webhook.test", Object: "webhook", ObjectPlural: "webhooks",
		Data: json.RawMessage(`{}`), Timestamp: time.Now()}
	now := time.Now()
	c, err := s.DeliverNow(b.ctx, ev, w.ID, herald.ClaimRequest{Owner: "api", Now: now, LeaseUntil: now.Add(time.Minute)})
	must(t, err)
	if c.DeliveryID == 0 || c.Webhook.ID != w.ID {
		t.Fatalf("DeliverNow = %+v", c)
	}
	if got := b.claim("engine", herald.Lane{WebhookID: w.ID, Limit: 100}); len(got) != 5 {
		t.Fatalf("the engine claimed %d; the test delivery must stay with its owner", len(got))
	}
	if got := b.deliveries(w, herald.DeliveryPending); len(got) != 6 || got[0].EventName != "webhook.test" {
		t.Fatalf("filter by status: %d", len(got))
	}
	ds, _, err := s.ListDeliveries(b.ctx, herald.DeliveryQuery{WorkspaceID: b.ws.ID, WebhookID: w.ID, EventName: "webhook.test", Limit: 10})
	must(t, err)
	if len(ds) != 1 {
		t.Fatalf("filter by event: %d", len(ds))
	}
}

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

func testHealth(t *testing.T, s herald.Store) {
	b := setup(t, s, "health")
	w := b.webhook()
	quiet := b.webhook("company.*") // never gets a delivery
	b.createN(4, `{"firstName":"H"}`)
	lane := herald.Lane{WebhookID: w.ID, Limit: 10}
	cs := b.claim("h", lane)
	if len(cs) != 4 {
		t.Fatalf("claimed %d", len(cs))
	}
	t0 := time.Now().Add(-10 * 24 * time.Hour).Truncate(time.Millisecond)
	// Two failures, then the webhook is failing since the first one.
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
	// Hourly buckets from t0: failures at +0h and +1h, a 502 at +2h, the
	// success at +3h, nothing at +4h; another workspace sees nothing.
	hist, err := s.AttemptHistogram(b.ctx, b.ws.ID, w.ID, t0, t0.Add(4*time.Hour+time.Minute), time.Hour)
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
	stranger := setup(t, s, "health-stranger")
	hist, err = s.AttemptHistogram(b.ctx, stranger.ws.ID, w.ID, t0, t0.Add(4*time.Hour), time.Hour)
	must(t, err)
	for _, h := range hist {
		if h.Attempts != 0 {
			t.Fatalf("another workspace sees attempts: %+v", hist)
		}
	}

	got = b.findWebhook(w.ID)
	if got.FailingSince != nil || got.LastSuccessAt == nil || !got.LastSuccessAt.Equal(t0.Add(3*time.Hour)) || got.LastError != "HTTP 502 Bad Gateway" {
		t.Fatalf("after a success: failingSince %v, lastSuccess %v, lastError %q", got.FailingSince, got.LastSuccessAt, got.LastError)
	}

	// Failing again, for longer than the limit: disabled, with the reason.
	b.createN(2, `{"firstName":"H2"}`)
	cs = b.claim("h", lane)
	must(t, s.CompleteDeliveries(b.ctx, []herald.Outcome{attemptAt(cs[0], herald.DeliveryPending, 500, t0.Add(4*time.Hour), "HTTP 500 Internal Server Error")}))
	hooks, err = s.DisableFailingWebhooks(b.ctx, t0.Add(5*time.Hour), time.Now())
	must(t, err)
	if len(hooks) != 1 || hooks[0].ID != w.ID || hooks[0].Status != herald.WebhookDisabled {
		t.Fatalf("DisableFailingWebhooks = %d webhooks", len(hooks))
	}
	got = b.findWebhook(w.ID)
	if got.Status != herald.WebhookDisabled || got.DisabledAt == nil || got.DisabledReason != herald.FailingReason(t0.Add(4*time.Hour), "HTTP 500 Internal Server Error") {
		t.Fatalf("disabled webhook: status %s, at %v, reason %q", got.Status, got.DisabledAt, got.DisabledReason)
	}
	if b.findWebhook(quiet.ID).Status != herald.WebhookActive {
		t.Fatal("a webhook with no deliveries was disabled")
	}
	// Events while disabled are skipped; the pending retry waits.
	b.create(`{"firstName":"While disabled"}`)
	if n := len(b.deliveries(w, herald.DeliverySkipped)); n != 1 {
		t.Fatalf("%d skipped deliveries, want 1", n)
	}
	if got := b.claim("h", lane); len(got) != 0 {
		t.Fatalf("claimed %d deliveries of a disabled webhook", len(got))
	}

	// Stats count attempts since a time and the backlog.
	stats, err := s.WebhookStats(b.ctx, b.ws.ID, t0.Add(90*time.Minute))
	must(t, err)
	if st := stats[w.ID]; st.Attempts != 3 || st.Succeeded != 1 || st.Pending != 2 {
		t.Fatalf("stats = %+v, want 3 attempts, 1 succeeded, 2 pending", st)
	}
	if _, ok := stats[quiet.ID]; ok {
		t.Fatal("stats for a webhook without deliveries")
	}

	// 410 Gone disables the webhook at once.
	gone := b.webhook()
	b.create(`{"firstName":"Gone"}`)
	cs = b.claim("h", herald.Lane{WebhookID: gone.ID, Limit: 10})
	o := attemptAt(cs[0], herald.DeliveryFailed, 410, time.Now(), "HTTP 410 Gone")
	o.DisableWebhook = herald.ReasonGone
	must(t, s.CompleteDeliveries(b.ctx, []herald.Outcome{o}))
	if got := b.findWebhook(gone.ID); got.Status != herald.WebhookDisabled || got.DisabledReason != herald.ReasonGone {
		t.Fatalf("after 410: status %s, reason %q", got.Status, got.DisabledReason)
	}

	// Another workspace sees none of it.
	other := setup(t, s, "health-other")
	stats, err = s.WebhookStats(b.ctx, other.ws.ID, t0)
	must(t, err)
	if len(stats) != 0 {
		t.Fatalf("another workspace sees stats of %d webhooks", len(stats))
	}
}

func testReplay(t *testing.T, s herald.Store) {
	b := setup(t, s, "replay")
	w := b.webhook("person.*")
	lane := herald.Lane{WebhookID: w.ID, Limit: 10}
	old := b.create(`{"firstName":"Before"}`)
	cs := b.claim("r", lane)
	must(t, s.CompleteDeliveries(b.ctx, []herald.Outcome{outcome(cs[0], "r", herald.DeliveryDelivered, 200, time.Time{})}))
	time.Sleep(5 * time.Millisecond)
	since := time.Now()
	time.Sleep(5 * time.Millisecond)

	delivered := b.create(`{"firstName":"Delivered"}`)
	failed := b.create(`{"firstName":"Failed"}`)
	cs = b.claim("r", lane)
	if len(cs) != 2 {
		t.Fatalf("claimed %d", len(cs))
	}
	must(t, s.CompleteDeliveries(b.ctx, []herald.Outcome{
		outcome(cs[0], "r", herald.DeliveryDelivered, 200, time.Time{}),
		outcome(cs[1], "r", herald.DeliveryFailed, 500, time.Time{}),
	}))
	b.disable(w)
	skipped := b.create(`{"firstName":"Skipped"}`)
	_, err := s.UpdateWebhook(b.ctx, b.ws.ID, w.ID, func(w *herald.Webhook) error { w.Status = herald.WebhookActive; return nil })
	must(t, err)
	pending := b.create(`{"firstName":"Pending"}`)
	// A company event and a test event are not replayed to a person.* webhook.
	company := herald.StandardObjects()[1]
	in, err := record.ParseInput(company, json.RawMessage(`{"name":"Acme"}`), true)
	must(t, err)
	cr, cev := record.New(company, b.ws.ID, b.actor, in, time.Now())
	must(t, s.CreateRecords(b.ctx, []*herald.Record{cr}, []*herald.Event{cev}))
	ev := &herald.Event{ID: record.NewEventID(), WorkspaceID: b.ws.ID, Name: herald.TestEventName, Object: "webhook", ObjectPlural: "webhooks",
		Data: json.RawMessage(`{}`), Timestamp: time.Now()}
	now := time.Now()
	tc, err := s.DeliverNow(b.ctx, ev, w.ID, herald.ClaimRequest{Owner: "api", Now: now, LeaseUntil: now.Add(time.Minute)})
	must(t, err)
	must(t, s.CompleteDeliveries(b.ctx, []herald.Outcome{outcome(tc, "api", herald.DeliveryDelivered, 200, time.Time{})}))

	// A webhook created afterwards gets the events it never had.
	late := b.webhook("person.created")
	n, err := s.ReplayDeliveries(b.ctx, b.ws.ID, late.ID, since, time.Now())
	must(t, err)
	if n != 4 {
		t.Fatalf("replay to a new webhook made %d due, want 4 (delivered, failed, skipped, pending)", n)
	}

	n, err = s.ReplayDeliveries(b.ctx, b.ws.ID, w.ID, since, time.Now())
	must(t, err)
	if n != 3 {
		t.Fatalf("replay made %d due, want 3 (the delivered, failed and skipped ones)", n)
	}
	cs = b.claim("r", lane)
	got := map[string]*herald.Claim{}
	for _, c := range cs {
		got[c.Event.RecordID] = c
	}
	for _, r := range []*herald.Record{delivered, failed, skipped, pending} {
		c := got[r.ID]
		if c == nil {
			t.Fatalf("record %s not claimable after the replay", r.ID)
		}
		if c.Round != 0 {
			t.Errorf("replayed delivery of %s: round %d, want a fresh schedule", r.ID, c.Round)
		}
	}
	if got[old.ID] != nil || len(cs) != 4 {
		t.Fatalf("claimed %d after the replay; the event before since must not come back", len(cs))
	}
	if got[failed.ID].Attempts != 1 {
		t.Errorf("replayed delivery kept %d earlier attempts, want 1", got[failed.ID].Attempts)
	}
	// Manual retry also starts the schedule over.
	must(t, s.CompleteDeliveries(b.ctx, []herald.Outcome{outcome(got[failed.ID], "r", herald.DeliveryFailed, 500, time.Time{})}))
	_, err = s.RetryDelivery(b.ctx, b.ws.ID, got[failed.ID].DeliveryID, time.Now())
	must(t, err)
	for _, c := range b.claim("r", lane) {
		if c.DeliveryID == got[failed.ID].DeliveryID && (c.Round != 0 || c.Attempts != 2) {
			t.Fatalf("after a manual retry: round %d, attempts %d", c.Round, c.Attempts)
		}
	}

	_, err = s.ReplayDeliveries(b.ctx, b.ws.ID, "no-such-webhook", since, time.Now())
	wantCode(t, err, herald.ENOTFOUND)
	other := setup(t, s, "replay-other")
	_, err = s.ReplayDeliveries(b.ctx, other.ws.ID, w.ID, since, time.Now())
	wantCode(t, err, herald.ENOTFOUND)
}

func testRetention(t *testing.T, s herald.Store) {
	b := setup(t, s, "retention")
	w := b.webhook("person.*")
	b.createN(5, `{"firstName":"Old"}`)
	cs := b.claim("p", herald.Lane{WebhookID: w.ID, Limit: 10})
	must(t, s.CompleteDeliveries(b.ctx, []herald.Outcome{
		outcome(cs[0], "p", herald.DeliveryDelivered, 200, time.Time{}),
		outcome(cs[1], "p", herald.DeliveryFailed, 500, time.Time{}),
		outcome(cs[2], "p", herald.DeliveryDelivered, 200, time.Time{}),
		outcome(cs[3], "p", herald.DeliveryPending, 500, time.Now().Add(time.Hour)),
	}))
	// An event no webhook wanted.
	company := herald.StandardObjects()[1]
	in, err := record.ParseInput(company, json.RawMessage(`{"name":"Acme"}`), true)
	must(t, err)
	cr, cev := record.New(company, b.ws.ID, b.actor, in, time.Now())
	must(t, s.CreateRecords(b.ctx, []*herald.Record{cr}, []*herald.Event{cev}))
	time.Sleep(5 * time.Millisecond)
	cutoff := time.Now()
	time.Sleep(5 * time.Millisecond)
	fresh := b.create(`{"firstName":"Fresh"}`)

	// Pruning two at a time: the three finished deliveries go with their
	// events, and the unwanted event; pending deliveries (a retry and one
	// never attempted) and their events stay.
	total := 0
	for i := 0; ; i++ {
		n, err := s.PruneDeliveries(b.ctx, cutoff, 2)
		must(t, err)
		total += n
		if n < 2 {
			break
		}
		if i > 10 {
			t.Fatal("pruning does not end")
		}
	}
	if total != 7 {
		t.Fatalf("pruned %d rows, want 3 deliveries and 4 events", total)
	}
	if ds := b.deliveries(w, ""); len(ds) != 3 {
		t.Fatalf("%d deliveries left, want 2 pending and the fresh one", len(ds))
	}
	_, _, attempts, err := s.FindDelivery(b.ctx, b.ws.ID, cs[3].DeliveryID)
	must(t, err)
	if len(attempts) != 1 {
		t.Fatalf("the pending delivery lost its attempts: %d", len(attempts))
	}
	_, _, _, err = s.FindDelivery(b.ctx, b.ws.ID, cs[0].DeliveryID)
	wantCode(t, err, herald.ENOTFOUND)
	// Pruned events are gone for replays too: a new webhook gets the two
	// kept old events and the fresh one.
	late := b.webhook("person.*")
	n, err := s.ReplayDeliveries(b.ctx, b.ws.ID, late.ID, cutoff.Add(-time.Hour), time.Now())
	must(t, err)
	if n != 3 {
		t.Fatalf("replay after pruning made %d due, want 3", n)
	}
	if _, err := s.FindRecord(b.ctx, b.ws.ID, "person", fresh.ID); err != nil {
		t.Fatal(err)
	}
}

// testSecrets: a secret is made once and read back the same by every
// caller, concurrent ones too.
func testSecrets(t *testing.T, s herald.Store) {
	ctx := context.Background()
	got := make(chan []byte, 4)
	for range 4 {
		go func() {
			k, err := s.Secret(ctx, "ids", 24)
			if err != nil {
				t.Error(err)
			}
			got <- k
		}()
	}
	first := <-got
	for range 3 {
		if k := <-got; string(k) != string(first) {
			t.Fatalf("concurrent callers got different secrets")
		}
	}
	if len(first) != 24 || string(first) == string(make([]byte, 24)) {
		t.Fatalf("secret %x", first)
	}
	other, err := s.Secret(ctx, "other", 24)
	must(t, err)
	if string(other) == string(first) {
		t.Fatal("two secrets are the same")
	}
	if _, err := s.Secret(ctx, "ids", 16); err == nil {
		t.Fatal("a secret read at another size than it was made")
	}
}
