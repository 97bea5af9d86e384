// Package catalog describes every event a workspace can be sent: for each
// event type, a JSON Schema of its request body in both payload formats
// and an example body, made by the same code that makes real ones (record
// events from the object's fields, metadata, test and operational events,
// custom events). GET /rest/webhooks/event-types, the OpenAPI document's
// webhooks and the UI's event types page serve it.
//
// Schemas describe events made under the objects' current fields: a
// field added since has no value in older events.
package catalog

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/heraldhq/herald"
	"github.com/heraldhq/herald/metadata"
	"github.com/heraldhq/herald/operational"
	"github.com/heraldhq/herald/record"
	"github.com/heraldhq/herald/webhook"
)

// Formats are the payload formats, in the order entries list them.
var Formats = []string{herald.PayloadHerald, herald.PayloadTwenty}

// Entry is one event type.
type Entry struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	// Schemas and Examples are keyed by payload format.
	Schemas  map[string]Schema          `json:"schemas"`
	Examples map[string]json.RawMessage `json:"examples"`
}

// kind is what the entry of one event type is made from.
type kind struct {
	name, object, plural, description string
	// data is the schema of the body's record (data); partial, for
	// updates, that of previousData.
	data, partial Schema
	example       *herald.Event
}

// exampleTime is when every example happens.
var exampleTime = time.Date(2026, 1, 15, 9, 30, 0, 0, time.UTC)

// Build returns the catalog of a workspace with these objects (standard
// and custom) and the custom events it has published, sorted by name.
func Build(workspaceID string, objects []*herald.Object, custom []string) []Entry {
	var kinds []kind
	for _, o := range objects {
		kinds = append(kinds, recordKinds(workspaceID, o)...)
	}
	kinds = append(kinds, metadataKinds(workspaceID)...)
	kinds = append(kinds, ownKinds(workspaceID)...)
	for _, name := range custom {
		object, _, _ := herald.CutEventName(name)
		kinds = append(kinds, kind{
			name: name, object: object, plural: object,
			description: "A custom event: its data is the JSON object its publisher sent (POST /rest/events).",
			data:        typed("object"),
			example: &herald.Event{ID: record.NewEventID(), WorkspaceID: workspaceID, Name: name, Object: object, ObjectPlural: object,
				Data: json.RawMessage(`{}`), Timestamp: exampleTime},
		})
	}
	entries := make([]Entry, 0, len(kinds))
	for _, k := range kinds {
		entries = append(entries, k.entry())
	}
	slices.SortFunc(entries, func(a, b Entry) int { return strings.Compare(a.Name, b.Name) })
	return slices.CompactFunc(entries, func(a, b Entry) bool { return a.Name == b.Name })
}

// Names are the event types of entries, in their order.
func Names(entries []Entry) []string {
	names := make([]string, len(entries))
	for i, e := range entries {
		names[i] = e.Name
	}
	return names
}

// Find returns the entry of one event type.
func Find(entries []Entry, name string) (Entry, bool) {
	i := slices.IndexFunc(entries, func(e Entry) bool { return e.Name == name })
	if i < 0 {
		return Entry{}, false
	}
	return entries[i], true
}

func (k kind) entry() Entry {
	e := Entry{Name: k.name, Description: k.description, Schemas: map[string]Schema{}, Examples: map[string]json.RawMessage{}}
	updated := k.example.UpdatedFields != nil
	fields := Schema{"type": "array", "items": typed("string")}
	own := Schema{
		"id": Schema{"type": "string", "pattern": "^evt_[0-9a-f]{32}$"}, "event": Schema{"const": k.name},
		"timestamp": withFormat(typed("string"), "date-time"), "data": k.data,
		"objectMetadata": object(Schema{"nameSingular": Schema{"const": k.object}, "namePlural": Schema{"const": k.plural}}),
		"workspaceId":    withFormat(typed("string"), "uuid"), "webhookId": withFormat(typed("string"), "uuid"),
	}
	twenty := Schema{
		"targetUrl": withFormat(typed("string"), "uri"), "eventName": Schema{"const": k.name},
		"objectMetadata": object(Schema{"id": withFormat(typed("string"), "uuid"), "nameSingular": Schema{"const": k.object}}),
		"workspaceId":    withFormat(typed("string"), "uuid"), "webhookId": withFormat(typed("string"), "uuid"),
		"eventDate": withFormat(typed("string"), "date-time"), "record": k.data,
	}
	if updated {
		own["updatedFields"], own["previousData"] = fields, k.partial
		twenty["updatedFields"] = fields
	}
	e.Schemas[herald.PayloadHerald], e.Schemas[herald.PayloadTwenty] = object(own), object(twenty)
	for _, format := range Formats {
		hook := &herald.Webhook{ID: exampleWebhookID, WorkspaceID: k.example.WorkspaceID, TargetURL: "https://example.com/webhooks/herald", PayloadFormat: format}
		e.Examples[format] = webhook.AppendBody(nil, k.example, hook)
	}
	return e
}

// exampleWebhookID is the webhook every example is sent to.
var exampleWebhookID = uuid.NewSHA1(uuid.NameSpaceURL, []byte("https://example.com/webhooks/herald")).String()

var recordActions = map[string]string{
	herald.ActionCreated:   "%s was created.",
	herald.ActionUpdated:   "%s was changed: updatedFields names the fields, previousData holds their values before.",
	herald.ActionDeleted:   "%s was deleted (soft: deletedAt is set, and it can be restored).",
	herald.ActionRestored:  "%s that was deleted was restored.",
	herald.ActionDestroyed: "%s was deleted for good; data is the record as it was.",
}

// aRecord is "A person", "An opportunity".
func aRecord(object string) string {
	if strings.ContainsRune("aeiou", rune(object[0])) {
		return "An " + object
	}
	return "A " + object
}

// recordKinds are an object's five record events.
func recordKinds(workspaceID string, o *herald.Object) []kind {
	full, partial := recordSchema(o)
	r, created := record.New(o, workspaceID, record.APIActor("Example key"), exampleInput(o), exampleTime)
	later := exampleTime.Add(time.Hour)
	updated := record.Apply(o, r, changeInput(o), later)
	if updated == nil { // an object with no field an example can change
		updated = record.NewEvent(o, r, herald.ActionUpdated, later)
		updated.UpdatedFields, updated.PreviousData = []string{}, json.RawMessage(`{}`)
	}
	r.DeletedAt = &later
	deleted := record.NewEvent(o, r, herald.ActionDeleted, later)
	destroyed := record.NewEvent(o, r, herald.ActionDestroyed, later)
	r.DeletedAt = nil
	restored := record.NewEvent(o, r, herald.ActionRestored, later)
	examples := map[string]*herald.Event{
		herald.ActionCreated: created, herald.ActionUpdated: updated, herald.ActionDeleted: deleted,
		herald.ActionRestored: restored, herald.ActionDestroyed: destroyed,
	}
	var out []kind
	for _, action := range []string{herald.ActionCreated, herald.ActionUpdated, herald.ActionDeleted, herald.ActionRestored, herald.ActionDestroyed} {
		out = append(out, kind{
			name: o.NameSingular + "." + action, object: o.NameSingular, plural: o.NamePlural,
			description: fmt.Sprintf(recordActions[action], aRecord(o.NameSingular)), data: full, partial: partial, example: examples[action],
		})
	}
	return out
}

// metadataKinds are the events of custom objects' definitions.
func metadataKinds(workspaceID string) []kind {
	pet := &herald.Object{
		ID: uuid.NewSHA1(uuid.NameSpaceURL, []byte("pet")).String(), WorkspaceID: workspaceID, NameSingular: "pet", NamePlural: "pets",
		LabelSingular: "Pet", LabelPlural: "Pets", Custom: true, CreatedAt: exampleTime, UpdatedAt: exampleTime,
		Fields: []herald.Field{{Name: "species", Type: herald.FieldSelect, Options: []string{"DOG", "CAT"}, Default: "DOG"}},
	}
	before := *pet
	before.LabelPlural = "Animals"
	descriptions := map[string]string{
		metadata.ActionCreated: "A custom object was created (POST /rest/metadata/objects); data is its definition.",
		metadata.ActionUpdated: "A custom object's labels, description or fields changed; updatedFields names them.",
		metadata.ActionDeleted: "A custom object was deleted, with its records.",
	}
	var out []kind
	for _, action := range []string{metadata.ActionCreated, metadata.ActionUpdated, metadata.ActionDeleted} {
		var prev *herald.Object
		if action == metadata.ActionUpdated {
			prev = &before
		}
		out = append(out, kind{
			name: herald.MetadataObject + "." + action, object: herald.MetadataObject, plural: herald.MetadataObjectPlural,
			description: descriptions[action], data: metadataSchema(), partial: metadataPartial(),
			example: metadata.NewEvent(pet, prev, action, exampleTime),
		})
	}
	return out
}

// ownKinds are Herald's own events: the test event and the operational
// ones.
func ownKinds(workspaceID string) []kind {
	hook := &herald.Webhook{
		ID: uuid.NewSHA1(uuid.NameSpaceURL, []byte("https://example.com/gone")).String(), WorkspaceID: workspaceID,
		TargetURL: "https://example.com/gone", Operations: []string{"person.*"}, Status: herald.WebhookDisabled,
		DisabledAt: &exampleTime, DisabledReason: herald.ReasonGone, LastError: "HTTP 410 Gone",
	}
	disabled := operational.WebhookChanged(hook, exampleTime)
	enabled := *hook
	enabled.Status, enabled.DisabledAt, enabled.DisabledReason = herald.WebhookActive, nil, ""
	rec := &herald.Event{ID: record.NewEventID(), Name: "person.created", Object: "person"}
	exhausted, _ := operational.Exhausted("dlv_abcdefghijklm", hook, rec,
		herald.Attempt{Number: 8, StatusCode: 503, Error: "HTTP 503 Service Unavailable"}, exampleTime)
	webhookData := object(Schema{
		"id": withFormat(typed("string"), "uuid"), "targetUrl": withFormat(typed("string"), "uri"),
		"operations": Schema{"type": "array", "items": typed("string")}, "description": typed("string"),
		"status": Schema{"enum": []any{herald.WebhookActive, herald.WebhookDisabled}}, "disabledReason": typed("string"),
		"disabledAt": withFormat(typed("string", "null"), "date-time"), "failingSince": withFormat(typed("string", "null"), "date-time"),
		"lastError": typed("string"), "updatedAt": withFormat(typed("string"), "date-time"),
	})
	own := func(name, plural, description string, data Schema, ev *herald.Event) kind {
		object, _, _ := herald.CutEventName(name)
		return kind{name: name, object: object, plural: plural, description: description, data: data, example: ev}
	}
	return []kind{
		own(herald.TestEventName, herald.WebhookObjectPlural, "Sent by POST /rest/webhooks/{id}/test (or the UI's Send test event), to that webhook alone.",
			object(Schema{"message": typed("string"), "webhookId": withFormat(typed("string"), "uuid")}), operational.TestEvent(workspaceID, hook.ID, exampleTime)),
		own(operational.WebhookDisabled, herald.WebhookObjectPlural,
			"A webhook was disabled: its receiver answered 410 Gone, every attempt failed for too long, or someone disabled it. Never sent to that webhook.",
			webhookData, disabled),
		own(operational.WebhookEnabled, herald.WebhookObjectPlural, "A disabled webhook was enabled again. Never sent to that webhook.",
			webhookData, operational.WebhookChanged(&enabled, exampleTime)),
		own(operational.DeliveryExhausted, herald.DeliveryObjectPlural,
			"A delivery ended failed: its last attempt failed, or its receiver answered 410 Gone. Never sent to its own webhook; none is made for a delivery of an operational event.",
			object(Schema{
				"id": Schema{"type": "string", "pattern": "^dlv_"}, "webhookId": withFormat(typed("string"), "uuid"),
				"targetUrl": withFormat(typed("string"), "uri"), "eventId": typed("string"), "event": typed("string"),
				"status": Schema{"const": herald.DeliveryFailed}, "attemptCount": Schema{"type": "integer", "minimum": 1},
				"lastStatusCode": typed("integer", "null"), "lastError": typed("string"), "completedAt": withFormat(typed("string"), "date-time"),
			}), exhausted),
	}
}
