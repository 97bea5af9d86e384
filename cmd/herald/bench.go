package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
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

Comparing two builds: --against OTHER runs the same scenario on this binary's
serve and on OTHER's at the same time, --rounds times, and prints both results
of every round and, for each figure, the ratio this / OTHER and its median.
Runs at once share the machine's moment, so the ratio cancels its drift. On
PostgreSQL each side needs a server of its own (--database and
--against-database), which they swap every round.

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
	fs.StringVar(&c.Executable, "serve", "", "the herald binary whose serve is measured (default this one)")
	var against, againstDB string
	var rounds int
	fs.StringVar(&against, "against", "", "another herald binary to measure at the same time as this one (see Comparing two builds)")
	fs.StringVar(&againstDB, "against-database", "", "with --against on PostgreSQL: the other side's server (postgres://...)")
	fs.IntVar(&rounds, "rounds", 3, "with --against: how many times both sides run")
	fs.BoolVar(&c.APIProcess, "api-process", false, "rate and slow: write through a second Herald that does not deliver (--deliver=false), as API and delivery processes on one PostgreSQL database")
	fs.Usage = func() { fmt.Fprint(stderr, benchUsage); fs.PrintDefaults() }
	if err := fs.Parse(args); err != nil {
		return err
	}
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	if c.Executable == "" {
		c.Executable = exe
	}
	if against != "" {
		// Each child gives up after --timeout; the rounds run one after
		// the other.
		ctx, cancel := context.WithTimeout(ctx, time.Duration(max(rounds, 1))*timeout)
		defer cancel()
		return compare(ctx, fs, exe, bench.CompareConfig{
			This: c.Executable, Against: against, Databases: [2]string{c.Database, againstDB}, Rounds: rounds,
		}, stdout, stderr)
	}
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
	return printJSON(stdout, r)
}

// printJSON writes v to w as indented JSON.
func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// compare runs each side of a comparison as a bench of its own, in a child
// process of this binary, so that what each measures of its own process
// (the receiver's and the ceiling's CPU) is its side's alone.
func compare(ctx context.Context, fs *flag.FlagSet, exe string, cfg bench.CompareConfig, stdout, stderr io.Writer) error {
	// The children run the flags given, but for the comparison's own.
	var args []string
	fs.Visit(func(f *flag.Flag) {
		switch f.Name {
		case "against", "against-database", "rounds", "serve", "database":
		default:
			args = append(args, "--"+f.Name+"="+f.Value.String())
		}
	})
	cfg.Run = func(ctx context.Context, serve, database string) (bench.Result, error) {
		cmd := exec.CommandContext(ctx, exe, append([]string{"bench", "--serve", serve, "--database", database}, args...)...)
		cmd.Stderr = stderr
		out, err := cmd.Output()
		if err != nil {
			return bench.Result{}, fmt.Errorf("bench of %s: %w", serve, err)
		}
		var r bench.Result
		if err := json.Unmarshal(out, &r); err != nil {
			return bench.Result{}, fmt.Errorf("bench of %s printed no result: %w", serve, err)
		}
		return r, nil
	}
	c, err := bench.Compare(ctx, cfg)
	if err != nil {
		return err
	}
	return printJSON(stdout, c)
}
