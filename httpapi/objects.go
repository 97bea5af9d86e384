package httpapi

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/heraldhq/herald"
	"github.com/heraldhq/herald/metadata"
	"github.com/heraldhq/herald/record"
)

// object resolves the {plural} path segment: a standard object, or a
// custom one of the caller's workspace.
func (s *Server) object(r *http.Request) (*herald.Object, error) {
	plural := r.PathValue("plural")
	for _, o := range herald.StandardObjects() {
		if o.NamePlural == plural {
			return o, nil
		}
	}
	o, err := s.Store.FindObject(r.Context(), apiKey(r).WorkspaceID, plural)
	if err == nil && o.NamePlural == plural {
		return o, nil
	}
	if err != nil && herald.ErrorCode(err) != herald.ENOTFOUND {
		return nil, err
	}
	return nil, errorf404("unknown object %q: use people, companies, opportunities, notes, tasks or a custom object's plural name (GET /rest/metadata/objects lists them)", plural)
}

// objects returns every object of the workspace, standard ones first.
func (s *Server) objects(ctx context.Context, workspaceID string) ([]*herald.Object, error) {
	custom, err := s.Store.ListObjects(ctx, workspaceID)
	if err != nil {
		return nil, err
	}
	return append(herald.StandardObjects(), custom...), nil
}

// objectSet is the workspace's objects, as metadata.Apply asks about them.
type objectSet []*herald.Object

func (os objectSet) Exists(name string) bool {
	return slices.ContainsFunc(os, func(o *herald.Object) bool { return o.NameSingular == name })
}

func (s *Server) listObjects(w http.ResponseWriter, r *http.Request) {
	ws := apiKey(r).WorkspaceID
	objs, err := s.objects(r.Context(), ws)
	if err != nil {
		s.error(w, r, err)
		return
	}
	out := make([]metadata.JSON, len(objs))
	for i, o := range objs {
		out[i] = metadata.Render(ws, o)
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"data":       map[string]any{"objects": out},
		"pageInfo":   map[string]any{"hasNextPage": false, "startCursor": nil, "endCursor": nil},
		"totalCount": len(out),
	})
}

// findObjectMeta resolves {id}: an object's id, singular or plural name.
func (s *Server) findObjectMeta(r *http.Request) (*herald.Object, error) {
	ws, name := apiKey(r).WorkspaceID, r.PathValue("id")
	for _, o := range herald.StandardObjects() {
		if name == o.NameSingular || name == o.NamePlural || name == metadata.ID(ws, o.NameSingular) {
			return o, nil
		}
	}
	return s.Store.FindObject(r.Context(), ws, name)
}

func (s *Server) getObject(w http.ResponseWriter, r *http.Request) {
	o, err := s.findObjectMeta(r)
	if err != nil {
		s.error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": map[string]any{"object": metadata.Render(apiKey(r).WorkspaceID, o)}})
}

func (s *Server) createObject(w http.ResponseWriter, r *http.Request) {
	var in metadata.Input
	if err := decodeBody(w, r, &in); err != nil {
		s.error(w, r, err)
		return
	}
	ws := apiKey(r).WorkspaceID
	objs, err := s.objects(r.Context(), ws)
	if err != nil {
		s.error(w, r, err)
		return
	}
	if len(objs)-len(herald.StandardObjects()) >= metadata.MaxObjects {
		s.error(w, r, herald.Errorf(herald.EUNPROCESSABLE, "a workspace has at most %d custom objects", metadata.MaxObjects))
		return
	}
	now := time.Now().UTC().Truncate(time.Millisecond)
	o := &herald.Object{WorkspaceID: ws, Custom: true, CreatedAt: now, UpdatedAt: now}
	if err := metadata.Apply(&in, o, objectSet(objs), true); err != nil {
		s.error(w, r, err)
		return
	}
	o.ID = metadata.ID(ws, o.NameSingular)
	if err := s.Store.CreateObject(r.Context(), o, metadata.NewEvent(o, nil, metadata.ActionCreated, now)); err != nil {
		s.error(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"data": map[string]any{"createOneObject": metadata.Render(ws, o)}})
}

func (s *Server) updateObject(w http.ResponseWriter, r *http.Request) {
	var in metadata.Input
	if err := decodeBody(w, r, &in); err != nil {
		s.error(w, r, err)
		return
	}
	ws := apiKey(r).WorkspaceID
	if o, err := s.findObjectMeta(r); err == nil && !o.Custom {
		s.error(w, r, herald.Errorf(herald.EFORBIDDEN, "%s is a standard object and cannot be changed", o.NameSingular))
		return
	}
	objs, err := s.objects(r.Context(), ws)
	if err != nil {
		s.error(w, r, err)
		return
	}
	o, err := s.Store.UpdateObject(r.Context(), ws, r.PathValue("id"), func(o *herald.Object) (*herald.Event, error) {
		before := *o
		if err := metadata.Apply(&in, o, objectSet(objs), false); err != nil {
			return nil, err
		}
		now := time.Now().UTC().Truncate(time.Millisecond)
		o.UpdatedAt = now
		ev := metadata.NewEvent(o, &before, metadata.ActionUpdated, now)
		if len(ev.UpdatedFields) == 0 {
			return nil, nil
		}
		return ev, nil
	})
	if err != nil {
		s.error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": map[string]any{"updateOneObject": metadata.Render(ws, o)}})
}

func (s *Server) deleteObject(w http.ResponseWriter, r *http.Request) {
	if o, err := s.findObjectMeta(r); err == nil && !o.Custom {
		s.error(w, r, herald.Errorf(herald.EFORBIDDEN, "%s is a standard object and cannot be deleted", o.NameSingular))
		return
	}
	withRecords := false
	switch v := r.URL.Query().Get("withRecords"); v {
	case "", "false":
	case "true":
		withRecords = true
	default:
		s.error(w, r, herald.FieldErrorf("withRecords", "withRecords must be true or false, not %q", v))
		return
	}
	o, err := s.Store.DeleteObject(r.Context(), apiKey(r).WorkspaceID, r.PathValue("id"), withRecords, func(o *herald.Object) (*herald.Event, error) {
		return metadata.NewEvent(o, nil, metadata.ActionDeleted, time.Now()), nil
	})
	if err != nil {
		s.error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": map[string]any{"deleteOneObject": map[string]string{"id": o.ID}}})
}

// eventTypes lists every event name the workspace can emit.
func (s *Server) eventTypes(w http.ResponseWriter, r *http.Request) {
	ws := apiKey(r).WorkspaceID
	objs, err := s.objects(r.Context(), ws)
	if err != nil {
		s.error(w, r, err)
		return
	}
	custom, err := s.Store.ListEventTypes(r.Context(), ws)
	if err != nil {
		s.error(w, r, err)
		return
	}
	names := []string{herald.TestEventName}
	for _, o := range objs {
		for _, a := range []string{herald.ActionCreated, herald.ActionUpdated, herald.ActionDeleted, herald.ActionRestored, herald.ActionDestroyed} {
			names = append(names, o.NameSingular+"."+a)
		}
	}
	for _, a := range []string{metadata.ActionCreated, metadata.ActionUpdated, metadata.ActionDeleted} {
		names = append(names, herald.MetadataObject+"."+a)
	}
	names = append(names, custom...)
	slices.Sort(names)
	writeJSON(w, http.StatusOK, map[string]any{"data": map[string]any{"eventTypes": slices.Compact(names)}})
}

// eventInput is the body of POST /rest/events.
type eventInput struct {
	Event string          `json:"event"`
	Data  json.RawMessage `json:"data"`
}

// publishEvent publishes a custom event ("other triggers", DESIGN.md §3),
// delivered like record events.
func (s *Server) publishEvent(w http.ResponseWriter, r *http.Request) {
	var in eventInput
	if err := decodeBody(w, r, &in); err != nil {
		s.error(w, r, err)
		return
	}
	name, action, ok := strings.Cut(in.Event, ".")
	if !ok || !record.ValidIdentifier(name) || !record.ValidIdentifier(action) {
		s.error(w, r, herald.FieldErrorf("event", "event %q must look like name.action, e.g. invoice.paid", in.Event))
		return
	}
	ws := apiKey(r).WorkspaceID
	if herald.ReservedName(name) {
		s.error(w, r, herald.FieldErrorf("event", "%s events come from Herald itself; pick another name for a custom event", name))
		return
	}
	if _, err := s.Store.FindObject(r.Context(), ws, name); err == nil {
		s.error(w, r, herald.FieldErrorf("event", "%s is a custom object: its events come from changes to its records", name))
		return
	} else if herald.ErrorCode(err) != herald.ENOTFOUND {
		s.error(w, r, err)
		return
	}
	data := []byte("{}")
	if len(in.Data) > 0 && string(in.Data) != "null" {
		// Kept as JSON.stringify writes it: the body it goes out in is then
		// what a receiver that re-serialises gets back.
		var err error
		if data, err = record.JSText(in.Data); err != nil || data[0] != '{' {
			s.error(w, r, herald.FieldErrorf("data", "data must be a JSON object"))
			return
		}
	}
	ev := &herald.Event{
		ID: record.NewEventID(), WorkspaceID: ws, Name: in.Event, Object: name, ObjectPlural: name,
		Data: data, Timestamp: time.Now().UTC().Truncate(time.Millisecond),
	}
	if err := s.Store.PublishEvents(r.Context(), []*herald.Event{ev}); err != nil {
		s.error(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"data": map[string]any{"publishEvent": map[string]any{
		"id": ev.ID, "event": ev.Name, "timestamp": herald.FormatTime(ev.Timestamp), "data": ev.Data,
	}}})
}
