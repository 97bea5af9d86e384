package catalog

import (
	"encoding/json"
	"slices"
	"testing"

	"github.com/heraldhq/herald"
)

func TestBuild(t *testing.T) {
	t.Parallel()
	pet := &herald.Object{NameSingular: "pet", NamePlural: "pets", Custom: true, Fields: []herald.Field{
		{Name: "name", Type: herald.FieldText}, {Name: "kind", Type: herald.FieldSelect, Options: []string{"DOG", "CAT"}},
		{Name: "tags", Type: herald.FieldMultiSelect, Options: []string{"A"}}, {Name: "vet", Type: herald.FieldEmails},
	}}
	const ws = "3f1e2d3c-4b5a-4968-8776-655443322110"
	entries := Build(ws, append(herald.StandardObjects(), pet), []string{"invoice.paid"})
	var names []string
	for _, e := range entries {
		names = append(names, e.Name)
	}
	if !slices.IsSorted(names) || len(slices.Compact(slices.Clone(names))) != len(names) {
		t.Fatalf("names not sorted and unique: %v", names)
	}
	for _, want := range []string{"person.created", "opportunity.destroyed", "pet.updated", "invoice.paid", "metadata.object.updated",
		herald.TestEventName, "webhook.disabled", "webhook.enabled", "delivery.exhausted"} {
		if !slices.Contains(names, want) {
			t.Errorf("the catalog lacks %s", want)
		}
	}
	if len(entries) != 5*6+3+1+3+1 {
		t.Errorf("%d entries, want 5 actions of 6 objects, 3 metadata, the test event, 3 operational and the custom event", len(entries))
	}
	for _, e := range entries {
		for _, f := range Formats {
			var body map[string]any
			if err := json.Unmarshal(e.Examples[f], &body); err != nil {
				t.Fatalf("%s %s example is not JSON: %v", e.Name, f, err)
			}
			name, key := body["event"], "data"
			if f == herald.PayloadTwenty {
				name, key = body["eventName"], "record"
			}
			props := e.Schemas[f]["properties"].(Schema)
			if name != e.Name || body["workspaceId"] != ws || props[key] == nil {
				t.Errorf("%s %s example %s", e.Name, f, e.Examples[f])
			}
			required := e.Schemas[f]["required"].([]string)
			if updated := slices.Contains(required, "updatedFields"); updated != (e.Name == "pet.updated" || e.Name == "person.updated" ||
				e.Name == "company.updated" || e.Name == "note.updated" || e.Name == "task.updated" || e.Name == "opportunity.updated" ||
				e.Name == "metadata.object.updated") {
				t.Errorf("%s %s: updatedFields required %v", e.Name, f, updated)
			}
		}
	}
	// A custom object's fields are in its records' schema, as Herald
	// shows them.
	e, _ := Find(entries, "pet.created")
	data := e.Schemas[herald.PayloadHerald]["properties"].(Schema)["data"].(Schema)["properties"].(Schema)
	for name, want := range map[string]string{
		"kind": `{"enum":["DOG","CAT",null]}`, "tags": `{"items":{"enum":["A"]},"type":["array","null"]}`,
		"name": `{"type":["string","null"]}`,
	} {
		if got, _ := json.Marshal(data[name]); string(got) != want {
			t.Errorf("pet %s: %s, want %s", name, got, want)
		}
	}
	if vet := data["vet"].(Schema); vet["required"].([]string)[0] != "additionalEmails" {
		t.Errorf("pet vet: %v", vet)
	}
	if _, ok := Find(entries, "pet.exploded"); ok {
		t.Error("Find found what is not there")
	}
}
