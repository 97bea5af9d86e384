package sqlstore

import (
	"context"
	"fmt"
	"slices"
	"sync"

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
	mu      sync.Mutex
	leading int
	queue   []*groupReq
}

// Limits of grouping. A creation of more than maxGroupedRecords records
// already shares its commit among them and runs alone; a group stops at
// maxGroupRecords records. A transaction keeps the pages it changes in
// memory until the commit, so large groups would cost memory, not time.
const (
	maxGroupedRecords = 8
	maxGroupRecords   = 256
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
}

// do runs req in a shared transaction and returns its own result.
func (g *group) do(ctx context.Context, db *DB, req *groupReq) error {
	req.ctx, req.done, req.lead = ctx, make(chan error, 1), make(chan struct{}, 1)
	g.mu.Lock()
	g.queue = append(g.queue, req)
	if g.leading < g.leaders {
		g.leading++
		req.led = true
		req.lead <- struct{}{}
	}
	g.mu.Unlock()
	// A queued request is not abandoned when its context ends: the leader
	// may be committing it, and the caller must learn whether it did. The
	// leader skips requests whose context has ended before it starts.
	select {
	case err := <-req.done:
		return err
	case <-req.lead:
	}
	g.mu.Lock()
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
		g.queue[next].led = true
		g.queue[next].lead <- struct{}{}
	} else {
		g.leading--
	}
	g.mu.Unlock()
	return <-req.done
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
		if results[i] = r.run(r.ctx, tx); results[i] != nil {
			tx.h.undo(mark)
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
