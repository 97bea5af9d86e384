package sqlstore_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/heraldhq/herald"
	"github.com/heraldhq/herald/store/postgres/pgtest"
	"github.com/heraldhq/herald/store/sqlstore"
	"github.com/heraldhq/herald/store/storetest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// TestClaimPlanIgnoresStaleStatistics: a backlog that builds up faster
// than autovacuum analyzes the table leaves PostgreSQL believing that
// almost nothing is pending. The claim must still read rows in proportion
// to its batch, not to the backlog: a plan that scans the webhook's whole
// queue for each candidate turns draining into O(n²). So must the claim
// with many deliveries of each record waiting for the one before.
func TestClaimPlanIgnoresStaleStatistics(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, raw := engines["postgres"](t)

	const records, perRecord = 1000, 10
	hook := storetest.Seed(t, db, records)
	exec := func(q string) {
		t.Helper()
		if _, err := raw.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	// Each record gets perRecord pending deliveries: only the earliest of
	// each may go, and the later ones wait unscheduled, as the store
	// writes them.
	exec(`ALTER TABLE deliveries SET (autovacuum_enabled = false)`)
	exec(`INSERT INTO events (id, workspace_id, name, object, object_plural, record_id, data, occurred_at)
		SELECT e.id || '~' || g, e.workspace_id, e.name, e.object, e.object_plural, e.record_id, e.data, e.occurred_at
		FROM events e, generate_series(2, ` + strconv.Itoa(perRecord) + `) g`)
	exec(`INSERT INTO deliveries (workspace_id, webhook_id, event_seq, order_key, status, next_attempt_at, created_at, updated_at)
		SELECT d.workspace_id, d.webhook_id, e.seq, d.order_key, 'pending', NULL, d.created_at, d.updated_at
		FROM events e JOIN events o ON o.id = split_part(e.id, '~', 1) JOIN deliveries d ON d.event_seq = o.seq
		WHERE e.id LIKE '%~%'`)
	// Statistics taken when nothing was pending, then the backlog.
	exec(`UPDATE deliveries SET status = 'delivered', completed_at = 1`)
	exec(`ANALYZE deliveries`)
	exec(`UPDATE deliveries SET status = 'pending', completed_at = NULL`)

	const limit = 256
	query, args := sqlstore.ClaimSQL(db, herald.ClaimRequest{
		Owner: "plan", Now: time.Now(), LeaseUntil: time.Now().Add(time.Minute),
		Lanes: []herald.Lane{{WebhookID: hook, Limit: limit}},
	})
	read, plan := rowsRead(t, raw, query, args...)
	// The lane's scan meets only the records' heads; each claimed row is
	// then read again with its event and webhook. A plan that scans the
	// queue for every candidate reads about limit × records × perRecord.
	if bound := 6.0 * limit; read > bound {
		t.Errorf("claiming %d of %d pending deliveries read %.0f rows, want at most %.0f; plan:\n%s",
			limit, records*perRecord, read, bound, plan)
	}
	t.Logf("claiming %d of %d pending deliveries read %.0f rows", limit, records*perRecord, read)

	// A completion looks behind each finished delivery for the next of
	// its record: a seek per delivery, not a read of the queue.
	var finished []int64
	rows, err := raw.QueryContext(ctx, `SELECT id FROM deliveries ORDER BY id LIMIT 8`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		finished = append(finished, id)
	}
	rows.Close()
	query, args = sqlstore.WaitingHeadsSQL(db, finished)
	if read, plan := rowsRead(t, raw, query, args...); read > 6*float64(len(finished)) {
		t.Errorf("finding what waits behind %d deliveries read %.0f rows; plan:\n%s", len(finished), read, plan)
	}

	// With statistics that show the backlog, finding the webhooks with
	// due deliveries still reads a lane head per webhook, not the queue.
	exec(`ANALYZE deliveries`)
	if read, plan := rowsRead(t, raw, sqlstore.DueWebhooksSQL(db), time.Now().UnixMilli()); read > 10 {
		t.Errorf("finding due webhooks read %.0f rows; plan:\n%s", read, plan)
	}
}

// rowsRead runs query under EXPLAIN ANALYZE and returns the rows its
// scans read, with the plan.
func rowsRead(t *testing.T, db *sql.DB, query string, args ...any) (float64, []byte) {
	t.Helper()
	var out []byte
	if err := db.QueryRowContext(context.Background(), `EXPLAIN (ANALYZE, FORMAT JSON) `+query, args...).Scan(&out); err != nil {
		t.Fatal(err)
	}
	var plans []struct{ Plan planNode }
	if err := json.Unmarshal(out, &plans); err != nil {
		t.Fatal(err)
	}
	return plans[0].Plan.rowsRead(), out
}

// planNode is one node of EXPLAIN (ANALYZE, FORMAT JSON).
type planNode struct {
	NodeType     string     `json:"Node Type"`
	Relation     string     `json:"Relation Name"`
	Rows         float64    `json:"Actual Rows"`
	Loops        float64    `json:"Actual Loops"`
	Filtered     float64    `json:"Rows Removed by Filter"`
	JoinFiltered float64    `json:"Rows Removed by Join Filter"`
	Index        float64    `json:"Rows Removed by Index Recheck"`
	Plans        []planNode `json:"Plans"`
}

// rowsRead totals, over every scan of a table, the rows it produced or
// threw away, across all loops (EXPLAIN reports both per loop).
func (n planNode) rowsRead() float64 {
	var sum float64
	if n.Relation != "" {
		sum = (n.Rows + n.Filtered + n.Index) * n.Loops
	}
	sum += n.JoinFiltered * n.Loops
	for _, c := range n.Plans {
		sum += c.rowsRead()
	}
	return sum
}

// TestClaimPlanSQLite: SQLite claims by a range of the lane index, with no
// check per candidate, whatever ANALYZE has recorded.
func TestClaimPlanSQLite(t *testing.T) {
	t.Parallel()
	db, raw, hook := analyzed(t, "sqlite", 100)
	query, args := sqlstore.ClaimSQL(db, herald.ClaimRequest{
		Owner: "plan", Now: time.Now(), LeaseUntil: time.Now().Add(time.Minute),
		Lanes: []herald.Lane{{WebhookID: hook, Limit: 256}},
	})
	text := sqlitePlan(t, raw, query, args...)
	if want := "SEARCH d USING INDEX deliveries_lane (webhook_id=? AND next_attempt_at<?)"; !strings.Contains(text, want) {
		t.Errorf("the claim's plan lacks %q:\n%s", want, text)
	}
	if strings.Contains(text, "SCAN d") || strings.Contains(text, "CORRELATED") {
		t.Errorf("the claim scans deliveries or checks each candidate:\n%s", text)
	}
}

// TestPruneEventsPlanSQLite: retention finds old events by a range of
// events_workspace_time per workspace, not by reading every event.
func TestPruneEventsPlanSQLite(t *testing.T) {
	t.Parallel()
	db, raw, _ := analyzed(t, "sqlite", 100)
	text := sqlitePlan(t, raw, sqlstore.PruneEventsSQL(db), time.Now().UnixMilli(), 1000)
	if want := "INDEX events_workspace_time (workspace_id=? AND occurred_at<?)"; !strings.Contains(text, want) {
		t.Errorf("the event pruning's plan lacks %q:\n%s", want, text)
	}
	if strings.Contains(text, "SCAN e") {
		t.Errorf("the event pruning reads every event:\n%s", text)
	}
}

// analyzed is a store of engine seeded with n deliveries to one webhook
// (storetest.Seed), its statistics taken.
func analyzed(t *testing.T, engine string, n int) (*sqlstore.DB, *sql.DB, string) {
	t.Helper()
	db, raw := engines[engine](t)
	hook := storetest.Seed(t, db, n)
	if _, err := raw.ExecContext(context.Background(), `ANALYZE`); err != nil {
		t.Fatal(err)
	}
	return db, raw, hook
}

// sqlitePlan is SQLite's EXPLAIN QUERY PLAN of query, a step a line.
func sqlitePlan(t *testing.T, raw *sql.DB, query string, args ...any) string {
	t.Helper()
	rows, err := raw.QueryContext(context.Background(), `EXPLAIN QUERY PLAN `+query, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, detail)
	}
	return strings.Join(plan, "\n")
}

// TestDeliveryLogPlan: a page of the delivery log deep in a webhook's
// history reads rows in proportion to the page, not to how deep it is.
func TestDeliveryLogPlan(t *testing.T) {
	t.Parallel()
	const records, limit = 3000, 50
	db, raw, hook := analyzed(t, "postgres", records)
	var ws string
	var before int64
	if err := raw.QueryRowContext(context.Background(), `SELECT workspace_id, event_seq FROM deliveries WHERE webhook_id = $1 ORDER BY event_seq OFFSET 200 LIMIT 1`, hook).Scan(&ws, &before); err != nil {
		t.Fatal(err)
	}
	query, args := sqlstore.DeliveryLogSQL(db, herald.DeliveryQuery{WorkspaceID: ws, WebhookID: hook, Limit: limit}, before)
	read, plan := rowsRead(t, raw, query, args...)
	if bound := 6.0 * limit; read > bound {
		t.Errorf("a page of %d, %d deliveries deep, read %.0f rows, want at most %.0f; plan:\n%s", limit, records-200, read, bound, plan)
	}
	t.Logf("a page of %d, %d deliveries deep, read %.0f rows", limit, records-200, read)
}

// TestCompletionPlanIgnoresStaleStatistics: statistics taken while
// nothing was leased showed PostgreSQL an almost empty lease index, and
// it then found each completed delivery by its owner, reading every
// delivery leased to that owner once for each outcome (O(n²) in the
// deliveries in flight). A completion reads a row an outcome, by id.
func TestCompletionPlanIgnoresStaleStatistics(t *testing.T) {
	t.Parallel()
	const leased = 1000
	db, raw := engines["postgres"](t)
	hook := storetest.Seed(t, db, leased)
	ctx := context.Background()
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := raw.ExecContext(ctx, q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	// A history of 100,000 finished deliveries, analyzed while nothing
	// was leased; then the seeded ones are leased to one owner.
	exec(`ALTER TABLE deliveries SET (autovacuum_enabled = false)`)
	exec(`INSERT INTO deliveries (workspace_id, webhook_id, event_seq, order_key, status, created_at, updated_at, completed_at)
		SELECT d.workspace_id, d.webhook_id, -d.event_seq - 1000000 * g, d.order_key, 'delivered', d.created_at, d.updated_at, d.created_at
		FROM deliveries d, generate_series(1, 100) g`)
	exec(`ANALYZE deliveries`)
	exec(`UPDATE deliveries SET lease_owner = 'plan', lease_until = 1 WHERE webhook_id = $1 AND status = 'pending'`, hook)
	// Few outcomes go as VALUES, many as arrays (arrayRows).
	for _, completed := range []int{4, 100} {
		outcomes := leasedOutcomes(t, raw, hook, completed)
		query, args, err := sqlstore.CompletionSQL(db, outcomes, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		read, plan := rowsRead(t, raw, query, args...)
		if bound := 3.0 * float64(completed); read > bound {
			t.Errorf("%d outcomes among %d leased deliveries read %.0f rows, want at most %.0f; plan:\n%s", completed, leased, read, bound, plan)
		}
		t.Logf("%d outcomes among %d leased deliveries read %.0f rows", completed, leased, read)
	}
}

// leasedOutcomes are successful outcomes of n deliveries leased to "plan".
func leasedOutcomes(t *testing.T, raw *sql.DB, hook string, n int) []herald.Outcome {
	t.Helper()
	rows, err := raw.QueryContext(context.Background(), `SELECT id, attempts FROM deliveries WHERE lease_owner = 'plan' ORDER BY id DESC LIMIT $1`, n)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var outcomes []herald.Outcome
	for rows.Next() {
		o := herald.Outcome{Owner: "plan", WebhookID: hook, Status: herald.DeliveryDelivered, Attempt: herald.Attempt{StatusCode: 200}}
		if err := rows.Scan(&o.DeliveryID, &o.Attempt.Number); err != nil {
			t.Fatal(err)
		}
		o.Attempt.Number++
		outcomes = append(outcomes, o)
	}
	if err := rows.Err(); err != nil || len(outcomes) != n {
		t.Fatalf("read %d of %d leased deliveries: %v", len(outcomes), n, err)
	}
	return outcomes
}

// TestCompletionPlanSQLite: SQLite finds each outcome's delivery by its
// primary key too.
func TestCompletionPlanSQLite(t *testing.T) {
	t.Parallel()
	db, raw, hook := analyzed(t, "sqlite", 100)
	outcomes := []herald.Outcome{{DeliveryID: 1, Owner: "plan", WebhookID: hook, Status: herald.DeliveryDelivered, Attempt: herald.Attempt{Number: 1}}}
	query, args, err := sqlstore.CompletionSQL(db, outcomes, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	text := sqlitePlan(t, raw, query, args...)
	if want := "SEARCH deliveries USING INTEGER PRIMARY KEY (rowid=?)"; !strings.Contains(text, want) {
		t.Errorf("the completion's plan lacks %q:\n%s", want, text)
	}
}

// TestFewDeliveriesPlannedOnce: PostgreSQL keeps one plan for the insert
// of a few deliveries, as it does for many, instead of planning it again
// at every call (arrayRows), whether they are of fresh events or may wait
// behind a pending delivery of their record.
func TestFewDeliveriesPlannedOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, raw, hook := analyzed(t, "postgres", 10)
	var ws string
	if err := raw.QueryRowContext(ctx, `SELECT workspace_id FROM webhooks WHERE id = $1`, hook).Scan(&ws); err != nil {
		t.Fatal(err)
	}
	conn, err := raw.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	const calls = 12
	seq := int64(0)
	for _, fresh := range []bool{true, false} {
		for _, n := range []int{1, 3, 50} {
			var query string
			for range calls {
				seqs := make([]int64, n)
				for j := range seqs {
					seq--
					seqs[j] = seq
				}
				q, args, err := sqlstore.DeliveriesSQL(db, ws, hook, seqs, fresh)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := conn.ExecContext(ctx, q, args...); err != nil {
					t.Fatalf("%s: %v", q, err)
				}
				query = q
			}
			// pgx prepares each statement once a connection, and the
			// server counts the plans each prepared statement was given.
			var generic, custom int
			if err := conn.QueryRowContext(ctx, `SELECT generic_plans, custom_plans FROM pg_prepared_statements WHERE statement = $1`, query).Scan(&generic, &custom); err != nil {
				t.Fatalf("the insert of %d deliveries (fresh %t) is not prepared: %v", n, fresh, err)
			}
			// The server tries five custom plans before it may settle;
			// a text shared by several row counts gathers their calls.
			if custom > 5 {
				t.Errorf("the insert of %d deliveries (fresh %t) was planned %d times (%d generic)", n, fresh, custom, generic)
			}
			t.Logf("the insert of %d deliveries (fresh %t): %d custom plans, %d generic", n, fresh, custom, generic)
		}
	}
}
