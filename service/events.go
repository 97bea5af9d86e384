package service

import (
	"context"
	"encoding/json"
	"strings"

	"github.com/heraldhq/herald"
	"github.com/heraldhq/herald/catalog"
	"github.com/heraldhq/herald/record"
)

// Events are the rules of event names: those a workspace can emit, and
// custom events ("other triggers", DESIGN.md §3), published by callers
// and delivered like record events.
type Events struct {
	store   herald.Store
	objects *Objects
}

// Types lists every event name the workspace can emit, sorted: its
// objects' record events, metadata events, the test event, Herald's own
// (operational) events and the custom events it has published.
func (s *Events) Types(ctx context.Context, workspaceID string) ([]string, error) {
	entries, err := s.Catalog(ctx, workspaceID)
	if err != nil {
		return nil, err
	}
	return catalog.Names(entries), nil
}

// Catalog describes every event type the workspace can emit (Types),
// with its body's JSON Schema in each payload format and an example.
func (s *Events) Catalog(ctx context.Context, workspaceID string) ([]catalog.Entry, error) {
	objs, err := s.objects.List(ctx, workspaceID)
	if err != nil {
		return nil, err
	}
	custom, err := s.store.ListEventTypes(ctx, workspaceID)
	if err != nil {
		return nil, err
	}
	return catalog.Build(workspaceID, objs, custom), nil
}

// EventType is one entry of the catalog.
func (s *Events) EventType(ctx context.Context, workspaceID, name string) (catalog.Entry, error) {
	entries, err := s.Catalog(ctx, workspaceID)
	if err != nil {
		return catalog.Entry{}, err
	}
	e, ok := catalog.Find(entries, name)
	if !ok {
		return catalog.Entry{}, errorf404("no event type %q in this workspace: GET /rest/webhooks/event-types lists them", name)
	}
	return e, nil
}

// Publish publishes a custom event called name ("invoice.paid") with data,
// a JSON object (nil or null: {}), to every webhook that subscribes to it.
func (s *Events) Publish(ctx context.Context, workspaceID, name string, data json.RawMessage) (*herald.Event, error) {
	object, action, ok := strings.Cut(name, ".")
	if !ok || !record.ValidIdentifier(object) || !record.ValidIdentifier(action) {
		return nil, herald.FieldErrorf("event", "event %q must look like name.action, e.g. invoice.paid", name)
	}
	if herald.ReservedName(object) {
		return nil, herald.FieldErrorf("event", "%s events come from Herald itself; pick another name for a custom event", object)
	}
	if _, err := s.store.FindObject(ctx, workspaceID, object); err == nil {
		return nil, herald.FieldErrorf("event", "%s is a custom object: its events come from changes to its records", object)
	} else if herald.ErrorCode(err) != herald.ENOTFOUND {
		return nil, err
	}
	text := []byte("{}")
	if len(data) > 0 && string(data) != "null" {
		// Kept as JSON.stringify writes it: the body it goes out in is then
		// what a receiver that re-serialises gets back.
		var err error
		if text, err = record.JSText(data); err != nil || text[0] != '{' {
			return nil, herald.FieldErrorf("data", "data must be a JSON object")
		}
	}
	ev := &herald.Event{
		ID: record.NewEventID(), WorkspaceID: workspaceID, Name: name, Object: object, ObjectPlural: object,
		Data: text, Timestamp: herald.Now(), Fresh: true,
	}
	if err := s.store.PublishEvents(ctx, []*herald.Event{ev}); err != nil {
		return nil, err
	}
	return ev, nil
}
