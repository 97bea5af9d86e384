package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/heraldhq/herald/store/postgres/pgtest"
)

// A PostgreSQL that stops answering while serve shuts down does not keep
// it from exiting: requests, deliveries and store calls in flight on the
// way out all have deadlines. Once the database answers again, the next
// process delivers every event a client was told was saved.
func TestShutdownWithFrozenDatabase(t *testing.T) {
	t.Parallel()
	pg := pgtest.NewServer(t)
	p := startHerald(t, pg.URL, "--delivery-timeout", "1s")
	var mu sync.Mutex
	received := map[string]bool{}
	srv := hookServer(t, func(ev event, w http.ResponseWriter, _ *http.Request) {
		time.Sleep(50 * time.Millisecond) // deliveries in flight when it freezes
		mu.Lock()
		received[ev.Data.ID] = true
		mu.Unlock()
	})
	createWebhook(t, p, p.APIKey, `{"targetUrl":"`+srv.URL+`","operations":["person.created"]}`)
	names := make([]string, 60)
	for i := range names {
		names[i] = fmt.Sprintf("S%d", i)
	}
	saved := createPeople(t, p, p.APIKey, names...)

	// Clients keep writing, so that requests wait on the database when it
	// freezes; the ids of those answered 201 must be delivered.
	stop := make(chan struct{})
	var wg sync.WaitGroup
	client := &http.Client{Timeout: 90 * time.Second}
	for range 4 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				req, _ := http.NewRequest("POST", p.URL+"/rest/people", strings.NewReader(`{"name":{"firstName":"W"}}`))
				req.Header.Set("Authorization", "Bearer "+p.APIKey)
				req.Header.Set("Content-Type", "application/json")
				resp, err := client.Do(req)
				if err != nil {
					time.Sleep(10 * time.Millisecond) // the server is gone
					continue
				}
				var out struct {
					Data struct{ CreatePerson struct{ ID string } }
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode == 201 && json.Unmarshal(body, &out) == nil {
					mu.Lock()
					saved = append(saved, out.Data.CreatePerson.ID)
					mu.Unlock()
				}
			}
		})
	}
	time.Sleep(300 * time.Millisecond)
	if err := pg.Freeze(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond) // requests and deliveries now wait on it
	start := time.Now()
	if err := p.cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	// The HTTP server's 15 s for requests, then the engine's grace (1 s)
	// each for its attempts, its outcomes and its releases: 18 s, and a
	// margin for a loaded machine. A write of outcomes made before the
	// shutdown used to hold it for its own 30 s.
	limit := requestGrace + 3*time.Second + 10*time.Second
	select {
	case <-p.done:
	case <-time.After(limit):
		t.Fatalf("serve did not exit within %s of SIGTERM with its database frozen:\n%s", limit, p.logs)
	}
	took := time.Since(start).Round(time.Millisecond)
	close(stop)
	wg.Wait()
	if code := p.cmd.ProcessState.ExitCode(); code != 0 {
		t.Fatalf("serve exited with status %d:\n%s", code, p.logs)
	}
	t.Logf("serve exited %s after SIGTERM, its database frozen; its log:\n%s", took, p.logs)

	if err := pg.Thaw(); err != nil {
		t.Fatal(err)
	}
	startHerald(t, pg.URL, "--delivery-timeout", "1s")
	waitFor(t, "every saved event delivered by the next process", 60*time.Second, func() bool {
		mu.Lock()
		defer mu.Unlock()
		for _, id := range saved {
			if !received[id] {
				return false
			}
		}
		return true
	})
}
