package ui

import (
	"bytes"
	"encoding/json"
	"net/http"

	"github.com/heraldhq/herald/catalog"
)

// eventType is a catalog entry as the event types page shows it: the
// schema and example of each payload format, indented.
type eventType struct {
	Name, Description string
	Formats           []eventFormat
}

type eventFormat struct{ Name, Schema, Example string }

// listEventTypes shows every event the workspace can be sent, with its
// body's schema and an example in each payload format.
func (u *UI) listEventTypes(w http.ResponseWriter, r *http.Request) error {
	entries, err := u.Services.Events.Catalog(r.Context(), workspace(r))
	if err != nil {
		return err
	}
	types := make([]eventType, len(entries))
	for i, e := range entries {
		t := eventType{Name: e.Name, Description: e.Description}
		for _, f := range catalog.Formats {
			schema, _ := json.MarshalIndent(e.Schemas[f], "", "  ")
			t.Formats = append(t.Formats, eventFormat{Name: f, Schema: string(schema), Example: indent(e.Examples[f])})
		}
		types[i] = t
	}
	u.render(w, r, http.StatusOK, "event-types", page{Title: "Event types", Nav: "event-types", Data: types})
	return nil
}

// indent is raw JSON indented, or raw as it is when it is not JSON.
func indent(raw []byte) string {
	var b bytes.Buffer
	if json.Indent(&b, raw, "", "  ") != nil {
		return string(raw)
	}
	return b.String()
}
