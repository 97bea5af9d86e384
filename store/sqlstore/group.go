package sqlstore

import (
	"context"
	"fmt"
	"sync"

	"github.com/heraldhq/herald"
)

// group commits concurrent record creations together (group commit). On a
// single writer every transaction pays a commit that writes each touched
// page to the WAL; one commit for many requests pays it once. Each request
// runs under its own savepoint, so one that fails changes nothing and the
// others still commit.
//
// There is no goroutine of its own: the first caller to find no leader
// leads, commits everything queued, then hands the lead to the first
// request that queued meanwhile, so no caller works for others for long.
type group struct {
	mu      sync.Mutex
	leading bool
	queue   []*groupReq
}

// Limits of grouping. A creation of more than maxGroupedRecords records
// already shares its commit among them and runs alone; a group stops at
// maxGroupRecords records. Each savepoint keeps the pages it changes in
// memory until the commit, so large groups would cost memory, not time.
const (
	maxGroupedRecords = 8
	maxGroupRecords   = 256
)

type groupReq struct {
	ctx    context.Context
	recs   []*herald.Record
	events []*herald.Event
	// done receives the request's result; lead tells it to lead.
	done chan error
	lead chan struct{}
}

// do runs req in a shared transaction and returns its own result.
func (g *group) do(ctx context.Context, db *DB, req *groupReq) error {
	req.ctx, req.done, req.lead = ctx, make(chan error, 1), make(chan struct{}, 1)
	g.mu.Lock()
	g.queue = append(g.queue, req)
	if !g.leading {
		g.leading = true
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
	n, records := 0, 0
	for n < len(g.queue) && (n == 0 || records+len(g.queue[n].recs) <= maxGroupRecords) {
		records += len(g.queue[n].recs)
		n++
	}
	batch := g.queue[:n:n]
	g.queue = g.queue[n:]
	g.mu.Unlock()
	g.commit(ctx, db, batch)
	g.mu.Lock()
	if len(g.queue) > 0 {
		g.queue[0].lead <- struct{}{}
	} else {
		g.leading = false
	}
	g.mu.Unlock()
	return <-req.done
}

// commit writes batch in one transaction and answers each request.
func (g *group) commit(ctx context.Context, db *DB, batch []*groupReq) {
	results := make([]error, len(batch))
	tctx := context.WithoutCancel(ctx) // one caller leaving does not end the others' transaction
	if len(batch) == 1 {
		// Alone, a request needs no savepoint: its failure undoes the
		// transaction, which is its own.
		r := batch[0]
		r.done <- db.inTx(r.ctx, func(tx conn) error { return createRecords(r.ctx, tx, r.recs, r.events) })
		return
	}
	err := db.inTx(tctx, func(tx conn) error {
		for i, r := range batch {
			if err := r.ctx.Err(); err != nil {
				results[i] = err
				continue
			}
			if _, err := tx.ExecContext(tctx, "SAVEPOINT req"); err != nil {
				return fmt.Errorf("savepoint: %w", err)
			}
			mark := tx.h.mark()
			if results[i] = createRecords(r.ctx, tx, r.recs, r.events); results[i] != nil {
				tx.h.undo(mark)
				if _, err := tx.ExecContext(tctx, "ROLLBACK TO req"); err != nil {
					return fmt.Errorf("roll back to savepoint: %w", err)
				}
			}
			if _, err := tx.ExecContext(tctx, "RELEASE req"); err != nil {
				return fmt.Errorf("release savepoint: %w", err)
			}
		}
		return nil
	})
	for i, r := range batch {
		if err != nil {
			results[i] = err
		}
		r.done <- results[i]
	}
}
