package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/heraldhq/herald/listen"
)

var listenEnv = map[string][]string{
	"secret":  {"HERALD_WEBHOOK_SECRET"},
	"port":    {"HERALD_LISTEN_PORT"},
	"forward": {"HERALD_LISTEN_FORWARD"},
}

// listenCmd runs a local receiver that verifies and prints webhooks.
func listenCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("listen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	secret := fs.String("secret", "", "the webhook's signing secret, whsec_... (env HERALD_WEBHOOK_SECRET)")
	port := fs.Int("port", 4000, "port to listen on, on 127.0.0.1; 0 picks a free one (env HERALD_LISTEN_PORT)")
	forward := fs.String("forward", "", "also POST each verified request to this URL and answer with its reply (env HERALD_LISTEN_FORWARD)")
	tolerance := fs.Duration("tolerance", 5*time.Minute, "how old a request's timestamp may be")
	fs.Usage = func() {
		fmt.Fprint(stderr, "Usage: herald listen --secret whsec_... [--port 4000] [--forward URL]\n\n"+
			"Receives webhooks on 127.0.0.1, verifies both signatures, prints each event and answers 2xx\n"+
			"(401 when a signature is wrong). With --forward, passes verified requests on to your application.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args, getenv, listenEnv); err != nil {
		return err
	}
	h, err := listen.New(listen.Config{Secret: *secret, Forward: *forward, Tolerance: *tolerance, Out: stdout})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(*port)))
	if err != nil {
		return fmt.Errorf("listen on port %d: %w", *port, err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	fmt.Fprintf(stdout, "Listening on http://%s: use it as a webhook's targetUrl (herald serve needs --allow-private-targets to reach it).\n", ln.Addr())
	if *forward != "" {
		fmt.Fprintf(stdout, "Forwarding verified requests to %s.\n", *forward)
	}
	fmt.Fprintln(stdout)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err = <-errc:
	case <-ctx.Done():
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		err = srv.Shutdown(shutdown)
	}
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}
