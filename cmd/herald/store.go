package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/heraldhq/herald"
	"github.com/heraldhq/herald/store/sqlite"
)

// defaultDatabase is the embedded SQLite file used when nothing is set.
const defaultDatabase = "./herald.db"

// openStore opens the database that dsn names: a postgres:// URL or a
// SQLite file path.
func openStore(ctx context.Context, dsn string) (herald.Store, error) {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		return nil, fmt.Errorf("PostgreSQL is not supported by this build yet; use a SQLite file path")
	}
	db, err := sqlite.Open(ctx, strings.TrimPrefix(dsn, "sqlite://"))
	if err != nil {
		return nil, err
	}
	return db, nil
}
