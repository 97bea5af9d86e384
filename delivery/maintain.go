package delivery

import (
	"context"
	"time"
)

// pruneBatch bounds the rows one pruning statement deletes, so that the
// writer is never held for long; pruneRest is the pause between batches
// that lets deliveries write in between.
const (
	pruneBatch = 1000
	pruneRest  = 20 * time.Millisecond
)

// maintain runs auto-disable and retention every MaintenanceInterval
// until ctx ends.
func (e *Engine) maintain(ctx context.Context) {
	t := time.NewTicker(e.cfg.MaintenanceInterval)
	defer t.Stop()
	for {
		e.Maintain(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Maintain disables webhooks that have failed for DisableAfter and prunes
// what is older than Retention, once.
func (e *Engine) Maintain(ctx context.Context) {
	now := time.Now()
	if e.cfg.DisableAfter > 0 {
		hooks, err := e.store.DisableFailingWebhooks(ctx, now.Add(-e.cfg.DisableAfter), now)
		if err != nil && ctx.Err() == nil {
			e.log.Error("auto-disable webhooks", "err", err)
		}
		for _, w := range hooks {
			e.log.Warn("webhook disabled", "webhook", w.ID, "url", w.TargetURL, "reason", w.DisabledReason)
		}
	}
	if e.cfg.Retention > 0 {
		total := 0
		for ctx.Err() == nil {
			n, err := e.store.PruneDeliveries(ctx, now.Add(-e.cfg.Retention), pruneBatch)
			if err != nil {
				if ctx.Err() == nil {
					e.log.Error("prune old deliveries", "err", err)
				}
				break
			}
			total += n
			if n < pruneBatch {
				break
			}
			sleep(ctx, pruneRest)
		}
		if total > 0 {
			e.log.Info("pruned old deliveries and events", "rows", total, "older than", e.cfg.Retention)
		}
	}
}
