package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
)

// TestResponsesMatchOpenAPI calls every kind of route of a live server and
// checks each answer against the schema /rest/open-api documents for it,
// so the document describes what the server really sends.
func TestResponsesMatchOpenAPI(t *testing.T) {
	t.Parallel()
	p := startHerald(t, t.TempDir()+"/herald.db", "--log-format", "json", "--log-level", "info")
	key := p.APIKey
	rc := newReceiver(t, nil)
	hookID, _ := createWebhook(t, p, key, `{"targetUrl":"`+rc.URL+`"}`)
	if code, out := call(t, "POST", p.URL+"/rest/metadata/objects", key, `{"nameSingular":"pet","namePlural":"pets","fields":[{"name":"kind","type":"select","options":["DOG"]},{"name":"age","type":"number"}]}`); code != 201 {
		t.Fatalf("create pet object: %d %v", code, out)
	}

	req, _ := http.NewRequest("GET", p.URL+"/rest/open-api", nil)
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	doc, err := openapi3.NewLoader().LoadFromData(raw)
	if err != nil {
		t.Fatal(err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("served document is not valid OpenAPI 3: %v", err)
	}

	// check makes a call and validates its answer against path's schema.
	check := func(method, path, url, body string, status int) map[string]any {
		t.Helper()
		code, out := call(t, method, p.URL+url, key, body)
		if code != status {
			t.Fatalf("%s %s: %d %v, want %d", method, url, code, out, status)
		}
		item := doc.Paths.Value(path)
		if item == nil || item.GetOperation(method) == nil {
			t.Fatalf("%s %s is not documented", method, path)
		}
		r := item.GetOperation(method).Responses.Status(status)
		if r == nil || r.Value.Content.Get("application/json") == nil {
			t.Fatalf("%s %s: no documented %d JSON response", method, path, status)
		}
		var v any
		b, _ := json.Marshal(out)
		_ = json.Unmarshal(b, &v)
		if err := r.Value.Content.Get("application/json").Schema.Value.VisitJSON(v, openapi3.MultiErrors()); err != nil {
			t.Errorf("%s %s answer does not match the document: %v\n%s", method, url, err, b)
		}
		return out
	}

	check("GET", "/healthz", "/healthz", "", 200)
	check("GET", "/readyz", "/readyz", "", 200)
	person := check("POST", "/rest/people", "/rest/people", `{"name":{"firstName":"Ada"},"emails":{"primaryEmail":"ada@example.com"}}`, 201)
	pid := dig(person, "data", "createPerson", "id").(string)
	check("GET", "/rest/people", "/rest/people?limit=5", "", 200)
	check("GET", "/rest/people/{id}", "/rest/people/"+pid, "", 200)
	check("PATCH", "/rest/people/{id}", "/rest/people/"+pid, `{"city":"London"}`, 200)
	check("POST", "/rest/batch/companies", "/rest/batch/companies", `[{"name":"Acme","employees":12}]`, 201)
	pet := check("POST", "/rest/pets", "/rest/pets", `{"age":3}`, 201)
	check("GET", "/rest/pets/{id}", "/rest/pets/"+dig(pet, "data", "createPet", "id").(string), "", 200)
	check("DELETE", "/rest/people/{id}", "/rest/people/"+pid, "", 200)
	check("PATCH", "/rest/restore/people/{id}", "/rest/restore/people/"+pid, "", 200)
	check("GET", "/rest/metadata/objects", "/rest/metadata/objects", "", 200)
	check("GET", "/rest/metadata/objects/{id}", "/rest/metadata/objects/pet", "", 200)
	check("PATCH", "/rest/metadata/objects/{id}", "/rest/metadata/objects/pet", `{"description":"Pets"}`, 200)
	check("POST", "/rest/events", "/rest/events", `{"event":"invoice.paid","data":{"amount":1}}`, 201)
	check("GET", "/rest/webhooks/event-types", "/rest/webhooks/event-types", "", 200)
	cat := check("GET", "/rest/webhooks/event-types", "/rest/webhooks/event-types?include=catalog", "", 200)
	if n := len(dig(cat, "data", "catalog").([]any)); n != len(dig(cat, "data", "eventTypes").([]any)) || n < 30 {
		t.Errorf("the catalog has %d entries", n)
	}
	one := check("GET", "/rest/webhooks/event-types", "/rest/webhooks/event-types?name=pet.updated", "", 200)
	if entry := dig(one, "data", "catalog").([]any)[0]; dig(entry, "name") != "pet.updated" || dig(entry, "schemas", "herald", "properties", "data", "properties", "kind") == nil {
		t.Errorf("pet.updated entry %v", entry)
	}
	if code, out := call(t, "GET", p.URL+"/rest/webhooks/event-types?include=everything", key, ""); code != 400 || dig(out, "field") != "include" {
		t.Errorf("include=everything: %d %v", code, out)
	}
	if code, _ := call(t, "GET", p.URL+"/rest/webhooks/event-types?name=pet.exploded", key, ""); code != 404 {
		t.Errorf("an unknown event type: %d, want 404", code)
	}
	// The webhooks section documents every event type, Herald's own too.
	for _, name := range []string{"person.created", "pet.updated", "metadata.object.created", "delivery.exhausted"} {
		if doc.Webhooks[name] == nil || doc.Webhooks[name].Post == nil || doc.Webhooks[name].Post.RequestBody == nil {
			t.Errorf("the document's webhooks lack %s", name)
		}
	}
	waitFor(t, "deliveries", 10*time.Second, func() bool { return len(rc.requests()) >= 5 })
	check("GET", "/rest/webhooks", "/rest/webhooks", "", 200)
	check("GET", "/rest/metadata/webhooks/{id}", "/rest/metadata/webhooks/"+hookID, "", 200)
	check("PATCH", "/rest/webhooks/{id}", "/rest/webhooks/"+hookID, `{"description":"all events"}`, 200)
	check("POST", "/rest/webhooks/{id}/test", "/rest/webhooks/"+hookID+"/test", "", 200)
	check("POST", "/rest/webhooks/{id}/rotate-secret", "/rest/webhooks/"+hookID+"/rotate-secret", "", 200)
	check("POST", "/rest/webhooks/{id}/replay", "/rest/webhooks/"+hookID+"/replay", `{"since":"2020-01-01T00:00:00Z"}`, 200)
	list := check("GET", "/rest/webhooks/{id}/deliveries", "/rest/webhooks/"+hookID+"/deliveries?limit=3", "", 200)
	dlv := dig(list, "data", "deliveries").([]any)[0].(map[string]any)["id"].(string)
	check("GET", "/rest/deliveries/{id}", "/rest/deliveries/"+dlv, "", 200)
	check("POST", "/rest/deliveries/{id}/retry", "/rest/deliveries/"+dlv+"/retry", "", 202)
	stats := check("GET", "/rest/webhooks/{id}/stats", "/rest/webhooks/"+hookID+"/stats?window=2h&bucket=30m", "", 200)
	buckets := dig(stats, "data", "webhookStats", "buckets").([]any)
	var attempts float64
	for _, b := range buckets {
		attempts += b.(map[string]any)["attempts"].(float64)
	}
	if len(buckets) != 4 || attempts < 5 {
		t.Errorf("stats: %d buckets with %v attempts, want 4 buckets holding the %d+ deliveries", len(buckets), attempts, 5)
	}
	made := check("POST", "/rest/api-keys", "/rest/api-keys", `{"name":"ci"}`, 201)
	if k, _ := dig(made, "data", "createApiKey", "key").(string); !strings.HasPrefix(k, "hk_") {
		t.Errorf("created API key answer holds no key: %v", made)
	}
	keys := check("GET", "/rest/api-keys", "/rest/api-keys", "", 200)
	for _, k := range dig(keys, "data", "apiKeys").([]any) {
		if id := k.(map[string]any)["id"].(string); k.(map[string]any)["name"] == "default" {
			if code, out := call(t, "DELETE", p.URL+"/rest/api-keys/"+id, key, ""); code != 409 {
				t.Errorf("a key revoking itself: %d %v, want 409", code, out)
			}
		}
	}
	if code, out := call(t, "POST", p.URL+"/rest/api-keys", key, `{"name":"  "}`); code != 400 || dig(out, "field") != "name" {
		t.Errorf("API key without a name: %d %v, want 400 on name", code, out)
	}
	check("DELETE", "/rest/api-keys/{id}", "/rest/api-keys/"+dig(made, "data", "createApiKey", "id").(string), "", 200)
	check("DELETE", "/rest/metadata/objects/{id}", "/rest/metadata/objects/pet?withRecords=true", "", 200)
	check("DELETE", "/rest/webhooks/{id}", "/rest/webhooks/"+hookID, "", 200)

	// Errors have the documented shape too.
	code, out := call(t, "POST", p.URL+"/rest/people", key, `{"age":1}`)
	errSchema := doc.Components.Schemas["Error"].Value
	var v any
	b, _ := json.Marshal(out)
	_ = json.Unmarshal(b, &v)
	if err := errSchema.VisitJSON(v); code != 400 || err != nil {
		t.Errorf("error answer %d %s: %v", code, b, err)
	}

	// --log-format json: every log line is one JSON object.
	p.stop()
	lines := strings.Split(strings.TrimSpace(p.logs.String()), "\n")
	if len(lines) < 2 {
		t.Fatalf("expected startup and shutdown logs, got %q", p.logs)
	}
	for _, l := range lines {
		var rec map[string]any
		if err := json.Unmarshal([]byte(l), &rec); err != nil || rec["msg"] == nil || rec["level"] == nil {
			t.Errorf("log line is not a slog JSON record: %q", l)
		}
	}
}
