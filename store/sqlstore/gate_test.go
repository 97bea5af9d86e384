package sqlstore

import (
	"context"
	"sync"
	"testing"
	"time"
)

// TestGateServesUrgentFirstButNotForever: with the gate held, queued
// urgent turns go first, at most maxUrgentRun in a row while a normal one
// waits; a waiter whose context ends leaves the queue.
func TestGateServesUrgentFirstButNotForever(t *testing.T) {
	t.Parallel()
	g := &gate{}
	ctx := context.Background()
	if err := g.acquire(ctx, false); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var order []string
	var wg sync.WaitGroup
	enqueue := func(name string, urgent bool) {
		wg.Add(1)
		queued := len(g.urgent) + len(g.normal)
		go func() {
			defer wg.Done()
			if err := g.acquire(ctx, urgent); err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			order = append(order, name)
			mu.Unlock()
			g.release()
		}()
		for { // wait until it is queued, so the order is known
			g.mu.Lock()
			n := len(g.urgent) + len(g.normal)
			g.mu.Unlock()
			if n > queued {
				return
			}
			time.Sleep(time.Millisecond)
		}
	}
	enqueue("n1", false)
	enqueue("n2", false)
	for _, u := range []string{"u1", "u2", "u3", "u4", "u5"} {
		enqueue(u, true)
	}
	// One whose context ends gives up its place.
	gone, cancel := context.WithCancel(ctx)
	errc := make(chan error, 1)
	go func() { errc <- g.acquire(gone, true) }()
	for {
		g.mu.Lock()
		n := len(g.urgent)
		g.mu.Unlock()
		if n == 6 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	cancel()
	if err := <-errc; err == nil {
		t.Fatal("a canceled waiter got the gate")
	}
	g.release()
	wg.Wait()
	want := []string{"u1", "n1", "u2", "n2", "u3", "u4", "u5"}
	if len(order) != len(want) {
		t.Fatalf("order %v, want %v", order, want)
	}
	for i := range want {
		if order[i] != want[i] {
			t.Fatalf("order %v, want %v", order, want)
		}
	}
	if g.busy {
		t.Error("the gate is still held after everyone left")
	}
}
