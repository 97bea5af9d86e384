package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/heraldhq/herald"
	"github.com/heraldhq/herald/store/sqlite"
)

func TestReadyzSaysWhyNotReady(t *testing.T) {
	t.Parallel()
	store, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "herald.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	var trouble atomic.Pointer[error]
	s := New(Config{Store: store, Ready: func() error {
		if err := trouble.Load(); err != nil {
			return *err
		}
		return nil
	}})
	readyz := func() (int, string) {
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, httptest.NewRequest("GET", "/readyz", nil))
		return rec.Code, rec.Body.String()
	}
	if code, body := readyz(); code != 200 {
		t.Fatalf("ready: %d %s", code, body)
	}
	stopped := errors.New("delivery engine cannot start: recover claims: deadlock detected")
	trouble.Store(&stopped)
	if code, body := readyz(); code != 503 || !strings.Contains(body, "deadlock detected") {
		t.Fatalf("with the engine not running: %d %s, want 503 with the reason", code, body)
	}
}

// TestOneRuleForJSONBodies: every route that reads JSON refuses a name
// given twice and invalid UTF-8, with a 400 that names where.
func TestOneRuleForJSONBodies(t *testing.T) {
	t.Parallel()
	call := newAPI(t)
	code, out := call("POST", "/rest/webhooks", `{"targetUrl":"https://example.com/hook"}`)
	if code != 201 {
		t.Fatalf("create webhook: %d %s", code, out)
	}
	hookID := regexp.MustCompile(`"id":"([^"]+)"`).FindStringSubmatch(out)[1]
	if code, out := call("POST", "/rest/metadata/objects", `{"nameSingular":"pet","namePlural":"pets","fields":[{"name":"age","type":"number"}]}`); code != 201 {
		t.Fatalf("create object: %d %s", code, out)
	}
	routes := []struct{ method, path, field string }{
		{"POST", "/rest/api-keys", "name"},
		{"POST", "/rest/webhooks", "description"},
		{"PATCH", "/rest/webhooks/" + hookID, "description"},
		{"PATCH", "/rest/metadata/objects/pet", "description"},
		{"POST", "/rest/people", "city"},
		{"POST", "/rest/events", "name"},
	}
	for _, rt := range routes {
		t.Run(rt.method+" "+rt.path, func(t *testing.T) {
			dup := `{"` + rt.field + `":"a","` + rt.field + `":"b"}`
			if code, out := call(rt.method, rt.path, dup); code != 400 || !strings.Contains(out, "given twice") || !strings.Contains(out, `"field":"`+rt.field+`"`) {
				t.Errorf("a name given twice: %d %s", code, out)
			}
			bad := "{\"" + rt.field + "\":\"Ly\xffon\"}"
			if code, out := call(rt.method, rt.path, bad); code != 400 || !strings.Contains(out, "UTF-8") {
				t.Errorf("invalid UTF-8: %d %s", code, out)
			}
		})
	}
}

func TestFormatDuration(t *testing.T) {
	t.Parallel()
	for d, want := range map[time.Duration]string{
		24 * time.Hour: "24h", time.Hour: "1h", 90 * time.Minute: "1h30m", 15 * time.Minute: "15m",
		30 * time.Second: "30s", 90 * time.Second: "1m30s", time.Hour + time.Second: "1h0m1s",
	} {
		if got := formatDuration(d); got != want {
			t.Errorf("formatDuration(%s) = %s, want %s", d, got, want)
		}
	}
}

// TestWhatTwentyClientsSend: requests that clients written for Twenty
// send, which Herald takes as Twenty does.
func TestWhatTwentyClientsSend(t *testing.T) {
	t.Parallel()
	call := newAPI(t)
	code, out := call("POST", "/rest/people", `{"name":{"firstName":"Ada"}}`)
	if code != 201 {
		t.Fatalf("create: %d %s", code, out)
	}
	id := regexp.MustCompile(`"id":"([^"]+)"`).FindStringSubmatch(out)[1]
	tests := []struct {
		name, method, path, body string
		status                   int
		want                     string
	}{
		{"PUT, an older alias of PATCH", "PUT", "/rest/people/" + id, `{"jobTitle":"Countess"}`, 200, `"updatePerson"`},
		{"a limit past the maximum is capped", "GET", "/rest/people?limit=1000", "", 200, `"totalCount":1`},
		{"a limit that is not a number", "GET", "/rest/people?limit=many", "", 400, `"field":"limit"`},
		{"a negative limit", "GET", "/rest/people?limit=-1", "", 400, `"field":"limit"`},
		{"the older single operation", "POST", "/rest/webhooks", `{"targetUrl":"https://example.com/h","operation":"person.created"}`, 201, `"operations":["person.created"]`},
		{"operation and operations at once", "POST", "/rest/webhooks", `{"targetUrl":"https://example.com/h","operation":"person.created","operations":["*.*"]}`, 400, `"field":"operation"`},
		{"an upsert of a new id creates", "POST", "/rest/people?upsert=true", `{"id":"0190c0de-0000-7000-8000-000000000001","name":{"firstName":"Grace"}}`, 201, `"createPerson":{"id":"0190c0de-0000-7000-8000-000000000001"`},
		{"an upsert of a known id updates", "POST", "/rest/people?upsert=true", `{"id":"` + id + `","city":"London"}`, 201, `"jobTitle":"Countess","phones":{"primaryPhoneNumber":"","primaryPhoneCountryCode":"","primaryPhoneCallingCode":"","additionalPhones":null},"city":"London"`},
		{"an upsert without an id creates", "POST", "/rest/people?upsert=true", `{"name":{"firstName":"Alan"}}`, 201, `"createPerson"`},
		{"a create of a known id is a conflict", "POST", "/rest/people", `{"id":"` + id + `","city":"Paris"}`, 409, `"code":"CONFLICT"`},
		{"upsert is true or false", "POST", "/rest/people?upsert=yes", `{"name":{"firstName":"X"}}`, 400, `"field":"upsert"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if code, out := call(tc.method, tc.path, tc.body); code != tc.status || !strings.Contains(out, tc.want) {
				t.Fatalf("%d %s, want %d with %s", code, out, tc.status, tc.want)
			}
		})
	}
}

// newAPI serves the API over a fresh SQLite store with one workspace, and
// returns a function that calls it with that workspace's key.
func newAPI(t *testing.T) func(method, path, body string) (int, string) {
	t.Helper()
	ctx := context.Background()
	store, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "herald.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	ws, _, err := store.EnsureWorkspace(ctx, "default")
	if err != nil {
		t.Fatal(err)
	}
	secret, key := herald.NewAPIKey(ws.ID, "default", time.Now())
	if err := store.CreateAPIKey(ctx, key); err != nil {
		t.Fatal(err)
	}
	s := New(Config{Store: store})
	return func(method, path, body string) (int, string) {
		req := httptest.NewRequest(method, path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+secret)
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		return rec.Code, rec.Body.String()
	}
}

// TestDepthNestsRelatedRecords: depth=1 nests each relation's record under
// the relation's name, as Twenty does (companyId's under company), null
// where there is none; depth=2 nests theirs too; other depths are a 400.
func TestDepthNestsRelatedRecords(t *testing.T) {
	t.Parallel()
	call := newAPI(t)
	created := func(path, body, key string) string {
		t.Helper()
		code, out := call("POST", path, body)
		if code != 201 {
			t.Fatalf("create %s: %d %s", path, code, out)
		}
		var v map[string]map[string]map[string]any
		if err := json.Unmarshal([]byte(out), &v); err != nil {
			t.Fatal(err)
		}
		return v["data"][key]["id"].(string)
	}
	company := created("/rest/companies", `{"name":"Acme & Co"}`, "createCompany")
	ada := created("/rest/people", `{"name":{"firstName":"Ada"},"companyId":"`+company+`"}`, "createPerson")
	created("/rest/people", `{"name":{"firstName":"Grace"}}`, "createPerson")
	created("/rest/opportunities", `{"name":"Deal","companyId":"`+company+`","pointOfContactId":"`+ada+`"}`, "createOpportunity")

	list := func(path string) map[string]any {
		t.Helper()
		code, out := call("GET", path, "")
		if code != 200 {
			t.Fatalf("GET %s: %d %s", path, code, out)
		}
		var v map[string]any
		if err := json.Unmarshal([]byte(out), &v); err != nil {
			t.Fatal(err)
		}
		return v
	}
	people := list("/rest/people?depth=1&order_by=name.firstName")["data"].(map[string]any)["people"].([]any)
	if c, _ := people[0].(map[string]any)["company"].(map[string]any); c == nil || c["name"] != "Acme & Co" || c["id"] != company {
		t.Fatalf("Ada's company at depth 1: %v", people[0])
	}
	if c, ok := people[1].(map[string]any)["company"]; !ok || c != nil {
		t.Fatalf("Grace, with no company, at depth 1: %v", people[1])
	}
	if _, ok := list("/rest/people")["data"].(map[string]any)["people"].([]any)[0].(map[string]any)["company"]; ok {
		t.Fatal("a relation nested at the default depth 0")
	}
	one := list("/rest/opportunities?depth=2")["data"].(map[string]any)["opportunities"].([]any)[0].(map[string]any)
	poc, _ := one["pointOfContact"].(map[string]any)
	if poc == nil || poc["name"].(map[string]any)["firstName"] != "Ada" || poc["company"].(map[string]any)["name"] != "Acme & Co" {
		t.Fatalf("the opportunity at depth 2: %v", one)
	}
	if got := list("/rest/people/" + ada + "?depth=1")["data"].(map[string]any)["person"].(map[string]any); got["company"].(map[string]any)["id"] != company {
		t.Fatalf("one person at depth 1: %v", got)
	}
	if code, out := call("GET", "/rest/people?depth=3", ""); code != 400 || !strings.Contains(out, `"field":"depth"`) {
		t.Fatalf("depth=3: %d %s", code, out)
	}
}
