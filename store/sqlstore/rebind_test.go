package sqlstore_test

import (
	"strings"
	"testing"

	"github.com/heraldhq/herald/store/sqlstore"
)

func TestRebindNumbered(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"SELECT 1", "SELECT 1"},
		{"?", "$1"},
		{"SELECT * FROM t WHERE a = ? AND b = ?", "SELECT * FROM t WHERE a = $1 AND b = $2"},
		{"VALUES (?, ?), (?,?)", "VALUES ($1, $2), ($3,$4)"},
		{"WHERE name = ? -- é", "WHERE name = $1 -- é"},
		{"SELECT ?" + strings.Repeat(", ?", 10), "SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11"},
	} {
		if got := sqlstore.RebindNumbered(tc.in); got != tc.want {
			t.Errorf("RebindNumbered(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// BenchmarkRebindNumbered rebinds a delivery insert of eight rows, the
// size of statement a busy creation sends.
func BenchmarkRebindNumbered(b *testing.B) {
	q := "INSERT INTO deliveries (workspace_id, webhook_id, event_seq, order_key, status, next_attempt_at, lease_owner, lease_until, created_at, updated_at, completed_at) VALUES " +
		strings.Repeat("(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?), ", 7) + "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (webhook_id, event_seq) DO NOTHING RETURNING id, webhook_id, event_seq, next_attempt_at"
	b.ReportAllocs()
	for b.Loop() {
		sqlstore.RebindNumbered(q)
	}
}
