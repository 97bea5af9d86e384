package service_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/heraldhq/herald"
	"github.com/heraldhq/herald/service"
)

// company is the fields of a rendered company the tests read.
type company struct {
	ID        string  `json:"id"`
	Name      string  `json:"name"`
	Employees float64 `json:"employees"`
	DeletedAt *string `json:"deletedAt"`
}

func decode(t *testing.T, raw json.RawMessage) company {
	t.Helper()
	var c company
	must(t, json.Unmarshal(raw, &c))
	return c
}

func TestRecordLifecycle(t *testing.T) {
	t.Parallel()
	forEach(t, nil, func(t *testing.T, f *fixture) {
		ctx, ws, start := context.Background(), f.workspace(t), time.Now().Add(-time.Second)
		recs := f.svc.Records
		obj, err := f.svc.Objects.ByPlural(ctx, ws.ID, "companies")
		must(t, err)
		raw, err := recs.Create(ctx, ws.Key, obj, []byte(`{"name":"Tom & Jerry <Ltd>","employees":12}`), false)
		must(t, err)
		if !strings.Contains(string(raw), `"Tom & Jerry <Ltd>"`) {
			t.Fatalf("created %s: not as JSON.stringify writes it", raw)
		}
		c := decode(t, raw)
		raw, err = recs.Update(ctx, ws.ID, obj, c.ID, []byte(`{"employees":13}`))
		must(t, err)
		if u := decode(t, raw); u.Employees != 13 || u.Name != c.Name {
			t.Fatalf("updated %s", raw)
		}
		must(t, recs.Delete(ctx, ws.ID, obj, c.ID, true))
		_, err = recs.Find(ctx, ws.ID, obj, c.ID, 0)
		wantError(t, err, herald.ENOTFOUND, "")
		_, err = recs.Update(ctx, ws.ID, obj, c.ID, []byte(`{"employees":14}`))
		wantError(t, err, herald.ENOTFOUND, "")
		wantError(t, recs.Delete(ctx, ws.ID, obj, c.ID, true), herald.ENOTFOUND, "")
		// A soft-deleted record is found by a filter on deletedAt.
		page, err := recs.List(ctx, ws.ID, obj, service.RecordQuery{Filter: "deletedAt[is]:NOT_NULL"})
		must(t, err)
		if len(page.Records) != 1 {
			t.Fatalf("deleted records listed: %d", len(page.Records))
		}
		raw, err = recs.Restore(ctx, ws.ID, obj, c.ID)
		must(t, err)
		if decode(t, raw).DeletedAt != nil {
			t.Fatalf("restored %s", raw)
		}
		_, err = recs.Find(ctx, ws.ID, obj, c.ID, 0)
		must(t, err)
		must(t, recs.Delete(ctx, ws.ID, obj, c.ID, false))
		_, err = recs.Restore(ctx, ws.ID, obj, c.ID)
		wantError(t, err, herald.ENOTFOUND, "")

		// Every change was an event: created, updated, deleted, restored, destroyed.
		hook := f.webhook(t, ws)
		n, err := f.svc.Webhooks.Replay(ctx, ws.ID, hook.ID, start)
		must(t, err)
		if n != 5 {
			t.Fatalf("%d events, want 5", n)
		}
	})
}

func TestRecordInput(t *testing.T) {
	t.Parallel()
	forEach(t, nil, func(t *testing.T, f *fixture) {
		ctx, ws := context.Background(), f.workspace(t)
		obj, err := f.svc.Objects.ByPlural(ctx, ws.ID, "companies")
		must(t, err)
		for _, tc := range []struct {
			body  string
			field string
		}{
			{`{"nope":1}`, "nope"},
			{`{"employees":"many"}`, "employees"},
			{`{"idealCustomerProfile":"yes"}`, "idealCustomerProfile"},
			{`[1]`, ""},
		} {
			_, err := f.svc.Records.Create(ctx, ws.Key, obj, []byte(tc.body), false)
			wantError(t, err, herald.EINVALID, tc.field)
		}
		_, err = f.svc.Objects.ByPlural(ctx, ws.ID, "unicorns")
		wantError(t, err, herald.ENOTFOUND, "")
	})
}

func TestBatchCreate(t *testing.T) {
	t.Parallel()
	forEach(t, nil, func(t *testing.T, f *fixture) {
		ctx, ws := context.Background(), f.workspace(t)
		obj, err := f.svc.Objects.ByPlural(ctx, ws.ID, "companies")
		must(t, err)
		id := "0b0a6a39-55b3-4f39-9c34-3b7c34a3f0e1"
		for _, tc := range []struct {
			name, body, field string
		}{
			{"an item's error names its position", `[{"name":"a"},{"employees":"x"}]`, "[1].employees"},
			{"an id twice", `[{"id":"` + id + `"},{"id":"` + id + `"}]`, "[1].id"},
			{"empty", `[]`, ""},
			{"not an array", `{"name":"a"}`, ""},
			{"too many", "[" + strings.TrimSuffix(strings.Repeat(`{"name":"a"},`, service.MaxBatch+1), ",") + "]", ""},
		} {
			_, err := f.svc.Records.CreateMany(ctx, ws.Key, obj, []byte(tc.body))
			wantError(t, err, herald.EINVALID, tc.field)
		}
		page, err := f.svc.Records.List(ctx, ws.ID, obj, service.RecordQuery{})
		must(t, err)
		if page.TotalCount != 0 {
			t.Fatalf("a refused batch left %d records", page.TotalCount)
		}
		out, err := f.svc.Records.CreateMany(ctx, ws.Key, obj, []byte(`[{"name":"a"},{"name":"b"}]`))
		must(t, err)
		if len(out) != 2 || decode(t, out[0]).Name != "a" || decode(t, out[1]).Name != "b" {
			t.Fatalf("batch %s", out)
		}
	})
}

func TestUpsert(t *testing.T) {
	t.Parallel()
	forEach(t, nil, func(t *testing.T, f *fixture) {
		ctx, ws := context.Background(), f.workspace(t)
		obj, err := f.svc.Objects.ByPlural(ctx, ws.ID, "companies")
		must(t, err)
		id := "6f1f3d8e-4c57-4d0e-9d4e-0a8b1c2d3e4f"
		body := func(name string) []byte { return []byte(`{"id":"` + id + `","name":"` + name + `"}`) }
		_, err = f.svc.Records.Create(ctx, ws.Key, obj, body("first"), true)
		must(t, err)
		raw, err := f.svc.Records.Create(ctx, ws.Key, obj, body("second"), true)
		must(t, err)
		if c := decode(t, raw); c.ID != id || c.Name != "second" {
			t.Fatalf("upserted %s", raw)
		}
		_, err = f.svc.Records.Create(ctx, ws.Key, obj, body("third"), false)
		wantError(t, err, herald.ECONFLICT, "")
		must(t, f.svc.Records.Delete(ctx, ws.ID, obj, id, true))
		_, err = f.svc.Records.Create(ctx, ws.Key, obj, body("fourth"), true)
		wantError(t, err, herald.ECONFLICT, "")
	})
}

func TestListRecords(t *testing.T) {
	t.Parallel()
	forEach(t, nil, func(t *testing.T, f *fixture) {
		ctx, ws := context.Background(), f.workspace(t)
		obj, err := f.svc.Objects.ByPlural(ctx, ws.ID, "companies")
		must(t, err)
		for i := range 5 {
			_, err := f.svc.Records.Create(ctx, ws.Key, obj, fmt.Appendf(nil, `{"name":"c%d","employees":%d}`, i, i), false)
			must(t, err)
		}
		page, err := f.svc.Records.List(ctx, ws.ID, obj, service.RecordQuery{Filter: "employees[gte]:1", OrderBy: "employees[DescNullsLast]", Limit: 3})
		must(t, err)
		if len(page.Records) != 3 || !page.HasNextPage || page.HasPrevious || page.TotalCount != 4 || decode(t, page.Records[0]).Employees != 4 {
			t.Fatalf("first page: %d records, next %v, previous %v, total %d", len(page.Records), page.HasNextPage, page.HasPrevious, page.TotalCount)
		}
		next, err := f.svc.Records.List(ctx, ws.ID, obj, service.RecordQuery{Filter: "employees[gte]:1", OrderBy: "employees[DescNullsLast]", Limit: 3, After: page.EndCursor})
		must(t, err)
		if len(next.Records) != 1 || next.HasNextPage || !next.HasPrevious || decode(t, next.Records[0]).Employees != 1 {
			t.Fatalf("second page: %d records", len(next.Records))
		}
		for _, tc := range []struct {
			q     service.RecordQuery
			field string
		}{
			{service.RecordQuery{Filter: "nope[eq]:1"}, "filter"},
			{service.RecordQuery{OrderBy: "nope"}, "order_by"},
			{service.RecordQuery{After: "x", Before: "y"}, "ending_before"},
			{service.RecordQuery{After: "not a cursor"}, "starting_after"},
			{service.RecordQuery{Depth: 3}, "depth"},
		} {
			_, err := f.svc.Records.List(ctx, ws.ID, obj, tc.q)
			wantError(t, err, herald.EINVALID, tc.field)
		}
		// Pages are capped as Twenty caps them, without a word.
		big, err := f.svc.Records.List(ctx, ws.ID, obj, service.RecordQuery{Limit: 10_000})
		must(t, err)
		if len(big.Records) != 5 {
			t.Fatalf("a large limit: %d records", len(big.Records))
		}
	})
}

func TestDepth(t *testing.T) {
	t.Parallel()
	forEach(t, nil, func(t *testing.T, f *fixture) {
		ctx, ws := context.Background(), f.workspace(t)
		companies, err := f.svc.Objects.ByPlural(ctx, ws.ID, "companies")
		must(t, err)
		people, err := f.svc.Objects.ByPlural(ctx, ws.ID, "people")
		must(t, err)
		raw, err := f.svc.Records.Create(ctx, ws.Key, companies, []byte(`{"name":"Acme"}`), false)
		must(t, err)
		acme := decode(t, raw)
		raw, err = f.svc.Records.Create(ctx, ws.Key, people, []byte(`{"companyId":"`+acme.ID+`"}`), false)
		must(t, err)
		var person struct{ ID string }
		must(t, json.Unmarshal(raw, &person))
		for depth, want := range map[int]string{0: "", 1: "Acme"} {
			raw, err := f.svc.Records.Find(ctx, ws.ID, people, person.ID, depth)
			must(t, err)
			var p struct {
				Company *company `json:"company"`
			}
			must(t, json.Unmarshal(raw, &p))
			got := ""
			if p.Company != nil {
				got = p.Company.Name
			}
			if got != want {
				t.Fatalf("depth %d: company %q nested in %s, want %q", depth, got, raw, want)
			}
		}
	})
}

// People in Twenty's shapes: composite fields, merged on update, filtered
// and ordered by sub-field, made by the key's actor.
func TestPeople(t *testing.T) {
	t.Parallel()
	forEach(t, nil, func(t *testing.T, f *fixture) {
		ctx, ws := context.Background(), f.workspace(t)
		people, err := f.svc.Objects.ByPlural(ctx, ws.ID, "people")
		must(t, err)
		type person struct {
			ID     string
			Name   struct{ FirstName, LastName string }
			Emails struct {
				PrimaryEmail     string
				AdditionalEmails []string
			}
			CreatedBy struct{ Source, Name string }
		}
		read := func(raw json.RawMessage) person {
			var p person
			must(t, json.Unmarshal(raw, &p))
			return p
		}
		raw, err := f.svc.Records.Create(ctx, ws.Key, people, []byte(`{"name":{"firstName":"Ada","lastName":"Lovelace"},"emails":{"primaryEmail":"ada@example.com"}}`), false)
		must(t, err)
		ada := read(raw)
		if ada.CreatedBy.Source != "API" || ada.CreatedBy.Name != ws.Key.Name || ada.Name.LastName != "Lovelace" {
			t.Fatalf("created %s", raw)
		}
		raw, err = f.svc.Records.Update(ctx, ws.ID, people, ada.ID, []byte(`{"name":{"firstName":"Augusta Ada"},"emails":{"additionalEmails":["ada@analytical.engine"]}}`))
		must(t, err)
		if p := read(raw); p.Name.FirstName != "Augusta Ada" || p.Name.LastName != "Lovelace" || p.Emails.PrimaryEmail != "ada@example.com" || len(p.Emails.AdditionalEmails) != 1 {
			t.Fatalf("an update merges sub-fields, as Twenty's: %s", raw)
		}
		_, err = f.svc.Records.Create(ctx, ws.Key, people, []byte(`{"name":{"firstName":"Charles","lastName":"Babbage"}}`), false)
		must(t, err)
		page, err := f.svc.Records.List(ctx, ws.ID, people, service.RecordQuery{Filter: "name.lastName[eq]:Lovelace"})
		must(t, err)
		if len(page.Records) != 1 || read(page.Records[0]).ID != ada.ID {
			t.Fatalf("filter on a sub-field: %d records", len(page.Records))
		}
		page, err = f.svc.Records.List(ctx, ws.ID, people, service.RecordQuery{OrderBy: "name.lastName[AscNullsFirst]", Limit: 1})
		must(t, err)
		if next, err := f.svc.Records.List(ctx, ws.ID, people, service.RecordQuery{OrderBy: "name.lastName[AscNullsFirst]", After: page.EndCursor}); err != nil ||
			read(page.Records[0]).Name.LastName != "Babbage" || len(next.Records) != 1 || read(next.Records[0]).Name.LastName != "Lovelace" {
			t.Fatalf("order by a sub-field, page by page: %v", err)
		}
		page, err = f.svc.Records.List(ctx, ws.ID, people, service.RecordQuery{Filter: "createdBy.name[eq]:" + ws.Key.Name})
		must(t, err)
		if page.TotalCount != 2 {
			t.Fatalf("filter on createdBy.name: %d records", page.TotalCount)
		}
		_, err = f.svc.Records.Create(ctx, ws.Key, people, []byte(`{"emails":{"primaryEmail":"not an email"}}`), false)
		wantError(t, err, herald.EINVALID, "emails.primaryEmail")
		_, err = f.svc.Records.CreateMany(ctx, ws.Key, people, []byte(`[{},{"name":{"first":"x"}}]`))
		wantError(t, err, herald.EINVALID, "[1].name.first")
	})
}

// An upsert without an id matches a person by primary email and a
// company by domain, as Twenty's.
func TestUpsertByUniqueField(t *testing.T) {
	t.Parallel()
	forEach(t, nil, func(t *testing.T, f *fixture) {
		ctx, ws := context.Background(), f.workspace(t)
		for _, tc := range []struct{ plural, first, second string }{
			{"people", `{"emails":{"primaryEmail":"ada@example.com"},"city":"London"}`, `{"emails":{"primaryEmail":"ada@example.com"},"city":"Paris"}`},
			{"companies", `{"domainName":{"primaryLinkUrl":"acme.com"},"name":"Acme"}`, `{"domainName":{"primaryLinkUrl":"acme.com"},"name":"Acme Inc"}`},
		} {
			obj, err := f.svc.Objects.ByPlural(ctx, ws.ID, tc.plural)
			must(t, err)
			first, err := f.svc.Records.Create(ctx, ws.Key, obj, []byte(tc.first), true)
			must(t, err)
			second, err := f.svc.Records.Create(ctx, ws.Key, obj, []byte(tc.second), true)
			must(t, err)
			var a, b struct{ ID string }
			must(t, json.Unmarshal(first, &a))
			must(t, json.Unmarshal(second, &b))
			if a.ID != b.ID {
				t.Fatalf("%s: an upsert of the same unique value made another record", tc.plural)
			}
			page, err := f.svc.Records.List(ctx, ws.ID, obj, service.RecordQuery{})
			must(t, err)
			if page.TotalCount != 1 || !strings.Contains(string(page.Records[0]), "Paris") && !strings.Contains(string(page.Records[0]), "Acme Inc") {
				t.Fatalf("%s after two upserts: %d records, %s", tc.plural, page.TotalCount, page.Records)
			}
			// Without upsert, the same value is another record (no unique index).
			_, err = f.svc.Records.Create(ctx, ws.Key, obj, []byte(tc.first), false)
			must(t, err)
		}
	})
}
