package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	neturl "net/url"
	"strings"
	"sync"
	"time"

	"github.com/heraldhq/herald"
	"github.com/heraldhq/herald/delivery"
	"github.com/heraldhq/herald/heapfloor"
	"github.com/heraldhq/herald/httpapi"
	"github.com/heraldhq/herald/metrics"
	"github.com/heraldhq/herald/netguard"
	"github.com/heraldhq/herald/procs"
	"github.com/heraldhq/herald/service"
	"github.com/heraldhq/herald/ui"
)

type serveConfig struct {
	addr, database, logFormat, logLevel string
	retrySchedule                       string
	timeout                             time.Duration
	perEndpoint                         int
	allowPrivate                        bool
	disableAfter, secretOverlap         time.Duration
	retention                           time.Duration
	lease                               time.Duration
	deliver, pprof                      bool
	publicURL                           string
}

// serveEnv names the environment variables behind serve's flags.
var serveEnv = map[string][]string{
	"addr":                  {"HERALD_ADDR"},
	"database":              {"HERALD_DATABASE_URL", "HERALD_DATABASE"},
	"log-format":            {"HERALD_LOG_FORMAT"},
	"log-level":             {"HERALD_LOG_LEVEL"},
	"retry-schedule":        {"HERALD_RETRY_SCHEDULE"},
	"delivery-timeout":      {"HERALD_DELIVERY_TIMEOUT"},
	"endpoint-concurrency":  {"HERALD_ENDPOINT_CONCURRENCY"},
	"allow-private-targets": {"HERALD_ALLOW_PRIVATE_TARGETS"},
	"disable-after":         {"HERALD_DISABLE_AFTER"},
	"secret-overlap":        {"HERALD_SECRET_OVERLAP"},
	"retention":             {"HERALD_RETENTION"},
	"lease":                 {"HERALD_LEASE"},
	"deliver":               {"HERALD_DELIVER"},
	"public-url":            {"HERALD_PUBLIC_URL"},
}

func serveFlags(stderr io.Writer) (*flag.FlagSet, *serveConfig) {
	c := &serveConfig{}
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.addr, "addr", "127.0.0.1:3000", "listen address (env HERALD_ADDR)")
	fs.StringVar(&c.database, "database", defaultDatabase, "SQLite file path, or postgres://user:pass@host/db (env HERALD_DATABASE_URL)")
	fs.StringVar(&c.logFormat, "log-format", "text", "log format: text or json (env HERALD_LOG_FORMAT)")
	fs.StringVar(&c.logLevel, "log-level", "info", "log level: debug, info, warn, error (env HERALD_LOG_LEVEL)")
	fs.StringVar(&c.retrySchedule, "retry-schedule", "5s,5m,30m,2h,5h,10h,10h", "waits before each retry, comma-separated (env HERALD_RETRY_SCHEDULE)")
	fs.DurationVar(&c.timeout, "delivery-timeout", 10*time.Second, "how long a receiver has to answer (env HERALD_DELIVERY_TIMEOUT)")
	fs.IntVar(&c.perEndpoint, "endpoint-concurrency", 16, "requests in flight per webhook (env HERALD_ENDPOINT_CONCURRENCY)")
	fs.BoolVar(&c.allowPrivate, "allow-private-targets", false,
		"let webhooks reach loopback, private and link-local addresses, for development and tests (env HERALD_ALLOW_PRIVATE_TARGETS=true)")
	fs.DurationVar(&c.disableAfter, "disable-after", 5*24*time.Hour,
		"disable a webhook whose deliveries have all failed for this long; 0 never (env HERALD_DISABLE_AFTER)")
	fs.DurationVar(&c.secretOverlap, "secret-overlap", 24*time.Hour,
		"how long the previous secret still signs after a rotation (env HERALD_SECRET_OVERLAP)")
	fs.DurationVar(&c.retention, "retention", 30*24*time.Hour,
		"how long finished deliveries, their attempts and events are kept; 0 forever (env HERALD_RETENTION)")
	fs.DurationVar(&c.lease, "lease", time.Minute,
		"how long a claimed delivery stays with a process that stops renewing it; after a crash another process takes over then (env HERALD_LEASE)")
	fs.BoolVar(&c.deliver, "deliver", true,
		"run the delivery workers; false serves the API only and leaves deliveries queued for other processes (env HERALD_DELIVER)")
	fs.StringVar(&c.publicURL, "public-url", "",
		"the address users reach Herald at, e.g. https://crm.example.com behind a proxy that ends TLS: printed links use it, and https makes the UI's cookie Secure (env HERALD_PUBLIC_URL)")
	fs.BoolVar(&c.pprof, "pprof", false, "serve Go's profiler at /debug/pprof/ without authentication, for performance work")
	fs.Usage = func() {
		fmt.Fprint(stderr, "Usage: herald serve [flags]\n\nRuns the REST API and the delivery workers.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	return fs, c
}

func newLogger(format, level string, w io.Writer) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level %q: use debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("--log-format %q: use text or json", format)
}

func serve(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs, c := serveFlags(stderr)
	if err := parseFlags(fs, args, getenv, serveEnv); err != nil {
		return err
	}
	log, err := newLogger(c.logFormat, c.logLevel, stderr)
	if err != nil {
		return err
	}
	schedule, err := delivery.ParseSchedule(c.retrySchedule)
	if err != nil {
		return err
	}

	store, err := openStore(ctx, c.database)
	if err != nil {
		return err
	}
	defer store.Close()
	if l, ok := store.(herald.EngineLocker); ok && c.deliver {
		if err := l.LockEngine(); err != nil {
			return err
		}
	}
	if v, ok := store.(herald.Vacuumer); ok {
		if err := v.Vacuuming(); err != nil {
			log.Warn("Herald does not vacuum the deliveries table itself", "reason", err)
		}
	}
	public, err := parsePublicURL(c.publicURL)
	if err != nil {
		return err
	}
	key, err := store.Secret(ctx, "delivery-ids", herald.DeliveryIDKeySize)
	if err != nil {
		return err
	}
	ids, err := herald.NewDeliveryIDs(key)
	if err != nil {
		return err
	}
	// Listen first: a busy port must fail before the first start makes its
	// workspace, whose first key would then never be shown.
	ln, err := net.Listen("tcp", c.addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", c.addr, err)
	}
	url := "http://" + ln.Addr().String()
	shown := url // the address links are printed with
	if public != nil {
		shown = public.String()
	}
	ws, err := bootstrap(ctx, store, shown, stdout)
	if err != nil {
		ln.Close()
		return err
	}
	fmt.Fprintf(stdout, "Web UI: %s%s/ (sign in with an API key)\n", shown, ui.Prefix)
	// Printed last: scripts and tests wait for this line.
	fmt.Fprintf(stdout, "Herald %s listening on %s (database %s)\n", version(), url, describeDatabase(c.database))

	guard := netguard.New(netguard.Options{AllowPrivate: c.allowPrivate})
	if c.allowPrivate {
		log.Warn("webhooks may target private and loopback addresses (" + netguard.Flag + ")")
	}
	meters := metrics.New(store, log)
	engine := delivery.New(store, delivery.Config{
		Observer: meters, DeliveryIDs: ids,
		Schedule: schedule, Timeout: c.timeout, PerEndpoint: c.perEndpoint, Version: version(), Logger: log,
		Transport:    delivery.NewTransport(delivery.DefaultMaxInFlight, guard.DialContext),
		DisableAfter: never(c.disableAfter), Retention: never(c.retention), Lease: c.lease,
	})
	services := service.New(service.Config{
		Store: store, Deliverer: engine, DeliveryIDs: ids, CheckTarget: guard.CheckURL, SecretOverlap: c.secretOverlap,
	})
	api := httpapi.New(httpapi.Config{Services: services, Store: store, Logger: log, Version: version(), Metrics: meters.Handler()})
	if c.deliver {
		api.Ready = engine.Ready
	}
	web, err := ui.New(ui.Config{Services: services, Sessions: store, Logger: log, Version: version(), PublicURL: public})
	if err != nil {
		ln.Close()
		return err
	}
	mux := http.NewServeMux()
	mux.Handle(ui.Prefix+"/", web)
	mux.Handle("GET /{$}", http.RedirectHandler(ui.Prefix+"/", http.StatusSeeOther))
	mux.Handle("/", api)
	if c.pprof {
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
		log.Warn("the profiler is served at /debug/pprof/ without authentication (--pprof)")
	}
	srv := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		// A test send waits for the receiver, up to the delivery timeout.
		WriteTimeout: c.timeout + 30*time.Second,
		IdleTimeout:  2 * time.Minute,
		ErrorLog:     slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}

	engineCtx, stopEngine := context.WithCancel(context.WithoutCancel(ctx))
	defer stopEngine()
	var wg sync.WaitGroup
	// engineDied is told when the engine stops before it was asked to: the
	// process must not go on answering 201 with nothing delivered.
	engineDied := make(chan error, 1)
	if c.deliver {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := engine.Run(engineCtx)
			if engineCtx.Err() == nil {
				if err == nil {
					err = errors.New("it returned while the process runs")
				}
				engineDied <- fmt.Errorf("delivery engine stopped: %w", err)
			}
		}()
	} else {
		log.Warn("delivery workers are off (--deliver=false): events are queued for other processes")
	}
	if getenv("GOMAXPROCS") == "" {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cfg := procs.Defaults()
			cfg.Logger = log
			if err := procs.Run(engineCtx, cfg); err != nil {
				log.Info("the scheduler keeps its default processor count", "reason", err)
			}
		}()
	}
	if getenv("GOGC") == "" {
		wg.Add(1)
		go func() {
			defer wg.Done()
			heapfloor.Run(engineCtx, heapfloor.Default)
		}()
	}
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	log.Info("herald started", "addr", url, "workspace", ws.Name)

	select {
	case err = <-serveErr:
	case err = <-engineDied:
		log.Error("DELIVERY ENGINE STOPPED: shutting the process down", "err", err)
		closeServer(srv, log)
	case <-ctx.Done():
		log.Info("shutting down: finishing requests and deliveries in flight")
		closeServer(srv, log)
	}
	// The API is closed, so no new events arrive: let the engine finish
	// what is in flight and release the rest.
	stopEngine()
	wg.Wait()
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	log.Info("herald stopped")
	return err
}

// requestGrace is how long requests in flight may finish at shutdown.
const requestGrace = 15 * time.Second

// closeServer stops taking requests and lets those in flight finish, for
// requestGrace; then it closes their connections, which cancels their
// contexts and so their store calls (a database that stopped answering
// would otherwise hold them, and the process, for ever).
func closeServer(srv *http.Server, log *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), requestGrace)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		log.Warn("requests still running at the end of the shutdown grace were cut off", "grace", requestGrace, "err", err)
		_ = srv.Close()
	}
}

// never maps the flags' "0 means never" onto delivery.Config's negative.
func never(d time.Duration) time.Duration {
	if d <= 0 {
		return -1
	}
	return d
}

// bootstrap makes the default workspace on the first start, and its first
// API key while it has none: a start that failed after making the
// workspace (a busy port, a crash) still shows a key the next time. Once
// the workspace has keys, it says how to get one.
func bootstrap(ctx context.Context, store herald.Store, url string, stdout io.Writer) (*herald.Workspace, error) {
	ws, created, err := store.EnsureWorkspace(ctx, "default")
	if err != nil {
		return nil, err
	}
	keys, err := store.ListAPIKeys(ctx, ws.ID)
	if err != nil {
		return nil, err
	}
	if len(keys) > 0 {
		fmt.Fprintf(stdout, "Workspace %q has API keys; its first was shown at the first start. For a new one: herald apikey create\n", ws.Name)
		return ws, nil
	}
	secret, key := herald.NewAPIKey(ws.ID, "default", time.Now())
	if err := store.CreateAPIKey(ctx, key); err != nil {
		return nil, err
	}
	what := "Created workspace %q. Its first API key, shown only once:"
	if !created {
		what = "Workspace %q has no API key yet. Its first, shown only once:"
	}
	fmt.Fprintf(stdout, what+"\n\nAPI key: %s\n\n", ws.Name, secret)
	fmt.Fprintf(stdout, "Try: curl -H 'Authorization: Bearer %s' %s/rest/people\n\n", secret, url)
	return ws, nil
}

// parsePublicURL checks --public-url: an http or https origin, without a
// path (Herald's routes are served from the root).
func parsePublicURL(raw string) (*neturl.URL, error) {
	if raw == "" {
		return nil, nil
	}
	u, err := neturl.Parse(strings.TrimSuffix(raw, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("--public-url %q: give the address users reach Herald at, such as https://crm.example.com", raw)
	}
	if u.Path != "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return nil, fmt.Errorf("--public-url %q: give the origin only (scheme and host), Herald's routes are served from its root", raw)
	}
	return u, nil
}
