package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/heraldhq/herald/store/postgres/pgtest"
)

// event is what the reliability tests read from a delivered body.
type event struct {
	ID    string `json:"id"`
	Event string `json:"event"`
	Data  struct {
		ID   string `json:"id"`
		Name struct {
			FirstName string `json:"firstName"`
		} `json:"name"`
		JobTitle *string `json:"jobTitle"`
	} `json:"data"`
}

// hookServer is a receiver whose handler sees the decoded event.
func hookServer(t *testing.T, handle func(ev event, w http.ResponseWriter, r *http.Request)) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		receivedBodies.add(t, body)
		var ev event
		if err == nil {
			err = json.Unmarshal(body, &ev)
		}
		if err != nil {
			t.Errorf("receiver: bad body %q: %v", body, err)
			w.WriteHeader(400)
			return
		}
		handle(ev, w, r)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// schedule returns a --retry-schedule of n waits of d.
func schedule(n int, d time.Duration) string {
	return strings.TrimSuffix(strings.Repeat(d.String()+",", n), ",")
}

func createPeople(t *testing.T, p *proc, key string, names ...string) []string {
	t.Helper()
	items := make([]string, len(names))
	for i, n := range names {
		items[i] = `{"name":{"firstName":"` + n + `"}}`
	}
	code, out := call(t, "POST", p.URL+"/rest/batch/people", key, "["+strings.Join(items, ",")+"]")
	if code != 201 {
		t.Fatalf("batch create: %d %v", code, out)
	}
	var ids []string
	for _, r := range dig(out, "data", "createPeople").([]any) {
		ids = append(ids, dig(r, "id").(string))
	}
	return ids
}

// numbered is n names: prefix0, prefix1, …
func numbered(prefix string, n int) []string {
	names := make([]string, n)
	for i := range names {
		names[i] = prefix + strconv.Itoa(i)
	}
	return names
}

// writeVersions sets each person's jobTitle to v1 … vN from ten writers,
// each owning a tenth of the records and updating them in turn, so that
// every record's updates commit in version order.
func writeVersions(t *testing.T, p *proc, ids []string, n int) {
	t.Helper()
	var wg sync.WaitGroup
	for wkr := range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for v := 1; v <= n; v++ {
				for i := wkr; i < len(ids); i += 10 {
					if code, out := call(t, "PATCH", p.URL+"/rest/people/"+ids[i], p.APIKey, `{"jobTitle":"v`+strconv.Itoa(v)+`"}`); code != 200 {
						t.Errorf("update: %d %v", code, out)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
}

// TestOrderingUnderRandomFailures: 1,000 updates to 50 records, and a
// receiver that fails 30% of requests at random; each record's events
// still arrive in commit order.
func TestOrderingUnderRandomFailures(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, db string, engineArgs ...string) {
		const records, updates = 50, 20 // 1,000 updates
		p := startHerald(t, db, append(engineArgs, "--retry-schedule", schedule(25, 20*time.Millisecond))...)

		var mu sync.Mutex
		rnd := rand.New(rand.NewPCG(1, 2))
		last := map[string]int{}  // record → last accepted version
		seen := map[string]bool{} // accepted event ids
		var failures, dups, overtook int
		srv := hookServer(t, func(ev event, w http.ResponseWriter, _ *http.Request) {
			version := 0
			if ev.Data.JobTitle != nil {
				version, _ = strconv.Atoi(strings.TrimPrefix(*ev.Data.JobTitle, "v"))
			}
			mu.Lock()
			defer mu.Unlock()
			want, started := last[ev.Data.ID]+1, ev.Event != "person.created"
			if !started {
				want = 0
			}
			if _, ok := last[ev.Data.ID]; ok && !started || version > want && !seen[ev.ID] {
				overtook++
				t.Errorf("record %s: %s version %d arrived while version %d was not yet delivered", ev.Data.ID, ev.Event, version, want)
			}
			if rnd.Float64() < 0.3 {
				failures++
				w.WriteHeader(500)
				return
			}
			if seen[ev.ID] {
				dups++
			}
			seen[ev.ID] = true
			if _, ok := last[ev.Data.ID]; !ok || version > last[ev.Data.ID] {
				last[ev.Data.ID] = version
			}
		})
		createWebhook(t, p, p.APIKey, `{"targetUrl":"`+srv.URL+`","operations":["person.*"]}`)
		ids := createPeople(t, p, p.APIKey, numbered("R", records)...)
		writeVersions(t, p, ids, updates)
		done := func() bool {
			mu.Lock()
			defer mu.Unlock()
			for _, id := range ids {
				if v, ok := last[id]; !ok || v != updates {
					return false
				}
			}
			return true
		}
		waitFor(t, "every update to arrive", 120*time.Second, done)
		mu.Lock()
		defer mu.Unlock()
		t.Logf("%d events of %d records delivered in per-record order; %d requests failed on purpose, %d duplicates, %d out of order",
			len(seen), records, failures, dups, overtook)
		if len(seen) != records*(updates+1) {
			t.Fatalf("%d distinct events delivered, want %d", len(seen), records*(updates+1))
		}
	})
}

// TestFlappingReceiverRecovers: the receiver answers 500 for a while,
// then hangs past the timeout for a while, then recovers; every event is
// delivered and the failed attempts are in the log.
func TestFlappingReceiverRecovers(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, db string, engineArgs ...string) {
		p := startHerald(t, db, append(engineArgs,
			"--delivery-timeout", "300ms", "--retry-schedule", schedule(40, 150*time.Millisecond))...)
		// The stretches are counted in requests, not seconds, so a slow
		// machine sees each of them too.
		var requests atomic.Int32
		var mu sync.Mutex
		got := map[string]bool{}
		srv := hookServer(t, func(ev event, w http.ResponseWriter, r *http.Request) {
			switch n := requests.Add(1); {
			case n <= 60:
				w.WriteHeader(500)
			case n <= 80:
				select { // hang until Herald gives up
				case <-r.Context().Done():
				case <-time.After(5 * time.Second):
				}
			default:
				mu.Lock()
				got[ev.ID] = true
				mu.Unlock()
			}
		})
		hookID, _ := createWebhook(t, p, p.APIKey, `{"targetUrl":"`+srv.URL+`","operations":["person.created"]}`)
		names := make([]string, 20)
		for i := range names {
			names[i] = "F" + strconv.Itoa(i)
		}
		createPeople(t, p, p.APIKey, names...)
		waitFor(t, "every event after the receiver recovered", 60*time.Second, func() bool {
			mu.Lock()
			defer mu.Unlock()
			return len(got) == len(names)
		})

		// The receiver has them all; Herald records the last answers a moment later.
		var ds []any
		waitFor(t, "every delivery recorded as delivered", 30*time.Second, func() bool {
			_, out := call(t, "GET", p.URL+"/rest/webhooks/"+hookID+"/deliveries?limit=50&status=delivered", p.APIKey, "")
			ds, _ = dig(out, "data", "deliveries").([]any)
			return len(ds) == len(names)
		})
		kinds := map[string]int{}
		for _, d := range ds {
			if dig(d, "status") != "delivered" {
				t.Errorf("delivery %v is %v", dig(d, "id"), dig(d, "status"))
			}
			_, out := call(t, "GET", p.URL+"/rest/deliveries/"+dig(d, "id").(string), p.APIKey, "")
			attempts := dig(out, "data", "delivery", "attempts").([]any)
			if len(attempts) < 2 || dig(attempts[len(attempts)-1], "statusCode") != 200.0 {
				t.Errorf("delivery %v: %d attempts, the last %v", dig(d, "id"), len(attempts), attempts[len(attempts)-1])
			}
			for _, a := range attempts[:len(attempts)-1] {
				msg, _ := dig(a, "error").(string)
				switch {
				case strings.HasPrefix(msg, "HTTP 500"):
					kinds["500"]++
				case strings.HasPrefix(msg, "timeout"):
					kinds["timeout"]++
				default:
					t.Errorf("unexpected failed attempt: %v", a)
				}
			}
		}
		t.Logf("%d deliveries recovered after %d answers of 500 and %d timeouts", len(ds), kinds["500"], kinds["timeout"])
		if len(ds) != len(names) || kinds["500"] == 0 || kinds["timeout"] == 0 {
			t.Fatalf("want %d deliveries with both 500s and timeouts recorded; got %d, %v", len(names), len(ds), kinds)
		}
	})
}

// TestSlowEndpointDoesNotDelayHealthyOne measures a healthy endpoint's
// latency (API call → receipt) alone, then again while another webhook's
// endpoint hangs until the timeout on every request. It measures, so it
// runs a binary built without the race detector, and not in parallel
// with other tests.
func TestSlowEndpointDoesNotDelayHealthyOne(t *testing.T) {
	const n = 80
	bin, err := plainBin()
	if err != nil {
		t.Fatal(err)
	}
	p := startBinary(t, bin, filepath.Join(t.TempDir(), "herald.db"), "--delivery-timeout", "2s")
	var mu sync.Mutex
	arrived := map[string]time.Time{}
	healthy := hookServer(t, func(ev event, w http.ResponseWriter, _ *http.Request) {
		mu.Lock()
		arrived[ev.Data.Name.FirstName] = time.Now()
		mu.Unlock()
	})
	var hung atomic.Int32
	hanging := hookServer(t, func(_ event, w http.ResponseWriter, r *http.Request) {
		hung.Add(1)
		select {
		case <-r.Context().Done():
		case <-time.After(10 * time.Second):
		}
	})
	createWebhook(t, p, p.APIKey, `{"targetUrl":"`+healthy.URL+`","operations":["person.created"]}`)

	measure := func(phase string) []time.Duration {
		sent := map[string]time.Time{}
		for i := 0; i < n; i++ {
			name := phase + strconv.Itoa(i)
			sent[name] = time.Now()
			if code, out := call(t, "POST", p.URL+"/rest/people", p.APIKey, `{"name":{"firstName":"`+name+`"}}`); code != 201 {
				t.Fatalf("create: %d %v", code, out)
			}
			time.Sleep(15 * time.Millisecond)
		}
		waitFor(t, phase+" deliveries", 30*time.Second, func() bool {
			mu.Lock()
			defer mu.Unlock()
			for name := range sent {
				if _, ok := arrived[name]; !ok {
					return false
				}
			}
			return true
		})
		mu.Lock()
		defer mu.Unlock()
		var lat []time.Duration
		for name, at := range sent {
			lat = append(lat, arrived[name].Sub(at))
		}
		slices.Sort(lat)
		return lat
	}
	base := measure("base")
	createWebhook(t, p, p.APIKey, `{"targetUrl":"`+hanging.URL+`","operations":["person.created"]}`)
	loaded := measure("loaded")
	if hung.Load() < 16 {
		t.Fatalf("the hanging endpoint got only %d requests; the test proves nothing", hung.Load())
	}
	pct := func(l []time.Duration, q float64) time.Duration { return l[int(q*float64(len(l)-1))] }
	ratio := float64(pct(loaded, 0.5)) / float64(pct(base, 0.5))
	t.Logf("healthy endpoint latency p50 %s → %s with a hanging endpoint (ratio %.2f); p95 %s → %s; hanging endpoint held %d requests",
		pct(base, 0.5), pct(loaded, 0.5), ratio, pct(base, 0.95), pct(loaded, 0.95), hung.Load())
	if ratio > 2 {
		t.Fatalf("a hanging endpoint slowed the healthy one down %.2fx (limit 2x)", ratio)
	}
}

// TestChaosKillsLoseNothing drives a steady write load, SIGKILLs the
// server at random moments ten times, restarts it each time, and checks
// that every committed event reached the receiver.
func TestChaosKillsLoseNothing(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, db string, engineArgs ...string) {
		const kills = 10
		args := append(engineArgs, "--endpoint-concurrency", "4")
		p := startHerald(t, db, args...)
		key := p.APIKey

		var mu sync.Mutex
		received := map[string]int{} // record id → deliveries
		srv := hookServer(t, func(ev event, w http.ResponseWriter, _ *http.Request) {
			time.Sleep(2 * time.Millisecond)
			mu.Lock()
			received[ev.Data.ID]++
			mu.Unlock()
		})
		createWebhook(t, p, key, `{"targetUrl":"`+srv.URL+`","operations":["person.created"]}`)

		var url atomic.Pointer[string]
		url.Store(&p.URL)
		var committed sync.Map // record id → true, for every 201 answer
		var nCommitted, nUnknown atomic.Int64
		stop := make(chan struct{})
		var writers sync.WaitGroup
		client := &http.Client{Timeout: 5 * time.Second}
		for w := 0; w < 4; w++ {
			writers.Add(1)
			go func() {
				defer writers.Done()
				for i := 0; i < 100_000; i++ { // bounded; stop ends it long before
					select {
					case <-stop:
						return
					default:
					}
					body := fmt.Sprintf(`{"name":{"firstName":"C%d-%d"}}`, w, i)
					req, _ := http.NewRequest("POST", *url.Load()+"/rest/people", strings.NewReader(body))
					req.Header.Set("Authorization", "Bearer "+key)
					req.Header.Set("Content-Type", "application/json")
					resp, err := client.Do(req)
					if err != nil {
						nUnknown.Add(1) // the server is down, or died mid-request: committed or not
						time.Sleep(5 * time.Millisecond)
						continue
					}
					var out map[string]any
					_ = json.NewDecoder(resp.Body).Decode(&out)
					resp.Body.Close()
					if resp.StatusCode == 201 {
						committed.Store(dig(out, "data", "createPerson", "id").(string), true)
						nCommitted.Add(1)
					}
				}
			}()
		}

		rnd := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7))
		for k := 0; k < kills; k++ {
			// Each kill lands in a stretch of steady writes: at least 30
			// commits since the restart, then a random moment.
			since := nCommitted.Load()
			waitFor(t, "writes after a restart", 60*time.Second, func() bool { return nCommitted.Load() >= since+30 })
			time.Sleep(time.Duration(rnd.IntN(400)) * time.Millisecond)
			p.kill()
			p = startHerald(t, db, args...)
			url.Store(&p.URL)
		}
		time.Sleep(300 * time.Millisecond)
		close(stop)
		writers.Wait()

		var want []string
		committed.Range(func(k, _ any) bool { want = append(want, k.(string)); return true })
		missing := func() int {
			mu.Lock()
			defer mu.Unlock()
			n := 0
			for _, id := range want {
				if received[id] == 0 {
					n++
				}
			}
			return n
		}
		waitFor(t, "every committed event", 120*time.Second, func() bool { return missing() == 0 })
		// Duplicates may still arrive: read the receipts under the lock.
		mu.Lock()
		dups, distinct := 0, len(received)
		for _, n := range received {
			dups += n - 1
		}
		mu.Unlock()
		msg := fmt.Sprintf("%d kills: %d writes committed, %d refused or cut off while the server was down; delivered %d distinct events, lost %d, duplicates %d",
			kills, nCommitted.Load(), nUnknown.Load(), distinct, missing(), dups)
		t.Log(msg)
		if len(want) < 30*kills {
			t.Fatalf("only %d writes committed; the load was too light to prove anything", len(want))
		}
	})
}

// TestFrozenProcessStrandsNothing freezes a PostgreSQL delivering process
// (SIGSTOP) while it holds claims, for longer than its lease, so that a
// second process takes them over; then resumes it. The frozen process's
// outcomes belong to claims it no longer holds: they must be dropped
// without rolling back anything else, and every event delivered with no
// restart, none recorded as a success that took longer than the timeout.
func TestFrozenProcessStrandsNothing(t *testing.T) {
	t.Parallel()
	db := pgtest.NewDatabase(t)
	args := []string{"--lease", "2s", "--delivery-timeout", "1s", "--endpoint-concurrency", "4"}
	frozen := startHerald(t, db, args...)
	key := frozen.APIKey
	other := startHerald(t, db, args...)

	var mu sync.Mutex
	received := map[string]int{} // record id → deliveries
	srv := hookServer(t, func(ev event, w http.ResponseWriter, _ *http.Request) {
		time.Sleep(20 * time.Millisecond) // the frozen process holds claims, in flight and waiting
		mu.Lock()
		received[ev.Data.ID]++
		mu.Unlock()
	})
	hookID, _ := createWebhook(t, frozen, key, `{"targetUrl":"`+srv.URL+`","operations":["person.created"]}`)
	var ids []string
	for i := 0; i < 5; i++ { // written through the process to be frozen, which takes them
		names := make([]string, 60)
		for j := range names {
			names[j] = fmt.Sprintf("F%d-%d", i, j)
		}
		ids = append(ids, createPeople(t, frozen, key, names...)...)
	}
	if err := frozen.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	// A stopped process would not stop at the end of a failed test.
	t.Cleanup(func() { _ = frozen.cmd.Process.Signal(syscall.SIGCONT) })
	// Past the lease and the other process's next expiry pass.
	time.Sleep(4 * time.Second)
	if err := frozen.cmd.Process.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	missing := func() int {
		mu.Lock()
		defer mu.Unlock()
		n := 0
		for _, id := range ids {
			if received[id] == 0 {
				n++
			}
		}
		return n
	}
	waitFor(t, "every event delivered", 60*time.Second, func() bool { return missing() == 0 })
	waitFor(t, "no delivery pending", 30*time.Second, func() bool {
		code, out := call(t, "GET", other.URL+"/rest/webhooks/"+hookID+"/deliveries?status=pending&limit=10", key, "")
		return code == 200 && len(dig(out, "data", "deliveries").([]any)) == 0
	})
	// No success past the timeout, and no stale outcome that failed.
	cursor := ""
	checked := 0
	for {
		code, out := call(t, "GET", other.URL+"/rest/webhooks/"+hookID+"/deliveries?limit=100"+cursor, key, "")
		if code != 200 {
			t.Fatalf("list deliveries: %d %v", code, out)
		}
		for _, d := range dig(out, "data", "deliveries").([]any) {
			_, full := call(t, "GET", other.URL+"/rest/deliveries/"+dig(d, "id").(string), key, "")
			for _, a := range dig(full, "data", "delivery", "attempts").([]any) {
				code, _ := dig(a, "statusCode").(float64)
				if ms := dig(a, "latencyMs").(float64); dig(a, "error") == "" && code >= 200 && code < 300 && ms > 1000 {
					t.Errorf("delivery %s: a success recorded after %.0f ms, past the 1s timeout", dig(d, "id"), ms)
				}
			}
			checked++
		}
		if dig(out, "pageInfo", "hasNextPage") != true {
			break
		}
		cursor = "&starting_after=" + dig(out, "pageInfo", "endCursor").(string)
	}
	if checked != len(ids) {
		t.Fatalf("checked %d deliveries, want %d", checked, len(ids))
	}
	for _, p := range []*proc{frozen, other} {
		if logs := p.logs.String(); strings.Contains(logs, "duplicate key") || strings.Contains(logs, "cannot record attempts") {
			t.Fatalf("a process could not record its outcomes:\n%s", logs)
		}
	}
	mu.Lock()
	dups := 0
	for _, n := range received {
		dups += n - 1
	}
	mu.Unlock()
	t.Logf("%d events delivered after a freeze past the lease, %d duplicates", len(ids), dups)
}
