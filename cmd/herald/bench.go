package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/heraldhq/herald/bench"
	"github.com/heraldhq/herald/heapfloor"
)

const benchUsage = `Usage: herald bench [flags]

Runs Herald (this binary's serve, as a subprocess on a temp database) against
a loopback receiver that verifies every signature, and prints one JSON object:
deliveries/s, events/s the API accepted, commit→receipt latency, Herald's peak
RSS, CPU per delivery (Herald's, and PostgreSQL's when it runs on this
machine), and the ceiling a bare signing HTTP client reaches against the same
receiver in the same run, with Herald's ratios to it.

Scenarios:
  steady   W=1 webhook, E=100000 events, one record per request from 16
           clients (--batch and --clients change it): throughput and cost
  updates  W=1 webhook for person.updated, E=20000 updates of 8 people a
           client, one a request from 16 clients: the cost of a change
  fanout   W=100 webhooks, E=2000 events
  rate     W=1, one event per request at --rate for --duration: latency and
           CPU per delivery at a fixed rate (latency is its older name), and
           the ceiling's CPU per request at the same rate of deliveries
  backlog  E=1000000 events queued with delivery off, then drained; compared
           with draining E/100 the same way
  slow     --rate for --duration to W=10 healthy webhooks, with and without one
           more that answers after --slow-delay; compares the healthy latency
  idle     W=1 and no traffic for --duration: CPU seconds a minute

Flags:
`

func benchCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	// A GOMAXPROCS in the environment reaches Herald's serve, which then
	// keeps it; the ceiling keeps it too.
	c := bench.Config{Log: stderr, FixedProcs: getenv("GOMAXPROCS") != ""}
	var timeout time.Duration
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.Scenario, "scenario", "steady", "steady, fanout, rate, backlog, slow or idle")
	fs.StringVar(&c.Database, "database", "", "postgres://... to measure PostgreSQL; default a SQLite file in a temp dir")
	fs.IntVar(&c.Webhooks, "webhooks", 0, "webhooks W (default per scenario)")
	fs.IntVar(&c.Events, "events", 0, "events E (default per scenario)")
	fs.IntVar(&c.Batch, "batch", 1, "records per API request when writing E events")
	fs.IntVar(&c.Clients, "clients", 16, "concurrent API clients when writing E events")
	fs.IntVar(&c.Rate, "rate", 1000, "events per second, for rate and slow")
	fs.DurationVar(&c.Duration, "duration", 30*time.Second, "how long to write at --rate, or to measure idle")
	fs.IntVar(&c.PerEndpoint, "endpoint-concurrency", 32, "Herald's requests in flight per webhook")
	fs.IntVar(&c.CeilingConns, "ceiling-connections", 64, "connections of the bare client measuring the ceiling")
	fs.DurationVar(&c.SlowDelay, "slow-delay", 5*time.Second, "how long the slow endpoint takes to answer")
	fs.StringVar(&c.Profile, "cpuprofile", "", "write a CPU profile of Herald, taken while it delivers, to this file")
	fs.IntVar(&c.ProfileSeconds, "profile-seconds", 10, "length of the CPU profile in seconds (at most 30)")
	fs.DurationVar(&timeout, "timeout", 20*time.Minute, "give up after this long")
	fs.BoolVar(&c.APIProcess, "api-process", false, "rate and slow: write through a second Herald that does not deliver (--deliver=false), as API and delivery processes on one PostgreSQL database")
	fs.Usage = func() { fmt.Fprint(stderr, benchUsage); fs.PrintDefaults() }
	if err := fs.Parse(args); err != nil {
		return err
	}
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	c.Executable = exe
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if getenv("GOGC") == "" {
		// The receiver and the ceiling's client collect garbage as serve
		// does, so that the ceiling pays for it alike; a GOGC in the
		// environment reaches both.
		go heapfloor.Run(ctx, heapfloor.Default)
	}
	r, err := bench.Run(ctx, c)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}
