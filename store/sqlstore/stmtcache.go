package sqlstore

import (
	"context"
	"database/sql"
	"sync"
)

// maxCachedStmts bounds the statements kept prepared. Write transactions
// run a fixed set of statement shapes (multi-row inserts vary only in
// their row count), so the bound is a safety net.
const maxCachedStmts = 512

// stmtCache keeps the statements of write transactions prepared on the
// single writer connection. SQLite parses and plans a statement each time
// it is run unprepared, which was a fifth of a small transaction's cost.
//
// Statements are prepared after a transaction, not during it: the pool's
// only connection is the transaction's then, and preparing on the pool
// would wait for it forever.
type stmtCache struct {
	mu    sync.Mutex
	stmts map[string]*sql.Stmt
	seen  []string
}

func (c *stmtCache) get(query string) *sql.Stmt {
	c.mu.Lock()
	defer c.mu.Unlock()
	if st, ok := c.stmts[query]; ok {
		return st
	}
	if len(c.stmts)+len(c.seen) < maxCachedStmts {
		c.seen = append(c.seen, query)
	}
	return nil
}

// prepareSeen prepares the statements run unprepared since the last call.
// A statement that fails to prepare is simply run unprepared next time.
func (c *stmtCache) prepareSeen(ctx context.Context, db *sql.DB) {
	c.mu.Lock()
	seen := c.seen
	c.seen = nil
	c.mu.Unlock()
	for _, q := range seen {
		st, err := db.PrepareContext(context.WithoutCancel(ctx), q)
		if err != nil {
			continue
		}
		c.mu.Lock()
		if c.stmts == nil {
			c.stmts = map[string]*sql.Stmt{}
		}
		if _, dup := c.stmts[q]; dup {
			st.Close()
		} else {
			c.stmts[q] = st
		}
		c.mu.Unlock()
	}
}

// close closes every cached statement.
func (c *stmtCache) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, st := range c.stmts {
		st.Close()
	}
	c.stmts = nil
}
