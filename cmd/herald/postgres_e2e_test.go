package main

import (
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/heraldhq/herald/store/postgres/pgtest"
)

// TestThreeProcessesShareOnePostgres runs three `herald serve` on one
// database, writes 10,000 events through all of them, SIGKILLs one while
// deliveries are under way, and checks that every event is delivered.
func TestThreeProcessesShareOnePostgres(t *testing.T) {
	t.Parallel()
	const events, batch = 10_000, 50
	db := pgtest.NewDatabase(t)
	// A lease long enough that busy live processes renew in time, short
	// enough that the killed one's claims are taken over within the test.
	args := []string{"--lease", "6s", "--log-level", "error"}
	procs := []*proc{startHerald(t, db, args...)}
	key := procs[0].APIKey
	procs = append(procs, startHerald(t, db, args...), startHerald(t, db, args...))

	var mu sync.Mutex
	got := map[string]int{}
	srv := hookServer(t, func(ev event, w http.ResponseWriter, _ *http.Request) {
		mu.Lock()
		got[ev.ID]++
		mu.Unlock()
	})
	createWebhook(t, procs[0], key, `{"targetUrl":"`+srv.URL+`","operations":["person.created"]}`)
	distinct := func() int {
		mu.Lock()
		defer mu.Unlock()
		return len(got)
	}

	// write sends n events in batches through the given processes, one
	// writer per process.
	write := func(ps []*proc, n int) {
		var wg sync.WaitGroup
		per := n / len(ps) / batch
		for w, p := range ps {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for b := 0; b < per; b++ {
					items := make([]string, batch)
					for i := range items {
						items[i] = `{"name":{"firstName":"P` + strconv.Itoa(w) + "-" + strconv.Itoa(b*batch+i) + `"}}`
					}
					if code, out := call(t, "POST", p.URL+"/rest/batch/people", key, "["+strings.Join(items, ",")+"]"); code != 201 {
						t.Errorf("batch through process %d: %d %v", w, code, out)
						return
					}
				}
			}()
		}
		wg.Wait()
	}
	write(procs, 6_000)
	waitFor(t, "deliveries under way", 60*time.Second, func() bool { return distinct() > 500 })
	procs[2].kill()
	killedAt := distinct()
	write(procs[:2], 4_000)
	waitFor(t, "all 10,000 events", 180*time.Second, func() bool { return distinct() >= events })

	mu.Lock()
	defer mu.Unlock()
	dups := 0
	for _, n := range got {
		dups += n - 1
	}
	t.Logf("3 processes, one SIGKILLed after %d deliveries: %d events delivered, lost %d, duplicates %d", killedAt, len(got), events-len(got), dups)
	if len(got) != events {
		t.Fatalf("%d distinct events delivered, want %d", len(got), events)
	}
}
