package delivery

import (
	"encoding/json"
	"testing"
	"testing/synctest"
	"time"

	"github.com/heraldhq/herald"
)

// failingClaim is a claim whose attempt fails at once, before any network
// I/O (its URL does not parse), so that synctest sees its attempter block.
func failingClaim(id int64) *herald.Claim {
	return &herald.Claim{
		DeliveryID: id,
		Webhook:    &herald.Webhook{ID: "hook", TargetURL: "http://[::1"},
		Event:      &herald.Event{ID: "ev", Name: "person.created", Data: json.RawMessage(`{}`)},
		LeaseUntil: time.Now().Add(time.Hour),
	}
}

// startNow starts c in its lane as the claim loop does, room taken.
func startNow(e *Engine, c *herald.Claim) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.laneLocked(c.Webhook.ID).inFlight++
	e.inFlight++
	e.attempts.Add(1)
	e.launchLocked(start{laneID: c.Webhook.ID, c: c})
}

// TestAttemptersAreReused: one attempter goroutine runs attempts one after
// another, whether they wait in its lane (handed over as each ends) or
// come later (taken from the idle attempter); it ends when idle for
// attempterIdle, or with the engine's attempts.
func TestAttemptersAreReused(t *testing.T) {
	outcomes := func(e *Engine) int {
		n := 0
		for {
			select {
			case <-e.results:
				n++
			default:
				return n
			}
		}
	}
	t.Run("later attempts go to the idle attempter", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			e := New(nil, Config{})
			for i := range 5 {
				startNow(e, failingClaim(int64(i)))
				synctest.Wait()
				if n := e.attempters.Load(); n != 1 {
					t.Fatalf("after attempt %d: %d attempters, want 1", i+1, n)
				}
			}
			if n := outcomes(e); n != 5 {
				t.Fatalf("%d outcomes, want 5", n)
			}
			time.Sleep(attempterIdle + time.Second)
			synctest.Wait()
			if n := e.attempters.Load(); n != 0 {
				t.Fatalf("%d attempters after %s idle, want 0", n, attempterIdle)
			}
		})
	})
	t.Run("waiting claims are handed over", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			e := New(nil, Config{PerEndpoint: 1})
			e.mu.Lock()
			l := e.laneLocked("hook")
			for i := range 4 {
				l.waiting = append(l.waiting, failingClaim(int64(i)))
			}
			e.buffered += len(l.waiting)
			e.startLanesLocked("hook")
			e.mu.Unlock()
			synctest.Wait()
			if n := e.attempters.Load(); n != 1 {
				t.Fatalf("%d attempters, want 1", n)
			}
			if n := outcomes(e); n != 4 {
				t.Fatalf("%d outcomes, want 4", n)
			}
			e.cancelAttempts()
			synctest.Wait()
			if n := e.attempters.Load(); n != 0 {
				t.Fatalf("%d attempters once attempts are canceled, want 0", n)
			}
		})
	})
}
