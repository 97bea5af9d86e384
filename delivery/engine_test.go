package delivery

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/heraldhq/herald"
	"github.com/heraldhq/herald/record"
	"github.com/heraldhq/herald/store/teststore"
)

type testBundle struct {
	db   herald.Store
	ws   *herald.Workspace
	hook *herald.Webhook
}

// setup opens a real store with one webhook to url and n person events.
func setup(t *testing.T, url string, n int) *testBundle {
	t.Helper()
	db := teststore.SQLite(t)
	ws := teststore.NewWorkspace(t, db, "default").Workspace
	hook := teststore.NewWebhook(t, db, ws.ID, url)
	b := &testBundle{db: db, ws: ws, hook: hook}
	b.createPeople(t, n)
	return b
}

// createPeople writes n person events, one a transaction.
func (b *testBundle) createPeople(t *testing.T, n int) {
	t.Helper()
	person := herald.StandardObjects()[0]
	for i := 0; i < n; i++ {
		in, _ := record.ParseInput(person, json.RawMessage(`{"name":{"firstName":"E"}}`), true)
		r, ev := record.New(person, b.ws.ID, "actor", in, time.Now())
		if err := b.db.CreateRecords(context.Background(), []*herald.Record{r}, []*herald.Event{ev}); err != nil {
			t.Fatal(err)
		}
	}
}

func (b *testBundle) deliveries(t *testing.T) []*herald.Delivery {
	t.Helper()
	ds, _, err := b.db.ListDeliveries(context.Background(), herald.DeliveryQuery{WorkspaceID: b.ws.ID, WebhookID: b.hook.ID, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	return ds
}

func (b *testBundle) lastAttempt(t *testing.T, d *herald.Delivery) *herald.Attempt {
	t.Helper()
	_, _, attempts, err := b.db.FindDelivery(context.Background(), b.ws.ID, d.ID)
	if err != nil || len(attempts) == 0 {
		t.Fatalf("attempts of %d: %v, %v", d.ID, attempts, err)
	}
	return attempts[len(attempts)-1]
}

// runEngine runs an engine until the test ends or stop is called.
func runEngine(t *testing.T, b *testBundle, cfg Config) (stop func()) {
	e := New(b.db, cfg)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = e.Run(ctx); close(done) }()
	stop = func() { cancel(); <-done }
	t.Cleanup(stop)
	return stop
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestFailedAttemptsAreExplained(t *testing.T) {
	t.Parallel()
	var redirected atomic.Int32
	target := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { redirected.Add(1) }))
	defer target.Close()
	tests := []struct {
		name    string
		handler http.HandlerFunc
		code    int
		err     string
	}{
		{"a redirect is not followed", func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, target.URL, http.StatusFound)
		}, 302, "HTTP 302: redirects are not followed"},
		{"no answer within the timeout", func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-r.Context().Done():
			case <-time.After(time.Second): // well past the 200ms timeout
			}
		}, 0, "timeout: no answer within 200ms"},
		{"a 4xx answer", func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusBadRequest)
			_, _ = w.Write([]byte(strings.Repeat("x", 10_000)))
		}, 400, "HTTP 400 Bad Request"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := httptest.NewServer(tc.handler)
			defer srv.Close()
			b := setup(t, srv.URL, 1)
			runEngine(t, b, Config{Schedule: []time.Duration{}, Timeout: 200 * time.Millisecond, PollInterval: 20 * time.Millisecond})
			var d *herald.Delivery
			waitFor(t, "the delivery to fail", func() bool { d = b.deliveries(t)[0]; return d.Status == herald.DeliveryFailed })
			a := b.lastAttempt(t, d)
			if a.StatusCode != tc.code || a.Error != tc.err || d.LastError != tc.err {
				t.Fatalf("attempt code %d error %q (delivery %q), want %d %q", a.StatusCode, a.Error, d.LastError, tc.code, tc.err)
			}
			if len(a.ResponseBody) > responseBodyLimit {
				t.Fatalf("kept %d bytes of the answer", len(a.ResponseBody))
			}
		})
	}
	if redirected.Load() != 0 {
		t.Fatal("a redirect was followed")
	}
}

func TestNextDelay(t *testing.T) {
	t.Parallel()
	s := []time.Duration{5 * time.Second, time.Minute}
	if d, ok := nextDelay(s, 1, 0, 0); !ok || d != 5*time.Second {
		t.Fatalf("after attempt 1: %s %v", d, ok)
	}
	if d, ok := nextDelay(s, 1, 0, 30*time.Second); !ok || d != 30*time.Second {
		t.Fatalf("a longer Retry-After must win: %s", d)
	}
	if d, _ := nextDelay(s, 2, 0, time.Second); d != time.Minute {
		t.Fatalf("a shorter Retry-After must not: %s", d)
	}
	if _, ok := nextDelay(s, 3, 0, 0); ok {
		t.Fatal("a third retry with two waits in the schedule")
	}
	for i := 0; i < 100; i++ {
		if d, _ := nextDelay(s, 2, 0.1, 0); d < 54*time.Second || d > 66*time.Second {
			t.Fatalf("jittered wait %s outside ±10%% of 1m", d)
		}
	}
	now := time.Now()
	for _, tc := range []struct {
		code   int
		header string
		want   time.Duration
	}{
		{429, "120", 2 * time.Minute},
		{503, now.Add(time.Hour).UTC().Format(http.TimeFormat), time.Hour},
		{500, "120", 0},
		{429, "soon", 0},
	} {
		resp := &http.Response{StatusCode: tc.code, Header: http.Header{"Retry-After": {tc.header}}}
		// An HTTP date has one-second resolution.
		if got := retryAfter(resp, now); (got - tc.want).Abs() > time.Second {
			t.Errorf("Retry-After %q on %d = %s, want %s", tc.header, tc.code, got, tc.want)
		}
	}
}

// An engine with room for one attempt goes from lane to lane: when an
// attempt ends with the engine full, another webhook's waiting claims may
// take its place, not only its own lane's.
func TestFullEngineServesEveryLane(t *testing.T) {
	t.Parallel()
	var inFlight, most atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := inFlight.Add(1)
		defer inFlight.Add(-1)
		for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
		}
		time.Sleep(10 * time.Millisecond)
	}))
	defer srv.Close()
	b := setup(t, srv.URL, 0)
	other := teststore.NewWebhook(t, b.db, b.ws.ID, srv.URL)
	b.createPeople(t, 5)
	runEngine(t, b, Config{MaxInFlight: 1, PollInterval: time.Hour})
	delivered := func(hookID string) int {
		ds, _, err := b.db.ListDeliveries(context.Background(), herald.DeliveryQuery{WorkspaceID: b.ws.ID, WebhookID: hookID, Status: herald.DeliveryDelivered, Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		return len(ds)
	}
	waitFor(t, "both webhooks' deliveries", func() bool { return delivered(b.hook.ID) == 5 && delivered(other.ID) == 5 })
	if m := most.Load(); m != 1 {
		t.Fatalf("%d attempts in flight at once, want 1", m)
	}
}

func TestShutdownFinishesInFlightAndReleasesTheRest(t *testing.T) {
	t.Parallel()
	started := make(chan struct{}, 10)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		started <- struct{}{}
		time.Sleep(300 * time.Millisecond)
	}))
	defer srv.Close()
	b := setup(t, srv.URL, 4)
	stop := runEngine(t, b, Config{PerEndpoint: 1, PollInterval: 20 * time.Millisecond})
	<-started
	stop() // while the first attempt is in flight
	var delivered, pending int
	for _, d := range b.deliveries(t) {
		switch d.Status {
		case herald.DeliveryDelivered:
			delivered++
		case herald.DeliveryPending:
			pending++
		}
	}
	if delivered != 1 || pending != 3 {
		t.Fatalf("after shutdown: %d delivered, %d pending; want the one in flight finished and 3 left", delivered, pending)
	}
	// Nothing stays leased: a new engine can claim the rest at once.
	due, err := b.db.DueWebhooks(context.Background(), time.Now())
	if err != nil || len(due) != 1 {
		t.Fatalf("after shutdown, due webhooks %v (%v): the rest must be released", due, err)
	}
}
