package httpapi

import (
	"encoding/json"
	"net/http"

	"github.com/heraldhq/herald"
	"github.com/heraldhq/herald/catalog"
	"github.com/heraldhq/herald/metadata"
)

func (s *Server) listObjects(w http.ResponseWriter, r *http.Request) error {
	ws := apiKey(r).WorkspaceID
	objs, err := s.Services.Objects.List(r.Context(), ws)
	if err != nil {
		return err
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
	return nil
}

func (s *Server) getObject(w http.ResponseWriter, r *http.Request) error {
	ws := apiKey(r).WorkspaceID
	o, err := s.Services.Objects.Find(r.Context(), ws, r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, envelope("object", metadata.Render(ws, o)))
	return nil
}

func (s *Server) createObject(w http.ResponseWriter, r *http.Request) error {
	var in metadata.Input
	if err := decodeBody(w, r, &in); err != nil {
		return err
	}
	ws := apiKey(r).WorkspaceID
	o, err := s.Services.Objects.Create(r.Context(), ws, &in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, envelope("createOneObject", metadata.Render(ws, o)))
	return nil
}

func (s *Server) updateObject(w http.ResponseWriter, r *http.Request) error {
	var in metadata.Input
	if err := decodeBody(w, r, &in); err != nil {
		return err
	}
	ws := apiKey(r).WorkspaceID
	o, err := s.Services.Objects.Update(r.Context(), ws, r.PathValue("id"), &in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, envelope("updateOneObject", metadata.Render(ws, o)))
	return nil
}

func (s *Server) deleteObject(w http.ResponseWriter, r *http.Request) error {
	withRecords, err := boolParam(r, "withRecords", false)
	if err != nil {
		return err
	}
	o, err := s.Services.Objects.Delete(r.Context(), apiKey(r).WorkspaceID, r.PathValue("id"), withRecords)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, envelope("deleteOneObject", map[string]string{"id": o.ID}))
	return nil
}

// eventTypes lists every event name the workspace can emit; with
// ?include=catalog, each with its body's schemas and examples too, or
// only the one ?name= names.
func (s *Server) eventTypes(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	include, name := q.Get("include"), q.Get("name")
	if include != "" && include != "catalog" {
		return herald.FieldErrorf("include", "include must be catalog (every event type with its schemas and examples), or left out")
	}
	ws := apiKey(r).WorkspaceID
	if name != "" {
		e, err := s.Services.Events.EventType(r.Context(), ws, name)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, map[string]any{"data": map[string]any{"eventTypes": []string{e.Name}, "catalog": []catalog.Entry{e}}})
		return nil
	}
	entries, err := s.Services.Events.Catalog(r.Context(), ws)
	if err != nil {
		return err
	}
	data := map[string]any{"eventTypes": catalog.Names(entries)}
	if include == "catalog" {
		data["catalog"] = entries
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": data})
	return nil
}

// publishEvent publishes a custom event ("other triggers", DESIGN.md §3).
func (s *Server) publishEvent(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Event string          `json:"event"`
		Data  json.RawMessage `json:"data"`
	}
	if err := decodeBody(w, r, &in); err != nil {
		return err
	}
	ev, err := s.Services.Events.Publish(r.Context(), apiKey(r).WorkspaceID, in.Event, in.Data)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, envelope("publishEvent", map[string]any{
		"id": ev.ID, "event": ev.Name, "timestamp": herald.FormatTime(ev.Timestamp), "data": json.RawMessage(ev.Data),
	}))
	return nil
}
