package storetest

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/heraldhq/herald"
	"github.com/heraldhq/herald/record"
)

var recordCases = []testCase{
	{"FindRecord", func(t *testing.T, b *bundle) {
		r := b.create(`{"name":{"firstName":"Ada"},"emails":{"primaryEmail":"ada@example.com"}}`)
		got, err := b.s.FindRecord(b.ctx, b.ws.ID, "person", r.ID)
		must(t, err)
		if firstName(got) != "Ada" || !got.CreatedAt.Equal(r.CreatedAt) || got.CreatedBy != b.actor {
			t.Fatalf("FindRecord = %+v", got)
		}
		_, err = b.s.FindRecord(b.ctx, b.other().ws.ID, "person", r.ID)
		wantCode(t, err, herald.ENOTFOUND)
		_, err = b.s.FindRecord(b.ctx, b.ws.ID, "company", r.ID)
		wantCode(t, err, herald.ENOTFOUND)
	}},
	// An id taken is a conflict, and writes nothing; so is a batch with one
	// taken id among new ones, and it writes none of them.
	{"CreateRecordsConflict", func(t *testing.T, b *bundle) {
		w := b.webhook()
		r := b.create(`{"name":{"firstName":"Ada"}}`)
		dup := r.Clone()
		wantCode(t, b.s.CreateRecords(b.ctx, []*herald.Record{dup}, nil), herald.ECONFLICT)
		batch := make([]*herald.Record, 20)
		for i := range batch {
			batch[i] = r.Clone()
			batch[i].ID = uuid.NewString()
		}
		batch[13] = dup
		err := b.s.CreateRecords(b.ctx, batch, nil)
		wantCode(t, err, herald.ECONFLICT)
		if !strings.Contains(err.Error(), r.ID) {
			t.Errorf("conflict %q does not name the taken id %s", err, r.ID)
		}
		_, err = b.s.FindRecord(b.ctx, b.ws.ID, "person", batch[0].ID)
		wantCode(t, err, herald.ENOTFOUND)
		// The same with their events (which PostgreSQL writes in the
		// records' statement): none of them is written either.
		created := func(recs ...*herald.Record) []*herald.Event {
			evs := make([]*herald.Event, len(recs))
			for i, rec := range recs {
				evs[i] = record.NewEvent(person, rec, herald.ActionCreated, time.Now())
			}
			return evs
		}
		wantCode(t, b.s.CreateRecords(b.ctx, []*herald.Record{dup}, created(dup)), herald.ECONFLICT)
		err = b.s.CreateRecords(b.ctx, batch, created(batch...))
		wantCode(t, err, herald.ECONFLICT)
		if !strings.Contains(err.Error(), r.ID) {
			t.Errorf("conflict %q does not name the taken id %s", err, r.ID)
		}
		_, err = b.s.FindRecord(b.ctx, b.ws.ID, "person", batch[0].ID)
		wantCode(t, err, herald.ENOTFOUND)
		if ds := b.deliveries(w, ""); len(ds) != 1 {
			t.Errorf("%d deliveries after the refused creations, want Ada's 1", len(ds))
		}
	}},
	{"UpdateRecord", func(t *testing.T, b *bundle) {
		r := b.create(`{"name":{"firstName":"Ada"}}`)
		u := b.update(r.ID, `{"jobTitle":"CTO","name":{"firstName":"Ada"}}`)
		if string(u.Values["jobTitle"]) != `"CTO"` {
			t.Fatalf("update: %s", u.Values["jobTitle"])
		}
		// An error from the change function changes nothing.
		_, err := b.s.UpdateRecord(b.ctx, b.ws.ID, "person", r.ID, func(r *herald.Record) (*herald.Event, error) {
			r.Values["jobTitle"] = json.RawMessage(`"CEO"`)
			return nil, herald.Errorf(herald.EINVALID, "no")
		})
		wantCode(t, err, herald.EINVALID)
		got, err := b.s.FindRecord(b.ctx, b.ws.ID, "person", r.ID)
		must(t, err)
		if string(got.Values["jobTitle"]) != `"CTO"` {
			t.Fatalf("failed update was written: %s", got.Values["jobTitle"])
		}
		_, err = b.s.UpdateRecord(b.ctx, b.other().ws.ID, "person", r.ID, func(*herald.Record) (*herald.Event, error) { return nil, nil })
		wantCode(t, err, herald.ENOTFOUND)
	}},
	{"DestroyRecord", func(t *testing.T, b *bundle) {
		r := b.create(`{"name":{"firstName":"Ada"}}`)
		destroy := func(r *herald.Record) (*herald.Event, error) {
			return record.NewEvent(person, r, herald.ActionDestroyed, time.Now()), nil
		}
		_, err := b.s.DestroyRecord(b.ctx, b.other().ws.ID, "person", r.ID, destroy)
		wantCode(t, err, herald.ENOTFOUND)
		_, err = b.s.DestroyRecord(b.ctx, b.ws.ID, "person", r.ID, destroy)
		must(t, err)
		_, err = b.s.FindRecord(b.ctx, b.ws.ID, "person", r.ID)
		wantCode(t, err, herald.ENOTFOUND)
	}},
	{"ListRecordsFilters", func(t *testing.T, b *bundle) {
		people := b.people()
		for _, tc := range []struct {
			name, filter, order, want string
			total                     int
		}{
			{"everything oldest first", "", "", "Dora alice Bob Carol Eve Frank Grace ", 7},
			{"eq", "name.firstName[eq]:Bob", "", "Bob ", 1},
			{"neq and is", "name.firstName[neq]:Bob,city[is]:NOT_NULL", "", "Dora Eve Grace ", 3},
			{"in with quotes", `name.firstName[in]:["Eve","Bob"]`, "", "Bob Eve ", 2},
			{"or", "or(name.firstName[eq]:Eve,name.firstName[eq]:Frank)", "", "Eve Frank ", 2},
			{"not", "not(city[is]:NULL)", "", "Dora Bob Eve Grace ", 4},
			{"like is case-sensitive", "name.firstName[like]:%E%", "", "Eve ", 1},
			{"ilike ignores case in the value too", "name.firstName[ilike]:%E%", "", "alice Eve Grace ", 3},
			{"ilike ignores case", "name.firstName[ilike]:A%", "", "alice ", 1},
			{"startsWith escapes wildcards", "name.firstName[startsWith]:_", "", "", 0},
			{"startsWith", "name.firstName[startsWith]:Gr", "", "Grace ", 1},
			{"gt on text", "name.firstName[gt]:E", "", "alice Eve Frank Grace ", 4},
			{"desc order", "", "name.firstName[DescNullsLast]", "alice Grace Frank Eve Dora Carol Bob ", 7},
			{"nulls last, then text in byte order", "", "city[AscNullsLast],name.firstName", "Bob Dora Eve Grace Carol Frank alice ", 7},
			{"soft-deleted only when asked", "deletedAt[is]:NOT_NULL", "", "Zed ", 1},
		} {
			t.Run(tc.name, func(t *testing.T) {
				p := people.list(t, tc.filter, tc.order, 50, nil, nil)
				if got := firstNames(p); got != tc.want || p.TotalCount != tc.total {
					t.Fatalf("got %q (total %d), want %q (total %d)", got, p.TotalCount, tc.want, tc.total)
				}
				// Webhook conditions run the same filter on the JSON: it
				// must pick the same records as the SQL.
				f, err := record.ParseFilter(person, tc.filter)
				must(t, err)
				all := people.list(t, "", "", 50, nil, nil).Records
				if f.Mentions("deletedAt") {
					all = people.list(t, "or(deletedAt[is]:NULL,deletedAt[is]:NOT_NULL)", "", 50, nil, nil).Records
				}
				var matched []*herald.Record
				for _, r := range all {
					if record.Matches(f, record.Render(person, r)) {
						matched = append(matched, r)
					}
				}
				if len(matched) != tc.total {
					t.Fatalf("record.Matches picks %d records (%s), the store %d", len(matched), firstNames(&herald.RecordPage{Records: matched}), tc.total)
				}
			})
		}
	}},
	// Sub-fields filter and order; containsAny finds lists holding any of
	// its values (multi-select fields, emails.additionalEmails).
	{"SubFieldsAndLists", func(t *testing.T, b *bundle) {
		pet, err := b.object(`{"nameSingular":"pet","namePlural":"pets","fields":[{"name":"tags","type":"MULTI_SELECT","options":["CUTE","LOUD","OLD"]},{"name":"owner","type":"FULL_NAME"}]}`)
		must(t, err)
		b.createOf(pet, `{"tags":["CUTE","LOUD"],"owner":{"firstName":"Ada","lastName":"Lovelace"}}`)
		b.createOf(pet, `{"tags":["OLD"],"owner":{"lastName":"Babbage"}}`)
		b.createOf(pet, `{}`)
		b.create(`{"emails":{"primaryEmail":"a@x.io","additionalEmails":["b@x.io","c@x.io"]}}`)
		b.create(`{"emails":{"primaryEmail":"d@x.io"}}`)
		for _, tc := range []struct {
			obj           *herald.Object
			filter, order string
			want          int
		}{
			{pet, `tags[containsAny]:[LOUD,OLD]`, "", 2},
			{pet, `tags[containsAny]:[CUTE]`, "", 1},
			{pet, `tags[containsAny]:["NONE"]`, "", 0},
			{pet, `tags[is]:NULL`, "", 1},
			{pet, `owner.firstName[eq]:""`, "owner.lastName[DescNullsLast]", 2},
			{pet, `owner.lastName[ilike]:%love%`, "", 1},
			{person, `emails.additionalEmails[containsAny]:["c@x.io","z@x.io"]`, "", 1},
			{person, `emails.primaryEmail[in]:["a@x.io","d@x.io"]`, "emails.primaryEmail", 2},
		} {
			f, err := record.ParseFilter(tc.obj, tc.filter)
			must(t, err)
			o, err := record.ParseOrder(tc.obj, tc.order)
			must(t, err)
			p, err := b.s.ListRecords(b.ctx, herald.RecordQuery{WorkspaceID: b.ws.ID, Object: tc.obj, Filter: f, Order: o, Limit: 50})
			must(t, err)
			if len(p.Records) != tc.want || p.TotalCount != tc.want {
				t.Errorf("%s: %d records (total %d), want %d", tc.filter, len(p.Records), p.TotalCount, tc.want)
			}
		}
	}},
	// Every order walked forwards and backwards in pages of 2: the pages
	// join up to the full list, with no gap and no repeat.
	{"ListRecordsPages", func(t *testing.T, b *bundle) {
		people := b.people()
		for _, order := range []string{"", "name.firstName[DescNullsLast]", "city[AscNullsLast],name.firstName", "city[DescNullsFirst]"} {
			t.Run("order "+order, func(t *testing.T) {
				all := people.list(t, "", order, 50, nil, nil).Records
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
					p := people.list(t, "", order, 2, after, nil)
					fwd += firstNames(p)
					if !p.HasMore {
						break
					}
					after = cursorOf(p.Records[len(p.Records)-1])
				}
				if fwd != full {
					t.Errorf("forwards: %q, want %q", fwd, full)
				}
				// Backwards from past the last record.
				before := cursorOf(all[len(all)-1])
				bwd := firstNames(&herald.RecordPage{Records: all[len(all)-1:]})
				for {
					p := people.list(t, "", order, 2, nil, before)
					bwd = firstNames(p) + bwd
					if !p.HasMore {
						break
					}
					before = cursorOf(p.Records[0])
				}
				if bwd != full {
					t.Errorf("backwards: %q, want %q", bwd, full)
				}
			})
		}
	}},
}

// listFixture is a workspace of people to list: seven with distinct
// creation times, every other one in Paris, one soft-deleted, and one
// in another workspace.
type listFixture struct{ b *bundle }

func (b *bundle) people() listFixture {
	b.t.Helper()
	for i, n := range []string{"Dora", "alice", "Bob", "Carol", "Eve", "Frank", "Grace"} {
		fields := fmt.Sprintf(`{"name":{"firstName":%q},"city":%s}`, n, map[bool]string{true: `"Paris"`, false: "null"}[i%2 == 0])
		b.create(fields)
		time.Sleep(2 * time.Millisecond) // distinct createdAt
	}
	deleted := b.create(`{"name":{"firstName":"Zed"}}`)
	_, err := b.s.UpdateRecord(b.ctx, b.ws.ID, "person", deleted.ID, func(r *herald.Record) (*herald.Event, error) {
		now := time.Now()
		r.DeletedAt = &now
		return record.NewEvent(person, r, herald.ActionDeleted, now), nil
	})
	must(b.t, err)
	b.other().create(`{"name":{"firstName":"Intruder"}}`)
	return listFixture{b}
}

func (f listFixture) list(t *testing.T, filter, order string, limit int, after, before []any) *herald.RecordPage {
	t.Helper()
	fl, err := record.ParseFilter(person, filter)
	must(t, err)
	o, err := record.ParseOrder(person, order)
	must(t, err)
	p, err := f.b.s.ListRecords(f.b.ctx, herald.RecordQuery{WorkspaceID: f.b.ws.ID, Object: person, Filter: fl, Order: o, Limit: limit,
		After: after, Before: before, IncludeDeleted: fl.Mentions("deletedAt")})
	must(t, err)
	return p
}

func firstNames(p *herald.RecordPage) string {
	out := ""
	for _, r := range p.Records {
		out += firstName(r) + " "
	}
	return out
}
