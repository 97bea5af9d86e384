package record

import (
	"bytes"
	"encoding/json"
	"maps"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/heraldhq/herald"
)

// New builds the record a create makes, with its created event. actor is
// who made it: an ACTOR value (APIActor), kept as given.
func New(obj *herald.Object, workspaceID, actor string, in *Input, now time.Time) (*herald.Record, *herald.Event) {
	id := in.ID
	if id == "" {
		id = uuid.Must(uuid.NewV7()).String()
	}
	now = herald.StoredTime(now)
	// Composite fields are kept whole, those not given empty, so that a
	// filter on a sub-field sees what the API shows ("", not missing).
	values := maps.Clone(in.Values) // in may make other records
	for _, f := range obj.Fields {
		if herald.CompositeFields(f.Type) != nil {
			values[f.Name] = mergeComposite(f.Type, nil, values[f.Name])
		}
	}
	r := &herald.Record{
		ID: id, WorkspaceID: workspaceID, Object: obj.NameSingular,
		Values: values, CreatedAt: now, UpdatedAt: now, CreatedBy: actor,
	}
	// Every value was just written canonical: the event renders them as
	// they are, without reading each composite again.
	ev := newEvent(obj, r, herald.ActionCreated, now)
	// An id made here has no earlier events.
	ev.Data, ev.Fresh = render(obj, r, false), in.ID == ""
	return r, ev
}

// APIActor is the createdBy of a record made through the API with the
// key called keyName, as Twenty's: {"source":"API","workspaceMemberId":null,
// "name":<the key's name>,"context":{}}.
func APIActor(keyName string) string {
	b := append([]byte(`{"source":"API","workspaceMemberId":null,"name":`), appendJSString(nil, keyName)...)
	return string(append(b, `,"context":{}}`...))
}

// showActor is a stored createdBy as the API shows it: as APIActor wrote
// it (the column is text, kept byte for byte on both engines). Records
// made before createdBy was an actor kept the id of the API key that made
// them: they show as made through the API by an unnamed key.
func showActor(stored string) json.RawMessage {
	if strings.HasPrefix(stored, "{") {
		return json.RawMessage(stored)
	}
	return json.RawMessage(APIActor(""))
}

// Apply changes r with in and returns the updated event, or nil when no
// value changed (then r is left as it was).
func Apply(obj *herald.Object, r *herald.Record, in *Input, now time.Time) *herald.Event {
	var fields []string
	prev := make(map[string]json.RawMessage)
	next := make(map[string]json.RawMessage, len(in.Order))
	for _, name := range in.Order {
		old, ok := r.Values[name]
		if !ok {
			old = null
		}
		v := in.Values[name]
		if f, _ := obj.Field(name); herald.CompositeFields(f.Type) != nil {
			// The whole value before and after, sub-fields merged.
			old = ShowComposite(f.Type, old)
			v = mergeComposite(f.Type, old, v)
		}
		if bytes.Equal(old, v) {
			continue
		}
		fields = append(fields, name)
		prev[name], next[name] = old, v
	}
	if len(fields) == 0 {
		return nil
	}
	now = herald.StoredTime(now)
	for _, name := range fields {
		r.Values[name] = next[name]
	}
	r.UpdatedAt = now
	ev := NewEvent(obj, r, herald.ActionUpdated, now)
	ev.UpdatedFields = fields
	ev.PreviousData = writeObject(fields, prev)
	return ev
}

// NewEvent returns the event of action on r, carrying r as it is now.
func NewEvent(obj *herald.Object, r *herald.Record, action string, now time.Time) *herald.Event {
	ev := newEvent(obj, r, action, now)
	ev.Data = Render(obj, r)
	return ev
}

// newEvent is NewEvent without its data.
func newEvent(obj *herald.Object, r *herald.Record, action string, now time.Time) *herald.Event {
	return &herald.Event{
		ID:           NewEventID(),
		WorkspaceID:  r.WorkspaceID,
		Name:         obj.NameSingular + "." + action,
		Object:       obj.NameSingular,
		ObjectPlural: obj.NamePlural,
		RecordID:     r.ID,
		Timestamp:    herald.StoredTime(now),
	}
}

// NewEventID returns a new, time-ordered event id ("evt_" + 32 hex digits).
func NewEventID() string {
	u := uuid.Must(uuid.NewV7())
	b := make([]byte, 4, 36)
	copy(b, "evt_")
	const hex = "0123456789abcdef"
	for _, c := range u {
		b = append(b, hex[c>>4], hex[c&0xf])
	}
	return string(b)
}

// Render writes r as the API shows it: id, the object's fields in schema
// order (null when unset), then the system fields.
func Render(obj *herald.Object, r *herald.Record) json.RawMessage { return render(obj, r, true) }

// render is Render; stored says r's values were read back from a store,
// which may have reordered and reformatted its composite values.
func render(obj *herald.Object, r *herald.Record, stored bool) json.RawMessage {
	var b bytes.Buffer
	size := 160 + len(r.CreatedBy)
	for _, v := range r.Values {
		size += len(v)
	}
	b.Grow(size + 16*len(obj.Fields))
	b.WriteString(`{"id":`)
	b.WriteString(strconv.Quote(r.ID))
	for _, f := range obj.Fields {
		b.WriteString(`,"`)
		b.WriteString(f.Name)
		b.WriteString(`":`)
		v, ok := r.Values[f.Name]
		switch {
		case herald.CompositeFields(f.Type) != nil && (stored || !ok):
			b.Write(ShowComposite(f.Type, v))
		case herald.CompositeFields(f.Type) != nil:
			b.Write(v)
		case !ok:
			b.Write(null)
		case f.Type == herald.FieldMultiSelect && bytes.IndexByte(v, ' ') >= 0:
			b.Write(jsOrRaw(v)) // as PostgreSQL wrote it: ["A", "B"]
		default:
			b.Write(v)
		}
	}
	b.WriteString(`,"createdAt":"`)
	b.WriteString(herald.FormatTime(r.CreatedAt))
	b.WriteString(`","updatedAt":"`)
	b.WriteString(herald.FormatTime(r.UpdatedAt))
	b.WriteString(`","deletedAt":`)
	if r.DeletedAt != nil {
		b.WriteString(`"` + herald.FormatTime(*r.DeletedAt) + `"`)
	} else {
		b.Write(null)
	}
	b.WriteString(`,"createdBy":`)
	b.Write(showActor(r.CreatedBy))
	b.WriteByte('}')
	return b.Bytes()
}

// jsOrRaw is v as JSON.stringify writes it, or v when it is not JSON.
func jsOrRaw(v json.RawMessage) json.RawMessage {
	if js, err := JSText(v); err == nil {
		return js
	}
	return v
}

// OrderValue returns r's value of an order_by field in the form the stores
// compare: string, float64, bool or nil. A sub-field is named by its path
// (name.firstName).
func OrderValue(r *herald.Record, field string) any {
	switch field {
	case herald.FieldNameID:
		return r.ID
	case herald.FieldNameCreatedAt:
		return herald.FormatTime(r.CreatedAt)
	case herald.FieldNameUpdatedAt:
		return herald.FormatTime(r.UpdatedAt)
	case herald.FieldNameDeletedAt:
		if r.DeletedAt == nil {
			return nil
		}
		return herald.FormatTime(*r.DeletedAt)
	}
	name, sub, _ := strings.Cut(field, ".")
	raw, ok := r.Values[name]
	if name == herald.FieldNameCreatedBy {
		raw, ok = json.RawMessage(r.CreatedBy), true
	}
	var v any
	if ok {
		_ = json.Unmarshal(raw, &v)
	}
	if sub != "" {
		m, _ := v.(map[string]any)
		return m[sub]
	}
	return v
}
