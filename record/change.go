package record

import (
	"bytes"
	"encoding/json"
	"strconv"
	"time"

	"github.com/google/uuid"
	"github.com/heraldhq/herald"
)

// New builds the record a create makes, with its created event.
func New(obj *herald.Object, workspaceID, actor string, in *Input, now time.Time) (*herald.Record, *herald.Event) {
	id := in.ID
	if id == "" {
		id = uuid.Must(uuid.NewV7()).String()
	}
	now = herald.StoredTime(now)
	r := &herald.Record{
		ID: id, WorkspaceID: workspaceID, Object: obj.NameSingular,
		Values: in.Values, CreatedAt: now, UpdatedAt: now, CreatedBy: actor,
	}
	return r, NewEvent(obj, r, herald.ActionCreated, now)
}

// Apply changes r with in and returns the updated event, or nil when no
// value changed (then r is left as it was).
func Apply(obj *herald.Object, r *herald.Record, in *Input, now time.Time) *herald.Event {
	var fields []string
	prev := make(map[string]json.RawMessage)
	for _, name := range in.Order {
		old, ok := r.Values[name]
		if !ok {
			old = null
		}
		if bytes.Equal(old, in.Values[name]) {
			continue
		}
		fields = append(fields, name)
		prev[name] = old
	}
	if len(fields) == 0 {
		return nil
	}
	now = herald.StoredTime(now)
	for _, name := range fields {
		r.Values[name] = in.Values[name]
	}
	r.UpdatedAt = now
	ev := NewEvent(obj, r, herald.ActionUpdated, now)
	ev.UpdatedFields = fields
	ev.PreviousData = renderSubset(fields, prev)
	return ev
}

// NewEvent returns the event of action on r, carrying r as it is now.
func NewEvent(obj *herald.Object, r *herald.Record, action string, now time.Time) *herald.Event {
	return &herald.Event{
		ID:           NewEventID(),
		WorkspaceID:  r.WorkspaceID,
		Name:         obj.NameSingular + "." + action,
		Object:       obj.NameSingular,
		ObjectPlural: obj.NamePlural,
		RecordID:     r.ID,
		Data:         Render(obj, r),
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
func Render(obj *herald.Object, r *herald.Record) json.RawMessage {
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
		if v, ok := r.Values[f.Name]; ok {
			b.Write(v)
		} else {
			b.Write(null)
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
	b.WriteString(strconv.Quote(r.CreatedBy))
	b.WriteByte('}')
	return b.Bytes()
}

func renderSubset(fields []string, vals map[string]json.RawMessage) json.RawMessage {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, name := range fields {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Quote(name))
		b.WriteByte(':')
		b.Write(vals[name])
	}
	b.WriteByte('}')
	return b.Bytes()
}

// OrderValue returns r's value of an order_by field in the form the stores
// compare: string, float64, bool or nil.
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
	case herald.FieldNameCreatedBy:
		return r.CreatedBy
	}
	var v any
	if raw, ok := r.Values[field]; ok {
		_ = json.Unmarshal(raw, &v)
	}
	return v
}
