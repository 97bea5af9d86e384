package metadata_test

import (
	"encoding/json"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/heraldhq/herald"
	"github.com/heraldhq/herald/metadata"
)

type known []string

func (k known) Exists(name string) bool { return slices.Contains(k, name) }

func apply(t *testing.T, body string, o *herald.Object, creating bool) error {
	t.Helper()
	var in metadata.Input
	if err := json.Unmarshal([]byte(body), &in); err != nil {
		t.Fatal(err)
	}
	return metadata.Apply(&in, o, known{"person", "company"}, creating)
}

func TestApplyCreate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, body string
		field      string // the error's field; "" for success
	}{
		{"minimal", `{"nameSingular":"pet","namePlural":"pets"}`, ""},
		{"all types", `{"nameSingular":"pet","namePlural":"pets","fields":[{"name":"a","type":"text"},{"name":"b","type":"NUMBER"},
			{"name":"c","type":"boolean"},{"name":"d","type":"date-time"},{"name":"e","type":"DATE_TIME"},{"name":"f","type":"email"},
			{"name":"g","type":"url"},{"name":"h","type":"LINKS"},{"name":"i","type":"select","options":["X","Y"]},
			{"name":"j","type":"relation","relationTarget":"company"},{"name":"k","type":"relation","relationTarget":"pet"}]}`, ""},
		{"no names", `{"fields":[]}`, "nameSingular"},
		{"plural missing", `{"nameSingular":"pet"}`, "nameSingular"},
		{"same names", `{"nameSingular":"sheep","namePlural":"sheep"}`, "namePlural"},
		{"capitalised", `{"nameSingular":"Pet","namePlural":"pets"}`, "nameSingular"},
		{"snake case", `{"nameSingular":"pet_owner","namePlural":"petOwners"}`, "nameSingular"},
		{"standard object", `{"nameSingular":"company","namePlural":"firms"}`, "nameSingular"},
		{"api path", `{"nameSingular":"hook","namePlural":"webhooks"}`, "namePlural"},
		{"unknown type", `{"nameSingular":"pet","namePlural":"pets","fields":[{"name":"a","type":"money"}]}`, "fields[0].type"},
		{"system field", `{"nameSingular":"pet","namePlural":"pets","fields":[{"name":"createdAt","type":"text"}]}`, "fields[0].name"},
		{"bad field name", `{"nameSingular":"pet","namePlural":"pets","fields":[{"name":"a b","type":"text"}]}`, "fields[0].name"},
		{"duplicate field", `{"nameSingular":"pet","namePlural":"pets","fields":[{"name":"a","type":"text"},{"name":"a","type":"text"}]}`, "fields[1].name"},
		{"select without options", `{"nameSingular":"pet","namePlural":"pets","fields":[{"name":"a","type":"select"}]}`, "fields[0].options"},
		{"select repeats", `{"nameSingular":"pet","namePlural":"pets","fields":[{"name":"a","type":"select","options":["X","X"]}]}`, "fields[0].options"},
		{"default not an option", `{"nameSingular":"pet","namePlural":"pets","fields":[{"name":"a","type":"select","options":["X"],"defaultValue":"Y"}]}`, "fields[0].defaultValue"},
		{"options on text", `{"nameSingular":"pet","namePlural":"pets","fields":[{"name":"a","type":"text","options":["X"]}]}`, "fields[0].options"},
		{"relation to nothing", `{"nameSingular":"pet","namePlural":"pets","fields":[{"name":"a","type":"relation","relationTarget":"vet"}]}`, "fields[0].relationTarget"},
		{"target on text", `{"nameSingular":"pet","namePlural":"pets","fields":[{"name":"a","type":"text","relationTarget":"person"}]}`, "fields[0].relationTarget"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := &herald.Object{Custom: true}
			err := apply(t, tc.body, o, true)
			var e *herald.Error
			switch {
			case tc.field == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.field != "" && err == nil:
				t.Fatalf("accepted, want an error on %s", tc.field)
			case tc.field != "" && (!errors.As(err, &e) || e.Field != tc.field || e.Code != herald.EINVALID):
				t.Fatalf("error %v, want EINVALID on %s", err, tc.field)
			}
		})
	}
}

func TestApplyUpdate(t *testing.T) {
	t.Parallel()
	o := &herald.Object{Custom: true}
	if err := apply(t, `{"nameSingular":"pet","namePlural":"pets","fields":[{"name":"age","type":"number"}]}`, o, true); err != nil {
		t.Fatal(err)
	}
	if o.LabelSingular != "Pet" || o.LabelPlural != "Pets" {
		t.Errorf("default labels %q, %q", o.LabelSingular, o.LabelPlural)
	}
	for _, tc := range []struct{ body, code string }{
		{`{"nameSingular":"dog"}`, herald.EINVALID},
		{`{"namePlural":"dogs"}`, herald.EINVALID},
		{`{"fields":[{"name":"age","type":"text"}]}`, herald.EUNPROCESSABLE},
	} {
		if err := apply(t, tc.body, o, false); herald.ErrorCode(err) != tc.code {
			t.Errorf("update %s: %v, want %s", tc.body, err, tc.code)
		}
	}
	before := *o
	if err := apply(t, `{"nameSingular":"pet","labelPlural":"Animals","fields":[{"name":"name","type":"text"}]}`, o, false); err != nil {
		t.Fatal(err)
	}
	o.ID, o.WorkspaceID = "id", "ws"
	ev := metadata.NewEvent(o, &before, metadata.ActionUpdated, time.Now())
	if ev.Name != "metadata.object.updated" || !slices.Equal(ev.UpdatedFields, []string{"labelPlural", "fields"}) || ev.RecordID != "id" {
		t.Errorf("event %s, updatedFields %v", ev.Name, ev.UpdatedFields)
	}
	var prev map[string]any
	if err := json.Unmarshal(ev.PreviousData, &prev); err != nil || prev["labelPlural"] != "Pets" {
		t.Errorf("previousData %s", ev.PreviousData)
	}
}

func TestParseFieldType(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]herald.FieldType{
		"text": herald.FieldText, "date-time": herald.FieldDateTime, "dateTime": herald.FieldDateTime, "DATE_TIME": herald.FieldDateTime,
		"email": herald.FieldEmails, "EMAILS": herald.FieldEmails, "url": herald.FieldLinks, "LINKS": herald.FieldLinks,
		"FULL_NAME": herald.FieldFullName, "currency": herald.FieldCurrency, "multi-select": herald.FieldMultiSelect, "RATING": herald.FieldRating, "Relation": herald.FieldRelation,
	} {
		if got, ok := herald.ParseFieldType(in); !ok || got != want {
			t.Errorf("ParseFieldType(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
	for _, bad := range []string{"", "UUID", "money", "date time x"} {
		if _, ok := herald.ParseFieldType(bad); ok {
			t.Errorf("ParseFieldType(%q) accepted", bad)
		}
	}
}
