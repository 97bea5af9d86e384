// Package metadata checks custom object definitions, renders objects as
// the metadata API shows them, and builds their metadata.object.* events.
package metadata

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/heraldhq/herald"
	"github.com/heraldhq/herald/record"
	"github.com/heraldhq/herald/webhook"
)

// Limits that keep one definition from growing without bound.
const (
	MaxObjects = 100 // custom objects per workspace
	MaxFields  = 100 // fields per object
	MaxOptions = 100 // options per SELECT field
	maxLabel   = 200
	maxDesc    = 1024
)

// Event actions on objects.
const (
	ActionCreated = "created"
	ActionUpdated = "updated"
	ActionDeleted = "deleted"
)

// nameRe is Twenty's rule for API names: lowerCamelCase. Being identifiers,
// field names can be inlined into JSON paths (record.ValidIdentifier).
var nameRe = regexp.MustCompile(`^[a-z][a-zA-Z0-9]{0,62}$`)

// Input is a create or update body of /rest/metadata/objects; nil parts
// are left as they are.
type Input struct {
	NameSingular  *string       `json:"nameSingular"`
	NamePlural    *string       `json:"namePlural"`
	LabelSingular *string       `json:"labelSingular"`
	LabelPlural   *string       `json:"labelPlural"`
	Description   *string       `json:"description"`
	Fields        *[]FieldInput `json:"fields"`
}

// FieldInput is one field of an Input.
type FieldInput struct {
	Name           string   `json:"name"`
	Type           string   `json:"type"`
	Label          string   `json:"label"`
	Description    string   `json:"description"`
	Options        []string `json:"options"`
	DefaultValue   string   `json:"defaultValue"`
	RelationTarget string   `json:"relationTarget"`
}

// Objects answers what Apply needs to know about the workspace's other
// objects.
type Objects interface {
	// Exists reports whether an object (standard or custom) has this
	// singular name, as a relation target must.
	Exists(nameSingular string) bool
}

// Apply checks in and writes it onto o. creating allows the names to be
// set (they cannot change after: records and event names depend on them).
// A field that keeps its name must keep its type; a field removed and
// added again starts empty.
func Apply(in *Input, o *herald.Object, others Objects, creating bool) error {
	if creating {
		if err := applyNames(in, o); err != nil {
			return err
		}
	} else {
		if in.NameSingular != nil && *in.NameSingular != o.NameSingular {
			return herald.FieldErrorf("nameSingular", "nameSingular cannot change: records and event names (%s.created, ...) depend on it", o.NameSingular)
		}
		if in.NamePlural != nil && *in.NamePlural != o.NamePlural {
			return herald.FieldErrorf("namePlural", "namePlural cannot change: the records' path /rest/%s depends on it", o.NamePlural)
		}
	}
	for _, t := range []struct {
		field string
		in    *string
		out   *string
		max   int
	}{
		{"labelSingular", in.LabelSingular, &o.LabelSingular, maxLabel},
		{"labelPlural", in.LabelPlural, &o.LabelPlural, maxLabel},
		{"description", in.Description, &o.Description, maxDesc},
	} {
		if t.in == nil {
			continue
		}
		if len(*t.in) > t.max {
			return herald.FieldErrorf(t.field, "%s is longer than %d bytes", t.field, t.max)
		}
		*t.out = *t.in
	}
	if o.LabelSingular == "" {
		o.LabelSingular = capitalize(o.NameSingular)
	}
	if o.LabelPlural == "" {
		o.LabelPlural = capitalize(o.NamePlural)
	}
	if in.Fields != nil {
		fields, err := checkFields(*in.Fields, o, others)
		if err != nil {
			return err
		}
		o.Fields = fields
	}
	return nil
}

func applyNames(in *Input, o *herald.Object) error {
	if in.NameSingular == nil || in.NamePlural == nil {
		return herald.FieldErrorf("nameSingular", "nameSingular and namePlural are required, e.g. \"pet\" and \"pets\"")
	}
	for _, n := range []struct{ field, name string }{{"nameSingular", *in.NameSingular}, {"namePlural", *in.NamePlural}} {
		field, name := n.field, n.name
		if !nameRe.MatchString(name) {
			return herald.FieldErrorf(field, "%s %q must be lowerCamelCase letters and digits, starting with a letter, e.g. \"pet\" or \"petOwner\"", field, name)
		}
		if herald.ReservedName(name) {
			return herald.FieldErrorf(field, "%s %q is taken by a standard object or an API path", field, name)
		}
	}
	if *in.NameSingular == *in.NamePlural {
		return herald.FieldErrorf("namePlural", "namePlural must differ from nameSingular: /rest/%s lists records, events are named %s.created", *in.NamePlural, *in.NameSingular)
	}
	o.NameSingular, o.NamePlural = *in.NameSingular, *in.NamePlural
	return nil
}

func checkFields(in []FieldInput, o *herald.Object, others Objects) ([]herald.Field, error) {
	if len(in) > MaxFields {
		return nil, herald.FieldErrorf("fields", "an object has at most %d fields", MaxFields)
	}
	out := make([]herald.Field, 0, len(in))
	seen := map[string]bool{}
	for i, fi := range in {
		at := fmt.Sprintf("fields[%d]", i)
		if !nameRe.MatchString(fi.Name) {
			return nil, herald.FieldErrorf(at+".name", "field name %q must be lowerCamelCase letters and digits, starting with a letter", fi.Name)
		}
		if _, system := herald.SystemFieldType(fi.Name); system {
			return nil, herald.FieldErrorf(at+".name", "%s is a system field every record has", fi.Name)
		}
		if seen[fi.Name] {
			return nil, herald.FieldErrorf(at+".name", "field %s appears twice", fi.Name)
		}
		seen[fi.Name] = true
		t, ok := herald.ParseFieldType(fi.Type)
		if !ok {
			return nil, herald.FieldErrorf(at+".type", "field %s: type %q is not one of text, number, boolean, date-time, email, url, select, relation", fi.Name, fi.Type)
		}
		if old, ok := o.Field(fi.Name); ok && old.Type != t {
			return nil, herald.Errorf(herald.EUNPROCESSABLE, "field %s is %s and cannot become %s: remove it first (its values are deleted), then add it again", fi.Name, old.Type, t)
		}
		f := herald.Field{Name: fi.Name, Type: t, Label: fi.Label, Description: fi.Description}
		if len(f.Label) > maxLabel || len(f.Description) > maxDesc {
			return nil, herald.FieldErrorf(at+".label", "field %s: label or description is too long", fi.Name)
		}
		if err := checkTyped(at, fi, &f, o, others); err != nil {
			return nil, err
		}
		out = append(out, f)
	}
	return out, nil
}

// checkTyped checks the parts of a field that only some types have.
func checkTyped(at string, fi FieldInput, f *herald.Field, o *herald.Object, others Objects) error {
	selects := f.Type == herald.FieldSelect || f.Type == herald.FieldMultiSelect
	if !selects && len(fi.Options) > 0 || f.Type != herald.FieldSelect && fi.DefaultValue != "" {
		return herald.FieldErrorf(at+".options", "field %s: options are for select and multi-select fields, defaultValue for select fields", fi.Name)
	}
	if f.Type != herald.FieldRelation && fi.RelationTarget != "" {
		return herald.FieldErrorf(at+".relationTarget", "field %s: relationTarget is for relation fields", fi.Name)
	}
	switch f.Type {
	case herald.FieldSelect, herald.FieldMultiSelect:
		if len(fi.Options) == 0 || len(fi.Options) > MaxOptions {
			return herald.FieldErrorf(at+".options", "select field %s needs 1 to %d options", fi.Name, MaxOptions)
		}
		for _, opt := range fi.Options {
			if opt == "" || len(opt) > maxLabel {
				return herald.FieldErrorf(at+".options", "select field %s: options must be 1 to %d bytes", fi.Name, maxLabel)
			}
		}
		if len(slices.Compact(slices.Sorted(slices.Values(fi.Options)))) != len(fi.Options) {
			return herald.FieldErrorf(at+".options", "select field %s: options must be distinct", fi.Name)
		}
		if fi.DefaultValue != "" && !slices.Contains(fi.Options, fi.DefaultValue) {
			return herald.FieldErrorf(at+".defaultValue", "select field %s: defaultValue %q is not one of its options", fi.Name, fi.DefaultValue)
		}
		f.Options, f.Default = fi.Options, fi.DefaultValue
	case herald.FieldRelation:
		if fi.RelationTarget != o.NameSingular && !others.Exists(fi.RelationTarget) {
			return herald.FieldErrorf(at+".relationTarget", "relation field %s: relationTarget %q is not the singular name of an object", fi.Name, fi.RelationTarget)
		}
		f.Target = fi.RelationTarget
	}
	return nil
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// ID is the id of the object called nameSingular in a workspace. It is
// derived, so standard objects have one too and Twenty-format payloads
// carry the same id the metadata API shows.
func ID(workspaceID, nameSingular string) string {
	return webhook.ObjectMetadataID(workspaceID, nameSingular)
}

// JSON is an object as the metadata API shows it.
type JSON struct {
	ID            string         `json:"id"`
	NameSingular  string         `json:"nameSingular"`
	NamePlural    string         `json:"namePlural"`
	LabelSingular string         `json:"labelSingular"`
	LabelPlural   string         `json:"labelPlural"`
	Description   string         `json:"description"`
	IsCustom      bool           `json:"isCustom"`
	Fields        []herald.Field `json:"fields"`
	CreatedAt     *string        `json:"createdAt"`
	UpdatedAt     *string        `json:"updatedAt"`
}

// Render returns o as the metadata API shows it.
func Render(workspaceID string, o *herald.Object) JSON {
	out := JSON{
		ID: o.ID, NameSingular: o.NameSingular, NamePlural: o.NamePlural,
		LabelSingular: o.LabelSingular, LabelPlural: o.LabelPlural, Description: o.Description,
		IsCustom: o.Custom, Fields: o.Fields,
	}
	if out.ID == "" {
		out.ID = ID(workspaceID, o.NameSingular)
	}
	if out.Fields == nil {
		out.Fields = []herald.Field{}
	}
	if o.Custom {
		c, u := herald.FormatTime(o.CreatedAt), herald.FormatTime(o.UpdatedAt)
		out.CreatedAt, out.UpdatedAt = &c, &u
	}
	return out
}

// NewEvent returns the metadata.object.<action> event of o. For updates,
// before is the object as it was: the event lists what changed.
func NewEvent(o, before *herald.Object, action string, now time.Time) *herald.Event {
	data, _ := json.Marshal(Render(o.WorkspaceID, o)) // plain strings and slices
	data, _ = record.JSText(data)                     // a body as JSON.stringify writes it
	ev := &herald.Event{
		ID: record.NewEventID(), WorkspaceID: o.WorkspaceID, Name: herald.MetadataObject + "." + action,
		Object: herald.MetadataObject, ObjectPlural: herald.MetadataObjectPlural,
		// One object's changes are ordered like one record's.
		RecordID: o.ID, Data: data, Timestamp: herald.StoredTime(now),
	}
	if before != nil {
		ev.UpdatedFields, ev.PreviousData = diff(Render(o.WorkspaceID, before), data)
	}
	return ev
}

// diff lists the top-level keys whose values differ between before and
// the rendered after, and before's values of them.
func diff(before JSON, after json.RawMessage) ([]string, json.RawMessage) {
	b, _ := json.Marshal(before)
	var old, cur map[string]json.RawMessage
	_ = json.Unmarshal(b, &old)
	_ = json.Unmarshal(after, &cur)
	updated := []string{}
	prev := map[string]json.RawMessage{}
	for _, k := range []string{"labelSingular", "labelPlural", "description", "fields"} {
		if !bytes.Equal(old[k], cur[k]) {
			updated = append(updated, k)
			prev[k] = old[k]
		}
	}
	p, _ := json.Marshal(prev)
	p, _ = record.JSText(p)
	return updated, p
}
