package delivery

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/heraldhq/herald"
	"github.com/heraldhq/herald/record"
	"github.com/heraldhq/herald/webhook"
)

// claimCounter counts the deliveries claimed from a real store.
type claimCounter struct {
	herald.DeliveryStore
	claimed atomic.Int64
}

func (c *claimCounter) ClaimDeliveries(ctx context.Context, req herald.ClaimRequest) ([]*herald.Claim, error) {
	cs, err := c.DeliveryStore.ClaimDeliveries(ctx, req)
	c.claimed.Add(int64(len(cs)))
	return cs, err
}

// receiver records the record ids of what it receives, in order.
type receiver struct {
	mu    sync.Mutex
	order []string
	delay time.Duration
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var p struct {
		Data struct {
			ID string `json:"id"`
		} `json:"data"`
	}
	_ = json.NewDecoder(r.Body).Decode(&p)
	time.Sleep(rc.delay)
	rc.mu.Lock()
	rc.order = append(rc.order, p.Data.ID)
	rc.mu.Unlock()
}

func (rc *receiver) received() []string {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]string(nil), rc.order...)
}

// create writes one person through the store, as the API does, and
// returns its id.
func (b *testBundle) create(t *testing.T) string {
	t.Helper()
	person := herald.StandardObjects()[0]
	in, _ := record.ParseInput(person, json.RawMessage(`{"name":{"firstName":"New"}}`), true)
	r, ev := record.New(person, b.ws.ID, "actor", in, time.Now())
	if err := b.db.CreateRecords(context.Background(), []*herald.Record{r}, []*herald.Event{ev}); err != nil {
		t.Fatal(err)
	}
	return r.ID
}

func TestNewDeliveriesAreTakenWithoutAClaim(t *testing.T) {
	t.Parallel()
	rc := &receiver{}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	b := setup(t, srv.URL, 0)
	counter := &claimCounter{DeliveryStore: b.db}
	e := New(counter, Config{PollInterval: 20 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = e.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	waitFor(t, "the engine to take", func() bool { e.mu.Lock(); defer e.mu.Unlock(); return e.taking })

	const n = 20
	for range n {
		b.create(t)
	}
	waitFor(t, "every delivery recorded", func() bool {
		for _, d := range b.deliveries(t) {
			if d.Status != herald.DeliveryDelivered {
				return false
			}
		}
		return len(rc.received()) == n
	})
	if got := counter.claimed.Load(); got != 0 {
		t.Fatalf("%d deliveries were claimed; new ones must be taken as they are written", got)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.buffered != 0 || len(e.lanes) != 0 {
		t.Fatalf("after the work: %d claims buffered, %d lanes; want none", e.buffered, len(e.lanes))
	}
}

// New deliveries must not overtake a webhook's queue in the store: the
// engine takes them only once a claim has found the queue drained.
func TestNewDeliveriesDoNotOvertakeTheQueue(t *testing.T) {
	t.Parallel()
	rc := &receiver{delay: time.Millisecond}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	b := setup(t, srv.URL, 0)
	// More than a lane holds, queued before the engine starts.
	var queued []string
	for range 300 {
		queued = append(queued, b.create(t))
	}
	// One at a time, so that the order of receipt is the order of sending.
	runEngineOn(t, b, Config{PerEndpoint: 1, PollInterval: 20 * time.Millisecond})
	waitFor(t, "the drain to start", func() bool { return len(rc.received()) > 0 })
	fresh := map[string]bool{}
	for range 40 {
		fresh[b.create(t)] = true
		time.Sleep(time.Millisecond)
	}
	waitFor(t, "every delivery", func() bool { return len(rc.received()) == len(queued)+len(fresh) })
	got := rc.received()
	for i, id := range got[:len(queued)] {
		if fresh[id] {
			t.Fatalf("delivery %d of %d was a new event, sent before the queue had drained", i+1, len(got))
		}
	}
}

// runEngineOn runs an engine on b's store until the test ends, and
// returns it.
func runEngineOn(t *testing.T, b *testBundle, cfg Config) *Engine {
	e := New(b.db, cfg)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = e.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return e
}

// A delivery reserved before the engine stopped and handed over after is
// given back to the store, for the next engine.
func TestTakeAfterStopReleases(t *testing.T) {
	t.Parallel()
	b := setup(t, "http://127.0.0.1:1/", 1)
	e := New(b.db, Config{Owner: "stopping", PollInterval: 20 * time.Millisecond})
	now := time.Now()
	claims, err := b.db.ClaimDeliveries(context.Background(), herald.ClaimRequest{Owner: "stopping", Now: now, LeaseUntil: now.Add(time.Minute),
		Lanes: []herald.Lane{{WebhookID: b.hook.ID, Limit: 1}}})
	if err != nil || len(claims) != 1 {
		t.Fatalf("claim: %v, %v", claims, err)
	}
	e.startTaking()
	if !e.Reserve(b.hook.ID) {
		t.Fatal("an idle engine refused a reservation")
	}
	e.stopTaking()
	e.Take(claims)
	due, err := b.db.DueWebhooks(context.Background(), time.Now())
	if err != nil || len(due) != 1 {
		t.Fatalf("due webhooks after a late hand-over: %v, %v; want the delivery released", due, err)
	}
	if e.buffered != 0 || len(e.lanes) != 0 {
		t.Fatalf("after a late hand-over: %d buffered, %d lanes", e.buffered, len(e.lanes))
	}
}

// Webhooks that share a host share its connections: each lane's requests
// come back to a pool that keeps them all, instead of redialling.
func TestLanesOnOneHostReuseConnections(t *testing.T) {
	t.Parallel()
	var dialled atomic.Int64
	srv := httptest.NewUnstartedServer(&receiver{delay: time.Millisecond})
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			dialled.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()
	b := setup(t, srv.URL+"/0", 0)
	const hooks, perEndpoint = 8, 2
	for i := 1; i < hooks; i++ {
		now := time.Now()
		w := &herald.Webhook{ID: uuid.NewString(), WorkspaceID: b.ws.ID, TargetURL: fmt.Sprintf("%s/%d", srv.URL, i), Operations: []string{"*.*"},
			Secret: webhook.NewSecret(), Status: herald.WebhookActive, PayloadFormat: herald.PayloadHerald, CreatedAt: now, UpdatedAt: now}
		if err := b.db.CreateWebhook(context.Background(), w); err != nil {
			t.Fatal(err)
		}
	}
	const events = 100
	for range events {
		b.create(t)
	}
	runEngineOn(t, b, Config{PerEndpoint: perEndpoint, PollInterval: 20 * time.Millisecond})
	waitFor(t, "every delivery", func() bool {
		st, err := b.db.QueueStats(context.Background())
		return err == nil && st.Pending == 0
	})
	// A request may start just before another's connection is back in the
	// pool, so allow twice the concurrency; a pool of one lane's size made
	// over four times as many.
	if n := dialled.Load(); n > 2*hooks*perEndpoint {
		t.Fatalf("%d connections for %d deliveries, at most %d at a time: connections were not reused", n, hooks*events, hooks*perEndpoint)
	}
}

// A delivery that becomes due while its lane is too full to claim for is
// claimed once the lane drains, without waiting for the poll: the claim
// round that skips the lane marks it backlogged, so that completions wake
// the engine. The poll here is an hour, so only that wake-up sends it.
func TestDueDeliveryBehindAFullLaneIsNotForgotten(t *testing.T) {
	t.Parallel()
	gate := make(chan struct{})
	var mu sync.Mutex
	var got []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var p struct {
			Event string `json:"event"`
		}
		_ = json.NewDecoder(r.Body).Decode(&p)
		<-gate
		time.Sleep(time.Millisecond) // the drain outlasts the claim round
		mu.Lock()
		got = append(got, p.Event)
		mu.Unlock()
	}))
	defer srv.Close()
	b := setup(t, srv.URL, 0)
	e := runEngineOn(t, b, Config{PerEndpoint: 1, PollInterval: time.Hour})
	waitFor(t, "the engine to take", func() bool { e.mu.Lock(); defer e.mu.Unlock(); return e.taking })

	// The record's update waits in the store behind its creation, which
	// is in flight; a full lane's worth of other creations waits behind.
	first := b.create(t)
	person := herald.StandardObjects()[0]
	_, err := b.db.UpdateRecord(context.Background(), b.ws.ID, person.NameSingular, first, func(r *herald.Record) (*herald.Event, error) {
		in, err := record.ParseInput(person, json.RawMessage(`{"city":"Lyon"}`), false)
		if err != nil {
			return nil, err
		}
		return record.Apply(person, r, in, time.Now()), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	others := e.laneBuffer() - 1
	for range others {
		b.create(t)
	}
	// The creation completes: the update is due, but its lane still
	// holds more than half its buffer.
	gate <- struct{}{}
	waitFor(t, "the first delivery recorded", func() bool {
		st, err := b.db.QueueStats(context.Background())
		return err == nil && st.Pending == others+1
	})
	close(gate)
	waitFor(t, "every delivery, the update included", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(got) == others+2
	})
	mu.Lock()
	defer mu.Unlock()
	if got[0] != "person.created" || got[len(got)-1] != "person.updated" {
		t.Fatalf("received %s first and %s last; want the update last, after the lane drained", got[0], got[len(got)-1])
	}
}

// An outcome nothing can wait for lingers longer before it is recorded
// (unawaitedLinger). A write of its record that waits behind it says so
// (Taker.Waiting), and outcomes then go promptly again: the waiting
// delivery is scheduled only once its predecessor's outcome is written.
func TestAWaitingWriteHurriesOutcomes(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	var got atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		if got.Add(1) == 1 {
			<-release
		}
	}))
	defer srv.Close()
	b := setup(t, srv.URL, 0)
	e := New(b.db, Config{PollInterval: 20 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = e.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	defer close(release) // before the engine stops: it waits for the attempt
	waitFor(t, "the engine to take", func() bool { e.mu.Lock(); defer e.mu.Unlock(); return e.taking })

	id := b.create(t)
	waitFor(t, "the creation's attempt", func() bool { return got.Load() == 1 })
	e.mu.Lock()
	taken := len(e.held) == 1
	for _, c := range e.held {
		taken = taken && c.Taken
	}
	e.mu.Unlock()
	c := &completer{e: e}
	if !taken || !c.unawaited(finished{taken: true}, time.Now()) {
		t.Fatalf("a created record's delivery: taken %v; its outcome must count as awaited by nothing", taken)
	}
	if c.unawaited(finished{}, time.Now()) {
		t.Fatal("a claimed delivery's outcome counts as awaited by nothing, though later ones of its record may wait in the store")
	}
	person := herald.StandardObjects()[0]
	_, err := b.db.UpdateRecord(context.Background(), b.ws.ID, person.NameSingular, id, func(r *herald.Record) (*herald.Event, error) {
		in, err := record.ParseInput(person, json.RawMessage(`{"city":"Nice"}`), false)
		if err != nil {
			return nil, err
		}
		return record.Apply(person, r, in, time.Now()), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if c.unawaited(finished{taken: true}, time.Now()) {
		t.Fatal("an update waits behind the delivery in flight, and outcomes still linger as though nothing waited")
	}
	if !c.unawaited(finished{taken: true}, time.Now().Add(e.cfg.Timeout+time.Second)) {
		t.Fatal("a Timeout after the waiting write, outcomes still count as awaited")
	}
	release <- struct{}{}
	waitFor(t, "both delivered", func() bool {
		ds := b.deliveries(t)
		for _, d := range ds {
			if d.Status != herald.DeliveryDelivered {
				return false
			}
		}
		return len(ds) == 2
	})
}
