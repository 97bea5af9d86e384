package storetest

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/heraldhq/herald"
	"github.com/heraldhq/herald/record"
)

var deliveryLogCases = []testCase{
	// Pages of a webhook's deliveries, newest first, filtered by status or
	// event; a delivery made now stays with the owner it was made for.
	{"ListDeliveries", func(t *testing.T, b *bundle) {
		s := b.s
		w := b.webhook()
		b.createN(5, `{"name":{"firstName":"Log"}}`)
		page1, more := b.page(w, 3, 0)
		page2, more2 := b.page(w, 3, page1[2].ID)
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
	}},
	// A page goes on after its cursor was pruned, from where the cursor
	// stood.
	{"ListDeliveriesAfterPrunedCursor", func(t *testing.T, b *bundle) {
		s := b.s
		w := b.webhook()
		b.createN(5, `{"name":{"firstName":"Log"}}`)
		page1, _ := b.page(w, 3, 0)
		claims := map[int64]*herald.Claim{}
		for _, c := range b.claim("p", herald.Lane{WebhookID: w.ID, Limit: 10}) {
			claims[c.DeliveryID] = c
		}
		prune := func(id int64) {
			b.done(claims[id], "p")
			time.Sleep(5 * time.Millisecond)
			n, err := s.PruneDeliveries(b.ctx, time.Now(), 100)
			must(t, err)
			if n != 2 {
				t.Fatalf("pruned %d rows, want a delivery and its event", n)
			}
		}
		cursor := page1[2].ID
		prune(cursor)
		page2, more := b.page(w, 3, cursor)
		if len(page2) != 2 || more || page2[0].ID >= cursor || page2[1].ID >= page2[0].ID {
			t.Fatalf("after a pruned cursor: %d deliveries (more %v), want the 2 older ones", len(page2), more)
		}
		// The oldest delivery, pruned: nothing is older.
		prune(page2[1].ID)
		last, more := b.page(w, 3, page2[1].ID)
		if len(last) != 0 || more {
			t.Fatalf("after the oldest delivery, pruned: %d deliveries (more %v), want none", len(last), more)
		}
	}},
	// A replay makes the events since a time due again for one webhook, on
	// a fresh schedule: finished ones start over, missing ones are made.
	{"ReplayDeliveries", func(t *testing.T, b *bundle) {
		s := b.s
		w := b.webhook("person.*")
		lane := herald.Lane{WebhookID: w.ID, Limit: 10}
		old := b.create(`{"name":{"firstName":"Before"}}`)
		cs := b.claim("r", lane)
		must(t, s.CompleteDeliveries(b.ctx, []herald.Outcome{outcome(cs[0], "r", herald.DeliveryDelivered, 200, time.Time{})}))
		time.Sleep(5 * time.Millisecond)
		since := time.Now()
		time.Sleep(5 * time.Millisecond)

		delivered := b.create(`{"name":{"firstName":"Delivered"}}`)
		failed := b.create(`{"name":{"firstName":"Failed"}}`)
		cs = b.claim("r", lane)
		if len(cs) != 2 {
			t.Fatalf("claimed %d", len(cs))
		}
		must(t, s.CompleteDeliveries(b.ctx, []herald.Outcome{
			outcome(cs[0], "r", herald.DeliveryDelivered, 200, time.Time{}),
			outcome(cs[1], "r", herald.DeliveryFailed, 500, time.Time{}),
		}))
		b.disable(w)
		skipped := b.create(`{"name":{"firstName":"Skipped"}}`)
		_, err := s.UpdateWebhook(b.ctx, b.ws.ID, w.ID, func(w *herald.Webhook) error { w.Status = herald.WebhookActive; return nil })
		must(t, err)
		pending := b.create(`{"name":{"firstName":"Pending"}}`)
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
		other := b.other()
		_, err = s.ReplayDeliveries(b.ctx, other.ws.ID, w.ID, since, time.Now())
		wantCode(t, err, herald.ENOTFOUND)
	}},
	// A recovery makes only the deliveries that ended failed since a time
	// due again, on a fresh schedule, a record's in order.
	{"RecoverDeliveries", func(t *testing.T, b *bundle) {
		s := b.s
		w := b.webhook("person.*")
		lane := herald.Lane{WebhookID: w.ID, Limit: 10}
		old := b.create(`{"name":{"firstName":"Old"}}`)
		cs := b.claim("r", lane)
		must(t, s.CompleteDeliveries(b.ctx, []herald.Outcome{outcome(cs[0], "r", herald.DeliveryFailed, 500, time.Time{})}))
		time.Sleep(5 * time.Millisecond)
		since := time.Now()
		r := b.create(`{"name":{"firstName":"R"}}`)
		ok := b.create(`{"name":{"firstName":"Ok"}}`)
		cs = b.claim("r", lane)
		must(t, s.CompleteDeliveries(b.ctx, []herald.Outcome{
			outcome(cs[0], "r", herald.DeliveryFailed, 500, time.Time{}),
			outcome(cs[1], "r", herald.DeliveryDelivered, 200, time.Time{}),
		}))
		b.update(r.ID, `{"city":"Paris"}`)
		cs = b.claim("r", lane)
		must(t, s.CompleteDeliveries(b.ctx, []herald.Outcome{outcome(cs[0], "r", herald.DeliveryFailed, 500, time.Time{})}))
		n, err := s.RetryDeliveries(b.ctx, herald.RetrySelection{WorkspaceID: b.ws.ID, WebhookID: w.ID, Status: herald.DeliveryFailed, Since: since}, time.Now())
		must(t, err)
		if n != 2 {
			t.Fatalf("recovered %d, want r's two failed deliveries", n)
		}
		// r's creation goes first, its update after; old and ok stay done.
		got := b.claim("r", lane)
		if len(got) != 1 || got[0].Event.RecordID != r.ID || got[0].Event.Name != "person.created" || got[0].Round != 0 || got[0].Attempts != 1 {
			t.Fatalf("claimed after the recovery: %+v", got)
		}
		must(t, s.CompleteDeliveries(b.ctx, []herald.Outcome{outcome(got[0], "r", herald.DeliveryDelivered, 200, time.Time{})}))
		next := b.claim("r", lane)
		if len(next) != 1 || next[0].Event.Name != "person.updated" {
			t.Fatalf("after r's creation, claimed %d, want its update", len(next))
		}
		for _, id := range []string{old.ID, ok.ID} {
			for _, d := range b.deliveries(w, herald.DeliveryPending) {
				if _, ev, _, _ := s.FindDelivery(b.ctx, b.ws.ID, d.ID); ev.RecordID == id {
					t.Fatalf("record %s went again", id)
				}
			}
		}
		_, err = s.RetryDeliveries(b.ctx, herald.RetrySelection{WorkspaceID: b.other().ws.ID, WebhookID: w.ID, Status: herald.DeliveryFailed, Since: since}, time.Now())
		wantCode(t, err, herald.ENOTFOUND)
	}},
	// A bulk retry takes what the log's filters select: a status, an
	// event, or every finished delivery; never a pending one.
	{"RetryDeliveries", func(t *testing.T, b *bundle) {
		s := b.s
		w := b.webhook("person.*")
		lane := herald.Lane{WebhookID: w.ID, Limit: 10}
		r := b.create(`{"name":{"firstName":"R"}}`)
		b.create(`{"name":{"firstName":"S"}}`)
		b.create(`{"name":{"firstName":"Pending"}}`)
		cs := b.claim("r", lane)
		must(t, s.CompleteDeliveries(b.ctx, []herald.Outcome{
			outcome(cs[0], "r", herald.DeliveryFailed, 500, time.Time{}),
			outcome(cs[1], "r", herald.DeliveryDelivered, 200, time.Time{}),
			outcome(cs[2], "r", herald.DeliveryPending, 500, time.Now().Add(time.Hour)),
		}))
		b.update(r.ID, `{"city":"Paris"}`)
		cs = b.claim("r", lane)
		must(t, s.CompleteDeliveries(b.ctx, []herald.Outcome{outcome(cs[0], "r", herald.DeliveryDelivered, 200, time.Time{})}))
		retry := func(status, event string) int {
			n, err := s.RetryDeliveries(b.ctx, herald.RetrySelection{WorkspaceID: b.ws.ID, WebhookID: w.ID, Status: status, EventName: event}, time.Now())
			must(t, err)
			return n
		}
		for _, sel := range [][2]string{{herald.DeliverySkipped, ""}, {herald.DeliveryFailed, "person.updated"}, {"", "company.created"}} {
			if n := retry(sel[0], sel[1]); n != 0 {
				t.Fatalf("retried %d deliveries with status %q of event %q, want none", n, sel[0], sel[1])
			}
		}
		if n := retry(herald.DeliveryDelivered, "person.updated"); n != 1 {
			t.Fatalf("retried %d delivered updates, want r's", n)
		}
		if n := retry("", ""); n != 2 {
			t.Fatalf("retried %d finished deliveries, want the 2 left finished", n)
		}
		if n := retry("", ""); n != 0 {
			t.Fatalf("retried %d again, want none: every one is pending", n)
		}
		// r's update went first, so its creation waits behind it now; the
		// one pending all along keeps its retry time.
		got := b.claim("r", lane)
		names := map[string]int{}
		for _, c := range got {
			names[c.Event.RecordID+" "+c.Event.Name]++
		}
		if names[r.ID+" person.updated"] != 1 || names[r.ID+" person.created"] != 0 || len(got) != 2 {
			t.Fatalf("claimed after the bulk retries: %v, want r's update and S's creation", names)
		}
	}},
	// Pruning deletes finished deliveries and the events no delivery needs,
	// a limit at a time; pending ones and their events stay.
	{"PruneDeliveries", func(t *testing.T, b *bundle) {
		s := b.s
		w := b.webhook("person.*")
		b.createN(5, `{"name":{"firstName":"Old"}}`)
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
		fresh := b.create(`{"name":{"firstName":"Fresh"}}`)

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
	}},
	// An event stays while any webhook's delivery of it does, whichever
	// webhook's went first.
	{"PruneKeepsEventsAnotherWebhookNeeds", func(t *testing.T, b *bundle) {
		s := b.s
		first, second := b.webhook("person.*"), b.webhook("person.*")
		b.create(`{"name":{"firstName":"Shared"}}`)
		finish := func(w *herald.Webhook) {
			cs := b.claim("p", herald.Lane{WebhookID: w.ID, Limit: 10})
			if len(cs) != 1 {
				t.Fatalf("claimed %d", len(cs))
			}
			b.done(cs[0], "p")
		}
		prune := func() int {
			time.Sleep(5 * time.Millisecond)
			n, err := s.PruneDeliveries(b.ctx, time.Now(), 100)
			must(t, err)
			return n
		}
		finish(first)
		if n := prune(); n != 1 {
			t.Fatalf("pruned %d rows, want the first webhook's delivery and not the event", n)
		}
		pending := b.deliveries(second, "")
		if len(pending) != 1 {
			t.Fatalf("the second webhook has %d deliveries", len(pending))
		}
		if _, ev, _, err := s.FindDelivery(b.ctx, b.ws.ID, pending[0].ID); err != nil || ev == nil {
			t.Fatalf("the second webhook's delivery lost its event: %v", err)
		}
		finish(second)
		if n := prune(); n != 2 {
			t.Fatalf("pruned %d rows, want the second delivery and the event", n)
		}
	}},
}
