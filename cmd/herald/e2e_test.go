package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/heraldhq/herald/store/postgres/pgtest"
)

// The end-to-end tests run the real binary, built with the race detector
// once by TestMain.
var heraldBin, binDir string

// plainBin builds, once, a binary without the race detector for the tests
// that measure latency: the detector slows the pure-Go SQLite about
// tenfold and would measure itself.
var plainBin = sync.OnceValues(func() (string, error) {
	bin := filepath.Join(binDir, "herald-plain")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		return "", fmt.Errorf("build herald without -race: %v\n%s", err, out)
	}
	return bin, nil
})

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "herald-e2e")
	if err != nil {
		panic(err)
	}
	binDir, heraldBin = dir, filepath.Join(dir, "herald")
	if out, err := exec.Command("go", "build", "-race", "-o", heraldBin, ".").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build herald: %v\n%s", err, out)
		os.Exit(1)
	}
	code := pgtest.Main(m)
	if code == 0 {
		if err := receivedBodies.check(); err != nil {
			fmt.Fprintln(os.Stderr, "FAIL:", err)
			code = 1
		}
	}
	os.RemoveAll(dir)
	os.Exit(code)
}

// proc is a running `herald serve`.
type proc struct {
	t      *testing.T
	cmd    *exec.Cmd
	URL    string
	APIKey string // set on the first start of a database
	logs   *lockedBuffer
	out    *lockedBuffer // what it printed on stdout
	done   chan struct{}
}

var (
	listenRe = regexp.MustCompile(`listening on (http://\S+)`)
	keyRe    = regexp.MustCompile(`API key: (hk_\S+)`)
)

// forEachEngine runs f against each database engine: a SQLite file, and a
// fresh PostgreSQL database (with a short lease, so that a restarted
// process takes over a killed one's claims quickly).
func forEachEngine(t *testing.T, f func(t *testing.T, db string, engineArgs ...string)) {
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		f(t, filepath.Join(t.TempDir(), "herald.db"))
	})
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		f(t, pgtest.NewDatabase(t), "--lease", "2s")
	})
}

// startHerald starts the binary on db with a free port and fast retries.
func startHerald(t *testing.T, db string, extra ...string) *proc {
	t.Helper()
	return startBinary(t, heraldBin, db, extra...)
}

func startBinary(t *testing.T, bin, db string, extra ...string) *proc {
	t.Helper()
	args := append([]string{"serve", "--addr", "127.0.0.1:0", "--database", db, "--retry-schedule", "100ms,200ms,300ms", "--log-level", "warn",
		"--allow-private-targets"}, extra...)
	cmd := exec.Command(bin, args...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	p := &proc{t: t, cmd: cmd, logs: &lockedBuffer{}, out: &lockedBuffer{}, done: make(chan struct{})}
	cmd.Stderr = p.logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	listening := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			fmt.Fprintln(p.out, sc.Text())
			if m := keyRe.FindStringSubmatch(sc.Text()); m != nil {
				p.APIKey = m[1]
			}
			if m := listenRe.FindStringSubmatch(sc.Text()); m != nil {
				listening <- m[1]
			}
		}
		_ = cmd.Wait()
		close(p.done)
	}()
	select {
	case p.URL = <-listening: // the key line, if any, came before
	case <-p.done:
		t.Fatalf("herald exited early:\n%s", p.logs)
	case <-time.After(30 * time.Second):
		t.Fatalf("herald did not start:\n%s", p.logs)
	}
	t.Cleanup(p.stop)
	receivedBodies.started(t, p)
	waitFor(t, "herald to answer /healthz", 10*time.Second, func() bool { return healthy(p.URL) })
	return p
}

func healthy(url string) bool {
	resp, err := http.Get(url + "/healthz")
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == 200
}

// stdout is what the process printed on its standard output.
func (p *proc) stdout() string { return p.out.String() }

// kill ends the process with SIGKILL: no cleanup of any kind.
func (p *proc) kill() {
	_ = p.cmd.Process.Kill()
	<-p.done
}

// stop ends the process with SIGTERM and waits.
func (p *proc) stop() {
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Signal(os.Interrupt)
	select {
	case <-p.done:
	case <-time.After(20 * time.Second):
		p.t.Errorf("herald ignored SIGTERM for 20s")
		p.kill()
	}
}

// lockedBuffer collects the server's log; the test reads it while the
// process may still be writing.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// call makes an API request with key and decodes the JSON answer.
func call(t *testing.T, method, url, key, body string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("%s %s: answer is not JSON: %q", method, url, raw)
	}
	return resp.StatusCode, out
}

// dig walks a decoded JSON value: dig(v, "data", "createPerson", "id").
func dig(v any, path ...string) any {
	for _, p := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[p]
	}
	return v
}

// received is one request that arrived at a receiver.
type received struct {
	Header http.Header
	Body   []byte
	At     time.Time
}

// receiver is a loopback webhook endpoint; answer decides each response
// from the request number (0-based).
type receiver struct {
	*httptest.Server
	mu   sync.Mutex
	reqs []received
}

func newReceiver(t *testing.T, answer func(n int, r *http.Request) int) *receiver {
	rc := &receiver{}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		n := len(rc.reqs)
		rc.reqs = append(rc.reqs, received{Header: r.Header.Clone(), Body: body, At: time.Now()})
		rc.mu.Unlock()
		receivedBodies.add(t, body)
		code := 200
		if answer != nil {
			code = answer(n, r)
		}
		w.WriteHeader(code)
		fmt.Fprintf(w, "answer %d", code)
	}))
	t.Cleanup(rc.Close)
	return rc
}

func (rc *receiver) requests() []received {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]received(nil), rc.reqs...)
}

// waitFor polls cond until it holds or the time is up.
func waitFor(t *testing.T, what string, limit time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", limit, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
