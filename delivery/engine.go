// Package delivery sends deliveries: it claims due work from the store lane
// by lane (one lane per webhook; claim.go), POSTs each event with its
// signatures (attempt.go), records every attempt (complete.go) and keeps
// the leases of what it holds (lease.go), retrying on DESIGN.md §6's
// schedule.
//
// Isolation comes from the lanes: a lane holds at most PerEndpoint
// attempts in flight and as many claimed deliveries waiting, and claims are
// made per lane, so an endpoint that hangs until the timeout fills only
// its own lane. Per-record order comes from the store, which never hands
// out a delivery while an earlier one of the same record to the same
// webhook is pending.
//
// New deliveries mostly skip the claim: the engine is the store's
// herald.Taker, and takes each one it has room for as the API writes it
// (taker.go).
package delivery

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/heraldhq/herald"
	"github.com/heraldhq/herald/webhook"
)

// Config tunes an Engine. Zero fields take the defaults noted.
type Config struct {
	// Owner names this engine's leases; default host:pid:random.
	Owner string
	// Schedule is the wait before each retry; len(Schedule)+1 attempts in
	// all. Default DefaultSchedule.
	Schedule []time.Duration
	// Jitter spreads retries by ±Jitter of their wait; default 0.1, and
	// negative for none.
	Jitter float64
	// Timeout bounds one attempt, answer included; default 10s.
	Timeout time.Duration
	// PerEndpoint bounds the attempts in flight to one webhook; default 16.
	PerEndpoint int
	// MaxInFlight bounds attempts in flight overall; default
	// DefaultMaxInFlight.
	MaxInFlight int
	// Lease is how long a claim lasts unless extended; default 1m. Leases
	// are extended while the engine lives, so it only matters after a
	// crash (on PostgreSQL: how soon another process takes over).
	Lease time.Duration
	// PollInterval is the longest the engine sleeps without being
	// notified; default 1s.
	PollInterval time.Duration
	// ShutdownGrace bounds how long Run waits for attempts in flight once
	// its context ends; default Timeout.
	ShutdownGrace time.Duration
	// DisableAfter disables a webhook whose attempts have all failed for
	// this long; default 5 days, negative never.
	DisableAfter time.Duration
	// Retention is how long finished deliveries, their attempts and old
	// events are kept; default 30 days, negative forever.
	Retention time.Duration
	// MaintenanceInterval is how often auto-disable and pruning run;
	// default 1m.
	MaintenanceInterval time.Duration
	// DeliveryIDs makes the public id a delivery.exhausted event names;
	// default one under a random key (serve passes the API's).
	DeliveryIDs *herald.DeliveryIDs
	// Observer, when set, hears of every attempt (metrics).
	Observer Observer
	// Version goes in the User-Agent.
	Version string
	// Transport sends the requests, and is never asked to follow a
	// redirect; default NewTransport(MaxInFlight, nil).
	Transport http.RoundTripper
	Logger    *slog.Logger
}

// DefaultMaxInFlight is how many attempts an engine makes at once unless
// Config.MaxInFlight says otherwise.
const DefaultMaxInFlight = 2048

// Observer hears of every attempt the engine makes and what it decided.
type Observer interface {
	Attempted(c *herald.Claim, o herald.Outcome)
}

func (c *Config) setDefaults() {
	if c.Owner == "" {
		host, _ := os.Hostname()
		b := make([]byte, 4)
		_, _ = rand.Read(b)
		c.Owner = fmt.Sprintf("%s:%d:%s", host, os.Getpid(), hex.EncodeToString(b))
	}
	if c.Schedule == nil {
		c.Schedule = DefaultSchedule
	}
	if c.Jitter == 0 {
		c.Jitter = 0.1
	}
	if c.Timeout <= 0 {
		c.Timeout = 10 * time.Second
	}
	if c.PerEndpoint <= 0 {
		c.PerEndpoint = 16
	}
	if c.MaxInFlight <= 0 {
		c.MaxInFlight = DefaultMaxInFlight
	}
	if c.Lease <= 0 {
		c.Lease = time.Minute
	}
	if c.PollInterval <= 0 {
		c.PollInterval = time.Second
	}
	if c.ShutdownGrace <= 0 {
		c.ShutdownGrace = c.Timeout
	}
	if c.DisableAfter == 0 {
		c.DisableAfter = 5 * 24 * time.Hour
	}
	if c.Retention == 0 {
		c.Retention = 30 * 24 * time.Hour
	}
	if c.MaintenanceInterval <= 0 {
		c.MaintenanceInterval = time.Minute
	}
	if c.Transport == nil {
		c.Transport = NewTransport(c.MaxInFlight, nil)
	}
	if c.DeliveryIDs == nil {
		key := make([]byte, herald.DeliveryIDKeySize)
		_, _ = rand.Read(key)
		c.DeliveryIDs, _ = herald.NewDeliveryIDs(key) // a key of the right size never fails
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
}

// Engine delivers. Create it with New and start it with Run.
type Engine struct {
	store     herald.DeliveryStore
	cfg       Config
	transport http.RoundTripper
	log       *slog.Logger
	bufs      sync.Pool
	// heads hold the kept part of answers as they are read.
	heads  sync.Pool
	signer webhook.Signer
	wake   chan struct{}
	// hurry interrupts a completer that lingers for outcomes nothing
	// waits for, and awaitedUntil (unix nanoseconds) is until when every
	// outcome counts as awaited: see Waiting.
	hurry        chan struct{}
	awaitedUntil atomic.Int64

	mu       sync.Mutex
	lanes    map[string]*lane
	inFlight int
	// buffered counts the claims held, reserved included, that are not in
	// flight: each holds its event's body in memory.
	buffered int
	// taking is set while the engine takes new deliveries from the store.
	taking bool
	// backlog marks the webhooks whose queue in the store may hold due
	// deliveries: new ones are not taken then, or they would overtake them.
	backlog map[string]bool
	// held maps each delivery the engine has a claim of to that claim,
	// from the claim or Take until its outcome is written or it is handed
	// back: only these have their leases extended (complete.go).
	held map[int64]*herald.Claim
	// refillAt is the earliest a throttled lane, skipped by the last
	// claim round, wants claiming again; turnAt and turnTimer the next
	// turn of a throttled claim waiting in a lane, when it is started.
	refillAt  time.Time
	turnAt    time.Time
	turnTimer *time.Timer
	// state says why the engine is not delivering, or is empty while it
	// delivers (Ready); trouble, set by the completer, says why it cannot
	// record what it sends.
	state, trouble atomic.Pointer[string]
	// attemptCtx outlives Run's context so that attempts in flight can
	// finish during shutdown; cancelAttempts ends them after the grace.
	attemptCtx     context.Context
	cancelAttempts context.CancelFunc
	// writeCtx is what the completer's writes are made under while the
	// engine runs. It ends ShutdownGrace after shutdown begins: a write
	// the database does not answer then holds the shutdown no longer
	// than that, not for its whole timeout; the last try of what it held
	// has a grace of its own.
	writeCtx   context.Context
	stopWrites context.CancelFunc
	attempts   sync.WaitGroup
	results    chan finished
	// starts hands an attempt to an idle attempter, and handover, while
	// an attempter gives back its room, is where the attempt that room
	// starts goes instead (see launchLocked).
	starts   chan start
	handover *start
	// attempters counts the attempter goroutines alive.
	attempters atomic.Int32
}

// start is an attempt of c in lane laneID, for an attempter.
type start struct {
	laneID string
	c      *herald.Claim
}

// New returns an engine that claims from store.
func New(store herald.DeliveryStore, cfg Config) *Engine {
	cfg.setDefaults()
	ctx, cancel := context.WithCancel(context.Background())
	writeCtx, stopWrites := context.WithCancel(context.Background())
	e := &Engine{
		store:          store,
		cfg:            cfg,
		transport:      cfg.Transport,
		log:            cfg.Logger,
		bufs:           sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }},
		heads:          sync.Pool{New: func() any { return new([responseBodyLimit]byte) }},
		wake:           make(chan struct{}, 1),
		hurry:          make(chan struct{}, 1),
		lanes:          map[string]*lane{},
		backlog:        map[string]bool{},
		held:           map[int64]*herald.Claim{},
		attemptCtx:     ctx,
		cancelAttempts: cancel,
		writeCtx:       writeCtx,
		stopWrites:     stopWrites,
		results:        make(chan finished, 4096),
		starts:         make(chan start),
	}
	e.setState("not started")
	return e
}

// Owner is the name under which the engine holds leases.
func (e *Engine) Owner() string { return e.cfg.Owner }

// LeaseUntil is when a claim made now by this engine lapses.
func (e *Engine) LeaseUntil(now time.Time) time.Time { return now.Add(e.cfg.Lease) }

// Notify tells the engine that new deliveries may be due. It never blocks.
func (e *Engine) Notify() {
	select {
	case e.wake <- struct{}{}:
	default:
	}
}

// Run delivers until ctx ends, then stops claiming, lets attempts in flight
// finish (up to ShutdownGrace), records them, and releases what it had
// claimed but not started. A start that fails (the database refuses the
// recovery of old claims) is retried with backoff, and Ready says why the
// engine is not delivering meanwhile; Run returns only when ctx ends.
func (e *Engine) Run(ctx context.Context) error {
	e.setState("starting")
	defer e.setState("stopped")
	if !e.recover(ctx) {
		return nil
	}
	var bg sync.WaitGroup
	bg.Add(3)
	completerDone := make(chan struct{})
	go func() { defer bg.Done(); e.complete(completerDone) }()
	leaseCtx, stopLeases := context.WithCancel(context.Background())
	go func() { defer bg.Done(); e.extendLeases(leaseCtx) }()
	go func() { defer bg.Done(); e.maintain(ctx) }()

	e.startTaking()
	e.setState("")
	e.claimLoop(ctx)
	e.setState("shutting down")
	defer time.AfterFunc(e.cfg.ShutdownGrace, e.stopWrites).Stop()

	// Shutdown: hand back what never started, wait for what did.
	e.stopTaking()
	e.releaseWaiting()
	done := make(chan struct{})
	go func() { e.attempts.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(e.cfg.ShutdownGrace):
		e.log.Warn("shutdown grace over: canceling attempts in flight", "grace", e.cfg.ShutdownGrace)
		e.cancelAttempts()
		<-done
	}
	close(completerDone)
	stopLeases()
	bg.Wait()
	e.cancelAttempts()
	return nil
}

// recover frees the claims that stopped processes left, retrying until it
// succeeds or ctx ends (false).
func (e *Engine) recover(ctx context.Context) bool {
	backoff := 100 * time.Millisecond
	for {
		n, err := e.store.RecoverClaims(ctx, time.Now())
		if err == nil {
			if n > 0 {
				e.log.Info("took over deliveries left claimed by a stopped process", "count", n)
			}
			return true
		}
		if ctx.Err() != nil {
			return false
		}
		e.setState("cannot start: " + err.Error())
		e.log.Error("DELIVERY ENGINE CANNOT START: nothing is delivered until it does; retrying", "in", backoff, "err", err)
		sleep(ctx, backoff)
		backoff = min(2*backoff, 5*time.Second)
	}
}

// Ready reports whether the engine delivers: nil while it runs and can
// record what it sends, otherwise an error saying why not (/readyz).
func (e *Engine) Ready() error {
	if s := *e.state.Load(); s != "" {
		return fmt.Errorf("delivery engine %s", s)
	}
	if t := e.trouble.Load(); t != nil && *t != "" {
		return fmt.Errorf("delivery engine %s", *t)
	}
	return nil
}

func (e *Engine) setState(s string) { e.state.Store(&s) }

func (e *Engine) setTrouble(s string) { e.trouble.Store(&s) }

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
