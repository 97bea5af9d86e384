package httpapi

import (
	"context"
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
	ctx := context.Background()
	store, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "herald.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	ws, _, err := store.EnsureWorkspace(ctx, "default")
	if err != nil {
		t.Fatal(err)
	}
	secret, key := herald.NewAPIKey(ws.ID, "default", time.Now())
	if err := store.CreateAPIKey(ctx, key); err != nil {
		t.Fatal(err)
	}
	s := New(Config{Store: store})
	call := func(method, path, body string) (int, string) {
		req := httptest.NewRequest(method, path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+secret)
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		return rec.Code, rec.Body.String()
	}
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
