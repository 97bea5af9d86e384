// Package delivery sends deliveries: it claims due work from the store lane
// by lane (one lane per webhook), POSTs each event with its signatures,
// and records every attempt, retrying on DESIGN.md §6's schedule.
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
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/heraldhq/herald"
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
	// Observer, when set, hears of every attempt (metrics).
	Observer Observer
	// Version goes in the User-Agent.
	Version string
	// Client sends the requests; default NewClient(MaxInFlight, nil).
	Client *http.Client
	Logger *slog.Logger
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
	if c.Client == nil {
		c.Client = NewClient(c.MaxInFlight, nil)
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
}

// Engine delivers. Create it with New and start it with Run.
type Engine struct {
	store  herald.DeliveryStore
	cfg    Config
	client *http.Client
	log    *slog.Logger
	bufs   sync.Pool
	wake   chan struct{}

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
}

// lane is one webhook's share of the engine.
type lane struct {
	inFlight int
	waiting  []*herald.Claim
	// reserved counts deliveries the store is writing leased to this
	// engine (Reserve), not handed over yet.
	reserved int
}

// held is how many claims the lane holds, in flight, waiting or reserved.
func (l *lane) held() int { return l.inFlight + len(l.waiting) + l.reserved }

// New returns an engine that claims from store.
func New(store herald.DeliveryStore, cfg Config) *Engine {
	cfg.setDefaults()
	ctx, cancel := context.WithCancel(context.Background())
	writeCtx, stopWrites := context.WithCancel(context.Background())
	e := &Engine{
		store:          store,
		cfg:            cfg,
		client:         cfg.Client,
		log:            cfg.Logger,
		bufs:           sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }},
		wake:           make(chan struct{}, 1),
		lanes:          map[string]*lane{},
		backlog:        map[string]bool{},
		held:           map[int64]*herald.Claim{},
		attemptCtx:     ctx,
		cancelAttempts: cancel,
		writeCtx:       writeCtx,
		stopWrites:     stopWrites,
		results:        make(chan finished, 4096),
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

func (e *Engine) setState(s string)   { e.state.Store(&s) }
func (e *Engine) setTrouble(s string) { e.trouble.Store(&s) }

// holdLocked notes claims the engine now has. A delivery already held
// under an older claim was claimed again because that claim's lease
// lapsed: the older one, if it still waits, is dropped, so that the
// delivery is sent once. e.mu must be held.
func (e *Engine) holdLocked(c *herald.Claim) {
	if old := e.held[c.DeliveryID]; old != nil && old != c {
		if l := e.lanes[old.Webhook.ID]; l != nil {
			if i := slices.Index(l.waiting, old); i >= 0 {
				l.waiting = slices.Delete(l.waiting, i, i+1)
				e.buffered--
			}
		}
	}
	e.held[c.DeliveryID] = c
}

// forget drops the claims outcomes were made under from the held set. A
// delivery held under a later claim (its outcome written, it was claimed
// again, with one more attempt) stays held.
func (e *Engine) forget(outcomes []herald.Outcome) {
	if len(outcomes) == 0 {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, o := range outcomes {
		if c := e.held[o.DeliveryID]; c != nil && c.Attempts+1 == o.Attempt.Number {
			delete(e.held, o.DeliveryID)
		}
	}
}

// heldIDs returns the ids of the claims the engine has.
func (e *Engine) heldIDs() []int64 {
	e.mu.Lock()
	defer e.mu.Unlock()
	ids := make([]int64, 0, len(e.held))
	for id := range e.held {
		ids = append(ids, id)
	}
	return ids
}

func (e *Engine) claimLoop(ctx context.Context) {
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		claimed, err := e.claimRound(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			e.log.Error("claim deliveries", "err", err)
			sleep(ctx, backoff)
			backoff = min(2*backoff, 5*time.Second)
			continue
		}
		backoff = 100 * time.Millisecond
		if claimed > 0 {
			continue // there may be more
		}
		e.idle(ctx)
	}
}

// idle sleeps until notified, until the next retry is due, or PollInterval.
func (e *Engine) idle(ctx context.Context) {
	wait := e.cfg.PollInterval
	if at, ok, err := e.store.NextDue(ctx); err == nil && ok {
		// A due time in the past means work is due but not claimable now
		// (its lane is full, or it waits behind an earlier event); the
		// completion that frees it will notify.
		if d := time.Until(at); d > 0 && d < wait {
			wait = d
		}
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-e.wake:
	case <-t.C:
	}
}

// claimRound claims for every due lane with room and starts what it can.
func (e *Engine) claimRound(ctx context.Context) (int, error) {
	now := time.Now()
	due, err := e.store.DueWebhooks(ctx, now)
	if err != nil || len(due) == 0 {
		return 0, err
	}
	e.mu.Lock()
	var lanes []herald.Lane
	// A lane holds up to buffer claims and is topped up once half of them
	// are done: fewer, larger claims keep the single SQLite writer free
	// for the API. Many lanes share maxBuffered, so memory stays bounded.
	buffer := min(e.laneBuffer(), max(maxBuffered/len(due), 2*e.cfg.PerEndpoint))
	for _, id := range due {
		room := buffer
		if l := e.lanes[id]; l != nil {
			room -= l.held()
		}
		if room >= buffer/2 {
			lanes = append(lanes, herald.Lane{WebhookID: id, Limit: room})
		} else {
			// Due work left in the store: the completions that drain the
			// lane must wake the engine for it (complete), or it would
			// wait for the poll.
			e.backlog[id] = true
		}
	}
	e.mu.Unlock()
	if len(lanes) == 0 {
		return 0, nil
	}
	claims, err := e.store.ClaimDeliveries(herald.Urgent(ctx), herald.ClaimRequest{Owner: e.cfg.Owner, Now: now, LeaseUntil: now.Add(e.cfg.Lease), Lanes: lanes})
	if err != nil {
		return 0, err
	}
	e.mu.Lock()
	got := map[string]int{}
	for _, c := range claims {
		e.holdLocked(c)
		l := e.laneLocked(c.Webhook.ID)
		l.waiting = append(l.waiting, c)
		got[c.Webhook.ID]++
	}
	e.buffered += len(claims)
	// A lane that got all it asked for may have more due in the store.
	for _, l := range lanes {
		if got[l.WebhookID] >= l.Limit {
			e.backlog[l.WebhookID] = true
		} else {
			delete(e.backlog, l.WebhookID)
		}
	}
	e.startWaitingLocked()
	e.mu.Unlock()
	return len(claims), nil
}

// laneBuffer is how many claims a lane holds, in flight and waiting, when
// few lanes are busy.
func (e *Engine) laneBuffer() int { return max(16*e.cfg.PerEndpoint, 256) }

// maxBuffered bounds the claims all lanes hold together, beyond those in
// flight, when many are busy: each holds its event's body in memory.
const maxBuffered = 8192

// laneLocked returns the webhook's lane, made if need be. e.mu must be held.
func (e *Engine) laneLocked(id string) *lane {
	l := e.lanes[id]
	if l == nil {
		l = &lane{}
		e.lanes[id] = l
	}
	return l
}

// dropIdleLocked forgets a lane that holds nothing. e.mu must be held.
func (e *Engine) dropIdleLocked(id string, l *lane) {
	if l.held() == 0 {
		delete(e.lanes, id)
	}
}

// startWaitingLocked starts waiting claims while their lane and the engine
// have room. A claim whose lease lapsed meanwhile (the process was frozen
// or starved, or could not extend it) is not sent: another process may
// have it now, and sending it too could overtake that process's later
// events of the record. e.mu must be held.
func (e *Engine) startWaitingLocked() {
	now := time.Now()
	lapsed := 0
	for id, l := range e.lanes {
		for len(l.waiting) > 0 && l.inFlight < e.cfg.PerEndpoint && e.inFlight < e.cfg.MaxInFlight {
			c := l.waiting[0]
			l.waiting[0] = nil
			l.waiting = l.waiting[1:]
			e.buffered--
			if now.After(c.LeaseUntil) {
				lapsed++
				if e.held[c.DeliveryID] == c {
					delete(e.held, c.DeliveryID)
				}
				continue
			}
			l.inFlight++
			e.inFlight++
			e.attempts.Add(1)
			go e.run(id, c)
		}
		e.dropIdleLocked(id, l)
	}
	if lapsed > 0 {
		// Not released: the lease lapsed, so any process, this one too,
		// may hold the delivery again, and a release would free its claim.
		// Expiry frees those nobody took.
		e.log.Warn("claims lapsed before they were sent: dropped, to be claimed again", "count", lapsed)
	}
}

func (e *Engine) run(laneID string, c *herald.Claim) {
	defer e.attempts.Done()
	res := e.send(e.attemptCtx, c)
	o := e.outcome(c, res, true)
	if !res.canceled {
		e.observe(c, o)
	}
	e.results <- finished{outcome: o, canceled: res.canceled}
	e.mu.Lock()
	l := e.lanes[laneID]
	l.inFlight--
	e.inFlight--
	var giveBack []*herald.Claim
	if o.DisableWebhook != "" {
		// The webhook is being disabled: what waits in its lane goes back
		// unattempted, to be sent if it is enabled again.
		giveBack = l.waiting
		e.buffered -= len(l.waiting)
		l.waiting = nil
		e.log.Warn("webhook disabled", "webhook", laneID, "reason", o.DisableWebhook)
	}
	e.dropIdleLocked(laneID, l)
	e.startWaitingLocked()
	e.mu.Unlock()
	// Not under e.mu: the completer may be waiting for the writer, held by
	// a transaction that waits for e.mu to reserve.
	for _, w := range giveBack {
		e.results <- finished{outcome: herald.Outcome{DeliveryID: w.DeliveryID, Attempt: herald.Attempt{Number: w.Attempts + 1}}, canceled: true}
	}
}

// finished is an attempt on its way to the store.
type finished struct {
	outcome herald.Outcome
	// canceled attempts were cut short by shutdown: released, not recorded.
	canceled bool
}

// outcome decides what becomes of a delivery after an attempt.
func (e *Engine) outcome(c *herald.Claim, res result, retry bool) herald.Outcome {
	o := herald.Outcome{DeliveryID: c.DeliveryID, WebhookID: c.Webhook.ID, Owner: e.cfg.Owner, Attempt: res.attempt, Status: herald.DeliveryFailed}
	switch {
	case res.attempt.Succeeded():
		o.Status = herald.DeliveryDelivered
	case res.attempt.StatusCode == http.StatusGone:
		// Standard Webhooks: 410 means the receiver is gone for good.
		o.DisableWebhook = herald.ReasonGone
	default:
		if d, ok := nextDelay(e.cfg.Schedule, c.Round+1, e.cfg.Jitter, res.retryAfter); ok && retry {
			o.Status, o.NextAttemptAt = herald.DeliveryPending, time.Now().Add(d)
		}
	}
	return o
}

func (e *Engine) observe(c *herald.Claim, o herald.Outcome) {
	if e.cfg.Observer != nil {
		e.cfg.Observer.Attempted(c, o)
	}
}

// SendNow makes one attempt of a claim outside the lanes, with no retry,
// and records it: the test-event path, where the caller waits.
func (e *Engine) SendNow(ctx context.Context, c *herald.Claim) (herald.Outcome, error) {
	// Held while it is sent, so that its lease is extended like the
	// engine's own claims, with which it shares the owner.
	e.mu.Lock()
	e.holdLocked(c)
	e.mu.Unlock()
	o := e.outcome(c, e.send(ctx, c), false)
	defer e.forget([]herald.Outcome{o})
	e.observe(c, o)
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), completeTimeout)
	defer cancel()
	if err := e.store.CompleteDeliveries(wctx, []herald.Outcome{o}); err != nil {
		return o, err
	}
	return o, nil
}

// extendLeases keeps the claims this engine holds alive while it runs,
// and frees the claims whose lease lapsed: those of processes that
// stopped renewing them, and any of its own it no longer holds.
func (e *Engine) extendLeases(ctx context.Context) {
	t := time.NewTicker(e.cfg.Lease / 3)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			e.renewLeases(ctx)
		}
	}
}

func (e *Engine) renewLeases(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, completeTimeout)
	defer cancel()
	until := time.Now().Add(e.cfg.Lease)
	extended, err := e.store.ExtendLeases(ctx, e.cfg.Owner, e.heldIDs(), until)
	if err != nil && ctx.Err() == nil {
		e.log.Error("extend leases", "err", err)
	}
	// Only what was extended is still sure to be this engine's: a claim
	// another process took over while this one was frozen keeps its old
	// lease, and is not sent if it is still waiting (startWaitingLocked).
	e.mu.Lock()
	for _, id := range extended {
		if c := e.held[id]; c != nil {
			c.LeaseUntil = until
		}
	}
	e.mu.Unlock()
	n, err := e.store.ExpireLeases(ctx, time.Now())
	if err != nil && ctx.Err() == nil {
		e.log.Error("expire leases", "err", err)
	}
	if n > 0 {
		e.log.Info("took over deliveries whose lease lapsed", "count", n)
		e.Notify()
	}
}

// releaseWaiting hands back claims that never started, within the
// shutdown grace: if the database does not answer, their leases lapse.
func (e *Engine) releaseWaiting() {
	e.mu.Lock()
	var ids []int64
	for _, l := range e.lanes {
		for _, c := range l.waiting {
			ids = append(ids, c.DeliveryID)
			delete(e.held, c.DeliveryID)
		}
		e.buffered -= len(l.waiting)
		l.waiting = nil
	}
	e.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), e.cfg.ShutdownGrace)
	defer cancel()
	if err := e.store.ReleaseClaims(ctx, e.cfg.Owner, ids); err != nil {
		e.log.Error("release claims at shutdown; they go again once their lease lapses", "count", len(ids), "err", err)
	}
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
