package main

import (
	"context"
	"strings"

	"github.com/heraldhq/herald"
	"github.com/heraldhq/herald/store/postgres"
	"github.com/heraldhq/herald/store/sqlite"
)

// defaultDatabase is the embedded SQLite file used when nothing is set.
const defaultDatabase = "./herald.db"

// openStore opens the database that dsn names: a postgres:// URL or a
// SQLite file path.
func openStore(ctx context.Context, dsn string) (herald.Store, error) {
	if postgres.IsURL(dsn) {
		return postgres.Open(ctx, dsn)
	}
	return sqlite.Open(ctx, strings.TrimPrefix(dsn, "sqlite://"))
}

// describeDatabase names the database for logs without its password.
func describeDatabase(dsn string) string {
	if !postgres.IsURL(dsn) {
		return dsn
	}
	scheme, rest, _ := strings.Cut(dsn, "://")
	if at := strings.LastIndex(rest, "@"); at >= 0 {
		creds := rest[:at]
		if user, _, ok := strings.Cut(creds, ":"); ok {
			rest = user + ":***" + rest[at:]
		}
	}
	return scheme + "://" + rest
}
