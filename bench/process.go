package bench

import (
	"bufio"
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
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
)

// heraldProc is a `herald serve` subprocess.
type heraldProc struct {
	cmd  *exec.Cmd
	url  string
	key  string
	done chan struct{}
}

// database returns a fresh, empty database for one phase: a SQLite file
// in a temp dir, or a new database on the PostgreSQL server given. Both
// are removed when the run ends.
func (b *run) database(ctx context.Context) (string, error) {
	if b.cfg.Database == "" {
		dir, err := os.MkdirTemp("", "herald-bench-")
		if err != nil {
			return "", err
		}
		b.cleanups = append(b.cleanups, func() { os.RemoveAll(dir) })
		return filepath.Join(dir, "herald.db"), nil
	}
	admin, err := sql.Open("pgx", b.cfg.Database)
	if err != nil {
		return "", err
	}
	name := "herald_bench_" + strings.ToLower(rand.Text()[:12])
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		admin.Close()
		return "", fmt.Errorf("create a fresh database on %s: %w", redact(b.cfg.Database), err)
	}
	b.cleanups = append(b.cleanups, func() {
		_, _ = admin.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)")
		admin.Close()
	})
	u, err := url.Parse(b.cfg.Database)
	if err != nil {
		return "", err
	}
	u.Path = "/" + name
	return u.String(), nil
}

// redact is a database URL without its password, for messages.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "the database given"
	}
	return u.Redacted()
}

// start runs `herald serve` on db; deliver=false leaves deliveries queued.
func (b *run) start(ctx context.Context, db string, deliver bool) (*heraldProc, error) {
	args := []string{"serve", "--addr", "127.0.0.1:0", "--database", db, "--allow-private-targets",
		"--log-level", "warn", "--endpoint-concurrency", strconv.Itoa(b.cfg.PerEndpoint),
		"--deliver=" + strconv.FormatBool(deliver)}
	if b.cfg.Profile != "" {
		args = append(args, "--pprof")
	}
	cmd := exec.CommandContext(ctx, b.cfg.Executable, args...)
	cmd.Stderr = b.cfg.Log
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

// cpuSeconds is the CPU time the process has used so far.
func (p *heraldProc) cpuSeconds() float64 {
	cpu, _ := processCPU(p.cmd.Process.Pid)
	return cpu.self
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

func (p *heraldProc) api() *API {
	return &API{URL: p.url, Key: p.key, Client: NewClient(64)}
}

// procCPU is a process's CPU time in seconds, user and system: its own,
// and that of the children it waited for.
type procCPU struct {
	self, children float64
	ppid           int
}

// processCPU reads /proc/PID/stat, whose times are in USER_HZ ticks (100
// a second on Linux).
func processCPU(pid int) (procCPU, error) {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return procCPU{}, err
	}
	// The command name, in parentheses, may hold spaces: count after it.
	_, rest, _ := strings.Cut(string(raw), ") ")
	f := strings.Fields(rest)
	if len(f) < 15 {
		return procCPU{}, fmt.Errorf("/proc/%d/stat: %d fields", pid, len(f))
	}
	tick := func(i int) float64 { v, _ := strconv.ParseFloat(f[i], 64); return v / 100 }
	ppid, _ := strconv.Atoi(f[1])
	return procCPU{self: tick(11) + tick(12), children: tick(13) + tick(14), ppid: ppid}, nil
}

// postgresCPU returns a reader of the CPU time the PostgreSQL server of db
// has used so far: its postmaster's, every process it runs (backends,
// the WAL writer, autovacuum) and those that ended. The server must run
// on this machine; otherwise the reader is nil, and the figures say
// nothing of the database.
func postgresCPU(ctx context.Context, db string) (func() float64, error) {
	conn, err := sql.Open("pgx", db)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	var backend int
	if err := conn.QueryRowContext(ctx, "SELECT pg_backend_pid()").Scan(&backend); err != nil {
		return nil, err
	}
	me, err := processCPU(backend)
	if err != nil {
		return nil, fmt.Errorf("the PostgreSQL server does not run on this machine (no process %d): %w", backend, err)
	}
	master := me.ppid
	return func() float64 {
		m, err := processCPU(master)
		if err != nil {
			return 0
		}
		total := m.self + m.children
		stats, _ := filepath.Glob("/proc/[0-9]*/stat")
		for _, path := range stats {
			pid, err := strconv.Atoi(filepath.Base(filepath.Dir(path)))
			if err != nil {
				continue
			}
			if c, err := processCPU(pid); err == nil && c.ppid == master {
				total += c.self
			}
		}
		return total
	}, nil
}

// profile fetches a CPU profile of p into the configured file.
func (b *run) profile(ctx context.Context, p *heraldProc) chan error {
	done := make(chan error, 1)
	if b.cfg.Profile == "" {
		done <- nil
		return done
	}
	go func() {
		done <- func() error {
			url := fmt.Sprintf("%s/debug/pprof/profile?seconds=%d", p.url, min(max(b.cfg.ProfileSeconds, 1), 30))
			req, _ := http.NewRequestWithContext(ctx, "GET", url, nil)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				return err
			}
			defer resp.Body.Close()
			f, err := os.Create(b.cfg.Profile)
			if err != nil {
				return err
			}
			if _, err := io.Copy(f, resp.Body); err != nil {
				f.Close()
				return err
			}
			b.logf("CPU profile of Herald written to %s (go tool pprof -top %s)", b.cfg.Profile, b.cfg.Profile)
			return f.Close()
		}()
	}()
	return done
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
