package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/heraldhq/herald/store/sqlstore"
)

// errCommitRolledBack is a COMMIT that the server answered with ROLLBACK:
// its transaction had failed.
var errCommitRolledBack = errors.New("the transaction was rolled back")

// pipeline sends stmts as one batch in pgx's pipeline mode: one round
// trip, one sync. After a statement fails the server skips the rest up to
// the sync, which is what sqlstore's pipe relies on.
func pipeline(ctx context.Context, c *sql.Conn, stmts []sqlstore.Statement) error {
	return c.Raw(func(dc any) error {
		sc, ok := dc.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("pipeline: a %T is not a pgx connection", dc)
		}
		b := &pgx.Batch{QueuedQueries: make([]*pgx.QueuedQuery, 0, len(stmts))}
		for _, s := range stmts {
			q := b.Queue(s.Query, s.Args...)
			if s.Scan != nil {
				q.Query(func(rows pgx.Rows) error {
					for rows.Next() {
						if err := s.Scan(rows); err != nil {
							return err
						}
					}
					return rows.Err()
				})
				continue
			}
			q.Exec(func(ct pgconn.CommandTag) error {
				if s.Affected != nil {
					*s.Affected = ct.RowsAffected()
				}
				if s.Query == "COMMIT" && ct.String() == "ROLLBACK" {
					return errCommitRolledBack
				}
				return nil
			})
		}
		return sc.Conn().SendBatch(ctx, b).Close()
	})
}
