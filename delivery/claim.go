package delivery

import (
	"context"
	"iter"
	"maps"
	"slices"
	"time"

	"github.com/heraldhq/herald"
)

// lane is one webhook's share of the engine.
type lane struct {
	inFlight int
	waiting  []*herald.Claim
	// reserved counts deliveries the store is writing leased to this
	// engine (Reserve), not handed over yet.
	reserved int
	// turnsUntil is the last turn the lane's claims were given, when its
	// webhook is throttled: it is not claimed for again until that is
	// less than half a ThrottleHorizon away.
	turnsUntil time.Time
}

// held is how many claims the lane holds, in flight, waiting or reserved.
func (l *lane) held() int { return l.inFlight + len(l.waiting) + l.reserved }

func (e *Engine) claimLoop(ctx context.Context) {
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		claimed, err := e.claimRound(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			e.log.Error("claim deliveries", "err", err)
			sleep(ctx, backoff)
			backoff = min(2*backoff, 5*time.Second)
			continue
		}
		backoff = 100 * time.Millisecond
		if claimed > 0 {
			continue // there may be more
		}
		e.idle(ctx)
	}
}

// idle sleeps until notified, until the next retry is due, or PollInterval.
func (e *Engine) idle(ctx context.Context) {
	wait := e.cfg.PollInterval
	e.mu.Lock()
	if !e.refillAt.IsZero() {
		wait = min(wait, max(time.Until(e.refillAt), time.Millisecond))
	}
	e.mu.Unlock()
	if at, ok, err := e.store.NextDue(ctx); err == nil && ok {
		// A due time in the past means work is due but not claimable now
		// (its lane is full, or it waits behind an earlier event); the
		// completion that frees it will notify.
		if d := time.Until(at); d > 0 && d < wait {
			wait = d
		}
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-e.wake:
	case <-t.C:
	}
}

// claimRound claims for every due lane with room and starts what it can.
func (e *Engine) claimRound(ctx context.Context) (int, error) {
	now := time.Now()
	due, err := e.store.DueWebhooks(ctx, now)
	if err != nil || len(due) == 0 {
		return 0, err
	}
	e.mu.Lock()
	var lanes []herald.Lane
	// A lane holds up to buffer claims and is topped up once half of them
	// are done: fewer, larger claims keep the single SQLite writer free
	// for the API. Many lanes share maxBuffered, so memory stays bounded.
	buffer := min(e.laneBuffer(), max(maxBuffered/len(due), 2*e.cfg.PerEndpoint))
	e.refillAt = time.Time{}
	for _, d := range due {
		id := d.WebhookID
		room := buffer
		l := e.lanes[id]
		if l != nil {
			room -= l.held()
		}
		if refill := l.refillAt(e.cfg.Lease); d.Throttle > 0 && refill.After(now) {
			// Its turns of the next half horizon are taken already.
			if e.refillAt.IsZero() || refill.Before(e.refillAt) {
				e.refillAt = refill
			}
			e.backlog[id] = true
		} else if room >= buffer/2 {
			lanes = append(lanes, herald.Lane{WebhookID: id, Limit: room, Throttle: d.Throttle})
		} else {
			// Due work left in the store: the completions that drain the
			// lane must wake the engine for it (complete), or it would
			// wait for the poll.
			e.backlog[id] = true
		}
	}
	e.mu.Unlock()
	if len(lanes) == 0 {
		return 0, nil
	}
	claims, err := e.store.ClaimDeliveries(herald.Urgent(ctx), herald.ClaimRequest{Owner: e.cfg.Owner, Now: now, LeaseUntil: now.Add(e.cfg.Lease), Lanes: lanes})
	if err != nil {
		return 0, err
	}
	e.mu.Lock()
	got := map[string]int{}
	for _, c := range claims {
		e.holdLocked(c)
		l := e.laneLocked(c.Webhook.ID)
		l.waiting = append(l.waiting, c)
		if c.NotBefore.After(l.turnsUntil) {
			l.turnsUntil = c.NotBefore
		}
		got[c.Webhook.ID]++
	}
	e.buffered += len(claims)
	// A lane that got all it asked for may have more due in the store.
	for _, l := range lanes {
		if got[l.WebhookID] >= l.Limit {
			e.backlog[l.WebhookID] = true
		} else {
			delete(e.backlog, l.WebhookID)
		}
	}
	e.startLanesLocked(slices.Collect(maps.Keys(got))...)
	e.mu.Unlock()
	return len(claims), nil
}

// refillAt is when a throttled lane is claimed for again under leases
// this long: when its last turn is half a ThrottleHorizon away. Zero for
// a lane without turns.
func (l *lane) refillAt(lease time.Duration) time.Time {
	if l == nil || l.turnsUntil.IsZero() {
		return time.Time{}
	}
	return l.turnsUntil.Add(-herald.ThrottleHorizon(lease) / 2)
}

// laneBuffer is how many claims a lane holds, in flight and waiting, when
// few lanes are busy.
func (e *Engine) laneBuffer() int { return max(16*e.cfg.PerEndpoint, 256) }

// maxBuffered bounds the claims all lanes hold together, beyond those in
// flight, when many are busy: each holds its event's body in memory.
const maxBuffered = 8192

// laneLocked returns the webhook's lane, made if need be. e.mu must be held.
func (e *Engine) laneLocked(id string) *lane {
	l := e.lanes[id]
	if l == nil {
		l = &lane{}
		e.lanes[id] = l
	}
	return l
}

// dropIdleLocked forgets a lane that holds nothing. e.mu must be held.
func (e *Engine) dropIdleLocked(id string, l *lane) {
	if l.held() == 0 {
		delete(e.lanes, id)
	}
}

// startWaitingLocked starts waiting claims in every lane while their lane
// and the engine have room. e.mu must be held.
func (e *Engine) startWaitingLocked() { e.startLocked(maps.All(e.lanes)) }

// startLanesLocked is startWaitingLocked for the lanes named only. After
// each start, a lane's waiting claims wait for room in the lane, for room
// in the engine, or for their throttled turn (turnTimer). So new claims,
// or an attempt that ends while the engine has room, concern their own
// lane alone: with a webhook per customer, scanning every lane after each
// attempt made a delivery's cost grow with the webhooks.
func (e *Engine) startLanesLocked(ids ...string) {
	e.startLocked(func(yield func(string, *lane) bool) {
		for _, id := range ids {
			if l := e.lanes[id]; l != nil && !yield(id, l) {
				return
			}
		}
	})
}

// startLocked starts the waiting claims of lanes that have room. A claim
// whose lease lapsed meanwhile (the process was frozen or starved, or
// could not extend it) is not sent: another process may have it now, and
// sending it too could overtake that process's later events of the
// record.
func (e *Engine) startLocked(lanes iter.Seq2[string, *lane]) {
	now := time.Now()
	lapsed := 0
	var nextTurn time.Time
	for id, l := range lanes {
		for len(l.waiting) > 0 && l.inFlight < e.cfg.PerEndpoint && e.inFlight < e.cfg.MaxInFlight {
			c := l.waiting[0]
			if c.NotBefore.After(now) {
				if nextTurn.IsZero() || c.NotBefore.Before(nextTurn) {
					nextTurn = c.NotBefore
				}
				break
			}
			l.waiting[0] = nil
			l.waiting = l.waiting[1:]
			e.buffered--
			if now.After(c.LeaseUntil) {
				lapsed++
				if e.held[c.DeliveryID] == c {
					delete(e.held, c.DeliveryID)
				}
				continue
			}
			l.inFlight++
			e.inFlight++
			e.attempts.Add(1)
			e.launchLocked(start{laneID: id, c: c})
		}
		e.dropIdleLocked(id, l)
	}
	if lapsed > 0 {
		// Not released: the lease lapsed, so any process, this one too,
		// may hold the delivery again, and a release would free its claim.
		// Expiry frees those nobody took.
		e.log.Warn("claims lapsed before they were sent: dropped, to be claimed again", "count", lapsed)
	}
	if !nextTurn.IsZero() && (e.turnAt.IsZero() || nextTurn.Before(e.turnAt)) {
		// A throttled claim's turn is to come: start it then.
		if e.turnTimer != nil {
			e.turnTimer.Stop()
		}
		e.turnAt = nextTurn
		e.turnTimer = time.AfterFunc(time.Until(nextTurn), func() {
			e.mu.Lock()
			defer e.mu.Unlock()
			e.turnAt = time.Time{}
			e.startWaitingLocked()
		})
	}
}
