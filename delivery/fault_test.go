package delivery

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/heraldhq/herald"
	"github.com/heraldhq/herald/record"
	"github.com/heraldhq/herald/store/faultstore"
	"github.com/heraldhq/herald/store/teststore"
)

func TestMain(m *testing.M) { os.Exit(teststore.Main(m)) }

// faultBundle is an engine over a real store, SQLite or PostgreSQL,
// wrapped so that its writes fail on demand, with one webhook to a
// receiver that counts what it gets.
type faultBundle struct {
	t     *testing.T
	store *faultstore.Store
	ws    *herald.Workspace
	hook  *herald.Webhook
	recv  *eventCounter
}

// eventCounter counts each event id it receives, answering 200 with
// answer.
type eventCounter struct {
	mu     sync.Mutex
	seen   map[string]int
	answer []byte
	// requests counts every request; wait, when set, is called before
	// each is answered.
	requests int
	wait     func(n int)
}

func (c *eventCounter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var p struct {
		ID string `json:"id"`
	}
	_ = json.NewDecoder(r.Body).Decode(&p)
	c.mu.Lock()
	c.requests++
	n, wait := c.requests, c.wait
	c.mu.Unlock()
	if wait != nil {
		wait(n)
	}
	c.mu.Lock()
	c.seen[p.ID]++
	answer := c.answer
	c.mu.Unlock()
	_, _ = w.Write(answer)
}

func (c *eventCounter) requestCount() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.requests
}

// duplicates counts the events received more than once.
func (c *eventCounter) duplicates() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, k := range c.seen {
		if k > 1 {
			n++
		}
	}
	return n
}

func (c *eventCounter) distinct() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.seen)
}

// eachEngine runs test against a fresh SQLite store and a fresh
// PostgreSQL one.
func eachEngine(t *testing.T, test func(t *testing.T, b *faultBundle)) {
	t.Helper()
	teststore.Each(t, func(t *testing.T, s herald.Store) {
		recv := &eventCounter{seen: map[string]int{}}
		srv := httptest.NewServer(recv)
		t.Cleanup(srv.Close)
		ws := teststore.NewWorkspace(t, s, "default")
		hook := teststore.NewWebhook(t, s, ws.ID, srv.URL)
		test(t, &faultBundle{t: t, store: faultstore.New(s), ws: ws.Workspace, hook: hook, recv: recv})
	})
}

// create writes n people, one transaction each, as the API does.
func (b *faultBundle) create(n int) {
	b.t.Helper()
	person := herald.StandardObjects()[0]
	for range n {
		in, _ := record.ParseInput(person, json.RawMessage(`{"name":{"firstName":"F"}}`), true)
		r, ev := record.New(person, b.ws.ID, "actor", in, time.Now())
		if err := b.store.CreateRecords(context.Background(), []*herald.Record{r}, []*herald.Event{ev}); err != nil {
			b.t.Fatal(err)
		}
	}
}

// start runs an engine over the faulty store until the test ends.
func (b *faultBundle) start(cfg Config) *Engine {
	if cfg.Lease == 0 {
		cfg.Lease = 3 * time.Second
	}
	cfg.PollInterval = 50 * time.Millisecond
	cfg.Schedule = []time.Duration{50 * time.Millisecond}
	cfg.Jitter = -1
	e := New(b.store, cfg)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = e.Run(ctx); close(done) }()
	b.t.Cleanup(func() { cancel(); <-done })
	return e
}

// pending counts the deliveries not finished yet.
func (b *faultBundle) pending() int {
	b.t.Helper()
	st, err := b.store.QueueStats(context.Background())
	if err != nil {
		b.t.Fatal(err)
	}
	return st.Pending
}

// allDelivered waits until the receiver has every one of n events and
// nothing is pending: what every fault test must end with, with no
// restart.
func (b *faultBundle) allDelivered(n int) {
	b.t.Helper()
	waitFor(b.t, "every event delivered and nothing pending", func() bool { return b.recv.distinct() == n && b.pending() == 0 })
}

// waitFailed waits until n calls of method were failed.
func (b *faultBundle) waitFailed(method string, n int) {
	b.t.Helper()
	waitFor(b.t, method+" to fail", func() bool { return b.store.Failed(method) >= n })
}

func TestFailedCompletionsAreRetriedUntilWritten(t *testing.T) {
	t.Parallel()
	eachEngine(t, func(t *testing.T, b *faultBundle) {
		b.store.Fail(faultstore.Complete, -1)
		e := b.start(Config{})
		b.create(20)
		// Past the retries that once gave up (four, within a second).
		b.waitFailed(faultstore.Complete, 8)
		if err := e.Ready(); err == nil || !strings.Contains(err.Error(), "cannot record attempts") {
			t.Fatalf("Ready while no outcome can be written = %v", err)
		}
		b.store.Heal()
		b.allDelivered(20)
		waitFor(t, "the engine ready again", func() bool { return e.Ready() == nil })
	})
}

func TestOutcomesThatCannotBeWrittenAreSentAgain(t *testing.T) {
	t.Parallel()
	eachEngine(t, func(t *testing.T, b *faultBundle) {
		// Longer than the engine retries outcomes (half the lease), and
		// releases fail too: only the lapse of leases it no longer extends
		// gives the deliveries back.
		b.store.Fail(faultstore.Complete, -1)
		b.store.Fail(faultstore.Release, -1)
		b.start(Config{Lease: time.Second})
		b.create(10)
		time.Sleep(1500 * time.Millisecond)
		b.waitFailed(faultstore.Release, 1)
		b.store.Heal()
		b.allDelivered(10)
	})
}

func TestOneRefusedOutcomeDoesNotHoldUpTheOthers(t *testing.T) {
	t.Parallel()
	eachEngine(t, func(t *testing.T, b *faultBundle) {
		b.create(30) // queued before the engine runs: claimed in one batch
		ds, _, err := b.store.ListDeliveries(context.Background(), herald.DeliveryQuery{WorkspaceID: b.ws.ID, WebhookID: b.hook.ID, Limit: 100})
		if err != nil || len(ds) != 30 {
			t.Fatalf("%d deliveries: %v", len(ds), err)
		}
		bad := ds[7].ID
		b.store.Refuse(bad, -1)
		b.start(Config{})
		waitFor(t, "the 29 others recorded while one is refused", func() bool { return b.pending() == 1 })
		// Recorded, not released and sent again: only the refused one is.
		if dup := b.recv.duplicates(); dup > 1 {
			t.Fatalf("%d events were sent more than once", dup)
		}
		b.store.Heal()
		b.allDelivered(30)
		_, _, attempts, err := b.store.FindDelivery(context.Background(), b.ws.ID, bad)
		if err != nil || len(attempts) == 0 {
			t.Fatalf("the refused delivery's attempts: %v, %v", attempts, err)
		}
	})
}

func TestFailedClaimsAreRetried(t *testing.T) {
	t.Parallel()
	eachEngine(t, func(t *testing.T, b *faultBundle) {
		b.create(15) // queued: only a claim finds them
		b.store.Fail(faultstore.Claim, -1)
		b.start(Config{})
		b.waitFailed(faultstore.Claim, 3)
		b.store.Heal()
		b.allDelivered(15)
	})
}

func TestAFailedStartIsRetriedAndNotReady(t *testing.T) {
	t.Parallel()
	eachEngine(t, func(t *testing.T, b *faultBundle) {
		b.create(5)
		b.store.Fail(faultstore.Recover, -1)
		e := b.start(Config{})
		b.waitFailed(faultstore.Recover, 2)
		if err := e.Ready(); err == nil || !strings.Contains(err.Error(), "cannot start") {
			t.Fatalf("Ready while the start fails = %v", err)
		}
		b.store.Heal()
		b.allDelivered(5)
		if err := e.Ready(); err != nil {
			t.Fatalf("Ready once running = %v", err)
		}
	})
}

func TestFailedLeaseRenewalsLoseNothing(t *testing.T) {
	t.Parallel()
	eachEngine(t, func(t *testing.T, b *faultBundle) {
		b.store.Fail(faultstore.Extend, -1)
		b.store.Fail(faultstore.Expire, -1)
		b.start(Config{Lease: 600 * time.Millisecond})
		b.create(10)
		b.waitFailed(faultstore.Extend, 2)
		b.store.Heal()
		b.allDelivered(10)
	})
}

func TestAnswersOfAnyBytesAreRecorded(t *testing.T) {
	t.Parallel()
	eachEngine(t, func(t *testing.T, b *faultBundle) {
		b.recv.mu.Lock()
		b.recv.answer = []byte("ok\x00\xff\xfe binary")
		b.recv.mu.Unlock()
		b.create(3)
		b.start(Config{})
		b.allDelivered(3)
		ds, _, err := b.store.ListDeliveries(context.Background(), herald.DeliveryQuery{WorkspaceID: b.ws.ID, WebhookID: b.hook.ID, Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		_, _, attempts, err := b.store.FindDelivery(context.Background(), b.ws.ID, ds[0].ID)
		if err != nil || len(attempts) != 1 {
			t.Fatalf("attempts %v: %v", attempts, err)
		}
		if got, want := attempts[0].ResponseBody, "ok\uFFFD\uFFFD binary"; got != want {
			t.Fatalf("response body kept as %q, want %q", got, want)
		}
	})
}

// TestLapsedClaimsAreNotSent: claims whose lease lapsed while they waited
// (their process frozen, or unable to extend them) may be another
// process's now; the engine hands them back instead of sending them,
// which could overtake that process's later events of the record.
func TestLapsedClaimsAreNotSent(t *testing.T) {
	t.Parallel()
	eachEngine(t, func(t *testing.T, b *faultBundle) {
		gate := make(chan struct{})
		var once sync.Once
		open := func() { once.Do(func() { close(gate) }) }
		t.Cleanup(open)
		b.recv.mu.Lock()
		b.recv.wait = func(n int) {
			if n == 1 {
				<-gate
			}
		}
		b.recv.mu.Unlock()
		// The engine can neither extend its leases nor claim: another
		// process takes its work over.
		b.store.Fail(faultstore.Extend, -1)
		b.store.Fail(faultstore.Expire, -1)
		b.store.Fail(faultstore.Claim, -1)
		e := b.start(Config{Lease: 500 * time.Millisecond, PerEndpoint: 1})
		// Written once the engine takes them: with claims failing, any
		// written before would wait in the store.
		waitFor(t, "the engine to take deliveries", func() bool { return e.Ready() == nil })
		b.create(5) // taken by the engine: one in flight, four waiting
		waitFor(t, "the first request", func() bool { return b.recv.requestCount() == 1 })
		time.Sleep(700 * time.Millisecond) // the leases lapse, unextended
		ctx := context.Background()
		if _, err := b.store.Store.ExpireLeases(ctx, time.Now()); err != nil {
			t.Fatal(err)
		}
		now := time.Now()
		other, err := b.store.Store.ClaimDeliveries(ctx, herald.ClaimRequest{Owner: "other", Now: now, LeaseUntil: now.Add(time.Hour),
			Lanes: []herald.Lane{{WebhookID: b.hook.ID, Limit: 10}}})
		if err != nil || len(other) != 5 {
			t.Fatalf("the other process claimed %d: %v", len(other), err)
		}
		open()
		time.Sleep(300 * time.Millisecond)
		if n := b.recv.requestCount(); n != 1 {
			t.Fatalf("%d requests: the engine sent claims another process holds", n)
		}
		ids := make([]int64, len(other))
		for i, c := range other {
			ids[i] = c.DeliveryID
		}
		if err := b.store.ReleaseClaims(ctx, "other", ids); err != nil {
			t.Fatal(err)
		}
		b.store.Heal()
		b.allDelivered(5)
	})
}
