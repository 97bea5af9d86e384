package sqlstore

import (
	"fmt"
	"testing"
	"time"

	"github.com/heraldhq/herald"
	"github.com/heraldhq/herald/record"
)

func TestFanOut(t *testing.T) {
	t.Parallel()
	now := time.Now()
	lease := &herald.ClaimRequest{Owner: "me", LeaseUntil: now.Add(time.Minute)}
	route := func(id, status string, ops ...string) hookRoute {
		return hookRoute{Webhook: &herald.Webhook{ID: id, Status: status}, operations: ops}
	}
	event := func(seq int64, ws, name, record string) *herald.Event {
		return &herald.Event{Seq: seq, WorkspaceID: ws, Name: name, Object: "person", RecordID: record, Data: []byte(`{}`)}
	}
	// changed is an update of the given fields to a person in city.
	changed := func(seq int64, record, city string, fields ...string) *herald.Event {
		ev := event(seq, "ws", "person.updated", record)
		ev.UpdatedFields, ev.Data = fields, []byte(`{"city":"`+city+`"}`)
		return ev
	}
	person := herald.StandardObjects()[0]
	inParis, err := record.ParseFilter(person, "city[eq]:Paris")
	if err != nil {
		t.Fatal(err)
	}
	conditioned := func(fields []string, condition *herald.Filter) hookRoute {
		r := route("a", herald.WebhookActive, "person.*")
		r.Fields, r.condition = fields, condition
		return r
	}
	// want is one row: webhook, event seq, and how it is written.
	type want struct {
		hook  string
		seq   int64
		state string // leased, due, waits or skipped
	}
	for _, tc := range []struct {
		name     string
		routes   map[string][]hookRoute
		events   []*herald.Event
		room     bool // whether the taker has room
		want     []want
		due      bool
		filtered int
	}{
		{
			name:   "taken as written",
			routes: map[string][]hookRoute{"ws": {route("a", herald.WebhookActive, "*.*")}},
			events: []*herald.Event{event(1, "ws", "person.created", "p1")},
			room:   true,
			want:   []want{{"a", 1, "leased"}},
		},
		{
			name:   "no room: due for a claim",
			routes: map[string][]hookRoute{"ws": {route("a", herald.WebhookActive, "*.*")}},
			events: []*herald.Event{event(1, "ws", "person.created", "p1")},
			want:   []want{{"a", 1, "due"}},
			due:    true,
		},
		{
			name:   "a disabled webhook's is skipped",
			routes: map[string][]hookRoute{"ws": {route("a", herald.WebhookDisabled, "*.*")}},
			events: []*herald.Event{event(1, "ws", "person.created", "p1")},
			room:   true,
			want:   []want{{"a", 1, "skipped"}},
		},
		{
			name:   "operations that do not match",
			routes: map[string][]hookRoute{"ws": {route("a", herald.WebhookActive, "company.*", "*.deleted")}},
			events: []*herald.Event{event(1, "ws", "person.created", "p1")},
			room:   true,
		},
		{
			name:   "a record's later events wait behind its first",
			routes: map[string][]hookRoute{"ws": {route("a", herald.WebhookActive, "*.*")}},
			events: []*herald.Event{event(1, "ws", "person.created", "p1"), event(2, "ws", "person.updated", "p1"), event(3, "ws", "person.created", "p2")},
			room:   true,
			want:   []want{{"a", 1, "leased"}, {"a", 2, "waits"}, {"a", 3, "leased"}},
		},
		{
			name: "webhook by webhook, each in event order",
			routes: map[string][]hookRoute{"ws": {
				route("b", herald.WebhookActive, "*.*"), route("a", herald.WebhookActive, "person.*"),
			}},
			events: []*herald.Event{event(1, "ws", "person.created", "p1"), event(2, "ws", "company.created", "c1"), event(3, "ws", "person.created", "p2")},
			want:   []want{{"a", 1, "due"}, {"a", 3, "due"}, {"b", 1, "due"}, {"b", 2, "due"}, {"b", 3, "due"}},
			due:    true,
		},
		{
			name: "each event goes to its own workspace's webhooks",
			routes: map[string][]hookRoute{
				"ws":    {route("a", herald.WebhookActive, "*.*")},
				"other": {route("z", herald.WebhookActive, "*.*")},
			},
			events: []*herald.Event{event(1, "other", "person.created", "p1")},
			room:   true,
			want:   []want{{"z", 1, "leased"}},
		},
		{
			name:     "fields: only the updates that change one",
			routes:   map[string][]hookRoute{"ws": {conditioned([]string{"city"}, nil)}},
			events:   []*herald.Event{changed(1, "p1", "Paris", "jobTitle"), changed(2, "p2", "Paris", "jobTitle", "city"), event(3, "ws", "person.created", "p3")},
			room:     true,
			want:     []want{{"a", 2, "leased"}, {"a", 3, "leased"}},
			filtered: 1,
		},
		{
			name:     "a condition on the record",
			routes:   map[string][]hookRoute{"ws": {conditioned(nil, inParis)}},
			events:   []*herald.Event{changed(1, "p1", "Lyon", "city"), changed(2, "p2", "Paris", "city"), changed(3, "p3", "Paris", "jobTitle")},
			room:     true,
			want:     []want{{"a", 2, "leased"}, {"a", 3, "leased"}},
			filtered: 1,
		},
		{
			name: "a throttled webhook's are never taken",
			routes: map[string][]hookRoute{"ws": {func() hookRoute {
				r := route("a", herald.WebhookActive, "*.*")
				r.ThrottleRate = 5
				return r
			}(), route("b", herald.WebhookActive, "*.*")}},
			events: []*herald.Event{event(1, "ws", "person.created", "p1")},
			room:   true,
			want:   []want{{"a", 1, "due"}, {"b", 1, "leased"}},
			due:    true,
		},
		{
			name:     "both",
			routes:   map[string][]hookRoute{"ws": {conditioned([]string{"city"}, inParis)}},
			events:   []*herald.Event{changed(1, "p1", "Lyon", "city"), changed(2, "p2", "Paris", "city"), changed(3, "p3", "Paris", "jobTitle")},
			room:     true,
			want:     []want{{"a", 2, "leased"}},
			filtered: 2,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			plan := fanOut(tc.events, tc.routes, func(string) bool { return tc.room }, lease, now)
			var got []want
			for _, d := range plan.rows {
				state := "due"
				switch {
				case d.status == herald.DeliverySkipped && !d.next.Valid && d.completed.Valid:
					state = "skipped"
				case d.status != herald.DeliveryPending:
					state = "status " + d.status
				case !d.next.Valid:
					state = "waits"
				case d.owner.Valid:
					state = "leased"
					if d.owner.String != lease.Owner || d.leaseUntil.Int64 != ms(lease.LeaseUntil) {
						state = fmt.Sprintf("leased to %v until %v", d.owner, d.leaseUntil)
					}
					if _, ok := plan.reserved[deliveryKey{d.webhookID, d.eventSeq}]; !ok {
						state = "leased but not reserved"
					}
				}
				got = append(got, want{d.webhookID, d.eventSeq, state})
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) || plan.due != tc.due || plan.filtered["a"] != tc.filtered {
				t.Fatalf("rows %v, due %v, filtered %v\nwant %v, due %v, filtered %d", got, plan.due, plan.filtered, tc.want, tc.due, tc.filtered)
			}
			leased := 0
			for _, w := range got {
				if w.state == "leased" {
					leased++
				}
			}
			if leased != len(plan.reserved) {
				t.Fatalf("%d reserved, %d rows leased", len(plan.reserved), leased)
			}
		})
	}
}
