package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/heraldhq/herald/procs"
	"github.com/heraldhq/herald/webhook"
)

// Config is what one bench run does.
type Config struct {
	// Scenario is steady, fanout, rate (latency is its older name),
	// backlog, slow or idle.
	Scenario string
	// Executable is the herald binary whose serve is measured.
	Executable string
	// Database is a PostgreSQL server (postgres://…) to measure on: each
	// phase gets a fresh database there. Empty: a SQLite file in a
	// temporary directory.
	Database string
	// Webhooks and Events are W and E; 0 takes the scenario's default.
	Webhooks, Events int
	// Batch is how many records one API request writes; Clients how many
	// requests are in flight at once (steady, fanout, backlog).
	Batch, Clients int
	// Rate is the events a second written for Duration (rate, slow), one
	// record per request; Duration is also how long idle measures.
	Rate     int
	Duration time.Duration
	// PerEndpoint is Herald's requests in flight per webhook.
	PerEndpoint int
	// CeilingConns are the connections of the bare client measuring the
	// ceiling.
	CeilingConns int
	// SlowDelay is how long the slow endpoint takes to answer.
	SlowDelay time.Duration
	// APIProcess writes through a second Herald that does not deliver
	// (rate and slow, on PostgreSQL).
	APIProcess bool
	// Profile, when set, is where a CPU profile of Herald, taken while it
	// delivers, is written, ProfileSeconds long.
	Profile        string
	ProfileSeconds int
	// FixedProcs keeps the ceiling's scheduler at its processor count, as
	// Herald's serve does when GOMAXPROCS is set; otherwise the ceiling at
	// a rate fits it to the load as serve does (package procs).
	FixedProcs bool
	// Log hears of the run's progress and Herald's own log.
	Log io.Writer
}

// Defaults of each scenario: webhooks and events.
var scenarioDefaults = map[string][2]int{
	"steady": {1, 100000}, "updates": {1, 20000}, "fanout": {100, 2000}, "rate": {1, 0}, "latency": {1, 0}, "backlog": {1, 1000000}, "slow": {10, 0}, "idle": {1, 0},
}

// Result is what a run measured; which fields are set depends on the
// scenario. Latencies are commit → receipt, in milliseconds; CPU is user
// and system time, in microseconds per delivery (or per request of the
// ceiling).
type Result struct {
	Scenario   string  `json:"scenario"`
	Database   string  `json:"database"`
	Webhooks   int     `json:"webhooks"`
	Events     int     `json:"events,omitempty"`
	RatePerSec int     `json:"ratePerSec,omitempty"`
	Seconds    float64 `json:"seconds,omitempty"`

	Deliveries       int64      `json:"deliveries"`
	Duplicates       int        `json:"duplicates"`
	BadSignatures    int        `json:"badSignatures"`
	DeliveriesPerSec float64    `json:"deliveriesPerSec,omitempty"`
	APIEventsPerSec  float64    `json:"apiEventsPerSec,omitempty"`
	Latency          *Latencies `json:"latencyMs,omitempty"`
	APILatency       *Latencies `json:"apiLatencyMs,omitempty"`
	PeakRSSMB        float64    `json:"peakRssMB,omitempty"`

	// HeraldCPU is Herald's processes'; DatabaseCPU the PostgreSQL
	// server's (nil on SQLite, which runs inside Herald, or when the
	// server is on another machine); CPU their sum.
	HeraldCPU   float64  `json:"heraldCpuUsPerDelivery,omitempty"`
	DatabaseCPU *float64 `json:"databaseCpuUsPerDelivery,omitempty"`
	CPU         float64  `json:"cpuUsPerDelivery,omitempty"`
	// BenchCPU is this process's: the API clients and the receiver.
	BenchCPU float64 `json:"benchCpuUsPerDelivery,omitempty"`

	// The ceiling: a bare client signing and POSTing requests shaped like
	// Herald's to the same receiver, Herald stopped; as fast as it can, or
	// (rate) at the run's rate, where only its CPU is reported.
	CeilingPerSec     float64  `json:"ceilingPerSec,omitempty"`
	CeilingCPU        float64  `json:"ceilingCpuUsPerRequest,omitempty"`
	BodyBytes         float64  `json:"bodyBytes,omitempty"`
	CeilingBodyBytes  float64  `json:"ceilingBodyBytes,omitempty"`
	RatioToCeiling    *float64 `json:"ratioToCeiling,omitempty"`
	CPURatioToCeiling *float64 `json:"cpuRatioToCeiling,omitempty"`

	// slow
	SlowDelaySec           float64    `json:"slowDelaySec,omitempty"`
	HealthyLatency         *Latencies `json:"healthyLatencyMs,omitempty"`
	HealthyLatencyWithSlow *Latencies `json:"healthyLatencyWithSlowMs,omitempty"`
	P99Ratio               float64    `json:"p99Ratio,omitempty"`

	// backlog
	SmallBacklog     int     `json:"smallBacklog,omitempty"`
	SmallDrainPerSec float64 `json:"smallDrainPerSec,omitempty"`
	DrainPerSec      float64 `json:"drainPerSec,omitempty"`
	DrainRatio       float64 `json:"drainRatio,omitempty"`
	DrainPeakRSSMB   float64 `json:"drainPeakRssMB,omitempty"`

	// idle: CPU seconds a minute with no traffic, Herald and database.
	IdleCPUSecPerMin *float64 `json:"idleCpuSecPerMin,omitempty"`
}

// run is one Run.
type run struct {
	cfg      Config
	cleanups []func()
}

// Run measures one scenario end to end: Herald's serve as a subprocess on
// a fresh database, writing through its API, delivering to a loopback
// receiver that verifies every signature.
func Run(ctx context.Context, cfg Config) (Result, error) {
	def, ok := scenarioDefaults[cfg.Scenario]
	if !ok {
		return Result{}, fmt.Errorf("scenario %q: use steady, updates, fanout, rate, backlog, slow or idle", cfg.Scenario)
	}
	if cfg.Webhooks <= 0 {
		cfg.Webhooks = def[0]
	}
	if cfg.Events <= 0 {
		cfg.Events = def[1]
	}
	if cfg.Batch < 1 || cfg.Batch > 60 || cfg.Clients < 1 || cfg.Rate < 1 {
		return Result{}, errors.New("batch must be 1 to 60, clients and rate at least 1")
	}
	if cfg.APIProcess && (cfg.Database == "" || (cfg.Scenario != "rate" && cfg.Scenario != "latency" && cfg.Scenario != "slow")) {
		return Result{}, errors.New("an API process needs a PostgreSQL database and the rate or slow scenario: processes share only a PostgreSQL database")
	}
	if cfg.Log == nil {
		cfg.Log = io.Discard
	}
	b := &run{cfg: cfg}
	defer func() {
		for _, f := range b.cleanups {
			f()
		}
	}()
	var r Result
	var err error
	switch cfg.Scenario {
	case "steady", "updates", "fanout":
		r, err = b.throughput(ctx)
	case "rate", "latency":
		r, err = b.rate(ctx)
	case "backlog":
		r, err = b.backlog(ctx)
	case "slow":
		r, err = b.slow(ctx)
	case "idle":
		r, err = b.idle(ctx)
	}
	if err != nil {
		return Result{}, fmt.Errorf("bench %s: %w", cfg.Scenario, err)
	}
	r.Scenario, r.Database, r.Webhooks = cfg.Scenario, "sqlite", cfg.Webhooks
	if cfg.Database != "" {
		r.Database = "postgres"
	}
	return r, nil
}

func (b *run) logf(format string, args ...any) {
	fmt.Fprintf(b.cfg.Log, "bench: "+format+"\n", args...)
}

// meter reads the CPU Herald's processes and the database have used.
type meter struct {
	procs []*heraldProc
	db    func() float64
}

// meter measures procs and, on PostgreSQL, db's server.
func (b *run) meter(ctx context.Context, db string, procs ...*heraldProc) *meter {
	m := &meter{procs: procs}
	if b.cfg.Database != "" {
		read, err := postgresCPU(ctx, db)
		if err != nil {
			b.logf("the database's CPU is not measured: %v", err)
		}
		m.db = read
	}
	return m
}

// cpuSample is what a meter read at one time.
type cpuSample struct{ herald, db float64 }

func (m *meter) read() cpuSample {
	var s cpuSample
	for _, p := range m.procs {
		s.herald += p.cpuSeconds()
	}
	if m.db != nil {
		s.db = m.db()
	}
	return s
}

// perDelivery fills r's CPU figures for n deliveries between two samples.
func (m *meter) perDelivery(r *Result, from, to cpuSample, n int64) {
	us := func(s float64) float64 { return round(s * 1e6 / float64(n)) }
	r.HeraldCPU = us(to.herald - from.herald)
	r.CPU = r.HeraldCPU
	if m.db != nil {
		db := us(to.db - from.db)
		r.DatabaseCPU, r.CPU = &db, round(r.HeraldCPU+db)
	}
}

// waitDelivered waits until the receiver has n distinct deliveries.
func waitDelivered(ctx context.Context, rc *Receiver, n int64) error {
	for rc.Unique() < n {
		if ctx.Err() != nil {
			return fmt.Errorf("%d of %d deliveries arrived: %w", rc.Unique(), n, ctx.Err())
		}
		time.Sleep(2 * time.Millisecond)
	}
	return nil
}

// operation is what the scenario's webhooks are sent.
func (b *run) operation() string {
	if b.cfg.Scenario == "updates" {
		return "person.updated"
	}
	return "person.created"
}

// hooks makes n webhooks to the receiver for operation, one path each.
func hooks(ctx context.Context, api *API, rc *Receiver, n int, prefix, operation string) error {
	for i := range n {
		if _, err := api.CreateWebhook(ctx, fmt.Sprintf("%s/%s/%d", rc.URL, prefix, i), rc.Secret, operation); err != nil {
			return err
		}
	}
	return nil
}

// ceilingRequests is how many requests the ceiling sends for a run of n
// deliveries: enough to measure, few enough to be quick.
func ceilingRequests(n int64) int {
	return int(min(max(n, 20000), 200000))
}

// ceiling measures the bare signed-POST rate against rc, Herald stopped,
// and the CPU per request it took this process (client and receiver).
func (b *run) ceiling(ctx context.Context, rc *Receiver, deliveries int64) (rate, cpuUs float64, err error) {
	rc.Reset()
	n := ceilingRequests(deliveries)
	cpu0 := selfCPUSeconds()
	rate, err = Ceiling(ctx, rc.URL+"/ceiling", rc.Secret, n, b.cfg.CeilingConns)
	if err == nil && rc.Stats().BadSigs > 0 {
		err = errors.New("the receiver refused the ceiling client's signatures")
	}
	return rate, (selfCPUSeconds() - cpu0) * 1e6 / float64(n), err
}

// stage is a receiver, a fresh database and a delivering Herald on it,
// with the configured webhooks to the receiver.
type stage struct {
	rc  *Receiver
	db  string
	p   *heraldProc
	api *API
}

func (b *run) stage(ctx context.Context) (*stage, error) {
	rc, err := NewReceiver(webhook.NewSecret())
	if err != nil {
		return nil, err
	}
	st := &stage{rc: rc}
	if st.db, err = b.database(ctx); err == nil {
		st.p, err = b.start(ctx, st.db, true)
	}
	if err == nil {
		st.api = st.p.api()
		err = hooks(ctx, st.api, rc, b.cfg.Webhooks, "w", b.operation())
	}
	if err != nil {
		st.close()
		return nil, err
	}
	return st, nil
}

func (st *stage) close() {
	if st.p != nil {
		st.p.stop()
	}
	st.rc.Close()
}

func (b *run) throughput(ctx context.Context) (Result, error) {
	c := b.cfg
	st, err := b.stage(ctx)
	if err != nil {
		return Result{}, err
	}
	defer st.close()
	rc, db, p, api := st.rc, st.db, st.p, st.api
	total := int64(c.Events) * int64(c.Webhooks)
	write := func() error { return api.WriteEvents(ctx, c.Events, c.Batch, c.Clients) }
	if c.Scenario == "updates" {
		// People to change, made first (the webhook is sent their
		// updates only): eight a client.
		ids, err := api.CreatePeople(ctx, 8*c.Clients)
		if err != nil {
			return Result{}, err
		}
		write = func() error { return api.UpdateEvents(ctx, ids, c.Events, c.Clients) }
	}
	b.logf("writing %d events for %d webhooks (%d deliveries), %d a request from %d clients", c.Events, c.Webhooks, total, c.Batch, c.Clients)
	m := b.meter(ctx, db, p)
	prof := b.profile(ctx, p)
	start, cpu0, self0 := time.Now(), m.read(), selfCPUSeconds()
	if err := write(); err != nil {
		return Result{}, err
	}
	written := time.Since(start)
	if err := waitDelivered(ctx, rc, total); err != nil {
		return Result{}, err
	}
	elapsed := time.Since(start)
	cpu1, self := m.read(), selfCPUSeconds()-self0
	if err := <-prof; err != nil {
		return Result{}, fmt.Errorf("profile: %w", err)
	}
	got, rss := rc.Stats(), p.peakRSS()
	p.stop()
	ceiling, ceilingCPU, err := b.ceiling(ctx, rc, total)
	if err != nil {
		return Result{}, err
	}
	rate := float64(total) / elapsed.Seconds()
	r := Result{
		Events: c.Events, Deliveries: got.Unique, Duplicates: got.Duplicates, BadSignatures: got.BadSigs,
		Seconds: round(elapsed.Seconds()), DeliveriesPerSec: round(rate), APIEventsPerSec: round(float64(c.Events) / written.Seconds()),
		Latency: &got.Latency, PeakRSSMB: round(rss), BenchCPU: round(self * 1e6 / float64(total)),
		CeilingPerSec: round(ceiling), CeilingCPU: round(ceilingCPU),
		BodyBytes: round(got.BodyBytes), CeilingBodyBytes: round(rc.Stats().BodyBytes),
	}
	m.perDelivery(&r, cpu0, cpu1, total)
	ratio, cpuRatio := round(rate/ceiling), round(r.CPU/ceilingCPU)
	r.RatioToCeiling, r.CPURatioToCeiling = &ratio, &cpuRatio
	return r, nil
}

// rateRun is what a run at a fixed rate measured.
type rateRun struct {
	stats      Stats
	apiLatency Latencies
	rss        float64
	result     Result
}

// atRate writes at the configured rate to W healthy webhooks (and one
// slow one when slow) and returns the receiver's figures, with the CPU
// per delivery of the healthy ones.
func (b *run) atRate(ctx context.Context, slow bool) (rateRun, error) {
	c := b.cfg
	st, err := b.stage(ctx)
	if err != nil {
		return rateRun{}, err
	}
	defer st.close()
	rc, db, p, api := st.rc, st.db, st.p, st.api
	rc.SlowDelay = c.SlowDelay
	procs := []*heraldProc{p}
	if c.APIProcess {
		writer, err := b.start(ctx, db, false)
		if err != nil {
			return rateRun{}, err
		}
		defer writer.stop()
		api.URL = writer.url // the key is the first process's: the workspace's only one
		procs = append(procs, writer)
	}
	if slow {
		if err := hooks(ctx, api, rc, 1, "slow", b.operation()); err != nil {
			return rateRun{}, err
		}
	}
	b.logf("writing %d events/s for %s to %d webhooks (slow endpoint: %v)", c.Rate, c.Duration, c.Webhooks, slow)
	m := b.meter(ctx, db, procs...)
	prof := b.profile(ctx, p)
	cpu0 := m.read()
	n, apiLatency, err := api.WriteAtRate(ctx, c.Rate, c.Duration)
	if err != nil {
		return rateRun{}, err
	}
	healthy := int64(n * c.Webhooks)
	// The slow endpoint's deliveries are counted too, but not waited for.
	for rc.Stats().Unique < healthy {
		if ctx.Err() != nil {
			return rateRun{}, ctx.Err()
		}
		time.Sleep(5 * time.Millisecond)
	}
	cpu1 := m.read()
	if err := <-prof; err != nil {
		return rateRun{}, fmt.Errorf("profile: %w", err)
	}
	out := rateRun{stats: rc.Stats(), apiLatency: apiLatency, rss: p.peakRSS()}
	m.perDelivery(&out.result, cpu0, cpu1, healthy)
	return out, nil
}

func (b *run) rate(ctx context.Context) (Result, error) {
	r, err := b.atRate(ctx, false)
	if err != nil {
		return Result{}, err
	}
	st := r.stats
	out := r.result
	out.RatePerSec, out.Seconds = b.cfg.Rate, b.cfg.Duration.Seconds()
	out.Deliveries, out.Duplicates, out.BadSignatures = st.Unique, st.Duplicates, st.BadSigs
	out.Latency, out.APILatency, out.PeakRSSMB = &st.Latency, &r.apiLatency, round(r.rss)
	if out.CeilingCPU, err = b.ceilingAtRate(ctx); err != nil {
		return Result{}, err
	}
	cpuRatio := round(out.CPU / out.CeilingCPU)
	out.CPURatioToCeiling = &cpuRatio
	return out, nil
}

// ceilingAtRate is the CPU per request of the bare signing client and its
// receiver at the run's rate of deliveries, for as long, Herald stopped:
// what one HTTP exchange costs, both its ends, at that rate. It is the
// floor of Herald's cost, which is the server of one exchange (the API's
// request) and the client of another (the delivery), and stores what
// happens in between. Its scheduler follows the load as serve's does, so
// that both sides of the ratio pay for a wake-up alike.
func (b *run) ceilingAtRate(ctx context.Context) (float64, error) {
	rc, err := NewReceiver(webhook.NewSecret())
	if err != nil {
		return 0, err
	}
	defer rc.Close()
	if !b.cfg.FixedProcs {
		fitted, stop := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- procs.Run(fitted, procs.Defaults()) }()
		defer func() {
			stop()
			if err := <-done; err != nil {
				b.logf("the ceiling kept its processors: %v", err)
			}
		}()
	}
	cpu0 := selfCPUSeconds()
	rate := b.cfg.Rate * b.cfg.Webhooks
	b.logf("the ceiling at %d requests/s for %s", rate, b.cfg.Duration)
	sent, err := CeilingAtRate(ctx, rc.URL+"/ceiling", rc.Secret, rate, b.cfg.Duration)
	if err == nil && rc.Stats().BadSigs > 0 {
		err = errors.New("the receiver refused the ceiling client's signatures")
	}
	if err != nil {
		return 0, fmt.Errorf("ceiling at %d/s: %w", rate, err)
	}
	return round((selfCPUSeconds() - cpu0) * 1e6 / float64(max(sent, 1))), nil
}

func (b *run) slow(ctx context.Context) (Result, error) {
	base, err := b.atRate(ctx, false)
	if err != nil {
		return Result{}, err
	}
	withSlow, err := b.atRate(ctx, true)
	if err != nil {
		return Result{}, err
	}
	return Result{
		RatePerSec: b.cfg.Rate, Seconds: b.cfg.Duration.Seconds(), SlowDelaySec: b.cfg.SlowDelay.Seconds(),
		HealthyLatency: &base.stats.Latency, HealthyLatencyWithSlow: &withSlow.stats.Latency,
		P99Ratio: round(withSlow.stats.Latency.P99 / max(base.stats.Latency.P99, 0.001)), PeakRSSMB: round(withSlow.rss),
	}, nil
}

// drain queues events with delivery off, then starts a delivering Herald
// and times the drain. It returns deliveries/s and the drainer's peak RSS.
func (b *run) drain(ctx context.Context, events int) (float64, float64, error) {
	rc, err := NewReceiver(webhook.NewSecret())
	if err != nil {
		return 0, 0, err
	}
	defer rc.Close()
	db, err := b.database(ctx)
	if err != nil {
		return 0, 0, err
	}
	writer, err := b.start(ctx, db, false)
	if err != nil {
		return 0, 0, err
	}
	api := writer.api()
	if err := hooks(ctx, api, rc, b.cfg.Webhooks, "w", b.operation()); err != nil {
		writer.stop()
		return 0, 0, err
	}
	b.logf("queueing %d events with delivery off", events)
	start := time.Now()
	err = api.WriteEvents(ctx, events, b.cfg.Batch, b.cfg.Clients)
	writer.stop()
	if err != nil {
		return 0, 0, err
	}
	b.logf("queued in %s; draining", time.Since(start).Round(time.Second))
	drainer, err := b.start(ctx, db, true)
	if err != nil {
		return 0, 0, err
	}
	defer drainer.stop()
	prof := b.profile(ctx, drainer)
	start = time.Now()
	if err := waitDelivered(ctx, rc, int64(events*b.cfg.Webhooks)); err != nil {
		return 0, 0, err
	}
	rate := float64(events*b.cfg.Webhooks) / time.Since(start).Seconds()
	if err := <-prof; err != nil {
		return 0, 0, fmt.Errorf("profile: %w", err)
	}
	return rate, drainer.peakRSS(), nil
}

func (b *run) backlog(ctx context.Context) (Result, error) {
	small := max(b.cfg.Events/100, 10000)
	profile := b.cfg.Profile
	b.cfg.Profile = "" // profile the big drain only
	smallRate, _, err := b.drain(ctx, small)
	b.cfg.Profile = profile
	if err != nil {
		return Result{}, err
	}
	rate, rss, err := b.drain(ctx, b.cfg.Events)
	if err != nil {
		return Result{}, err
	}
	return Result{
		Events: b.cfg.Events, SmallBacklog: small,
		SmallDrainPerSec: round(smallRate), DrainPerSec: round(rate), DrainRatio: round(rate / smallRate),
		DrainPeakRSSMB: round(rss),
	}, nil
}

// idle measures what Herald and its database spend with webhooks and no
// traffic, after a few seconds to settle.
func (b *run) idle(ctx context.Context) (Result, error) {
	st, err := b.stage(ctx)
	if err != nil {
		return Result{}, err
	}
	defer st.close()
	p := st.p
	m := b.meter(ctx, st.db, p)
	time.Sleep(3 * time.Second)
	b.logf("measuring %s with no traffic", b.cfg.Duration)
	cpu0 := m.read()
	select {
	case <-time.After(b.cfg.Duration):
	case <-ctx.Done():
		return Result{}, ctx.Err()
	}
	cpu1 := m.read()
	perMin := round((cpu1.herald - cpu0.herald + cpu1.db - cpu0.db) * float64(time.Minute) / float64(b.cfg.Duration))
	return Result{Seconds: b.cfg.Duration.Seconds(), IdleCPUSecPerMin: &perMin, PeakRSSMB: round(p.peakRSS())}, nil
}

func round(f float64) float64 { return float64(int64(f*100+0.5)) / 100 }
