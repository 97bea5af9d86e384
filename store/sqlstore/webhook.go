package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/heraldhq/herald"
	"github.com/heraldhq/herald/operational"
)

const webhookColumns = `id, workspace_id, target_url, operations, description, secret, previous_secret, previous_secret_expires_at,
	status, payload_format, disabled_at, disabled_reason, created_at, updated_at,
	failing_since, last_success_at, last_failure_at, last_error, headers, fields, condition, filtered_events, throttle_rate`

func scanWebhook(s scanner) (*herald.Webhook, error) {
	var w herald.Webhook
	var ops string
	var prevExp, disabled, failing, success, failure sql.NullInt64
	var created, updated int64
	var headers, fields string
	if err := s.Scan(&w.ID, &w.WorkspaceID, &w.TargetURL, &ops, &w.Description, &w.Secret, &w.PreviousSecret, &prevExp,
		&w.Status, &w.PayloadFormat, &disabled, &w.DisabledReason, &created, &updated,
		&failing, &success, &failure, &w.LastError, &headers, &fields, &w.Condition, &w.FilteredEvents, &w.ThrottleRate); err != nil {
		return nil, err
	}
	if err := scanHeaders(&w, headers); err != nil {
		return nil, err
	}
	if err := scanFields(&w, fields); err != nil {
		return nil, err
	}
	w.FailingSince, w.LastSuccessAt, w.LastFailureAt = fromNullMS(failing), fromNullMS(success), fromNullMS(failure)
	if err := json.Unmarshal([]byte(ops), &w.Operations); err != nil {
		return nil, fmt.Errorf("webhook %s: bad operations: %w", w.ID, err)
	}
	w.PreviousSecretExpiresAt, w.DisabledAt = fromNullMS(prevExp), fromNullMS(disabled)
	w.CreatedAt, w.UpdatedAt = fromMS(created), fromMS(updated)
	return &w, nil
}

// scanHeaders reads a webhook's headers column.
func scanHeaders(w *herald.Webhook, headers string) error {
	if headers == "" || headers == "{}" {
		return nil
	}
	if err := json.Unmarshal([]byte(headers), &w.Headers); err != nil {
		return fmt.Errorf("webhook %s: bad headers: %w", w.ID, err)
	}
	return nil
}

// scanFields reads a webhook's fields column.
func scanFields(w *herald.Webhook, fields string) error {
	if fields == "" || fields == "[]" {
		return nil
	}
	if err := json.Unmarshal([]byte(fields), &w.Fields); err != nil {
		return fmt.Errorf("webhook %s: bad fields: %w", w.ID, err)
	}
	return nil
}

func fieldsArg(w *herald.Webhook) string {
	if len(w.Fields) == 0 {
		return "[]"
	}
	b, _ := json.Marshal(w.Fields)
	return string(b)
}

func headersArg(w *herald.Webhook) string {
	if len(w.Headers) == 0 {
		return "{}"
	}
	b, _ := json.Marshal(w.Headers)
	return string(b)
}

func webhookArgs(w *herald.Webhook) []any {
	ops, _ := json.Marshal(w.Operations)
	return []any{w.ID, w.WorkspaceID, w.TargetURL, string(ops), w.Description, w.Secret, w.PreviousSecret, nullMS(w.PreviousSecretExpiresAt),
		w.Status, w.PayloadFormat, nullMS(w.DisabledAt), w.DisabledReason, ms(w.CreatedAt), ms(w.UpdatedAt),
		nullMS(w.FailingSince), nullMS(w.LastSuccessAt), nullMS(w.LastFailureAt), w.LastError, headersArg(w), fieldsArg(w), w.Condition, w.FilteredEvents, w.ThrottleRate}
}

// CreateWebhook stores a new webhook.
func (db *DB) CreateWebhook(ctx context.Context, w *herald.Webhook) error {
	args := webhookArgs(w)
	_, err := db.exec(ctx, `INSERT INTO webhooks (`+webhookColumns+`) VALUES (?`+strings.Repeat(", ?", len(args)-1)+`)`, args...)
	if err != nil {
		return fmt.Errorf("create webhook: %w", err)
	}
	return nil
}

// FindWebhook returns a webhook of the workspace.
func (db *DB) FindWebhook(ctx context.Context, workspaceID, id string) (*herald.Webhook, error) {
	return findWebhook(ctx, db.read, workspaceID, id, "")
}

// findWebhook loads a webhook; lock when the transaction will change it.
// lock is appended to the select: "", or the dialect's ForUpdate or
// KeyShare.
func findWebhook(ctx context.Context, q conn, workspaceID, id string, lock string) (*herald.Webhook, error) {
	w, err := scanWebhook(q.QueryRowContext(ctx, `SELECT `+webhookColumns+` FROM webhooks WHERE id = ? AND workspace_id = ?`+lock, id, workspaceID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("webhook " + id)
	}
	if err != nil {
		return nil, fmt.Errorf("find webhook %s: %w", id, err)
	}
	return w, nil
}

// ListWebhooks returns a workspace's webhooks, oldest first.
func (db *DB) ListWebhooks(ctx context.Context, workspaceID string) ([]*herald.Webhook, error) {
	hooks, err := queryAll(ctx, db.read, scanWebhook, `SELECT `+webhookColumns+` FROM webhooks WHERE workspace_id = ? ORDER BY created_at, id`, workspaceID)
	if err != nil {
		return nil, fmt.Errorf("list webhooks: %w", err)
	}
	return hooks, nil
}

// UpdateWebhook loads a webhook, lets fn change it and saves it.
func (db *DB) UpdateWebhook(ctx context.Context, workspaceID, id string, fn func(*herald.Webhook) error) (*herald.Webhook, error) {
	var out *herald.Webhook
	err := db.inTx(ctx, func(tx conn) error {
		w, err := findWebhook(ctx, tx, workspaceID, id, tx.d.ForUpdate())
		if err != nil {
			return err
		}
		was := w.Status
		if err := fn(w); err != nil {
			return err
		}
		args := webhookArgs(w)
		_, err = tx.ExecContext(ctx, `UPDATE webhooks SET target_url = ?, operations = ?, description = ?, secret = ?, previous_secret = ?,
			previous_secret_expires_at = ?, status = ?, payload_format = ?, disabled_at = ?, disabled_reason = ?, updated_at = ?,
			failing_since = ?, headers = ?, fields = ?, condition = ?, throttle_rate = ? WHERE id = ? AND workspace_id = ?`,
			slices.Concat(args[2:12], []any{args[13], args[14], args[18], args[19], args[20], args[22], w.ID, w.WorkspaceID})...)
		if err != nil {
			return err
		}
		if w.Status == herald.WebhookActive {
			tx.h.madeDue() // re-enabled, its waiting deliveries are due
		}
		out = w
		if w.Status != was {
			return writeEvents(ctx, tx, []*herald.Event{operational.WebhookChanged(w, w.UpdatedAt)})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("update webhook %s: %w", id, err)
	}
	return out, nil
}

// DeleteWebhook removes a webhook; its deliveries and attempts go with it.
// No foreign key cascades on PostgreSQL (see routesOf), so they are
// deleted here, each once the one before has committed its part: the
// webhook's row first, which waits for transactions that are adding its
// deliveries, then its deliveries, which waits for completions adding
// their attempts, then the attempts.
func (db *DB) DeleteWebhook(ctx context.Context, workspaceID, id string) error {
	err := db.inTx(ctx, func(tx conn) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM webhooks WHERE id = ? AND workspace_id = ?`, id, workspaceID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return notFound("webhook " + id)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM deliveries WHERE webhook_id = ?`, id); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM attempts WHERE webhook_id = ?`, id)
		return err
	})
	if err != nil {
		return fmt.Errorf("delete webhook %s: %w", id, err)
	}
	return nil
}

// WebhookStats counts each webhook's attempts since a time and its backlog.
func (db *DB) WebhookStats(ctx context.Context, workspaceID string, since time.Time) (map[string]herald.WebhookStats, error) {
	type count struct {
		id   string
		n, m int
	}
	scanCount := func(s scanner) (c count, err error) { return c, s.Scan(&c.id, &c.n, &c.m) }
	attempts, err := queryAll(ctx, db.read, scanCount, `SELECT webhook_id, count(*), sum(CASE WHEN error = '' AND status_code BETWEEN 200 AND 299 THEN 1 ELSE 0 END)
		FROM attempts WHERE webhook_id IN (SELECT id FROM webhooks WHERE workspace_id = ?) AND started_at >= ? GROUP BY webhook_id`, workspaceID, ms(since))
	if err != nil {
		return nil, fmt.Errorf("webhook stats: %w", err)
	}
	backlog, err := queryAll(ctx, db.read, scanCount, `SELECT webhook_id, count(*), 0 FROM deliveries
		WHERE webhook_id IN (SELECT id FROM webhooks WHERE workspace_id = ?) AND status = 'pending' GROUP BY webhook_id`, workspaceID)
	if err != nil {
		return nil, fmt.Errorf("webhook backlog: %w", err)
	}
	out := map[string]herald.WebhookStats{}
	for _, c := range attempts {
		out[c.id] = herald.WebhookStats{Attempts: c.n, Succeeded: c.m}
	}
	for _, c := range backlog {
		st := out[c.id]
		st.Pending = c.n
		out[c.id] = st
	}
	return out, nil
}

// DisableFailingWebhooks disables active webhooks failing since failingSince.
func (db *DB) DisableFailingWebhooks(ctx context.Context, failingSince, now time.Time) ([]*herald.Webhook, error) {
	var out []*herald.Webhook
	err := db.inTx(ctx, func(tx conn) error {
		var err error
		out, err = queryAll(ctx, tx, scanWebhook, `SELECT `+webhookColumns+` FROM webhooks WHERE status = 'active' AND failing_since <= ?`, ms(failingSince))
		if err != nil {
			return err
		}
		events := make([]*herald.Event, len(out))
		for i, w := range out {
			w.Status, w.DisabledAt, w.UpdatedAt = herald.WebhookDisabled, &now, now
			w.DisabledReason = herald.FailingReason(*w.FailingSince, w.LastError)
			if _, err := tx.ExecContext(ctx, `UPDATE webhooks SET status = 'disabled', disabled_at = ?, disabled_reason = ?, updated_at = ? WHERE id = ?`,
				ms(now), w.DisabledReason, ms(now), w.ID); err != nil {
				return err
			}
			events[i] = operational.WebhookChanged(w, now)
		}
		return writeEvents(ctx, tx, events)
	})
	if err != nil {
		return nil, fmt.Errorf("disable failing webhooks: %w", err)
	}
	return out, nil
}

// AttemptHistogram counts a webhook's attempts per bucket since a time,
// through the attempts_webhook index.
func (db *DB) AttemptHistogram(ctx context.Context, workspaceID, webhookID string, since, now time.Time, width time.Duration) ([]herald.AttemptBucket, error) {
	if width < time.Millisecond || !now.After(since) {
		return nil, fmt.Errorf("attempt histogram: bad window %s..%s by %s", since, now, width)
	}
	type count struct{ bucket, n, ok int64 }
	scan := func(s scanner) (c count, err error) { return c, s.Scan(&c.bucket, &c.n, &c.ok) }
	from, step := ms(since), width.Milliseconds()
	counts, err := queryAll(ctx, db.read, scan, `SELECT (a.started_at - ?) / ?, count(*), sum(CASE WHEN a.error = '' AND a.status_code BETWEEN 200 AND 299 THEN 1 ELSE 0 END)
		FROM attempts a JOIN webhooks w ON w.id = a.webhook_id
		WHERE a.webhook_id = ? AND w.workspace_id = ? AND a.started_at >= ? AND a.started_at < ? GROUP BY 1`,
		from, step, webhookID, workspaceID, from, ms(now))
	if err != nil {
		return nil, fmt.Errorf("attempt histogram: %w", err)
	}
	out := make([]herald.AttemptBucket, int((now.Sub(since)+width-1)/width))
	for i := range out {
		out[i].Start = since.Add(time.Duration(i) * width).UTC()
	}
	for _, c := range counts {
		if c.bucket >= 0 && c.bucket < int64(len(out)) {
			out[c.bucket].Attempts, out[c.bucket].Succeeded = int(c.n), int(c.ok)
		}
	}
	return out, nil
}
