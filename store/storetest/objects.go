package storetest

import (
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/heraldhq/herald"
	"github.com/heraldhq/herald/metadata"
	"github.com/heraldhq/herald/record"
)

// object makes a custom object from a metadata API body and stores it.
func (b *bundle) object(body string) (*herald.Object, error) {
	b.t.Helper()
	var in metadata.Input
	must(b.t, json.Unmarshal([]byte(body), &in))
	now := herald.Now()
	o := &herald.Object{WorkspaceID: b.ws.ID, Custom: true, CreatedAt: now, UpdatedAt: now}
	must(b.t, metadata.Apply(&in, o, objectNames{}, true))
	o.ID = metadata.ID(b.ws.ID, o.NameSingular)
	return o, b.s.CreateObject(b.ctx, o, metadata.NewEvent(o, nil, metadata.ActionCreated, now))
}

// objectNames accepts every relation target.
type objectNames struct{}

func (objectNames) Exists(string) bool { return true }

func (b *bundle) createOf(obj *herald.Object, fields string) *herald.Record {
	b.t.Helper()
	in, err := record.ParseInput(obj, json.RawMessage(fields), true)
	must(b.t, err)
	r, ev := record.New(obj, b.ws.ID, b.actor, in, time.Now())
	must(b.t, b.s.CreateRecords(b.ctx, []*herald.Record{r}, []*herald.Event{ev}))
	return r
}

// pets makes the custom object pet, with a name, an age and a species.
func (b *bundle) pets() *herald.Object {
	b.t.Helper()
	pet, err := b.object(`{"nameSingular":"pet","namePlural":"pets","fields":[
		{"name":"name","type":"text"},{"name":"age","type":"number"},
		{"name":"species","type":"select","options":["DOG","CAT"],"defaultValue":"DOG"}]}`)
	must(b.t, err)
	return pet
}

func eventNames(ds []*herald.Delivery) []string {
	var out []string
	for _, d := range ds {
		out = append(out, d.EventName)
	}
	return out
}

var objectCases = []testCase{
	// Names are unique across singular and plural, per workspace.
	{"CreateObject", func(t *testing.T, b *bundle) {
		pet := b.pets()
		for _, body := range []string{
			`{"nameSingular":"pet","namePlural":"petz"}`,
			`{"nameSingular":"pets","namePlural":"petties"}`,
			`{"nameSingular":"animal","namePlural":"pet"}`,
		} {
			_, err := b.object(body)
			wantCode(t, err, herald.ECONFLICT)
		}
		other := b.other()
		_, err := other.object(`{"nameSingular":"pet","namePlural":"pets"}`)
		must(t, err)
		for _, name := range []string{"pet", "pets", pet.ID} {
			got, err := b.s.FindObject(b.ctx, b.ws.ID, name)
			must(t, err)
			if got.ID != pet.ID || !got.Custom || len(got.Fields) != 3 || got.Fields[2].Default != "DOG" {
				t.Errorf("FindObject(%s) = %+v", name, got)
			}
		}
		_, err = b.s.FindObject(b.ctx, b.ws.ID, "person")
		wantCode(t, err, herald.ENOTFOUND)
		objs, err := b.s.ListObjects(b.ctx, b.ws.ID)
		must(t, err)
		if len(objs) != 1 || objs[0].NameSingular != "pet" {
			t.Errorf("ListObjects = %v", objs)
		}
	}},
	// Records of a custom object are records like any other, and the
	// object's changes are events too.
	{"CustomRecords", func(t *testing.T, b *bundle) {
		hook := b.webhook("*.created", "metadata.object.*")
		pet := b.pets()
		b.createOf(pet, `{"name":"Rex","age":3}`)
		b.createOf(pet, `{"name":"Tom","age":7,"species":"CAT"}`)
		f, err := record.ParseFilter(pet, "age[gte]:5")
		must(t, err)
		order, err := record.ParseOrder(pet, "")
		must(t, err)
		page, err := b.s.ListRecords(b.ctx, herald.RecordQuery{WorkspaceID: b.ws.ID, Object: pet, Filter: f, Order: order, Limit: 10})
		must(t, err)
		if len(page.Records) != 1 || string(page.Records[0].Values["name"]) != `"Tom"` {
			t.Errorf("filtered pets: %v", page.Records)
		}
		if got := eventNames(b.deliveries(hook, "")); !slices.Equal(got, []string{"pet.created", "pet.created", "metadata.object.created"}) {
			t.Errorf("deliveries: %v", got)
		}
	}},
	// Removing a field removes its values; the event says what changed;
	// an error from fn changes nothing.
	{"UpdateObject", func(t *testing.T, b *bundle) {
		hook := b.webhook("metadata.object.*")
		pet := b.pets()
		rex := b.createOf(pet, `{"name":"Rex","age":3}`)
		updated, err := b.s.UpdateObject(b.ctx, b.ws.ID, "pets", func(o *herald.Object) (*herald.Event, error) {
			before := *o
			o.Fields = slices.DeleteFunc(slices.Clone(o.Fields), func(f herald.Field) bool { return f.Name == "age" })
			o.Description = "Animals we look after"
			return metadata.NewEvent(o, &before, metadata.ActionUpdated, time.Now()), nil
		})
		must(t, err)
		if len(updated.Fields) != 2 || updated.Description != "Animals we look after" {
			t.Errorf("updated object: %+v", updated)
		}
		got, err := b.s.FindRecord(b.ctx, b.ws.ID, "pet", rex.ID)
		must(t, err)
		if _, ok := got.Values["age"]; ok || string(got.Values["name"]) != `"Rex"` {
			t.Errorf("after removing age, Rex is %v", got.Values)
		}
		_, ev, _, err := b.s.FindDelivery(b.ctx, b.ws.ID, b.deliveries(hook, "")[0].ID)
		must(t, err)
		if ev.Name != "metadata.object.updated" || !slices.Equal(ev.UpdatedFields, []string{"description", "fields"}) {
			t.Errorf("update event %s, updatedFields %v", ev.Name, ev.UpdatedFields)
		}
		_, err = b.s.UpdateObject(b.ctx, b.ws.ID, "pet", func(o *herald.Object) (*herald.Event, error) {
			o.Fields = nil
			return nil, herald.Errorf(herald.EINVALID, "no")
		})
		wantCode(t, err, herald.EINVALID)
		got, err = b.s.FindRecord(b.ctx, b.ws.ID, "pet", rex.ID)
		must(t, err)
		if string(got.Values["name"]) != `"Rex"` {
			t.Errorf("a failed update removed fields: %v", got.Values)
		}
	}},
	// Deleting is refused while a relation points to the object or records
	// of it exist, unless they go with it.
	{"DeleteObject", func(t *testing.T, b *bundle) {
		hook := b.webhook("metadata.object.*")
		pet := b.pets()
		rex := b.createOf(pet, `{"name":"Rex","age":3}`)
		other := b.other()
		_, err := other.object(`{"nameSingular":"pet","namePlural":"pets"}`)
		must(t, err)
		owner, err := b.object(`{"nameSingular":"owner","namePlural":"owners","fields":[{"name":"petId","type":"relation","relationTarget":"pet"}]}`)
		must(t, err)
		deleted := func(o *herald.Object) (*herald.Event, error) {
			return metadata.NewEvent(o, nil, metadata.ActionDeleted, time.Now()), nil
		}
		_, err = b.s.DeleteObject(b.ctx, b.ws.ID, "pet", true, deleted)
		wantCode(t, err, herald.ECONFLICT)
		_, err = b.s.DeleteObject(b.ctx, b.ws.ID, owner.ID, false, deleted)
		must(t, err)
		_, err = b.s.DeleteObject(b.ctx, b.ws.ID, "pet", false, deleted)
		wantCode(t, err, herald.ECONFLICT)
		_, err = b.s.DeleteObject(b.ctx, b.ws.ID, "pet", true, deleted)
		must(t, err)
		_, err = b.s.FindRecord(b.ctx, b.ws.ID, "pet", rex.ID)
		wantCode(t, err, herald.ENOTFOUND)
		_, err = b.s.FindObject(b.ctx, b.ws.ID, "pet")
		wantCode(t, err, herald.ENOTFOUND)
		if got := eventNames(b.deliveries(hook, ""))[0]; got != "metadata.object.deleted" {
			t.Errorf("last delivery %s, want metadata.object.deleted", got)
		}
		// The other workspace's pet is untouched.
		_, err = b.s.FindObject(b.ctx, other.ws.ID, "pet")
		must(t, err)
	}},
	// Published custom events are listed as event types, per workspace.
	{"ListEventTypes", func(t *testing.T, b *bundle) {
		now := time.Now()
		for _, name := range []string{"invoice.paid", "invoice.paid", "deploy.finished"} {
			must(t, b.s.PublishEvents(b.ctx, []*herald.Event{{
				ID: record.NewEventID(), WorkspaceID: b.ws.ID, Name: name, Object: "x", ObjectPlural: "x",
				Data: json.RawMessage(`{}`), Timestamp: now,
			}}))
		}
		types, err := b.s.ListEventTypes(b.ctx, b.ws.ID)
		must(t, err)
		if !slices.Equal(types, []string{"deploy.finished", "invoice.paid"}) {
			t.Errorf("event types %v", types)
		}
		if types, _ := b.s.ListEventTypes(b.ctx, b.other().ws.ID); len(types) != 0 {
			t.Errorf("another workspace's event types: %v", types)
		}
	}},
}
