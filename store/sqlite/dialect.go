package sqlite

import (
	"errors"
	"strings"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/heraldhq/herald"
	"github.com/heraldhq/herald/store/sqlbuild"
)

type dialect struct{}

func (dialect) Param(int) string { return "?" }

func (dialect) JSONField(column, path string, _ herald.FieldType) string {
	// json_extract yields TEXT, REAL/INTEGER or 0/1 for JSON strings,
	// numbers and booleans, which compare with the bound Go values; on a
	// column that holds no JSON (a createdBy kept before it was an
	// actor) it would fail the query, so such rows read as NULL.
	if column != "data" {
		return "(CASE WHEN json_valid(" + column + ") THEN json_extract(" + column + ", '$." + path + "') END)"
	}
	return "json_extract(data, '$." + path + "')"
}

func (dialect) ContainsAny(path string, params []string) string {
	return "EXISTS (SELECT 1 FROM json_each(data, '$." + path + "') WHERE json_each.value IN (" + strings.Join(params, ", ") + "))"
}

func (dialect) JSONRemove(name string) string { return "json_remove(data, '$." + name + "')" }

func (dialect) Like(expr, param string, insensitive bool) string {
	return sqlbuild.Like(expr, param, insensitive)
}

func (dialect) Rebind(q string) string { return q }

// One writer at a time: rows read in a write transaction cannot change
// under it, and claims never race.
func (dialect) ForUpdate() string  { return "" }
func (dialect) ForShare() string   { return "" }
func (dialect) KeyShare() string   { return "" }
func (dialect) SkipLocked() string { return "" }

func (dialect) IsUniqueViolation(err error) bool {
	var e *sqlite.Error
	if !errors.As(err, &e) {
		return false
	}
	return e.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY || e.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE
}

// IsStorageFull: SQLITE_FULL, which SQLite returns when a write of the
// database, its WAL or a temporary file fails for lack of space.
func (dialect) IsStorageFull(err error) bool {
	var e *sqlite.Error
	return errors.As(err, &e) && e.Code()&0xff == sqlite3.SQLITE_FULL
}

// SQLite has no data-modifying WITH: records and events take two inserts.
func (dialect) InsertsInWith() bool { return false }

func (dialect) BindsArrays() bool { return false }

// AsyncCommit is empty: with synchronous=NORMAL in WAL mode, a commit
// already returns before the disk has it.
func (dialect) AsyncCommit() string { return "" }
