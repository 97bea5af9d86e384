package service_test

import (
	"context"
	"encoding/json"
	"slices"
	"testing"

	"github.com/heraldhq/herald"
	"github.com/heraldhq/herald/metadata"
	"github.com/heraldhq/herald/service"
)

func objectInput(t *testing.T, body string) *metadata.Input {
	t.Helper()
	var in metadata.Input
	must(t, json.Unmarshal([]byte(body), &in))
	return &in
}

func TestCustomObjects(t *testing.T) {
	t.Parallel()
	forEach(t, nil, func(t *testing.T, f *fixture) {
		ctx, ws := context.Background(), f.workspace(t)
		objs := f.svc.Objects
		o, err := objs.Create(ctx, ws.ID, objectInput(t, `{"nameSingular":"invoice","namePlural":"invoices","labelSingular":"Invoice","labelPlural":"Invoices",
			"fields":[{"name":"total","type":"NUMBER","label":"Total"}]}`))
		must(t, err)
		_, err = objs.Create(ctx, ws.ID, objectInput(t, `{"nameSingular":"invoice","namePlural":"bills","labelSingular":"Invoice","labelPlural":"Bills"}`))
		wantError(t, err, herald.ECONFLICT, "")
		found, err := objs.ByPlural(ctx, ws.ID, "invoices")
		must(t, err)
		if found.ID != o.ID {
			t.Fatalf("found %s, want %s", found.ID, o.ID)
		}
		for _, name := range []string{o.ID, "invoice", "invoices"} {
			if _, err := objs.Find(ctx, ws.ID, name); err != nil {
				t.Fatalf("find %q: %v", name, err)
			}
		}
		list, err := objs.List(ctx, ws.ID)
		must(t, err)
		if len(list) != len(herald.StandardObjects())+1 || !list[len(list)-1].Custom {
			t.Fatalf("objects: %d", len(list))
		}

		// Standard objects cannot change.
		_, err = objs.Update(ctx, ws.ID, "person", objectInput(t, `{"labelSingular":"Human"}`))
		wantError(t, err, herald.EFORBIDDEN, "")
		_, err = objs.Delete(ctx, ws.ID, "companies", true)
		wantError(t, err, herald.EFORBIDDEN, "")

		up, err := objs.Update(ctx, ws.ID, "invoice", objectInput(t, `{"labelSingular":"Bill"}`))
		must(t, err)
		if up.LabelSingular != "Bill" {
			t.Fatalf("updated %+v", up)
		}

		// An object with records goes only with them.
		_, err = f.svc.Records.Create(ctx, ws.Key, found, []byte(`{"total":12.5}`), false)
		must(t, err)
		_, err = objs.Delete(ctx, ws.ID, "invoice", false)
		wantError(t, err, herald.ECONFLICT, "")
		_, err = objs.Delete(ctx, ws.ID, "invoice", true)
		must(t, err)
		_, err = objs.ByPlural(ctx, ws.ID, "invoices")
		wantError(t, err, herald.ENOTFOUND, "")
	})
}

func TestCustomEvents(t *testing.T) {
	t.Parallel()
	forEach(t, nil, func(t *testing.T, f *fixture) {
		ctx, ws := context.Background(), f.workspace(t)
		_, err := f.svc.Objects.Create(ctx, ws.ID, objectInput(t, `{"nameSingular":"invoice","namePlural":"invoices","labelSingular":"Invoice","labelPlural":"Invoices"}`))
		must(t, err)
		for _, tc := range []struct {
			name, data string
		}{
			{"paid", ""},            // not name.action
			{"invoice.paid", ""},    // a custom object's
			{"person.merged", ""},   // a standard object's
			{"webhook.test", ""},    // Herald's own
			{"order.placed", "[1]"}, // data not an object
			{"order.placed", `"x"`},
		} {
			_, err := f.svc.Events.Publish(ctx, ws.ID, tc.name, json.RawMessage(tc.data))
			field := "event"
			if tc.data != "" {
				field = "data"
			}
			wantError(t, err, herald.EINVALID, field)
		}
		ev, err := f.svc.Events.Publish(ctx, ws.ID, "order.placed", json.RawMessage(`{"total":"<1 & 2>","n":1.50}`))
		must(t, err)
		if string(ev.Data) != `{"total":"<1 & 2>","n":1.5}` {
			t.Fatalf("data kept as %s, not as JSON.stringify writes it", ev.Data)
		}
		types, err := f.svc.Events.Types(ctx, ws.ID)
		must(t, err)
		for _, want := range []string{"order.placed", "invoice.created", "person.destroyed", "metadata.object.updated", herald.TestEventName} {
			if !slices.Contains(types, want) {
				t.Fatalf("event types %v lack %s", types, want)
			}
		}
		if !slices.IsSorted(types) {
			t.Fatalf("event types not sorted: %v", types)
		}
	})
}

// BenchmarkObjectsByPlural: what every record request pays to resolve its
// object (a standard one: no store query).
func BenchmarkObjectsByPlural(b *testing.B) {
	objs := service.New(service.Config{}).Objects
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := objs.ByPlural(ctx, "ws", "tasks"); err != nil {
			b.Fatal(err)
		}
	}
}
