package httpapi

import (
	"context"
	"errors"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

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
