package sqlstore

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/heraldhq/herald"
)

// group commits concurrent record creations together (group commit), and
// on a single writer (SQLite) concurrent updates too.
// Every transaction pays a fixed cost: on SQLite, a commit that writes each
// page it touched to the WAL; on PostgreSQL, a round trip per statement
// and a WAL flush. One transaction for many requests pays it once. A
// request that fails changes nothing and the others still commit.
//
// There is no goroutine of its own: a caller that finds fewer leaders than
// allowed leads, commits its request with everything queued, then hands
// the lead to the first request that queued meanwhile, so no caller works
// for others for long. With several leaders (PostgreSQL), one group's
// round trips overlap another's.
type group struct {
	// leaders bounds the groups committing at once.
	leaders int
	// linger is how long a leader that finds few requests queued waits
	// for more before it commits (0: not at all). See gather.
	linger time.Duration
	// more is signalled when a request queues, for a lingering leader.
	more    chan struct{}
	mu      sync.Mutex
	leading int
	queue   []*groupReq
	// gap is a moving average of the time between requests, last when
	// the latest came: a leader lingers only when more are likely to
	// come meanwhile.
	gap  time.Duration
	last time.Time
	// gathering counts the leaders told to lead that have not yet
	// taken their group (see gather).
	gathering int
	// skip is how many leaders will not linger, after lingers that
	// gathered nothing; lastSkip is what skip was set to last.
	skip, lastSkip int
	// formed counts the groups committed, lingered the leaders that
	// waited: for tests.
	formed, lingered atomic.Int64
}

// Limits of grouping. A creation of more than maxGroupedRecords records
// already shares its commit among them and runs alone; a group stops at
// maxGroupRecords records. A transaction keeps the pages it changes in
// memory until the commit, so large groups would cost memory, not time.
const (
	maxGroupedRecords = 8
	maxGroupRecords   = 256
	// lingerRecords is how many queued records end a leader's linger:
	// past that, one more shares a commit that is already cheap per
	// record.
	lingerRecords = 16
)

type groupReq struct {
	ctx    context.Context
	recs   []*herald.Record
	events []*herald.Event
	// write, when set, is any other write of one record (an update) in
	// place of recs: it always runs under a savepoint of its own.
	write func(ctx context.Context, tx conn) error
	// done receives the request's result; lead tells it to lead, once
	// (led).
	done chan error
	lead chan struct{}
	led  bool
	// queued is when the request joined the queue: a leader's linger
	// counts from there, so waiting for the lead counts too.
	queued time.Time
}

// do runs req in a shared transaction and returns its own result.
func (g *group) do(ctx context.Context, db *DB, req *groupReq) error {
	req.ctx, req.done, req.lead, req.queued = ctx, make(chan error, 1), make(chan struct{}, 1), time.Now()
	g.mu.Lock()
	g.arrived(req.queued)
	g.queue = append(g.queue, req)
	// While a leader gathers, the next requests join its group rather
	// than start one of their own.
	if g.leading < g.leaders && g.gathering == 0 {
		g.leading++
		g.gathering++
		req.led = true
		req.lead <- struct{}{}
	}
	g.mu.Unlock()
	select {
	case g.more <- struct{}{}:
	default:
	}
	// A queued request is not abandoned when its context ends: the leader
	// may be committing it, and the caller must learn whether it did. The
	// leader skips requests whose context has ended before it starts.
	select {
	case err := <-req.done:
		return err
	case <-req.lead:
	}
	g.mu.Lock()
	g.gather(ctx, req)
	g.gathering--
	// A leader commits its own request and the queued ones that are not
	// told to lead: each of those commits its own.
	batch, records, full := []*groupReq{req}, req.size(), false
	rest := g.queue[:0]
	for _, r := range g.queue {
		switch {
		case r == req:
		case !full && !r.led && records+r.size() <= maxGroupRecords:
			batch = append(batch, r)
			records += r.size()
		default:
			full = full || !r.led
			rest = append(rest, r)
		}
	}
	clear(g.queue[len(rest):])
	g.queue = rest
	g.mu.Unlock()
	g.commit(ctx, db, batch)
	g.mu.Lock()
	next := slices.IndexFunc(g.queue, func(r *groupReq) bool { return !r.led })
	if next >= 0 {
		g.gathering++
		g.queue[next].led = true
		g.queue[next].lead <- struct{}{}
	} else {
		g.leading--
	}
	g.mu.Unlock()
	return <-req.done
}

// gather is a leader's linger. At a moderate rate requests come one at a
// time, and each would pay a whole commit for itself (on SQLite, a
// dozen pages written to the WAL for one record: 450 of its 560 µs).
// Waiting a little for the next few shares that cost. Under load the
// queue is already full, and when requests are rarer than the linger
// none would come to share it: either way the leader does not wait.
//
// It is called, and returns, with g.mu held.
func (g *group) gather(ctx context.Context, leader *groupReq) {
	wait := time.Until(leader.queued.Add(g.linger))
	if wait <= 0 || g.gap >= g.linger || g.queuedRecords(leader) >= lingerRecords {
		return
	}
	if g.skip > 0 {
		g.skip--
		return
	}
	g.lingered.Add(1)
	t := time.NewTimer(wait)
	defer t.Stop()
	defer func() {
		// A client that writes one record at a time sends the next only
		// once this one is answered, however short the gap: its leader
		// waits in vain. Lingers that gather nothing are tried ever less
		// often (up to one in 256), so such a client pays for few.
		if g.queuedRecords(leader) > leader.size() {
			g.lastSkip = 0
		} else {
			g.lastSkip = min(max(2*g.lastSkip, 1), 256)
			g.skip = g.lastSkip
		}
	}()
	for g.queuedRecords(leader) < lingerRecords {
		g.mu.Unlock()
		select {
		case <-g.more:
		case <-t.C:
			g.mu.Lock()
			return
		case <-ctx.Done():
			g.mu.Lock()
			return
		}
		g.mu.Lock()
	}
}

// queuedRecords is how many records leader would commit now: its own
// and those of the queued requests not told to lead.
func (g *group) queuedRecords(leader *groupReq) int {
	n := leader.size()
	for _, r := range g.queue {
		if !r.led {
			n += r.size()
		}
	}
	return n
}

// arrived moves the average gap between requests to one that came at
// now. The first counts as coming a whole linger after the last; a gap
// counts for at most eight lingers, so that after a quiet hour a burst
// lingers from its sixteenth request on.
func (g *group) arrived(now time.Time) {
	if g.linger <= 0 {
		return
	}
	gap := g.linger
	if !g.last.IsZero() {
		gap = min(now.Sub(g.last), 8*g.linger)
	}
	if g.gap == 0 {
		g.gap = gap
	}
	g.gap += (gap - g.gap) / 8
	g.last = now
}

// size is what the request counts for in a group's bound.
func (r *groupReq) size() int { return max(len(r.recs), 1) }

// run is the request's own writes, in tx.
func (r *groupReq) run(ctx context.Context, tx conn) error {
	if r.write != nil {
		return r.write(ctx, tx)
	}
	return createRecords(ctx, tx, r.recs, r.events)
}

// commit writes batch and answers each request.
func (g *group) commit(ctx context.Context, db *DB, batch []*groupReq) {
	g.formed.Add(1)
	if len(batch) == 1 {
		// Alone, a request needs no savepoint: its failure undoes the
		// transaction, which is its own.
		r := batch[0]
		r.done <- db.inTx(r.ctx, func(tx conn) error { return r.run(r.ctx, tx) })
		return
	}
	tctx := context.WithoutCancel(ctx) // one caller leaving does not end the others' transaction
	results := make([]error, len(batch))
	var recs []*herald.Record
	var events []*herald.Event
	writes := false
	for i, r := range batch {
		if results[i] = r.ctx.Err(); results[i] == nil {
			recs, events = append(recs, r.recs...), append(events, r.events...)
			writes = writes || r.write != nil
		}
	}
	// Creations almost never fail here (a taken id is the usual cause),
	// so a group of them is first written as one creation: a statement
	// per table for all of them instead of a savepoint and statements per
	// request. Only when that fails, or when the group holds other writes
	// (an update fails as often as its input is refused), does each
	// request get its own savepoint, to find which failed.
	var err error
	if len(recs) > 0 && !writes {
		err = db.inTx(tctx, func(tx conn) error { return createRecords(tctx, tx, recs, events) })
	}
	if err != nil || writes {
		err = db.inTx(tctx, func(tx conn) error { return commitEach(tctx, tx, batch, results) })
	}
	for i, r := range batch {
		if err != nil {
			results[i] = err
		}
		r.done <- results[i]
	}
}

// commitEach writes each request of batch whose result is still nil under
// its own savepoint, recording its result.
func commitEach(ctx context.Context, tx conn, batch []*groupReq, results []error) error {
	for i, r := range batch {
		if results[i] != nil {
			continue
		}
		if results[i] = r.ctx.Err(); results[i] != nil {
			continue
		}
		if _, err := tx.ExecContext(ctx, "SAVEPOINT req"); err != nil {
			return fmt.Errorf("savepoint: %w", err)
		}
		mark := tx.h.mark()
		// What the request queued goes out before its savepoint ends, so
		// that its failure is its own.
		if results[i] = r.run(r.ctx, tx); results[i] == nil {
			results[i] = tx.flush(ctx)
		}
		if results[i] != nil {
			tx.h.undo(mark)
			tx.rewind()
			if _, err := tx.ExecContext(ctx, "ROLLBACK TO req"); err != nil {
				return fmt.Errorf("roll back to savepoint: %w", err)
			}
		}
		if _, err := tx.ExecContext(ctx, "RELEASE req"); err != nil {
			return fmt.Errorf("release savepoint: %w", err)
		}
	}
	return nil
}
