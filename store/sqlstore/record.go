package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/heraldhq/herald"
	"github.com/heraldhq/herald/record"
	"github.com/heraldhq/herald/store/sqlbuild"
)

const recordColumns = `workspace_id, object, id, data, created_at, updated_at, deleted_at, created_by`

func scanRecord(s scanner) (*herald.Record, error) {
	var r herald.Record
	var data, created, updated string
	var deleted sql.NullString
	if err := s.Scan(&r.WorkspaceID, &r.Object, &r.ID, &data, &created, &updated, &deleted, &r.CreatedBy); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(data), &r.Values); err != nil {
		return nil, fmt.Errorf("record %s: bad data: %w", r.ID, err)
	}
	var err1, err2 error
	r.CreatedAt, err1 = time.Parse(herald.TimeLayout, created)
	r.UpdatedAt, err2 = time.Parse(herald.TimeLayout, updated)
	if deleted.Valid {
		t, err := time.Parse(herald.TimeLayout, deleted.String)
		if err != nil {
			return nil, err
		}
		r.DeletedAt = &t
	}
	return &r, errors.Join(err1, err2)
}

func encodeValues(r *herald.Record) (string, error) {
	b, err := json.Marshal(r.Values)
	if err != nil {
		return "", fmt.Errorf("encode record %s: %w", r.ID, err)
	}
	return string(b), nil
}

func nullTimeText(t *time.Time) sql.NullString {
	if t == nil {
		return sql.NullString{}
	}
	return sql.NullString{String: herald.FormatTime(*t), Valid: true}
}

// CreateRecords inserts records and their events, and fans the events out.
// With Options.GroupLeaders, concurrent calls of a few records share
// one transaction (group.go).
func (db *DB) CreateRecords(ctx context.Context, recs []*herald.Record, events []*herald.Event) error {
	var err error
	if db.group != nil && len(recs) <= maxGroupedRecords {
		err = db.group.do(ctx, db, &groupReq{recs: recs, events: events})
	} else {
		err = db.inTx(ctx, func(tx conn) error { return createRecords(ctx, tx, recs, events) })
	}
	if err != nil {
		return fmt.Errorf("create records: %w", err)
	}
	return nil
}

// createRecords writes records and their events in tx.
func createRecords(ctx context.Context, tx conn, recs []*herald.Record, events []*herald.Event) error {
	rows := make([][]any, len(recs))
	for i, r := range recs {
		data, err := encodeValues(r)
		if err != nil {
			return err
		}
		rows[i] = []any{r.WorkspaceID, r.Object, r.ID, data,
			herald.FormatTime(r.CreatedAt), herald.FormatTime(r.UpdatedAt), nullTimeText(r.DeletedAt), r.CreatedBy}
	}
	// The primary key finds taken ids as it inserts; a separate look-up
	// first cost a query per chunk, and on PostgreSQL, with statistics
	// from when the workspace was small, it scanned the whole workspace.
	// The caller's transaction (or savepoint) undoes a partial insert.
	inserted := make(map[string]int, len(recs))
	withEvents := tx.d.InsertsInWith() && len(events) == len(recs)
	var err error
	var routes map[string][]hookRoute
	if withEvents {
		// The inserts go out with the queries of the routes.
		if err = queueRecordsWithEvents(ctx, tx, rows, events, inserted); err == nil {
			routes, err = routesOf(ctx, tx, events)
		}
	} else {
		err = insertRows(ctx, tx, "records", recordColumns, rows, recordConflict+" RETURNING id",
			func(s scanner) error {
				var id string
				err := s.Scan(&id)
				inserted[id]++
				return err
			})
	}
	if err != nil {
		return err
	}
	for _, r := range recs {
		if inserted[r.ID] == 0 {
			return &herald.Error{Code: herald.ECONFLICT, Field: "id", Message: fmt.Sprintf("a %s with id %s already exists", r.Object, r.ID)}
		}
		inserted[r.ID]--
	}
	if withEvents {
		return fanOutEvents(ctx, tx, events, routes)
	}
	return writeEvents(ctx, tx, events)
}

const recordConflict = " ON CONFLICT (workspace_id, object, id) DO NOTHING"

// queueRecordsWithEvents queues the inserts of records (rows) and their
// events, one statement a chunk, where two inserts took a round trip
// each: the records in a data-modifying WITH, which PostgreSQL has and
// SQLite has not. Once they have gone out, inserted counts the records
// written and the events' Seq is set.
func queueRecordsWithEvents(ctx context.Context, tx conn, rows [][]any, events []*herald.Event, inserted map[string]int) error {
	evRows, byID := eventRows(events)
	for start := 0; start < len(rows); start += rowsPerInsert {
		end := min(start+rowsPerInsert, len(rows))
		var q strings.Builder
		q.WriteString("WITH r AS (INSERT INTO records (" + recordColumns + ") VALUES ")
		args := appendTuples(&q, placeholders(len(rows[start])), rows[start:end], nil)
		q.WriteString(recordConflict + " RETURNING id) INSERT INTO events (" + eventInsertColumns + ") VALUES ")
		args = appendTuples(&q, placeholders(len(evRows[start])), evRows[start:end], args)
		// The ids written ride along on each event's row (ids are UUIDs:
		// no spaces).
		q.WriteString(" RETURNING id, seq, (SELECT coalesce(string_agg(r.id, ' '), '') FROM r)")
		first := true
		err := tx.later(ctx, func(s scanner) error {
			var id, written string
			var seq int64
			if err := s.Scan(&id, &seq, &written); err != nil {
				return err
			}
			if ev := byID[id]; ev != nil {
				ev.Seq = seq
			}
			if first {
				first = false
				for _, id := range strings.Fields(written) {
					inserted[id]++
				}
			}
			return nil
		}, q.String(), args...)
		if err != nil {
			return fmt.Errorf("insert records and events: %w", err)
		}
	}
	return nil
}

// UpdateRecord loads a record, lets fn change it and saves it with fn's event.
func (db *DB) UpdateRecord(ctx context.Context, workspaceID, object, id string, fn herald.ChangeFunc) (*herald.Record, error) {
	var out *herald.Record
	err := db.writeOne(ctx, func(ctx context.Context, tx conn) error {
		r, err := findRecord(ctx, tx, workspaceID, object, id, true)
		if err != nil {
			return err
		}
		ev, err := fn(r)
		if err != nil || ev == nil {
			out = r
			return err
		}
		data, err := encodeValues(r)
		if err != nil {
			return err
		}
		if err := tx.later(ctx, nil, `UPDATE records SET data = ?, updated_at = ?, deleted_at = ? WHERE workspace_id = ? AND object = ? AND id = ?`,
			data, herald.FormatTime(r.UpdatedAt), nullTimeText(r.DeletedAt), workspaceID, object, id); err != nil {
			return err
		}
		out = r
		return writeEvents(ctx, tx, []*herald.Event{ev})
	})
	if err != nil {
		return nil, fmt.Errorf("update %s %s: %w", object, id, err)
	}
	return out, nil
}

// writeOne runs a write of one record in a transaction. On a single
// writer, concurrent ones share a transaction (group.go): there every
// commit pays for writing its pages to the WAL and syncing it, and the
// writer is taken one transaction at a time anyway. Not on PostgreSQL,
// where each holds its record's row lock, and groups taking two rows in
// opposite orders would deadlock each other.
func (db *DB) writeOne(ctx context.Context, write func(ctx context.Context, tx conn) error) error {
	if db.group != nil && db.writeGate != nil {
		return db.group.do(ctx, db, &groupReq{write: write})
	}
	return db.inTx(ctx, func(tx conn) error { return write(ctx, tx) })
}

// DestroyRecord deletes a record for good, with fn's event.
func (db *DB) DestroyRecord(ctx context.Context, workspaceID, object, id string, fn herald.ChangeFunc) (*herald.Record, error) {
	var out *herald.Record
	err := db.writeOne(ctx, func(ctx context.Context, tx conn) error {
		r, err := findRecord(ctx, tx, workspaceID, object, id, true)
		if err != nil {
			return err
		}
		ev, err := fn(r)
		if err != nil {
			return err
		}
		if err := tx.later(ctx, nil, `DELETE FROM records WHERE workspace_id = ? AND object = ? AND id = ?`, workspaceID, object, id); err != nil {
			return err
		}
		out = r
		if ev == nil {
			return nil
		}
		return writeEvents(ctx, tx, []*herald.Event{ev})
	})
	if err != nil {
		return nil, fmt.Errorf("destroy %s %s: %w", object, id, err)
	}
	return out, nil
}

// FindRecord returns a record, soft-deleted or not.
func (db *DB) FindRecord(ctx context.Context, workspaceID, object, id string) (*herald.Record, error) {
	r, err := findRecord(ctx, db.read, workspaceID, object, id, false)
	if err != nil && herald.ErrorCode(err) != herald.ENOTFOUND {
		return nil, fmt.Errorf("find %s %s: %w", object, id, err)
	}
	return r, err
}

// findRecord loads a record; lock when the transaction will change it, so
// that concurrent changes of one record commit their events in order.
func findRecord(ctx context.Context, q conn, workspaceID, object, id string, lock bool) (*herald.Record, error) {
	suffix := ""
	if lock {
		suffix = q.d.ForUpdate()
	}
	// A query of rows, not a row, so that in a pipe it goes out with
	// BEGIN.
	rs, err := queryAll(ctx, q, scanRecord, `SELECT `+recordColumns+` FROM records WHERE workspace_id = ? AND object = ? AND id = ?`+suffix, workspaceID, object, id)
	if err != nil {
		return nil, err
	}
	if len(rs) == 0 {
		return nil, notFound(object + " " + id)
	}
	return rs[0], nil
}

// ListRecords returns one page of q, and the total count of its filter.
func (db *DB) ListRecords(ctx context.Context, q herald.RecordQuery) (*herald.RecordPage, error) {
	b := &sqlbuild.Builder{D: db.d}
	where := []string{"workspace_id = " + b.Bind(q.WorkspaceID), "object = " + b.Bind(q.Object.NameSingular)}
	if !q.IncludeDeleted {
		where = append(where, "deleted_at IS NULL")
	}
	if q.Filter != nil {
		where = append(where, b.Filter(q.Filter))
	}
	countSQL, countArgs := `SELECT count(*) FROM records WHERE `+strings.Join(where, " AND "), slices.Clone(b.Args)

	order, cursor := q.Order, q.After
	backwards := q.Before != nil
	if backwards {
		order, cursor = sqlbuild.Reverse(q.Order), q.Before
	}
	if cursor != nil {
		where = append(where, b.After(order, cursor))
	}
	query := `SELECT ` + recordColumns + ` FROM records WHERE ` + strings.Join(where, " AND ") +
		` ORDER BY ` + b.OrderBy(order) + ` LIMIT ` + b.Bind(q.Limit+1)

	page := &herald.RecordPage{}
	if err := db.read.QueryRowContext(ctx, countSQL, countArgs...).Scan(&page.TotalCount); err != nil {
		return nil, fmt.Errorf("count %s: %w", q.Object.NamePlural, err)
	}
	var err error
	if page.Records, err = queryAll(ctx, db.read, scanRecord, query, b.Args...); err != nil {
		return nil, fmt.Errorf("list %s: %w", q.Object.NamePlural, err)
	}
	if len(page.Records) > q.Limit {
		page.Records, page.HasMore = page.Records[:q.Limit], true
	}
	if backwards {
		slices.Reverse(page.Records)
	}
	return page, nil
}

// PublishEvents writes events that change no record and fans them out.
func (db *DB) PublishEvents(ctx context.Context, events []*herald.Event) error {
	err := db.inTx(ctx, func(tx conn) error {
		for _, ev := range events {
			if _, err := tx.ExecContext(ctx, `INSERT INTO event_types (workspace_id, name, first_seen_at) VALUES (?, ?, ?)
				ON CONFLICT DO NOTHING`, ev.WorkspaceID, ev.Name, ms(ev.Timestamp)); err != nil {
				return err
			}
		}
		return writeEvents(ctx, tx, events)
	})
	if err != nil {
		return fmt.Errorf("publish events: %w", err)
	}
	return nil
}

// writeEvents appends events to the outbox and creates one delivery per
// matching webhook, in the caller's transaction. Webhooks that are disabled
// get a skipped delivery, so the log shows what they missed.
func writeEvents(ctx context.Context, tx conn, events []*herald.Event) error {
	if len(events) == 0 {
		return nil
	}
	if err := queueEvents(ctx, tx, events); err != nil {
		return err
	}
	routes, err := routesOf(ctx, tx, events)
	if err != nil {
		return err
	}
	return fanOutEvents(ctx, tx, events, routes)
}

// fanOutEvents is writeEvents once the events are in the outbox, with
// the routes of their workspaces.
func fanOutEvents(ctx context.Context, tx conn, events []*herald.Event, routes map[string][]hookRoute) error {
	plan := fanOut(events, routes, tx.h.reserve, &tx.h.lease, time.Now())
	if plan.due {
		tx.h.madeDue()
	}
	tx.h.waits = tx.h.waits || plan.waits
	// In one order, so that concurrent writers lock the rows alike.
	for _, id := range slices.Sorted(maps.Keys(plan.filtered)) {
		if err := tx.later(ctx, nil, `UPDATE webhooks SET filtered_events = filtered_events + ? WHERE id = ?`, plan.filtered[id], id); err != nil {
			return fmt.Errorf("count filtered events: %w", err)
		}
	}
	sets := tx.deliveryRows(plan.rows)
	var err error
	if plan.reserved != nil {
		err = tx.h.insertLeased(ctx, tx, sets, plan.reserved)
	} else {
		err = tx.queueDeliveries(ctx, tx.later, sets, deliveryConflict, nil)
	}
	if err != nil {
		return fmt.Errorf("insert deliveries: %w", err)
	}
	return nil
}

// hookRoute is a webhook as fan-out needs it: what it wants, and what a
// claim of one of its deliveries carries.
type hookRoute struct {
	*herald.Webhook
	operations []string
	// condition is the webhook's Condition, parsed for its object.
	condition *herald.Filter
}

// passes reports whether ev goes to the webhook by its Fields and
// Condition.
func (h hookRoute) passes(ev *herald.Event) bool {
	if len(h.Fields) > 0 && strings.HasSuffix(ev.Name, "."+herald.ActionUpdated) &&
		!slices.ContainsFunc(ev.UpdatedFields, func(f string) bool { return slices.Contains(h.Fields, f) }) {
		return false
	}
	return record.Matches(h.condition, ev.Data)
}

// routesOf loads the routes of the workspaces of events. In a pipe, the
// queries go out with what is queued: a creation's inserts.
//
// The webhooks stay locked (KeyShare) until the transaction ends, in
// place of a foreign key from deliveries, which PostgreSQL checked for
// each row inserted: a quarter of its CPU in a fan-out. A webhook being
// deleted meanwhile waits, then takes the new deliveries with it
// (DeleteWebhook); one deleted first is not seen.
func routesOf(ctx context.Context, tx conn, events []*herald.Event) (map[string][]hookRoute, error) {
	routes := map[string][]hookRoute{}
	for _, ev := range events {
		ws := ev.WorkspaceID
		if _, ok := routes[ws]; ok {
			continue
		}
		routes[ws] = nil
		err := tx.later(ctx, func(s scanner) error {
			h, err := scanRoute(s)
			routes[ws] = append(routes[ws], h)
			return err
		}, routesSQL+tx.d.KeyShare(), ws)
		if err != nil {
			return nil, fmt.Errorf("load webhooks: %w", err)
		}
	}
	if err := tx.flush(ctx); err != nil {
		return nil, err
	}
	for _, rs := range routes {
		for i := range rs {
			if err := rs[i].parseCondition(ctx, tx); err != nil {
				return nil, err
			}
		}
	}
	return routes, nil
}

const routesSQL = `SELECT w.status, w.operations, ` + claimWebhookColumns + `, w.fields, w.condition, w.throttle_rate FROM webhooks w WHERE w.workspace_id = ?`

// scanRoute reads a row of routesSQL.
func scanRoute(s scanner) (h hookRoute, err error) {
	var ops, fields string
	row := webhookRow{w: &herald.Webhook{}}
	w := row.w
	dest := append([]any{&w.Status, &ops}, row.dest()...)
	if err := s.Scan(append(dest, &fields, &w.Condition, &w.ThrottleRate)...); err != nil {
		return h, err
	}
	if _, err := row.webhook(); err != nil {
		return h, err
	}
	if err := scanFields(w, fields); err != nil {
		return h, err
	}
	if err := json.Unmarshal([]byte(ops), &h.operations); err != nil {
		return h, fmt.Errorf("webhook %s: bad operations: %w", w.ID, err)
	}
	h.Webhook = w
	return h, nil
}

// parseCondition parses the webhook's Condition for the object its
// operations name. A condition that no longer parses (its object's fields
// changed since) lets every event through: better sent than lost.
func (h *hookRoute) parseCondition(ctx context.Context, q conn) error {
	if h.Condition == "" {
		return nil
	}
	name, _ := herald.SingleObject(h.operations)
	obj, err := objectNamed(ctx, q, h.WorkspaceID, name)
	if err != nil && herald.ErrorCode(err) != herald.ENOTFOUND {
		return err
	}
	if obj != nil {
		h.condition, _ = record.ParseFilter(obj, h.Condition)
	}
	return nil
}

// objectNamed returns the workspace's object whose singular name is name.
func objectNamed(ctx context.Context, tx conn, workspaceID, name string) (*herald.Object, error) {
	for _, o := range herald.StandardObjects() {
		if o.NameSingular == name {
			return o, nil
		}
	}
	return findObject(ctx, tx, workspaceID, name, false)
}

// rowsPerInsert bounds the rows of one multi-row INSERT: at most about a
// thousand parameters, far under both engines' limits.
const rowsPerInsert = 100

// insertRows inserts rows into table, many per statement: per-statement
// work, not the rows, is most of an insert's cost. suffix follows the
// VALUES (ON CONFLICT, RETURNING); when scan is set, the returned rows go
// through it.
func insertRows(ctx context.Context, tx conn, table, columns string, rows [][]any, suffix string, scan func(scanner) error) error {
	if len(rows) == 0 {
		return nil
	}
	return insertTuples(ctx, tx, table, columns, placeholders(len(rows[0])), rows, suffix, scan)
}

// placeholders is a VALUES tuple of n "?".
func placeholders(n int) string { return "(?" + strings.Repeat(", ?", n-1) + ")" }

// insertTuples is insertRows with each row written as tuple, whose
// placeholders take the row's values in order. Rows it returns have been
// scanned when it returns.
func insertTuples(ctx context.Context, tx conn, table, columns, tuple string, rows [][]any, suffix string, scan func(scanner) error) error {
	if err := queueTuples(ctx, tx.later, table, columns, tuple, rows, suffix, scan); err != nil || scan == nil {
		return err
	}
	return tx.flush(ctx)
}

// queueFunc queues a statement: conn.later or conn.laterSettled.
type queueFunc func(ctx context.Context, scan func(scanner) error, query string, args ...any) error

// queueTuples is insertTuples with its statements left to go out with
// the transaction's next round trip, through queue.
func queueTuples(ctx context.Context, queue queueFunc, table, columns, tuple string, rows [][]any, suffix string, scan func(scanner) error) error {
	for chunk := range slices.Chunk(rows, rowsPerInsert) {
		var q strings.Builder
		q.WriteString("INSERT INTO " + table + " (" + columns + ") VALUES ")
		args := appendTuples(&q, tuple, chunk, make([]any, 0, len(chunk)*len(chunk[0])))
		q.WriteString(suffix)
		if err := queue(ctx, scan, q.String(), args...); err != nil {
			return err
		}
	}
	return nil
}

// appendTuples writes rows to q as tuples, comma-separated, and appends
// their values to args.
func appendTuples(q *strings.Builder, tuple string, rows [][]any, args []any) []any {
	for i, row := range rows {
		if i > 0 {
			q.WriteByte(',')
		}
		q.WriteString(tuple)
		args = append(args, row...)
	}
	return args
}

const eventInsertColumns = `id, workspace_id, name, object, object_plural, record_id, data, updated_fields, previous_data, occurred_at`

// eventRows are events' values in eventInsertColumns' order, and the
// events by id.
func eventRows(events []*herald.Event) ([][]any, map[string]*herald.Event) {
	rows := make([][]any, len(events))
	byID := make(map[string]*herald.Event, len(events))
	for i, ev := range events {
		var fields, prev sql.NullString
		if ev.UpdatedFields != nil {
			b, _ := json.Marshal(ev.UpdatedFields)
			fields = sql.NullString{String: string(b), Valid: true}
			prev = sql.NullString{String: string(ev.PreviousData), Valid: true}
		}
		rows[i] = []any{ev.ID, ev.WorkspaceID, ev.Name, ev.Object, ev.ObjectPlural, ev.RecordID, string(ev.Data), fields, prev, ms(ev.Timestamp)}
		byID[ev.ID] = ev
	}
	return rows, byID
}

// insertEvents appends events to the outbox and sets their Seq.
func insertEvents(ctx context.Context, tx conn, events []*herald.Event) error {
	if err := queueEvents(ctx, tx, events); err != nil {
		return err
	}
	if err := tx.flush(ctx); err != nil {
		return fmt.Errorf("insert events: %w", err)
	}
	return nil
}

// queueEvents is insertEvents, its Seqs set once the statement has gone
// out with the transaction's next round trip.
func queueEvents(ctx context.Context, tx conn, events []*herald.Event) error {
	rows, byID := eventRows(events)
	// Returned rows come in no promised order: match them by id.
	err := queueTuples(ctx, tx.later, "events", eventInsertColumns, placeholders(len(rows[0])), rows, " RETURNING id, seq", func(s scanner) error {
		var id string
		var seq int64
		if err := s.Scan(&id, &seq); err != nil {
			return err
		}
		if ev := byID[id]; ev != nil {
			ev.Seq = seq
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("insert events: %w", err)
	}
	return nil
}

// deliveryInsert are the columns a delivery is written with.
var deliveryInsert = columns{
	names: `workspace_id, webhook_id, event_seq, order_key, status, next_attempt_at, lease_owner, lease_until, created_at, updated_at, completed_at`,
	types: []string{typeText, typeText, typeBigint, typeText, typeText, typeBigint, typeText, typeBigint, typeBigint, typeBigint, typeBigint},
}

const deliveryConflict = ` ON CONFLICT (webhook_id, event_seq) DO NOTHING`

// Per-record order is kept by the schedule itself: of a record's pending
// deliveries to one webhook, only the earliest (its head) has a
// next_attempt_at; the later ones wait with none, out of every claim's
// way, however many pile up behind a failing head. When the head leaves
// pending, promoteNext schedules the earliest that waits.
//
// waitingNext is the next_attempt_at of a delivery becoming pending: none
// while webhook has a pending delivery with the same order key, else
// next. On PostgreSQL the pending delivery found is share-locked: a
// completion that is finishing it, and will look for what waits behind
// it, either commits first (and the row no longer counts) or waits for
// this transaction (and then sees the row this one waits with).
func waitingNext(d Dialect, webhook, key, next string) string {
	return `CASE WHEN EXISTS (SELECT 1 FROM deliveries p WHERE p.webhook_id = ` + webhook + ` AND p.order_key = ` + key +
		` AND p.status = 'pending'` + d.ForShare() + `) THEN NULL ELSE CAST(` + next + ` AS BIGINT) END`
}

// waitingTuple is a deliveries VALUES tuple that computes next_attempt_at
// with waitingNext; its rows are newDelivery.waitingArgs.
func (c conn) waitingTuple() string {
	return "(?, ?, ?, ?, ?, " + waitingNext(c.d, "?", "?", "?") + ", ?, ?, ?, ?, ?)"
}

// waitingSelect is waitingTuple where the engine binds arrays: a row of
// v, the relation of newDelivery.args.
func (c conn) waitingSelect() string {
	return "v.workspace_id, v.webhook_id, v.event_seq, v.order_key, v.status, " + waitingNext(c.d, "v.webhook_id", "v.order_key", "v.next_attempt_at") +
		", v.lease_owner, v.lease_until, v.created_at, v.updated_at, v.completed_at"
}

// deliveryRows are the rows of one deliveries INSERT, in the form of the
// engine's statement (conn.queueInsert's sel or tuple); fresh when they
// are those of fresh events.
type deliveryRows struct {
	sel, tuple string
	rows       [][]any
	fresh      bool
}

// deliveryRows splits fan-out's deliveries by the row they need. Those of
// fresh events are written as they are; the others look for a pending
// delivery of their record with waitingNext, an index probe a row (and on
// PostgreSQL a subplan that locks what it finds): at 500 created records
// a second, that probe was a tenth of the server's time.
func (c conn) deliveryRows(ds []newDelivery) []deliveryRows {
	var fresh, waiting []newDelivery
	for _, d := range ds {
		if d.fresh {
			fresh = append(fresh, d)
		} else {
			waiting = append(waiting, d)
		}
	}
	var sets []deliveryRows
	if len(fresh) > 0 {
		rows := make([][]any, len(fresh))
		for i, d := range fresh {
			rows[i] = d.args()
		}
		sets = append(sets, deliveryRows{tuple: placeholders(len(rows[0])), rows: rows, fresh: true})
	}
	if len(waiting) > 0 {
		arrays := bindsArrays(c.d, len(waiting))
		rows := make([][]any, len(waiting))
		for i, d := range waiting {
			if arrays {
				rows[i] = d.args()
			} else {
				rows[i] = d.waitingArgs()
			}
		}
		sets = append(sets, deliveryRows{sel: c.waitingSelect(), tuple: c.waitingTuple(), rows: rows})
	}
	return sets
}

// queueDeliveries queues the inserts of sets through queue: their rows
// are written, and scanned, once they go out.
func (c conn) queueDeliveries(ctx context.Context, queue queueFunc, sets []deliveryRows, suffix string, scan func(scanner) error) error {
	for _, s := range sets {
		if err := c.queueInsert(ctx, queue, "deliveries", deliveryInsert, s.sel, s.tuple, s.rows, suffix, scan); err != nil {
			return err
		}
	}
	return nil
}
