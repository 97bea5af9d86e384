package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver

	"github.com/heraldhq/herald/bench"
	"github.com/heraldhq/herald/webhook"
)

// benchConfig is what `herald bench` runs.
type benchConfig struct {
	scenario       string
	database       string
	webhooks       int
	events         int
	batch, clients int
	rate           int
	duration       time.Duration
	perEndpoint    int
	ceilingConns   int
	slowDelay      time.Duration
	profile        string
	profileSeconds int
	timeout        time.Duration
	// apiProcess: the events are written through a second process that
	// does not deliver, as in a deployment of API and delivery processes.
	apiProcess bool
}

const benchUsage = `Usage: herald bench [flags]

Runs Herald (this binary's serve, as a subprocess on a temp database) against
a loopback receiver that verifies every signature, and prints one JSON object:
deliveries/s, events/s the API accepted, commit→receipt latency, Herald's peak
RSS, and the ceiling a bare signing HTTP client reaches against the same
receiver in the same run, with Herald's ratio to it.

Scenarios:
  steady   W=1 webhook, E=100000 events written in batches (throughput)
  fanout   W=100 webhooks, E=2000 events
  latency  W=1, one event per request at --rate for --duration
  backlog  E=1000000 events queued with delivery off, then drained; compared
           with draining E/100 the same way
  slow     --rate for --duration to W=10 healthy webhooks, with and without one
           more that answers after --slow-delay; compares the healthy latency

Flags:
`

// benchDefaults are each scenario's webhooks and events.
var benchDefaults = map[string][2]int{
	"steady": {1, 100000}, "fanout": {100, 2000}, "latency": {1, 0}, "backlog": {1, 1000000}, "slow": {10, 0},
}

func benchCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c := &benchConfig{}
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.scenario, "scenario", "steady", "steady, fanout, latency, backlog or slow")
	fs.StringVar(&c.database, "database", "", "postgres://... to measure PostgreSQL; default a SQLite file in a temp dir")
	fs.IntVar(&c.webhooks, "webhooks", 0, "webhooks W (default per scenario)")
	fs.IntVar(&c.events, "events", 0, "events E (default per scenario)")
	fs.IntVar(&c.batch, "batch", 50, "records per API request when writing E events")
	fs.IntVar(&c.clients, "clients", 4, "concurrent API clients when writing E events")
	fs.IntVar(&c.rate, "rate", 1000, "events per second, for latency and slow")
	fs.DurationVar(&c.duration, "duration", 30*time.Second, "how long to write at --rate")
	fs.IntVar(&c.perEndpoint, "endpoint-concurrency", 32, "Herald's requests in flight per webhook")
	fs.IntVar(&c.ceilingConns, "ceiling-connections", 64, "connections of the bare client measuring the ceiling")
	fs.DurationVar(&c.slowDelay, "slow-delay", 5*time.Second, "how long the slow endpoint takes to answer")
	fs.StringVar(&c.profile, "cpuprofile", "", "write a CPU profile of Herald, taken while it delivers, to this file")
	fs.IntVar(&c.profileSeconds, "profile-seconds", 10, "length of the CPU profile in seconds (at most 30)")
	fs.DurationVar(&c.timeout, "timeout", 20*time.Minute, "give up after this long")
	fs.BoolVar(&c.apiProcess, "api-process", false, "latency and slow: write through a second Herald that does not deliver (--deliver=false), as API and delivery processes on one PostgreSQL database")
	fs.Usage = func() { fmt.Fprint(stderr, benchUsage); fs.PrintDefaults() }
	if err := fs.Parse(args); err != nil {
		return err
	}
	def, ok := benchDefaults[c.scenario]
	if !ok {
		return fmt.Errorf("--scenario %q: use steady, fanout, latency, backlog or slow", c.scenario)
	}
	if c.webhooks <= 0 {
		c.webhooks = def[0]
	}
	if c.events <= 0 {
		c.events = def[1]
	}
	if c.batch < 1 || c.batch > 60 || c.clients < 1 || c.rate < 1 {
		return errors.New("--batch must be 1 to 60, --clients and --rate at least 1")
	}
	if c.apiProcess && (c.database == "" || (c.scenario != "latency" && c.scenario != "slow")) {
		return errors.New("--api-process needs --database postgres://... and --scenario latency or slow: processes share only a PostgreSQL database")
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	b := &benchRun{cfg: c, stderr: stderr}
	defer func() {
		for _, f := range b.cleanups {
			f()
		}
	}()
	var out map[string]any
	var err error
	switch c.scenario {
	case "steady", "fanout":
		out, err = b.throughput(ctx)
	case "latency":
		out, err = b.latency(ctx)
	case "backlog":
		out, err = b.backlog(ctx)
	case "slow":
		out, err = b.slow(ctx)
	}
	if err != nil {
		return fmt.Errorf("bench %s: %w", c.scenario, err)
	}
	out["scenario"] = c.scenario
	out["database"] = "sqlite"
	if c.database != "" {
		out["database"] = "postgres"
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

// benchRun is one bench invocation.
type benchRun struct {
	cfg      *benchConfig
	stderr   io.Writer
	cleanups []func()
}

func (b *benchRun) logf(format string, args ...any) {
	fmt.Fprintf(b.stderr, "bench: "+format+"\n", args...)
}

// heraldProc is a `herald serve` subprocess.
type heraldProc struct {
	cmd  *exec.Cmd
	url  string
	key  string
	done chan struct{}
}

// database returns a fresh, empty database for one phase: a SQLite file
// in a temp dir, or a new database on the PostgreSQL server given. Both
// are removed when the bench ends.
func (b *benchRun) database(ctx context.Context) (string, error) {
	if b.cfg.database == "" {
		dir, err := os.MkdirTemp("", "herald-bench-")
		if err != nil {
			return "", err
		}
		b.cleanups = append(b.cleanups, func() { os.RemoveAll(dir) })
		return filepath.Join(dir, "herald.db"), nil
	}
	admin, err := sql.Open("pgx", b.cfg.database)
	if err != nil {
		return "", err
	}
	name := "herald_bench_" + strings.ToLower(rand.Text()[:12])
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		admin.Close()
		return "", fmt.Errorf("create a fresh database on %s: %w", describeDatabase(b.cfg.database), err)
	}
	b.cleanups = append(b.cleanups, func() {
		_, _ = admin.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)")
		admin.Close()
	})
	u, err := url.Parse(b.cfg.database)
	if err != nil {
		return "", err
	}
	u.Path = "/" + name
	return u.String(), nil
}

// start runs `herald serve` on db; deliver=false leaves deliveries queued.
func (b *benchRun) start(ctx context.Context, db string, deliver bool, extra ...string) (*heraldProc, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	args := append([]string{"serve", "--addr", "127.0.0.1:0", "--database", db, "--allow-private-targets",
		"--log-level", "warn", "--endpoint-concurrency", strconv.Itoa(b.cfg.perEndpoint),
		"--deliver=" + strconv.FormatBool(deliver)}, extra...)
	if b.cfg.profile != "" {
		args = append(args, "--pprof")
	}
	cmd := exec.CommandContext(ctx, exe, args...)
	cmd.Stderr = b.stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &heraldProc{cmd: cmd, done: make(chan struct{})}
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if k, ok := strings.CutPrefix(sc.Text(), "API key: "); ok {
				p.key = k
			}
			if _, u, ok := strings.Cut(sc.Text(), " listening on "); ok {
				p.url, _, _ = strings.Cut(u, " ")
				close(ready)
			}
		}
		_ = cmd.Wait()
		close(p.done)
	}()
	select {
	case <-ready:
		return p, nil
	case <-p.done:
		return nil, errors.New("herald serve exited before listening")
	case <-time.After(60 * time.Second):
		p.stop()
		return nil, errors.New("herald serve did not start in 60s")
	}
}

// peakRSS is the process's peak resident memory in MiB (VmHWM).
func (p *heraldProc) peakRSS() float64 {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
			return kb / 1024
		}
	}
	return 0
}

// cpuSeconds is the CPU time the process has used so far, user and
// system (/proc/PID/stat, in USER_HZ ticks, 100 a second on Linux).
func (p *heraldProc) cpuSeconds() float64 {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	// The command name, in parentheses, may hold spaces: count after it.
	_, rest, _ := strings.Cut(string(raw), ") ")
	f := strings.Fields(rest)
	if len(f) < 13 {
		return 0
	}
	user, _ := strconv.ParseFloat(f[11], 64)
	sys, _ := strconv.ParseFloat(f[12], 64)
	return (user + sys) / 100
}

func (p *heraldProc) stop() {
	_ = p.cmd.Process.Signal(os.Interrupt)
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

func (p *heraldProc) api() *bench.API {
	return &bench.API{URL: p.url, Key: p.key, Client: bench.NewClient(64)}
}

// profile fetches a CPU profile of p into the --cpuprofile file.
func (b *benchRun) profile(ctx context.Context, p *heraldProc) chan error {
	done := make(chan error, 1)
	if b.cfg.profile == "" {
		done <- nil
		return done
	}
	go func() {
		done <- func() error {
			url := fmt.Sprintf("%s/debug/pprof/profile?seconds=%d", p.url, min(max(b.cfg.profileSeconds, 1), 30))
			req, _ := http.NewRequestWithContext(ctx, "GET", url, nil)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				return err
			}
			defer resp.Body.Close()
			f, err := os.Create(b.cfg.profile)
			if err != nil {
				return err
			}
			if _, err := io.Copy(f, resp.Body); err != nil {
				f.Close()
				return err
			}
			b.logf("CPU profile of Herald written to %s (go tool pprof -top %s)", b.cfg.profile, b.cfg.profile)
			return f.Close()
		}()
	}()
	return done
}

// waitDelivered waits until the receiver has n distinct deliveries.
func waitDelivered(ctx context.Context, rc *bench.Receiver, n int64) error {
	for rc.Unique() < n {
		if ctx.Err() != nil {
			return fmt.Errorf("%d of %d deliveries arrived: %w", rc.Unique(), n, ctx.Err())
		}
		time.Sleep(2 * time.Millisecond)
	}
	return nil
}

// hooks makes n webhooks to the receiver, one path each.
func hooks(ctx context.Context, api *bench.API, rc *bench.Receiver, n int, prefix string) error {
	for i := range n {
		if _, err := api.CreateWebhook(ctx, fmt.Sprintf("%s/%s/%d", rc.URL, prefix, i), rc.Secret); err != nil {
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

// selfCPUSeconds is the CPU time this process (the receiver and the API
// clients, not Herald) has used so far, user and system.
func selfCPUSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

// ceiling measures the bare signed-POST rate against rc, Herald stopped.
func (b *benchRun) ceiling(ctx context.Context, rc *bench.Receiver, n int) (float64, error) {
	rc.Reset()
	n = ceilingRequests(int64(n))
	rate, err := bench.Ceiling(ctx, rc.URL+"/ceiling", rc.Secret, n, b.cfg.ceilingConns)
	if err == nil && rc.Stats().BadSigs > 0 {
		err = errors.New("the receiver refused the ceiling client's signatures")
	}
	return rate, err
}

func (b *benchRun) throughput(ctx context.Context) (map[string]any, error) {
	c := b.cfg
	rc, err := bench.NewReceiver(webhook.NewSecret())
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	db, err := b.database(ctx)
	if err != nil {
		return nil, err
	}
	p, err := b.start(ctx, db, true)
	if err != nil {
		return nil, err
	}
	defer p.stop()
	api := p.api()
	if err := hooks(ctx, api, rc, c.webhooks, "w"); err != nil {
		return nil, err
	}
	total := int64(c.events) * int64(c.webhooks)
	b.logf("writing %d events for %d webhooks (%d deliveries)", c.events, c.webhooks, total)
	prof := b.profile(ctx, p)
	start, cpu0, self0 := time.Now(), p.cpuSeconds(), selfCPUSeconds()
	if err := api.WriteEvents(ctx, c.events, c.batch, c.clients); err != nil {
		return nil, err
	}
	written := time.Since(start)
	if err := waitDelivered(ctx, rc, total); err != nil {
		return nil, err
	}
	elapsed := time.Since(start)
	if err := <-prof; err != nil {
		return nil, fmt.Errorf("profile: %w", err)
	}
	st, rss, cpu, self := rc.Stats(), p.peakRSS(), p.cpuSeconds()-cpu0, selfCPUSeconds()-self0
	p.stop()
	self1 := selfCPUSeconds()
	ceiling, err := b.ceiling(ctx, rc, int(total))
	if err != nil {
		return nil, err
	}
	ceilingCPU, ceilingBody := selfCPUSeconds()-self1, rc.Stats().BodyBytes
	rate := float64(total) / elapsed.Seconds()
	return map[string]any{
		"webhooks": c.webhooks, "events": c.events, "deliveries": st.Unique, "duplicates": st.Duplicates, "badSignatures": st.BadSigs,
		"seconds": round(elapsed.Seconds()), "deliveriesPerSec": round(rate), "apiEventsPerSec": round(float64(c.events) / written.Seconds()),
		"latencyMs": st.Latency, "peakRssMB": round(rss), "heraldCpuUsPerDelivery": round(cpu * 1e6 / float64(total)),
		"benchCpuUsPerDelivery": round(self * 1e6 / float64(total)),
		"ceilingPerSec":         round(ceiling), "ceilingCpuUsPerRequest": round(ceilingCPU * 1e6 / float64(ceilingRequests(total))),
		"bodyBytes": round(st.BodyBytes), "ceilingBodyBytes": round(ceilingBody),
		"ratioToCeiling": round(rate / ceiling),
	}, nil
}

// rateResult is what a run at a fixed rate measured.
type rateResult struct {
	stats      bench.Stats
	apiLatency bench.Latencies
	rss        float64
}

// atRate writes at the configured rate to W healthy webhooks (and one
// slow one when slow) and returns the receiver's figures.
func (b *benchRun) atRate(ctx context.Context, slow bool) (rateResult, error) {
	c := b.cfg
	rc, err := bench.NewReceiver(webhook.NewSecret())
	if err != nil {
		return rateResult{}, err
	}
	defer rc.Close()
	rc.SlowDelay = c.slowDelay
	db, err := b.database(ctx)
	if err != nil {
		return rateResult{}, err
	}
	p, err := b.start(ctx, db, true)
	if err != nil {
		return rateResult{}, err
	}
	defer p.stop()
	api := p.api()
	if c.apiProcess {
		writer, err := b.start(ctx, db, false)
		if err != nil {
			return rateResult{}, err
		}
		defer writer.stop()
		api.URL = writer.url // the key is the first process's: the workspace's only one
	}
	if err := hooks(ctx, api, rc, c.webhooks, "w"); err != nil {
		return rateResult{}, err
	}
	if slow {
		if err := hooks(ctx, api, rc, 1, "slow"); err != nil {
			return rateResult{}, err
		}
	}
	b.logf("writing %d events/s for %s to %d webhooks (slow endpoint: %v)", c.rate, c.duration, c.webhooks, slow)
	prof := b.profile(ctx, p)
	n, apiLatency, err := api.WriteAtRate(ctx, c.rate, c.duration)
	if err != nil {
		return rateResult{}, err
	}
	healthy := int64(n * c.webhooks)
	// The slow endpoint's deliveries are counted too, but not waited for.
	for rc.Stats().Unique < healthy {
		if ctx.Err() != nil {
			return rateResult{}, ctx.Err()
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := <-prof; err != nil {
		return rateResult{}, fmt.Errorf("profile: %w", err)
	}
	return rateResult{rc.Stats(), apiLatency, p.peakRSS()}, nil
}

func (b *benchRun) latency(ctx context.Context) (map[string]any, error) {
	r, err := b.atRate(ctx, false)
	if err != nil {
		return nil, err
	}
	st := r.stats
	return map[string]any{
		"webhooks": b.cfg.webhooks, "ratePerSec": b.cfg.rate, "seconds": b.cfg.duration.Seconds(),
		"deliveries": st.Unique, "duplicates": st.Duplicates, "badSignatures": st.BadSigs, "latencyMs": st.Latency,
		"apiLatencyMs": r.apiLatency, "peakRssMB": round(r.rss),
	}, nil
}

func (b *benchRun) slow(ctx context.Context) (map[string]any, error) {
	base, err := b.atRate(ctx, false)
	if err != nil {
		return nil, err
	}
	withSlow, err := b.atRate(ctx, true)
	if err != nil {
		return nil, err
	}
	return map[string]any{
		"webhooks": b.cfg.webhooks, "ratePerSec": b.cfg.rate, "seconds": b.cfg.duration.Seconds(), "slowDelaySec": b.cfg.slowDelay.Seconds(),
		"healthyLatencyMs": base.stats.Latency, "healthyLatencyWithSlowMs": withSlow.stats.Latency,
		"p99Ratio": round(withSlow.stats.Latency.P99 / max(base.stats.Latency.P99, 0.001)), "peakRssMB": round(withSlow.rss),
	}, nil
}

// drain queues events with delivery off, then starts a delivering Herald
// and times the drain. It returns deliveries/s and the drainer's peak RSS.
func (b *benchRun) drain(ctx context.Context, events int) (float64, float64, error) {
	rc, err := bench.NewReceiver(webhook.NewSecret())
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
	if err := hooks(ctx, api, rc, b.cfg.webhooks, "w"); err != nil {
		writer.stop()
		return 0, 0, err
	}
	b.logf("queueing %d events with delivery off", events)
	start := time.Now()
	err = api.WriteEvents(ctx, events, b.cfg.batch, b.cfg.clients)
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
	if err := waitDelivered(ctx, rc, int64(events*b.cfg.webhooks)); err != nil {
		return 0, 0, err
	}
	rate := float64(events*b.cfg.webhooks) / time.Since(start).Seconds()
	if err := <-prof; err != nil {
		return 0, 0, fmt.Errorf("profile: %w", err)
	}
	return rate, drainer.peakRSS(), nil
}

func (b *benchRun) backlog(ctx context.Context) (map[string]any, error) {
	small := max(b.cfg.events/100, 10000)
	profile := b.cfg.profile
	b.cfg.profile = "" // profile the big drain only
	smallRate, _, err := b.drain(ctx, small)
	b.cfg.profile = profile
	if err != nil {
		return nil, err
	}
	rate, rss, err := b.drain(ctx, b.cfg.events)
	if err != nil {
		return nil, err
	}
	return map[string]any{
		"webhooks": b.cfg.webhooks, "events": b.cfg.events, "smallBacklog": small,
		"smallDrainPerSec": round(smallRate), "drainPerSec": round(rate), "drainRatio": round(rate / smallRate),
		"drainPeakRssMB": round(rss),
	}, nil
}

func round(f float64) float64 { return float64(int64(f*100+0.5)) / 100 }
