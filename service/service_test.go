package service_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/heraldhq/herald"
	"github.com/heraldhq/herald/delivery"
	"github.com/heraldhq/herald/service"
	"github.com/heraldhq/herald/store/teststore"
)

func TestMain(m *testing.M) { os.Exit(teststore.Main(m)) }

// fixture is the services over one engine's store, with a receiver on
// loopback that answers what status holds, and a delivery engine that
// makes test sends (it does not run: nothing else is sent).
type fixture struct {
	store    herald.Store
	svc      *service.Services
	receiver *httptest.Server
	status   atomic.Int32
	received atomic.Int32
}

// forEach runs test on each engine, with services configured by cfg.
func forEach(t *testing.T, cfg func(*service.Config), test func(t *testing.T, f *fixture)) {
	teststore.Each(t, func(t *testing.T, s herald.Store) {
		f := &fixture{store: s}
		f.status.Store(http.StatusOK)
		f.receiver = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			f.received.Add(1)
			w.WriteHeader(int(f.status.Load()))
		}))
		t.Cleanup(f.receiver.Close)
		c := service.Config{Store: s, Deliverer: delivery.New(s, delivery.Config{Timeout: 5 * time.Second})}
		if cfg != nil {
			cfg(&c)
		}
		f.svc = service.New(c)
		test(t, f)
	})
}

// workspace is a fresh workspace for one case.
func (f *fixture) workspace(t *testing.T) *teststore.Workspace {
	return teststore.NewWorkspace(t, f.store, "ws-"+uuid.NewString())
}

// webhook makes a webhook of ws to the receiver.
func (f *fixture) webhook(t *testing.T, ws *teststore.Workspace, ops ...string) *herald.Webhook {
	t.Helper()
	in := service.WebhookInput{TargetURL: &f.receiver.URL}
	if len(ops) > 0 {
		in.Operations = &ops
	}
	hook, _, err := f.svc.Webhooks.Create(context.Background(), ws.ID, in)
	must(t, err)
	return hook
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// wantError checks that err is a herald error with code, on field when
// field is not empty.
func wantError(t *testing.T, err error, code, field string) {
	t.Helper()
	var e *herald.Error
	if !errors.As(err, &e) || e.Code != code || field != "" && e.Field != field {
		t.Fatalf("error %v, want code %s on field %q", err, code, field)
	}
}

func ptr[T any](v T) *T { return &v }
