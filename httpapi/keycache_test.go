package httpapi

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/heraldhq/herald"
	"github.com/heraldhq/herald/store/sqlite"
)

func TestRevokedKeysStopWorking(t *testing.T) {
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
	keys := map[string]*herald.APIKey{}
	secrets := map[string]string{}
	for _, name := range []string{"admin", "viaAPI", "elsewhere"} {
		secret, k := herald.NewAPIKey(ws.ID, name, time.Now())
		if err := store.CreateAPIKey(ctx, k); err != nil {
			t.Fatal(err)
		}
		keys[name], secrets[name] = k, secret
	}
	s := New(Config{Store: store})
	call := func(method, path, key string) int {
		req := httptest.NewRequest(method, path, nil)
		req.Header.Set("Authorization", "Bearer "+secrets[key])
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		return rec.Code
	}
	for name := range keys {
		if code := call("GET", "/rest/people", name); code != http.StatusOK {
			t.Fatalf("key %s: %d, want 200", name, code)
		}
	}

	// Revoked through the API: refused from the next request on.
	if code := call("DELETE", "/rest/api-keys/"+keys["viaAPI"].ID, "admin"); code != http.StatusOK {
		t.Fatalf("revoke: %d", code)
	}
	if code := call("GET", "/rest/people", "viaAPI"); code != http.StatusUnauthorized {
		t.Fatalf("a key revoked through the API: %d, want 401", code)
	}

	// Revoked by another process: refused once the cache lapses.
	if err := store.RevokeAPIKey(ctx, ws.ID, keys["elsewhere"].ID, time.Now()); err != nil {
		t.Fatal(err)
	}
	hash := herald.HashAPIKey(secrets["elsewhere"])
	if s.keys.get(hash, time.Now().Add(keyCacheTTL)) != nil {
		t.Fatalf("a cached key outlives keyCacheTTL (%s)", keyCacheTTL)
	}
	s.keys.clear() // as when the TTL has passed
	if code := call("GET", "/rest/people", "elsewhere"); code != http.StatusUnauthorized {
		t.Fatalf("a key revoked elsewhere, after the cache lapsed: %d, want 401", code)
	}
	if code := call("GET", "/rest/people", "admin"); code != http.StatusOK {
		t.Fatalf("the remaining key: %d, want 200", code)
	}
}
