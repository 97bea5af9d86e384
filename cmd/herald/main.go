// Command herald runs the Herald server and its helper commands.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	switch {
	case errors.Is(err, flag.ErrHelp):
	case errors.Is(err, errUsage):
		os.Exit(2)
	case err != nil:
		fmt.Fprintln(os.Stderr, "herald:", err)
		os.Exit(1)
	}
}

var errUsage = errors.New("usage")

const usage = `Herald: a headless CRM core whose every change is delivered as a signed webhook.

Usage:
  herald serve [flags]         run the API and the delivery workers
  herald apikey create [flags] print a new API key
  herald apikey list [flags]   list API keys
  herald apikey revoke ID      revoke an API key
  herald listen [flags]        receive webhooks locally: verify, print, forward
  herald bench [flags]         measure throughput and latency (see herald bench -h)
  herald version               print the version

Run "herald <command> -h" for a command's flags.
`

// run is main without the process: tests call it directly.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errUsage
	}
	switch args[0] {
	case "serve":
		return serve(ctx, args[1:], getenv, stdout, stderr)
	case "apikey":
		return apikey(ctx, args[1:], getenv, stdout, stderr)
	case "bench":
		return benchCmd(ctx, args[1:], getenv, stdout, stderr)
	case "listen":
		return listenCmd(ctx, args[1:], getenv, stdout, stderr)
	case "version", "--version":
		fmt.Fprintln(stdout, "herald", version())
		return nil
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprintf(stderr, "herald: unknown command %q\n\n%s", args[0], usage)
	return errUsage
}

func version() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}

// parseFlags parses args, then fills each flag not given on the command
// line from the first set environment variable of env[flag], so flags
// override the environment, which overrides defaults. Environment values
// go through the flag's own parser, so a bad one is reported.
func parseFlags(fs *flag.FlagSet, args []string, getenv func(string) string, env map[string][]string) error {
	if err := fs.Parse(args); err != nil {
		return err
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	for name, vars := range env {
		if given[name] {
			continue
		}
		for _, v := range vars {
			if val := getenv(v); val != "" {
				if err := fs.Set(name, val); err != nil {
					return fmt.Errorf("environment variable %s=%q: %w", v, val, err)
				}
				break
			}
		}
	}
	return nil
}
