package delivery

import (
	"context"
	"slices"
	"time"

	"github.com/heraldhq/herald"
)

// Recording what attempts did. One goroutine, the completer, writes the
// outcomes of finished attempts in batches, and hands back the claims of
// attempts that were canceled at shutdown.
//
// Those writes can fail: the disk is full, the database restarts or stops
// answering, one row is refused. None of it may strand a delivery, which
// a live process would otherwise keep leased, and renewed, forever:
//
//   - A batch that fails is retried with backoff, the outcomes gathered
//     meanwhile joining it, for up to abandonAfter. Writing an outcome
//     twice records it once (the store fences outcomes by their claim), so
//     a write that failed after all committed does no harm.
//   - A failed batch is halved until the outcome the store refuses stands
//     alone, so that one bad row never holds up the rest; that one is
//     released at once.
//   - Outcomes still unwritten after abandonAfter are released: the
//     delivery is claimed and sent again, a duplicate rather than a loss.
//   - A claim leaves the engine's held set once its outcome is written or
//     it is handed to be released, and only held claims have their leases
//     extended: if the release fails too, the lease lapses and
//     ExpireLeases frees the delivery. A release is tried once: retried
//     later, it could free a claim made since.

// completeTimeout bounds one write of outcomes or releases, so that a
// database that stops answering cannot hold the completer (and, at
// shutdown, the process) forever.
const completeTimeout = 30 * time.Second

// completer is the state of the goroutine that records outcomes.
type completer struct {
	e *Engine
	// batch holds the outcomes gathered since the last write.
	batch []herald.Outcome
	// unwritten holds the outcomes whose write failed, tried again at
	// retryAt, and released once abandonAt has passed.
	unwritten []herald.Outcome
	abandonAt time.Time
	// release holds claims to hand back without an attempt.
	release []int64
	retryAt time.Time
	backoff time.Duration
}

// complete records finished attempts until done is closed and the
// results are drained. Batching turns thousands of attempts a second into
// a few transactions.
func (e *Engine) complete(done <-chan struct{}) {
	c := &completer{e: e}
	retry := time.NewTimer(time.Hour)
	retry.Stop()
	defer retry.Stop()
	for {
		if c.failing() {
			retry.Reset(time.Until(c.retryAt))
		}
		select {
		case f := <-e.results:
			c.add(f)
			c.linger(f)
		case <-retry.C:
		case <-done:
			for drained := false; !drained; {
				select {
				case f := <-e.results:
					c.add(f)
				default:
					drained = true
				}
			}
			// Shutdown: one last try, within the grace period.
			ctx, cancel := context.WithTimeout(herald.Urgent(context.Background()), e.cfg.ShutdownGrace)
			c.flush(ctx, true)
			cancel()
			return
		}
		retry.Stop()
		ctx, cancel := context.WithTimeout(herald.Urgent(e.writeCtx), completeTimeout)
		c.flush(ctx, false)
		cancel()
	}
}

func (c *completer) add(f finished) {
	if f.canceled {
		c.giveBack(f.outcome)
	} else {
		c.batch = append(c.batch, f.outcome)
	}
}

// giveBack queues the claims of outcomes to be released. They leave the
// held set now, before the release commits: once it has, the engine may
// claim the deliveries again, and those claims must stay held.
func (c *completer) giveBack(outcomes ...herald.Outcome) {
	c.e.forget(outcomes)
	for _, o := range outcomes {
		c.release = append(c.release, o.DeliveryID)
	}
}

// linger waits briefly for more outcomes: one transaction for many
// attempts costs little more than for one. It delays recording, not
// sending. The first outcome, f, decides how long: unawaitedLinger when
// nothing waits for the batch, else completionLinger; an outcome that
// something may wait for, or the engine's hurry, cuts a long wait short.
func (c *completer) linger(f finished) {
	start := time.Now()
	wait := completionLinger
	if c.unawaited(f, start) && !c.e.backlogged() {
		wait = unawaitedLinger
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	hurry := func() bool {
		if wait == completionLinger {
			return false
		}
		wait = completionLinger
		left := time.Until(start.Add(wait))
		t.Reset(left)
		return left <= 0
	}
	for len(c.batch)+len(c.release) < maxBatch {
		select {
		case f := <-c.e.results:
			c.add(f)
			if !c.unawaited(f, start) && hurry() {
				return
			}
		case <-c.e.hurry:
			if hurry() {
				return
			}
		case <-t.C:
			return
		}
	}
}

// unawaited reports whether nothing can be waiting for f to be recorded:
// its claim was taken as it was written, and Waiting has not been called
// within a Timeout. A delivery that was claimed, retried or replayed may
// have later ones of its record waiting in the store. A batch also
// counts as awaited when some webhook's queue in the store waits for the
// completions that drain its lane (backlogged, checked once a batch: it
// takes the engine's lock).
func (c *completer) unawaited(f finished, now time.Time) bool {
	return f.taken && !f.canceled && now.UnixNano() > c.e.awaitedUntil.Load()
}

// failing reports whether a write failed and waits for its retry.
func (c *completer) failing() bool { return !c.retryAt.IsZero() }

// maxBatch bounds how many outcomes one store transaction records.
const maxBatch = 512

// completionLinger is how long a batch of outcomes waits for more before
// it is written. At 500 deliveries a second, 2 ms wrote one or two a
// transaction; 10 ms writes five, for 7–12% less CPU a delivery. Only a
// record's next delivery to the same webhook waits for it (it is
// scheduled when this outcome is written).
const completionLinger = 10 * time.Millisecond

// unawaitedLinger is how long a batch waits when nothing can be waiting
// for it (unawaited): a delivery's status then shows up to this late,
// and a crash sends up to this much again. At 500 events a second on
// PostgreSQL it wrote 180 transactions for 5,000 outcomes instead of
// 686; interleaved, the CPU a delivery went from 1,396 / 1,422 / 1,542
// µs to 1,210 / 1,402 / 1,460 (the server's 606 / 622 / 656 to 476 /
// 558 / 600), and at 1,000 a second on SQLite from 664 / 640 to 606 /
// 560. Saturated runs fill their batches before either linger ends.
const unawaitedLinger = 50 * time.Millisecond

// abandonAfter is how long outcomes that cannot be written are retried
// before their claims are released: well within the lease, which is not
// extended while the database refuses writes either.
func (c *completer) abandonAfter() time.Duration { return c.e.cfg.Lease / 2 }

// flush writes what was gathered, unless a failed write's backoff is still
// running (the outcomes then join the retry). final is the shutdown's
// last try: what still cannot be written is left to lapse.
func (c *completer) flush(ctx context.Context, final bool) {
	now := time.Now()
	if c.failing() && now.Before(c.retryAt) && !final {
		return
	}
	e := c.e
	todo := append(c.unwritten, c.batch...)
	c.batch, c.unwritten = nil, nil
	var failed, written []herald.Outcome
	var cause error
	for chunk := range slices.Chunk(todo, maxBatch) {
		f, refused, err := c.write(ctx, chunk)
		failed = append(failed, f...)
		if err != nil {
			cause = err
		}
		if len(f) == 0 && len(refused) == 0 {
			written = append(written, chunk...)
		} else {
			written = append(written, without(chunk, f, refused)...)
		}
		c.giveBack(refused...)
	}
	e.forget(written)
	if len(failed) == 0 {
		c.abandonAt = time.Time{}
	} else {
		if c.abandonAt.IsZero() {
			c.abandonAt = now.Add(c.abandonAfter())
		}
		if final || now.After(c.abandonAt) {
			e.log.Error("cannot record attempts: their deliveries are released, to be sent again",
				"count", len(failed), "retried for", now.Sub(c.abandonAt.Add(-c.abandonAfter())).Round(time.Millisecond), "err", cause)
			c.giveBack(failed...)
		} else {
			e.log.Error("cannot record attempts: retrying", "count", len(failed), "err", cause)
			c.unwritten = failed
		}
	}
	if len(c.release) > 0 {
		// Tried once: the claims are no longer held, so their leases
		// lapse and ExpireLeases frees them; releasing is only quicker. A
		// release retried later could free a claim made since.
		if err := e.store.ReleaseClaims(ctx, e.cfg.Owner, c.release); err != nil {
			e.log.Error("release deliveries; they go again once their lease lapses", "count", len(c.release), "err", err)
		}
		c.release = c.release[:0]
	}
	if len(c.unwritten) > 0 {
		c.backoff = min(max(2*c.backoff, 100*time.Millisecond), 5*time.Second)
		c.retryAt = now.Add(c.backoff)
		e.setTrouble("cannot record attempts: " + cause.Error())
	} else {
		c.backoff, c.retryAt = 0, time.Time{}
		e.setTrouble("")
	}
	// A completion that schedules a delivery waiting behind it, and a
	// release of claims, tell the engine through the store (Taker.Notify).
	// Look for work here when the lanes freed may have more queued in the
	// store, or a retry may be due before the engine wakes.
	if e.retrying(todo) || e.backlogged() {
		e.Notify()
	}
}

// without returns the outcomes of all that are in neither of the others.
func without(all []herald.Outcome, others ...[]herald.Outcome) []herald.Outcome {
	skip := map[int64]bool{}
	for _, os := range others {
		for _, o := range os {
			skip[o.DeliveryID] = true
		}
	}
	var out []herald.Outcome
	for _, o := range all {
		if !skip[o.DeliveryID] {
			out = append(out, o)
		}
	}
	return out
}

// write records outcomes. It returns those it could not write: failed,
// when the store refused every part of them, to be retried; refused, when
// the store took the rest and refused only these.
func (c *completer) write(ctx context.Context, outcomes []herald.Outcome) (failed, refused []herald.Outcome, err error) {
	store := c.e.store
	if err = store.CompleteDeliveries(ctx, outcomes); err == nil || len(outcomes) == 1 {
		if err != nil {
			failed = outcomes
		}
		return failed, nil, err
	}
	// Halve the batch: when both halves fail, the store refuses
	// everything (a full disk, a database that is down), and all of it
	// waits for the retry; otherwise the refused outcomes are in the half
	// that failed.
	h := len(outcomes) / 2
	left, right := outcomes[:h], outcomes[h:]
	errL := store.CompleteDeliveries(ctx, left)
	errR := store.CompleteDeliveries(ctx, right)
	switch {
	case errL != nil && errR != nil:
		return outcomes, nil, err
	case errL != nil:
		return nil, c.refused(ctx, left, errL), nil
	case errR != nil:
		return nil, c.refused(ctx, right, errR), nil
	}
	return nil, nil, nil
}

// refused finds the outcomes the store refuses among outcomes, which
// failed with err while the rest of their batch was written.
func (c *completer) refused(ctx context.Context, outcomes []herald.Outcome, err error) []herald.Outcome {
	if len(outcomes) == 1 {
		c.e.log.Error("the store refused an attempt's outcome; its delivery is released, to be sent again",
			"delivery", outcomes[0].DeliveryID, "err", err)
		return outcomes
	}
	h := len(outcomes) / 2
	var out []herald.Outcome
	for _, part := range [][]herald.Outcome{outcomes[:h], outcomes[h:]} {
		if err := c.e.store.CompleteDeliveries(ctx, part); err != nil {
			out = append(out, c.refused(ctx, part, err)...)
		}
	}
	return out
}

// retrying reports whether an outcome scheduled a retry.
func (e *Engine) retrying(batch []herald.Outcome) bool {
	for _, o := range batch {
		if o.Status == herald.DeliveryPending {
			return true
		}
	}
	return false
}

// backlogged reports whether some webhook may have due deliveries queued
// in the store.
func (e *Engine) backlogged() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.backlog) > 0
}
