package pgtest

import (
	"database/sql"
	"errors"
	"net"
	"strings"
	"testing"
)

// TestStartSkipsAPortTakenMeanwhile gives the server, first, a port an
// outgoing connection holds, as when one of the suite's connections takes
// the port between its pick and the server's bind.
func TestStartSkipsAPortTakenMeanwhile(t *testing.T) {
	ln := listenerOrSkip(t)
	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	taken := conn.LocalAddr().(*net.TCPAddr).Port

	var tried []int
	c, err := startClusterOn(func() (int, error) {
		if len(tried) == 0 {
			tried = append(tried, taken)
			return taken, nil
		}
		port, err := listenPort()
		tried = append(tried, port)
		return port, err
	})
	if err != nil {
		t.Fatalf("start: %v (ports tried %v)", err, tried)
	}
	defer c.stop()
	if len(tried) != 2 {
		t.Fatalf("ports tried %v, want the taken one and another", tried)
	}
	db, err := sql.Open("pgx", c.url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Ping(); err != nil {
		t.Fatalf("ping the server on its second port: %v", err)
	}
}

// TestStartGivesUpWithTheServerLog: a port that stays taken ends the tries,
// and the error carries the server's own words.
func TestStartGivesUpWithTheServerLog(t *testing.T) {
	ln := listenerOrSkip(t)
	busy := ln.Addr().(*net.TCPAddr).Port
	tries := 0
	_, err := startClusterOn(func() (int, error) { tries++; return busy, nil })
	if err == nil {
		t.Fatal("the server started on a port another listener holds")
	}
	if tries != startAttempts || !strings.Contains(err.Error(), "Address already in use") {
		t.Fatalf("after %d tries: %v", tries, err)
	}
	if _, err := startClusterOn(func() (int, error) { return 0, errors.New("no port") }); err == nil || !strings.Contains(err.Error(), "no port") {
		t.Fatalf("a failing pick: %v", err)
	}
}

// listenerOrSkip skips t without Debian's postgresql package (fails it in
// CI) and returns a listener on a loopback port, closed when t ends.
func listenerOrSkip(t *testing.T) net.Listener {
	t.Helper()
	if _, err := binDir(); err != nil {
		unavailable(t, err, "")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln
}
