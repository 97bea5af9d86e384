// Package pgtest gives tests a real PostgreSQL server: the one named by
// HERALD_TEST_DATABASE_URL, or a throwaway cluster it starts from the
// Debian postgresql package (initdb and pg_ctl, as the postgres user when
// the tests run as root) in a temporary directory, stopped when the test
// binary ends.
//
// Without either, tests that need PostgreSQL skip with a loud message;
// with CI=true they fail instead, so CI never passes without PostgreSQL.
package pgtest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"
)

// EnvURL names a server to use instead of starting one.
const EnvURL = "HERALD_TEST_DATABASE_URL"

var (
	once      sync.Once
	serverURL string
	startErr  error
	stopFn    func()
)

// Main runs the tests and then stops the cluster, if one was started:
// call it from TestMain.
func Main(m *testing.M) int {
	code := m.Run()
	if stopFn != nil {
		stopFn()
	}
	return code
}

// NewDatabase creates an empty database for t on the test server and
// returns its URL; it is dropped when t ends.
func NewDatabase(t testing.TB) string {
	t.Helper()
	once.Do(func() { serverURL, stopFn, startErr = start() })
	if startErr != nil {
		unavailable(t, startErr, fmt.Sprintf("*** Install Debian's postgresql package or set %s.\n", EnvURL))
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	name := "herald_test_" + hex.EncodeToString(b)
	admin, err := sql.Open("pgx", serverURL)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	if _, err := admin.Exec("CREATE DATABASE " + name); err != nil {
		t.Fatalf("create test database: %v", err)
	}
	t.Cleanup(func() {
		admin, err := sql.Open("pgx", serverURL)
		if err != nil {
			return
		}
		defer admin.Close()
		_, _ = admin.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)")
	})
	return withDatabase(serverURL, name)
}

// withDatabase replaces the database name in a postgres:// URL.
func withDatabase(url, name string) string {
	base, query, _ := strings.Cut(url, "?")
	if i := strings.LastIndex(base, "/"); i > len("postgres://") {
		base = base[:i]
	}
	out := base + "/" + name
	if query != "" {
		out += "?" + query
	}
	return out
}

// start finds or starts a server and returns its URL and how to stop it.
func start() (string, func(), error) {
	if url := os.Getenv(EnvURL); url != "" {
		return url, nil, nil
	}
	c, err := startCluster()
	if err != nil {
		return "", nil, err
	}
	return c.url, c.stop, nil
}

// Server is a PostgreSQL server of one test's own, which the test may
// freeze: for faults that would break the other tests sharing the
// package's server.
type Server struct {
	// URL is the address of its postgres database.
	URL string
	c   *cluster
}

// unavailable fails t in CI, where PostgreSQL is required, and elsewhere
// skips it loudly, with hint, saying why there is no server (err).
func unavailable(t testing.TB, err error, hint string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("PostgreSQL is required in CI: %v", err)
	}
	t.Skipf("\n\n*** SKIPPING: no PostgreSQL for this test: %v\n%s\n", err, hint)
}

// NewServer starts a server for t alone, stopped when t ends. It skips
// (fails in CI) without Debian's postgresql package; a server named by
// HERALD_TEST_DATABASE_URL is not used, since it cannot be frozen.
func NewServer(t testing.TB) *Server {
	t.Helper()
	if os.Getenv(EnvURL) != "" && os.Getenv("CI") != "true" {
		t.Skipf("this test starts a PostgreSQL server of its own, and %s is set", EnvURL)
	}
	c, err := startCluster()
	if err != nil {
		unavailable(t, err, "")
	}
	s := &Server{URL: c.url, c: c}
	t.Cleanup(func() {
		s.signal(syscall.SIGCONT)
		c.stop()
	})
	return s
}

// Freeze stops every process of the server (SIGSTOP): connections stay
// open and nothing answers, as when a database host hangs.
func (s *Server) Freeze() error { return s.signal(syscall.SIGSTOP) }

// Thaw resumes a frozen server.
func (s *Server) Thaw() error { return s.signal(syscall.SIGCONT) }

// signal sends sig to the postmaster and every process it started.
func (s *Server) signal(sig syscall.Signal) error {
	b, err := os.ReadFile(filepath.Join(s.c.data, "postmaster.pid"))
	if err != nil {
		return fmt.Errorf("read postmaster.pid: %w", err)
	}
	first, _, _ := strings.Cut(string(b), "\n")
	master, err := strconv.Atoi(strings.TrimSpace(first))
	if err != nil {
		return fmt.Errorf("postmaster.pid: %q", first)
	}
	pids := []int{master}
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, path := range stats {
		b, err := os.ReadFile(path)
		if err != nil {
			continue // it ended
		}
		// pid (comm) state ppid ...: comm may hold spaces, not ")".
		_, rest, ok := strings.Cut(string(b), ") ")
		if fields := strings.Fields(rest); ok && len(fields) > 1 && fields[1] == strconv.Itoa(master) {
			pid, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(filepath.Dir(path), "/proc/"), "/"))
			pids = append(pids, pid)
		}
	}
	for _, pid := range pids {
		if err := syscall.Kill(pid, sig); err != nil && !errors.Is(err, syscall.ESRCH) {
			return fmt.Errorf("signal %d: %w", pid, err)
		}
	}
	return nil
}

// cluster is a server this package started, in a temporary directory.
type cluster struct {
	url, data string
	stop      func()
}

// startCluster makes and starts a server with initdb and pg_ctl.
func startCluster() (*cluster, error) { return startClusterOn(listenPort) }

// startClusterOn is startCluster with the ports it tries given by ports.
func startClusterOn(ports func() (int, error)) (*cluster, error) {
	bin, err := binDir()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "herald-pg")
	if err != nil {
		return nil, err
	}
	var cred *syscall.Credential
	if os.Geteuid() == 0 {
		// PostgreSQL refuses to run as root.
		u, err := user.Lookup("postgres")
		if err != nil {
			return nil, fmt.Errorf("running as root and no postgres user: %w", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			return nil, err
		}
		cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	}
	run := func(name string, args ...string) error {
		cmd := exec.Command(filepath.Join(bin, name), args...)
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("%s: %v\n%s", name, err, out)
		}
		return nil
	}
	data := filepath.Join(dir, "data")
	if err := run("initdb", "-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C"); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	log := filepath.Join(dir, "log")
	var port int
	for attempt := 1; ; attempt++ {
		if port, err = ports(); err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
		_ = os.Remove(log)
		// Durability settings are off: the tests kill Herald, never PostgreSQL.
		opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c max_connections=300 -c fsync=off -c synchronous_commit=off -c full_page_writes=off", port, dir)
		err = run("pg_ctl", "start", "-w", "-t", "60", "-D", data, "-l", log, "-o", opts)
		if err == nil {
			break
		}
		out, _ := os.ReadFile(log)
		// A port free when it was picked can be taken before the server
		// binds it; another is as good.
		if attempt < startAttempts && strings.Contains(string(out), "Address already in use") {
			continue
		}
		os.RemoveAll(dir)
		return nil, fmt.Errorf("%w\nserver log:\n%s", err, out)
	}
	stop := func() {
		_ = run("pg_ctl", "stop", "-D", data, "-m", "immediate")
		os.RemoveAll(dir)
	}
	url := fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port)
	if err := waitReady(url); err != nil {
		stop()
		return nil, err
	}
	return &cluster{url: url, data: data, stop: stop}, nil
}

// binDir finds initdb and pg_ctl: on PATH, or in Debian's versioned
// /usr/lib/postgresql/N/bin.
func binDir() (string, error) {
	if p, err := exec.LookPath("pg_ctl"); err == nil {
		if _, err := exec.LookPath("initdb"); err == nil {
			return filepath.Dir(p), nil
		}
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	for i := len(dirs) - 1; i >= 0; i-- {
		if _, err := os.Stat(filepath.Join(dirs[i], "initdb")); err == nil {
			return dirs[i], nil
		}
	}
	return "", errors.New("initdb and pg_ctl not found (apt-get install postgresql)")
}

// startAttempts bounds the ports startCluster tries.
const startAttempts = 5

// listenPort picks a free port below the range the kernel gives outgoing
// connections. A port the kernel picks for a listener on port 0 lies in
// that range, and the suite's many loopback connections could take it
// between its release and the server's bind (PostgreSQL then exits with
// "could not bind IPv4 address": it happened in CI); below it, only
// another listener can.
func listenPort() (int, error) {
	low := 32768 // Linux's default, if the range cannot be read
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		if f := strings.Fields(string(b)); len(f) == 2 {
			if n, err := strconv.Atoi(f[0]); err == nil {
				low = n
			}
		}
	}
	const first = 10000
	if low-first < 1000 {
		return kernelPort()
	}
	for range 100 {
		port := first + mrand.IntN(low-first)
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err != nil {
			continue
		}
		l.Close()
		return port, nil
	}
	return kernelPort()
}

// kernelPort is a free port of the kernel's choosing.
func kernelPort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func waitReady(url string) error {
	db, err := sql.Open("pgx", url)
	if err != nil {
		return err
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for {
		if err = db.PingContext(ctx); err == nil || ctx.Err() != nil {
			return err
		}
		time.Sleep(100 * time.Millisecond)
	}
}
