package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/heraldhq/herald"
	"github.com/heraldhq/herald/operational"
	"github.com/heraldhq/herald/store/sqlbuild"
)

const deliveryColumns = `d.id, d.workspace_id, d.webhook_id, e.id, e.name, d.status, d.attempts, d.next_attempt_at,
	d.last_status_code, d.last_error, d.last_latency_us, d.created_at, d.updated_at, d.completed_at`

// ListDeliveries returns a page of a webhook's deliveries, newest event
// first, and whether older ones exist. It reads UNIQUE (webhook_id,
// event_seq) backwards: no index of its own, which every delivery would
// pay for.
func (db *DB) ListDeliveries(ctx context.Context, q herald.DeliveryQuery) ([]*herald.Delivery, bool, error) {
	var before int64
	if q.BeforeID > 0 {
		// The page goes on from the cursor's event. A cursor pruned since
		// (retention deletes the oldest) stands for the newest delivery
		// written before it.
		if err := db.read.QueryRowContext(ctx, `SELECT COALESCE((SELECT event_seq FROM deliveries WHERE id = ?),
			(SELECT max(event_seq) + 1 FROM deliveries WHERE webhook_id = ? AND id < ?), 0)`, q.BeforeID, q.WebhookID, q.BeforeID).Scan(&before); err != nil {
			return nil, false, fmt.Errorf("list deliveries: the cursor: %w", err)
		}
		if before == 0 {
			return nil, false, nil // nothing is older
		}
	}
	query, args := deliveryLogSQL(db.d, q, before)
	out, err := queryAll(ctx, db.read, scanDelivery, query, args...)
	if err != nil {
		return nil, false, fmt.Errorf("list deliveries: %w", err)
	}
	if len(out) > q.Limit {
		return out[:q.Limit], true, nil
	}
	return out, false, nil
}

// deliveryLogSQL selects a page of q, of events before the event seq
// before when it is set. The bound is on both sides of the join:
// PostgreSQL merges the two in event order, and read every event newer
// than the cursor when only the deliveries had it.
func deliveryLogSQL(d Dialect, q herald.DeliveryQuery, before int64) (string, []any) {
	b := &sqlbuild.Builder{D: d}
	where := []string{"d.webhook_id = " + b.Bind(q.WebhookID), "d.workspace_id = " + b.Bind(q.WorkspaceID)}
	if q.Status != "" {
		where = append(where, "d.status = "+b.Bind(q.Status))
	}
	if q.EventName != "" {
		where = append(where, "e.name = "+b.Bind(q.EventName))
	}
	if before > 0 {
		where = append(where, "d.event_seq < "+b.Bind(before), "e.seq < "+b.Bind(before))
	}
	return `SELECT ` + deliveryColumns + ` FROM deliveries d JOIN events e ON e.seq = d.event_seq
		WHERE ` + strings.Join(where, " AND ") + ` ORDER BY d.event_seq DESC LIMIT ` + b.Bind(q.Limit+1), b.Args
}

const eventColumns = `e.seq, e.id, e.workspace_id, e.name, e.object, e.object_plural, e.record_id, e.data, e.updated_fields, e.previous_data, e.occurred_at`

// eventRow receives eventColumns.
type eventRow struct {
	ev           herald.Event
	data         string
	fields, prev sql.NullString
	at           int64
}

func (r *eventRow) dest() []any {
	e := &r.ev
	return []any{&e.Seq, &e.ID, &e.WorkspaceID, &e.Name, &e.Object, &e.ObjectPlural, &e.RecordID, &r.data, &r.fields, &r.prev, &r.at}
}

func (r *eventRow) event() (*herald.Event, error) {
	ev := r.ev
	ev.Data = json.RawMessage(r.data)
	ev.Timestamp = fromMS(r.at)
	if r.fields.Valid {
		if err := json.Unmarshal([]byte(r.fields.String), &ev.UpdatedFields); err != nil {
			return nil, fmt.Errorf("event %s: bad updated_fields: %w", ev.ID, err)
		}
		ev.PreviousData = json.RawMessage(r.prev.String)
	}
	return &ev, nil
}

// FindDelivery returns a delivery with its event and every attempt.
func (db *DB) FindDelivery(ctx context.Context, workspaceID string, id int64) (*herald.Delivery, *herald.Event, []*herald.Attempt, error) {
	var row eventRow
	var d *herald.Delivery
	err := db.read.QueryRowContext(ctx, `SELECT `+deliveryColumns+`, `+eventColumns+` FROM deliveries d JOIN events e ON e.seq = d.event_seq
		WHERE d.id = ? AND d.workspace_id = ?`, id, workspaceID).Scan(append(deliveryDest(&d), row.dest()...)...)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil, nil, notFound("delivery")
	}
	if err != nil {
		return nil, nil, nil, fmt.Errorf("find delivery %d: %w", id, err)
	}
	ev, err := row.event()
	if err != nil {
		return nil, nil, nil, err
	}
	attempts, err := queryAll(ctx, db.read, func(s scanner) (*herald.Attempt, error) {
		a := &herald.Attempt{DeliveryID: id}
		err := s.Scan(&a.Number, timeScanner{&a.StartedAt}, &a.StatusCode, durationScanner{&a.Latency}, &a.Error, &a.ResponseBody)
		return a, err
	}, `SELECT number, started_at, status_code, latency_us, error, response_body FROM attempts WHERE delivery_id = ? ORDER BY number`, id)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("find delivery %d attempts: %w", id, err)
	}
	return d, ev, attempts, nil
}

func scanDelivery(s scanner) (*herald.Delivery, error) {
	var d *herald.Delivery
	err := s.Scan(deliveryDest(&d)...)
	return d, err
}

// deliveryDest points *d at a new Delivery and returns the scan
// destinations of deliveryColumns that fill it.
func deliveryDest(d **herald.Delivery) []any {
	x := &herald.Delivery{}
	*d = x
	return []any{&x.ID, &x.WorkspaceID, &x.WebhookID, &x.EventID, &x.EventName, &x.Status, &x.Attempts, nullTimeScanner{&x.NextAttemptAt},
		&x.LastStatusCode, &x.LastError, durationScanner{&x.LastLatency}, timeScanner{&x.CreatedAt}, timeScanner{&x.UpdatedAt}, nullTimeScanner{&x.CompletedAt}}
}

// RetryDelivery makes a delivery due now, whatever its status.
func (db *DB) RetryDelivery(ctx context.Context, workspaceID string, id int64, now time.Time) (*herald.Delivery, error) {
	var d *herald.Delivery
	err := db.inTx(ctx, func(tx conn) error {
		// A pending delivery keeps its place: it waits if it did. Any other
		// becomes pending behind its record's pending deliveries, if any.
		res, err := tx.ExecContext(ctx, `UPDATE deliveries SET next_attempt_at = CASE
				WHEN status = 'pending' THEN CASE WHEN next_attempt_at IS NULL AND lease_owner IS NULL THEN NULL ELSE CAST(? AS BIGINT) END
				ELSE `+waitingNext(db.d, "deliveries.webhook_id", "deliveries.order_key", "?")+` END,
			status = 'pending', completed_at = NULL, updated_at = ?, round_base = attempts
			WHERE id = ? AND workspace_id = ?`, ms(now), ms(now), ms(now), id, workspaceID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return notFound("delivery")
		}
		tx.h.madeDue()
		return tx.QueryRowContext(ctx, `SELECT `+deliveryColumns+` FROM deliveries d JOIN events e ON e.seq = d.event_seq WHERE d.id = ?`, id).
			Scan(deliveryDest(&d)...)
	})
	if err != nil {
		return nil, fmt.Errorf("retry delivery %d: %w", id, err)
	}
	return d, nil
}

// DeliverNow writes ev and its delivery to one webhook, claimed by req.Owner.
func (db *DB) DeliverNow(ctx context.Context, ev *herald.Event, webhookID string, req herald.ClaimRequest) (*herald.Claim, error) {
	var c *herald.Claim
	err := db.inTx(ctx, func(tx conn) error {
		w, err := findWebhook(ctx, tx, ev.WorkspaceID, webhookID, tx.d.KeyShare())
		if err != nil {
			return err
		}
		if err := insertEvents(ctx, tx, []*herald.Event{ev}); err != nil {
			return err
		}
		var id int64
		err = insertRows(ctx, tx, "deliveries", deliveryInsert.names, [][]any{newDeliveryOf(ev, webhookID, true, &req, time.Now()).args()},
			" RETURNING id", func(s scanner) error { return s.Scan(&id) })
		c = &herald.Claim{DeliveryID: id, Event: ev, Webhook: w, LeaseUntil: req.LeaseUntil}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("deliver %s now: %w", ev.Name, err)
	}
	return c, nil
}

// laneHead is when webhook w's earliest unleased pending delivery is due.
const laneHead = `(SELECT d.next_attempt_at FROM deliveries d
	WHERE d.webhook_id = w.id AND d.status = 'pending' AND d.lease_owner IS NULL AND d.next_attempt_at IS NOT NULL
	ORDER BY d.next_attempt_at LIMIT 1)`

// dueWebhooksSQL asks each webhook's lane for its head: a seek per
// webhook. Written as an EXISTS, PostgreSQL answered it by hashing the
// whole pending queue once statistics showed it large.
const dueWebhooksSQL = `SELECT w.id, w.throttle_rate FROM webhooks w WHERE w.status = 'active' AND ` + laneHead + ` <= ?`

// DueWebhooks returns the lanes of active webhooks with due, unleased
// deliveries.
func (db *DB) DueWebhooks(ctx context.Context, now time.Time) ([]herald.Lane, error) {
	lanes, err := queryAll(ctx, db.read, func(s scanner) (l herald.Lane, err error) {
		return l, s.Scan(&l.WebhookID, &l.Throttle)
	}, dueWebhooksSQL, ms(now))
	if err != nil {
		return nil, fmt.Errorf("due webhooks: %w", err)
	}
	return lanes, nil
}

// ClaimDeliveries leases due deliveries to req.Owner, lane by lane, in one
// statement: a UNION ALL of one limited select per webhook. A throttled
// lane first takes its turns (throttleTurns), and its claims are given
// them in order.
func (db *DB) ClaimDeliveries(ctx context.Context, req herald.ClaimRequest) ([]*herald.Claim, error) {
	if len(req.Lanes) == 0 {
		return nil, nil
	}
	var claims []*herald.Claim
	err := db.inTx(ctx, func(tx conn) error {
		turns, err := db.throttleTurns(ctx, tx, &req)
		if err != nil || len(req.Lanes) == 0 {
			return err
		}
		query, args := db.claimSQL(req)
		var rows []claimedRow
		rows, err = queryAll(ctx, tx, scanClaimedRow, query, args...)
		if err != nil || len(rows) == 0 {
			return err
		}
		if claims, err = claimsOf(ctx, tx, rows, req); err != nil {
			return err
		}
		return takeTurns(ctx, tx, turns, claims)
	})
	if err != nil {
		return nil, fmt.Errorf("claim deliveries: %w", err)
	}
	return claims, nil
}

// turns are a throttled webhook's next turns: one each 1/rate second from
// next (microseconds since the epoch).
type turns struct {
	next int64
	rate int
}

// at is the time of the i-th turn.
func (t turns) at(i int) int64 { return t.next + int64(i)*1e6/int64(t.rate) }

// throttleTurns locks the webhook row of each of req's throttled lanes
// (so that processes claiming together take turns one after the other),
// and lowers each lane's limit to the turns left in the next
// ThrottleHorizon: the lanes without any are dropped from req.
func (db *DB) throttleTurns(ctx context.Context, tx conn, req *herald.ClaimRequest) (map[string]turns, error) {
	var ids []string
	for _, l := range req.Lanes {
		if l.Throttle > 0 {
			ids = append(ids, l.WebhookID)
		}
	}
	if len(ids) == 0 {
		return nil, nil
	}
	slices.Sort(ids) // locked in one order by every claimer
	b := &sqlbuild.Builder{D: db.d}
	now := req.Now.UnixMicro()
	out := map[string]turns{}
	_, err := queryAll(ctx, tx, func(s scanner) (struct{}, error) {
		var id string
		var t turns
		if err := s.Scan(&id, &t.rate, &t.next); err != nil || t.rate <= 0 {
			return struct{}{}, err // no longer throttled: claimed as any lane
		}
		t.next = max(t.next, now)
		out[id] = t
		return struct{}{}, nil
	}, `SELECT id, throttle_rate, throttle_next FROM webhooks WHERE id IN (`+sqlbuild.BindList(b, ids)+`) ORDER BY id`+db.d.ForUpdate(), b.Args...)
	if err != nil {
		return nil, fmt.Errorf("throttled webhooks: %w", err)
	}
	horizon := now + herald.ThrottleHorizon(req.LeaseUntil.Sub(req.Now)).Microseconds()
	lanes := req.Lanes[:0:0]
	for _, l := range req.Lanes {
		if t, ok := out[l.WebhookID]; ok {
			if l.Limit = min(l.Limit, int((horizon-t.next)*int64(t.rate)/1e6)); l.Limit <= 0 {
				continue
			}
		}
		lanes = append(lanes, l)
	}
	req.Lanes = lanes
	return out, nil
}

// takeTurns gives each claim of a throttled webhook its turn, in claim
// order, and moves the webhook's next turn past them.
func takeTurns(ctx context.Context, tx conn, throttled map[string]turns, claims []*herald.Claim) error {
	if len(throttled) == 0 {
		return nil
	}
	taken := map[string]int{}
	for _, c := range claims {
		t, ok := throttled[c.Webhook.ID]
		if !ok {
			continue
		}
		c.NotBefore = time.UnixMicro(t.at(taken[c.Webhook.ID]))
		taken[c.Webhook.ID]++
	}
	for _, id := range slices.Sorted(maps.Keys(taken)) {
		t := throttled[id]
		if _, err := tx.ExecContext(ctx, `UPDATE webhooks SET throttle_next = ? WHERE id = ?`, t.at(taken[id]), id); err != nil {
			return fmt.Errorf("take throttled turns: %w", err)
		}
	}
	return nil
}

// claimSQL selects req's due deliveries, lane by lane, whose event is
// there and webhook active (claimsOf reads those). Deliveries waiting
// behind an earlier one of their record have no next_attempt_at, so the
// lane's range never meets them.
func (db *DB) claimSQL(req herald.ClaimRequest) (string, []any) {
	b := &sqlbuild.Builder{D: db.d}
	parts := make([]string, len(req.Lanes))
	for i, l := range req.Lanes {
		// Each lane is its own limited subquery; on PostgreSQL its rows
		// are locked, and rows another process is claiming are skipped.
		parts[i] = `SELECT id FROM (SELECT d.id FROM deliveries d
			WHERE d.webhook_id = ` + b.Bind(l.WebhookID) + ` AND d.status = 'pending' AND d.next_attempt_at <= ` + b.Bind(ms(req.Now)) + ` AND d.lease_owner IS NULL
			ORDER BY d.next_attempt_at, d.id LIMIT ` + b.Bind(l.Limit) + db.d.SkipLocked() + `) AS lane` + strconv.Itoa(i)
	}
	return `SELECT d.id, d.attempts, d.attempts - d.round_base, d.event_seq, d.webhook_id
		FROM deliveries d JOIN events e ON e.seq = d.event_seq JOIN webhooks w ON w.id = d.webhook_id
		WHERE w.status = 'active' AND d.id IN (` + strings.Join(parts, " UNION ALL ") + `) ORDER BY d.next_attempt_at, d.id`, b.Args
}

// claimedRow is a delivery the claim's statement chose.
type claimedRow struct {
	id              int64
	attempts, round int
	eventSeq        int64
	webhookID       string
}

func scanClaimedRow(s scanner) (r claimedRow, err error) {
	return r, s.Scan(&r.id, &r.attempts, &r.round, &r.eventSeq, &r.webhookID)
}

// claimsOf reads the events and webhooks of rows, each once however many
// rows share it (one event to fifty webhooks came back fifty times, a
// quarter of what a fan-out allocated), and leases the rows to req.Owner.
// The two reads go out together, the lease with what follows.
func claimsOf(ctx context.Context, tx conn, rows []claimedRow, req herald.ClaimRequest) ([]*herald.Claim, error) {
	events, hooks := map[int64]*herald.Event{}, map[string]*herald.Webhook{}
	for _, r := range rows {
		events[r.eventSeq], hooks[r.webhookID] = nil, nil
	}
	e := &sqlbuild.Builder{D: tx.d}
	err := tx.later(ctx, func(s scanner) error {
		var row eventRow
		if err := s.Scan(row.dest()...); err != nil {
			return err
		}
		ev, err := row.event()
		events[row.ev.Seq] = ev
		return err
	}, `SELECT `+eventColumns+` FROM events e WHERE e.seq IN (`+sqlbuild.BindList(e, slices.Collect(maps.Keys(events)))+`)`, e.Args...)
	if err != nil {
		return nil, err
	}
	w := &sqlbuild.Builder{D: tx.d}
	err = tx.later(ctx, func(s scanner) error {
		row := webhookRow{w: &herald.Webhook{Status: herald.WebhookActive}}
		if err := s.Scan(row.dest()...); err != nil {
			return err
		}
		h, err := row.webhook()
		hooks[h.ID] = h
		return err
	}, `SELECT `+claimWebhookColumns+` FROM webhooks w WHERE w.id IN (`+sqlbuild.BindList(w, slices.Collect(maps.Keys(hooks)))+`)`, w.Args...)
	if err == nil {
		err = tx.flush(ctx)
	}
	if err != nil {
		return nil, err
	}
	claims := make([]*herald.Claim, 0, len(rows))
	ids := make([]int64, 0, len(rows))
	for _, r := range rows {
		// The claim's statement found both. A row whose event or webhook
		// was deleted since is not leased, and the next claim's
		// statement no longer finds it.
		ev, hook := events[r.eventSeq], hooks[r.webhookID]
		if ev == nil || hook == nil {
			continue
		}
		claims = append(claims, &herald.Claim{DeliveryID: r.id, Attempts: r.attempts, Round: r.round, Event: ev, Webhook: hook, LeaseUntil: req.LeaseUntil})
		ids = append(ids, r.id)
	}
	if len(ids) == 0 {
		return nil, nil
	}
	u := &sqlbuild.Builder{D: tx.d}
	return claims, tx.later(ctx, nil, `UPDATE deliveries SET lease_owner = `+u.Bind(req.Owner)+`, lease_until = `+u.Bind(ms(req.LeaseUntil))+
		` WHERE id IN (`+sqlbuild.BindList(u, ids)+`)`, u.Args...)
}

const claimWebhookColumns = `w.id, w.workspace_id, w.target_url, w.secret, w.previous_secret, w.previous_secret_expires_at, w.payload_format, w.headers`

// webhookRow receives claimWebhookColumns into w.
type webhookRow struct {
	w       *herald.Webhook
	prevExp sql.NullInt64
	headers string
}

func (r *webhookRow) dest() []any {
	w := r.w
	return []any{&w.ID, &w.WorkspaceID, &w.TargetURL, &w.Secret, &w.PreviousSecret, &r.prevExp, &w.PayloadFormat, &r.headers}
}

func (r *webhookRow) webhook() (*herald.Webhook, error) {
	r.w.PreviousSecretExpiresAt = fromNullMS(r.prevExp)
	return r.w, scanHeaders(r.w, r.headers)
}

// CompleteDeliveries records attempts, the deliveries' new states and
// their webhooks' health.
func (db *DB) CompleteDeliveries(ctx context.Context, outcomes []herald.Outcome) error {
	err := db.inTx(ctx, func(tx conn) error {
		// Outcomes need not wait for the disk: if the database crashes
		// and loses them, their deliveries are still leased to this
		// process, which has forgotten them, so the leases lapse and
		// they are sent again, a duplicate and never a loss. No write
		// that survives the crash can depend on one that did not: the
		// WAL is written in order, so a later commit that reached the
		// disk brought this one with it.
		if q := tx.d.AsyncCommit(); q != "" {
			if err := tx.later(ctx, nil, q); err != nil {
				return err
			}
		}
		now := time.Now()
		recorded, err := recordOutcomes(ctx, tx, outcomes, now)
		if err != nil {
			return err
		}
		var health herald.HealthBatch
		for i := range recorded {
			health.Add(recorded[i].WebhookID, &recorded[i])
		}
		if err := insertAttempts(ctx, tx, recorded); err != nil {
			return err
		}
		if err := promoteNext(ctx, tx, recorded, now); err != nil {
			return err
		}
		var publish []*herald.Event
		for _, o := range recorded {
			if o.Publish != nil {
				publish = append(publish, o.Publish)
			}
		}
		for _, h := range health.Webhooks() {
			err := tx.later(ctx, nil, `UPDATE webhooks SET last_success_at = coalesce(?, last_success_at), last_failure_at = coalesce(?, last_failure_at),
				last_error = coalesce(?, last_error),
				failing_since = CASE WHEN ? THEN NULL WHEN ? THEN ? ELSE coalesce(failing_since, ?) END WHERE id = ?`,
				nullMS(h.LastSuccess), nullMS(h.LastFailure), sql.NullString{String: h.LastError, Valid: h.LastFailure != nil},
				h.Recovered(), h.LastSuccess != nil, nullMS(h.FailingSince), nullMS(h.FailingSince), h.WebhookID)
			if err != nil {
				return err
			}
			if h.Disable != "" {
				ev, err := disableGone(ctx, tx, h.WebhookID, h.Disable, now)
				if err != nil {
					return err
				}
				if ev != nil {
					publish = append(publish, ev)
				}
			}
		}
		return writeEvents(ctx, tx, publish)
	})
	if err != nil {
		return fmt.Errorf("complete deliveries: %w", err)
	}
	return nil
}

// disableGone disables an active webhook whose receiver answered 410 Gone,
// and returns the event that says so (nil when it was not active).
func disableGone(ctx context.Context, tx conn, id, reason string, now time.Time) (*herald.Event, error) {
	w, err := scanWebhook(tx.QueryRowContext(ctx, `UPDATE webhooks SET status = 'disabled', disabled_at = ?, disabled_reason = ?, updated_at = ?
		WHERE id = ? AND status = 'active' RETURNING `+webhookColumns, ms(now), reason, ms(now), id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("disable webhook %s: %w", id, err)
	}
	return operational.WebhookChanged(w, now), nil
}

// recordOutcomes sets the deliveries' new states, a statement per hundred
// outcomes, and returns the outcomes that still belong to the claim they
// were made under: their delivery is leased to their owner and has had no
// attempt recorded since that claim (an outcome's attempt number is the
// claim's count + 1, so the count fences it). The others are stale: the
// lease lapsed while their process was frozen or cut off, and the delivery
// was claimed again, perhaps by the same owner; whoever holds it now
// records its own attempt. Without the count, a stale outcome of an owner
// that had claimed the delivery again collided with that claim's attempt
// number and rolled back its whole batch.
func recordOutcomes(ctx context.Context, tx conn, outcomes []herald.Outcome, now time.Time) ([]herald.Outcome, error) {
	recorded := make([]herald.Outcome, 0, len(outcomes))
	for chunk := range slices.Chunk(outcomes, rowsPerInsert) {
		q, args, err := completionSQL(tx.d, chunk, now)
		if err != nil {
			return nil, err
		}
		ids, err := queryAll(ctx, tx, scanInt64, q, args...)
		if err != nil {
			return nil, err
		}
		// In the outcomes' order: health keeps the last error it is given.
		for _, o := range chunk {
			if slices.Contains(ids, o.DeliveryID) {
				recorded = append(recorded, o)
			}
		}
	}
	return recorded, nil
}

// completionSQL is the statement that records outcomes, found by their
// delivery's primary key, and returns the ids of those it recorded.
//
// The owner is compared with IS NOT DISTINCT FROM (the same, as an
// outcome always has one) so that the comparison does not imply the
// partial lease index's predicate: with "=", statistics taken while
// little was leased made PostgreSQL find each outcome's row through that
// index by owner, reading every delivery leased to the owner once an
// outcome (TestCompletionPlanIgnoresStaleStatistics: 101,000 rows for
// 100 outcomes among 1,000 leased, instead of 200).
func completionSQL(d Dialect, outcomes []herald.Outcome, now time.Time) (string, []any, error) {
	rows := make([][]any, len(outcomes))
	for i := range outcomes {
		o := &outcomes[i]
		var next, done sql.NullInt64
		if o.Status == herald.DeliveryPending {
			next = sql.NullInt64{Int64: ms(o.NextAttemptAt), Valid: true}
		} else {
			done = sql.NullInt64{Int64: ms(now), Valid: true}
		}
		a := &o.Attempt
		rows[i] = []any{o.DeliveryID, o.Owner, a.Number - 1, o.Status, next, a.StatusCode, a.Error, a.Latency.Microseconds(), done}
	}
	b := &sqlbuild.Builder{D: d}
	v, err := relation(d, b, outcomeColumns, rows)
	if err != nil {
		return "", nil, err
	}
	return `WITH v (` + outcomeColumns.names + `) AS (` + v + `)
		UPDATE deliveries SET status = v.status, attempts = deliveries.attempts + 1, next_attempt_at = v.next_at,
			lease_owner = NULL, lease_until = NULL, last_status_code = v.code, last_error = v.error,
			last_latency_us = v.latency_us, updated_at = ` + b.Bind(ms(now)) + `, completed_at = v.done
		FROM v WHERE deliveries.id = v.id AND deliveries.lease_owner IS NOT DISTINCT FROM v.owner AND deliveries.attempts = v.before RETURNING deliveries.id`, b.Args, nil
}

// outcomeColumns are those of the rows recordOutcomes updates deliveries
// from.
var outcomeColumns = columns{
	names: `id, owner, before, status, next_at, code, error, latency_us, done`,
	types: []string{typeBigint, typeText, typeInteger, typeText, typeBigint, typeInteger, typeText, typeBigint, typeBigint},
}

func scanInt64(s scanner) (v int64, err error) { return v, s.Scan(&v) }

// promoteNext schedules, for each outcome that took its delivery out of
// pending, the earliest delivery of the same record and webhook that was
// waiting behind it.
//
// It first reads the new head of each finished delivery's record queue,
// a seek per finished delivery, and updates only when there is one. As one
// statement (update the waiting rows whose id is among the heads),
// PostgreSQL's planner read every pending row of the order index instead,
// dead ones included, on each completion: 1–1.7 ms with a few hundred
// pending, and growing with the queue.
func promoteNext(ctx context.Context, tx conn, outcomes []herald.Outcome, now time.Time) error {
	var finished []int64
	for _, o := range outcomes {
		if o.Status != herald.DeliveryPending {
			finished = append(finished, o.DeliveryID)
		}
	}
	if len(finished) == 0 {
		return nil
	}
	b := &sqlbuild.Builder{D: tx.d}
	heads, err := queryAll(ctx, tx, scanNullInt64, waitingHeadsSQL(b, finished), b.Args...)
	if err != nil {
		return fmt.Errorf("find waiting deliveries: %w", err)
	}
	var next []int64
	for _, h := range heads {
		if h.Valid {
			next = append(next, h.Int64)
		}
	}
	if len(next) == 0 {
		return nil
	}
	b = &sqlbuild.Builder{D: tx.d}
	res, err := tx.ExecContext(ctx, `UPDATE deliveries SET next_attempt_at = `+b.Bind(ms(now))+`
		WHERE status = 'pending' AND next_attempt_at IS NULL AND id IN (`+sqlbuild.BindList(b, next)+`)`, b.Args...)
	if err != nil {
		return fmt.Errorf("schedule waiting deliveries: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil || n > 0 {
		tx.h.madeDue()
	}
	return nil
}

// waitingHeadsSQL selects, for each delivery in ids, the earliest pending
// delivery of the same record and webhook, or NULL.
func waitingHeadsSQL(b *sqlbuild.Builder, ids []int64) string {
	return `SELECT (SELECT p.id FROM deliveries p
			WHERE p.webhook_id = c.webhook_id AND p.order_key = c.order_key AND p.status = 'pending'
			ORDER BY p.event_seq LIMIT 1)
		FROM deliveries c WHERE c.id IN (` + sqlbuild.BindList(b, ids) + `)`
}

func scanNullInt64(s scanner) (v sql.NullInt64, err error) { return v, s.Scan(&v) }

// insertAttempts records the attempts of outcomes.
func insertAttempts(ctx context.Context, tx conn, outcomes []herald.Outcome) error {
	rows := make([][]any, len(outcomes))
	for i, o := range outcomes {
		a := o.Attempt
		rows[i] = []any{o.DeliveryID, a.Number, o.WebhookID, ms(a.StartedAt), a.StatusCode, a.Latency.Microseconds(), a.Error, a.ResponseBody}
	}
	if err := tx.queueInsert(ctx, tx.later, "attempts", attemptInsert, "", placeholders(len(attemptInsert.types)), rows, "", nil); err != nil {
		return fmt.Errorf("record attempts: %w", err)
	}
	return nil
}

// attemptInsert are the columns an attempt is written with.
var attemptInsert = columns{
	names: `delivery_id, number, webhook_id, started_at, status_code, latency_us, error, response_body`,
	types: []string{typeBigint, typeInteger, typeText, typeBigint, typeInteger, typeBigint, typeText, typeText},
}

// ExtendLeases pushes back the leases of ids that owner still holds, a
// statement per thousand, and returns those it extended. On PostgreSQL,
// rows that a completion has locked are skipped: it is clearing their
// lease, and waiting for it while it waits for a row this statement
// locked was a deadlock.
func (db *DB) ExtendLeases(ctx context.Context, owner string, ids []int64, until time.Time) ([]int64, error) {
	var extended []int64
	for chunk := range slices.Chunk(ids, leaseChunk) {
		b := &sqlbuild.Builder{D: db.d}
		q := `UPDATE deliveries SET lease_until = ` + b.Bind(ms(until)) + ` WHERE id IN (
			SELECT id FROM deliveries WHERE lease_owner = ` + b.Bind(owner) + ` AND id IN (` + sqlbuild.BindList(b, chunk) + `)` + db.d.SkipLocked() + `)
			RETURNING id`
		err := db.gated(ctx, func() error {
			got, err := queryAll(ctx, db.write, scanInt64, q, b.Args...)
			extended = append(extended, got...)
			return err
		})
		if err != nil {
			return extended, fmt.Errorf("extend leases: %w", err)
		}
	}
	return extended, nil
}

// leaseChunk bounds the ids one lease statement names.
const leaseChunk = 1000

// ReleaseClaims gives back leased deliveries without an attempt.
func (db *DB) ReleaseClaims(ctx context.Context, owner string, ids []int64) error {
	if len(ids) == 0 {
		return nil
	}
	for chunk := range slices.Chunk(ids, leaseChunk) {
		b := &sqlbuild.Builder{D: db.d}
		q := `UPDATE deliveries SET lease_owner = NULL, lease_until = NULL WHERE lease_owner = ` + b.Bind(owner) + ` AND id IN (` + sqlbuild.BindList(b, chunk) + `)`
		if _, err := db.exec(ctx, q, b.Args...); err != nil {
			return fmt.Errorf("release claims: %w", err)
		}
	}
	db.dueCommitted()
	return nil
}

// RecoverClaims releases leases whose holder is gone: expired ones, or
// every lease when this process is the single engine (SQLite's engine
// lock), since then every lease belongs to a process that died.
//
// It also schedules any delivery left waiting with nothing to wait for:
// completions schedule what waits behind them in the same transaction, so
// there should be none, but a delivery stuck unscheduled would never go.
func (db *DB) RecoverClaims(ctx context.Context, now time.Time) (int, error) {
	if _, err := db.exec(ctx, `UPDATE deliveries SET next_attempt_at = ?
		WHERE status = 'pending' AND lease_owner IS NULL AND next_attempt_at IS NULL AND NOT EXISTS (
			SELECT 1 FROM deliveries p WHERE p.webhook_id = deliveries.webhook_id AND p.order_key = deliveries.order_key
				AND p.status = 'pending' AND (p.next_attempt_at IS NOT NULL OR p.event_seq < deliveries.event_seq))`, ms(now)); err != nil {
		return 0, fmt.Errorf("schedule orphaned deliveries: %w", err)
	}
	if !db.singleEngine.Load() {
		return db.ExpireLeases(ctx, now)
	}
	res, err := db.exec(ctx, `UPDATE deliveries SET lease_owner = NULL, lease_until = NULL WHERE lease_owner IS NOT NULL`)
	if err != nil {
		return 0, fmt.Errorf("recover claims: %w", err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

// ExpireLeases releases every lease that lapsed before now.
func (db *DB) ExpireLeases(ctx context.Context, now time.Time) (int, error) {
	res, err := db.exec(ctx, `UPDATE deliveries SET lease_owner = NULL, lease_until = NULL
		WHERE lease_owner IS NOT NULL AND lease_until < ?`, ms(now))
	if err != nil {
		return 0, fmt.Errorf("expire leases: %w", err)
	}
	n, _ := res.RowsAffected()
	if n > 0 {
		db.dueCommitted()
	}
	return int(n), nil
}

// NextDue returns when the earliest unleased pending delivery is due:
// the earliest of each webhook's, found by a seek in its lane.
func (db *DB) NextDue(ctx context.Context) (time.Time, bool, error) {
	var at sql.NullInt64
	err := db.read.QueryRowContext(ctx, `SELECT min(`+laneHead+`) FROM webhooks w`).Scan(&at)
	if err != nil {
		return time.Time{}, false, fmt.Errorf("next due: %w", err)
	}
	return fromMS(at.Int64), at.Valid, nil
}

// QueueStats counts pending deliveries and finds the oldest, in one pass
// over the pending index.
func (db *DB) QueueStats(ctx context.Context) (herald.QueueStats, error) {
	var st herald.QueueStats
	var oldest sql.NullInt64
	err := db.read.QueryRowContext(ctx, `SELECT count(*), min(created_at) FROM deliveries WHERE status = 'pending'`).Scan(&st.Pending, &oldest)
	if err != nil {
		return st, fmt.Errorf("queue stats: %w", err)
	}
	if oldest.Valid {
		st.OldestPending = fromMS(oldest.Int64)
	}
	return st, nil
}

// ReplayDeliveries makes the webhook's matching events since a time due
// again, in batches of replayBatch events per transaction so that a long
// replay never holds the writer for long.
func (db *DB) ReplayDeliveries(ctx context.Context, workspaceID, webhookID string, since, now time.Time) (int, error) {
	w, err := db.FindWebhook(ctx, workspaceID, webhookID)
	if err != nil {
		return 0, err
	}
	route := hookRoute{Webhook: w, operations: w.Operations}
	if err := route.parseCondition(ctx, db.read); err != nil {
		return 0, err
	}
	after := struct{ at, seq int64 }{ms(since) - 1, math.MaxInt64}
	total, err := db.dueInBatches(ctx, func(tx conn) (n, seen int, err error) {
		// The webhook and the events stay locked while their deliveries
		// are added, as a foreign key would hold them (see routesOf): a
		// delete of the webhook waits, retention skips the events.
		if _, err := findWebhook(ctx, tx, workspaceID, webhookID, tx.d.KeyShare()); err != nil {
			return 0, 0, err
		}
		evs, err := queryAll(ctx, tx, func(s scanner) (*herald.Event, error) {
			ev := &herald.Event{}
			var data string
			var fields sql.NullString
			err := s.Scan(&ev.Seq, &ev.Name, &ev.RecordID, &ev.Object, &after.at, &data, &fields)
			ev.Data = json.RawMessage(data)
			if fields.Valid {
				_ = json.Unmarshal([]byte(fields.String), &ev.UpdatedFields)
			}
			after.seq = ev.Seq
			return ev, err
		}, `SELECT seq, name, record_id, object, occurred_at, data, updated_fields FROM events
			WHERE workspace_id = ? AND (occurred_at > ? OR (occurred_at = ? AND seq > ?)) ORDER BY occurred_at, seq LIMIT ?`+tx.d.KeyShare(),
			workspaceID, after.at, after.at, after.seq, replayBatch)
		if err != nil {
			return 0, 0, err
		}
		seen = len(evs)
		stmt, err := tx.PrepareContext(ctx, `INSERT INTO deliveries (workspace_id, webhook_id, event_seq, order_key, status, next_attempt_at, created_at, updated_at)
			VALUES (?, ?, ?, ?, 'pending', `+waitingNext(db.d, "?", "?", "?")+`, ?, ?)
			ON CONFLICT (webhook_id, event_seq) DO UPDATE SET status = 'pending', next_attempt_at = excluded.next_attempt_at,
				completed_at = NULL, round_base = deliveries.attempts, updated_at = excluded.updated_at
			WHERE deliveries.status <> 'pending'`)
		if err != nil {
			return 0, 0, err
		}
		defer stmt.Close()
		for _, ev := range evs {
			if !herald.Replayable(ev.Name) || !w.Matches(ev.Name) || ev.About(w.ID) || !route.passes(ev) {
				continue
			}
			res, err := stmt.ExecContext(ctx, workspaceID, webhookID, ev.Seq, ev.OrderKey(), webhookID, ev.OrderKey(), ms(now), ms(now), ms(now))
			if err != nil {
				return n, seen, err
			}
			k, _ := res.RowsAffected()
			n += int(k)
		}
		return n, seen, nil
	})
	if err != nil {
		return total, fmt.Errorf("replay deliveries of webhook %s: %w", webhookID, err)
	}
	return total, nil
}

// dueInBatches runs batch in transactions, one after the other, until
// one sees fewer than replayBatch rows, and returns how many deliveries
// they made due (the taker hears of each transaction's).
func (db *DB) dueInBatches(ctx context.Context, batch func(tx conn) (made, seen int, err error)) (int, error) {
	total := 0
	for {
		var made, seen int
		err := db.inTx(ctx, func(tx conn) error {
			var err error
			made, seen, err = batch(tx)
			if err == nil && made > 0 {
				tx.h.madeDue()
			}
			return err
		})
		if err != nil {
			return total, err
		}
		total += made
		if seen < replayBatch {
			return total, nil
		}
	}
}

// RetryDeliveries makes the selected finished deliveries due again, one
// statement a delivery in event order, so that of one record's only the
// first is scheduled and the others wait behind it (waitingNext sees the
// rows the statements before it made pending).
func (db *DB) RetryDeliveries(ctx context.Context, sel herald.RetrySelection, now time.Time) (int, error) {
	if _, err := db.FindWebhook(ctx, sel.WorkspaceID, sel.WebhookID); err != nil {
		return 0, err
	}
	afterSeq := int64(-1)
	total, err := db.dueInBatches(ctx, func(tx conn) (n, seen int, err error) {
		type finished struct {
			id, seq int64
			key     string
		}
		b := &sqlbuild.Builder{D: db.d}
		where := `d.webhook_id = ` + b.Bind(sel.WebhookID) + ` AND d.completed_at >= ` + b.Bind(ms(sel.Since)) + ` AND d.event_seq > ` + b.Bind(afterSeq)
		if sel.Status != "" {
			where += ` AND d.status = ` + b.Bind(sel.Status)
		} else {
			where += ` AND d.status <> 'pending'`
		}
		if sel.EventName != "" {
			where += ` AND e.name = ` + b.Bind(sel.EventName)
		}
		rows, err := queryAll(ctx, tx, func(s scanner) (d finished, err error) {
			err = s.Scan(&d.id, &d.seq, &d.key)
			return d, err
		}, `SELECT d.id, d.event_seq, d.order_key FROM deliveries d JOIN events e ON e.seq = d.event_seq
			WHERE `+where+` ORDER BY d.event_seq LIMIT `+b.Bind(replayBatch), b.Args...)
		if err != nil {
			return 0, 0, err
		}
		stmt, err := tx.PrepareContext(ctx, `UPDATE deliveries SET status = 'pending', next_attempt_at = `+waitingNext(db.d, "?", "?", "?")+`,
			completed_at = NULL, round_base = attempts, updated_at = ? WHERE id = ? AND status <> 'pending'`)
		if err != nil {
			return 0, 0, err
		}
		defer stmt.Close()
		for _, d := range rows {
			afterSeq = d.seq
			res, err := stmt.ExecContext(ctx, sel.WebhookID, d.key, ms(now), ms(now), d.id)
			if err != nil {
				return n, len(rows), err
			}
			k, _ := res.RowsAffected()
			n += int(k)
		}
		return n, len(rows), nil
	})
	if err != nil {
		return total, fmt.Errorf("retry deliveries of webhook %s: %w", sel.WebhookID, err)
	}
	return total, nil
}

// replayBatch is how many events one replay transaction looks at.
const replayBatch = 1000

// pruneEventsSQL finds old events nothing refers to through
// events_workspace_time, one workspace at a time. On PostgreSQL it skips
// events that a replay holds (KeyShare) while it adds their deliveries:
// no foreign key refuses the delete there (see routesOf).
func pruneEventsSQL(d Dialect) string {
	return `DELETE FROM events WHERE seq IN (
	SELECT e.seq FROM events e WHERE e.workspace_id IN (SELECT id FROM workspaces) AND e.occurred_at < ?
		AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.event_seq = e.seq) LIMIT ?` + d.SkipLocked() + `)`
}

// PruneDeliveries deletes finished deliveries and their attempts, then
// events nothing refers to, all older than before, limit at a time.
func (db *DB) PruneDeliveries(ctx context.Context, before time.Time, limit int) (int, error) {
	var ids []int64
	err := db.inTx(ctx, func(tx conn) error {
		var err error
		ids, err = queryAll(ctx, tx, scanInt64, `DELETE FROM deliveries WHERE id IN (
			SELECT id FROM deliveries WHERE status <> 'pending' AND completed_at < ? LIMIT ?) RETURNING id`, ms(before), limit)
		if err != nil || len(ids) == 0 {
			return err
		}
		b := &sqlbuild.Builder{D: tx.d}
		_, err = tx.ExecContext(ctx, `DELETE FROM attempts WHERE delivery_id IN (`+sqlbuild.BindList(b, ids)+`)`, b.Args...)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("prune deliveries: %w", err)
	}
	res, err := db.exec(ctx, pruneEventsSQL(db.d), ms(before), limit)
	if err != nil {
		return len(ids), fmt.Errorf("prune events: %w", err)
	}
	m, _ := res.RowsAffected()
	return len(ids) + int(m), nil
}
