package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/heraldhq/herald/store/sqlbuild"
)

// SQL types of columns bound together (columns).
const (
	typeBigint  = "BIGINT"
	typeInteger = "INTEGER"
	typeText    = "TEXT"
)

// columns are the columns of rows written together: their names, as a
// column list ("a, b"), and their SQL types in the same order.
type columns struct {
	names string
	types []string
}

// arrayRows is how many rows a statement has before they go as arrays
// (bindsArrays). PostgreSQL plans unnest of an array parameter as 10 rows
// in a statement's generic plan, but with the array's own length in a
// custom one, so for fewer rows the custom plan always looked cheaper and
// was made again at every call: an update's one-row insert of its
// delivery spent 214 µs planning (herald bench --scenario updates, with
// pg_stat_statements' plan times). VALUES of a few rows is planned once.
const arrayRows = 10

// bindsArrays reports whether n rows go as one array a column on d.
func bindsArrays(d Dialect, n int) bool { return n >= arrayRows && d.BindsArrays() }

// relation binds rows, whose values are in cols' order, and returns a
// query that yields them. Where they go as arrays (bindsArrays) each
// column is one array, read back by unnest: a statement's text and its
// dozen parameters are then the same whatever its rows. As VALUES, a
// statement of a hundred deliveries had 1,100 parameters, which pgx
// encoded one by one, in buffers it allocated anew for every statement
// of more than 64: a third of the bytes a fan-out allocated.
func relation(d Dialect, b *sqlbuild.Builder, cols columns, rows [][]any) (string, error) {
	if bindsArrays(d, len(rows)) {
		params := make([]string, len(cols.types))
		for i, t := range cols.types {
			a, err := arrayOf(t, rows, i)
			if err != nil {
				return "", fmt.Errorf("column %d of %s: %w", i+1, cols.names, err)
			}
			params[i] = "CAST(" + b.Bind(a) + " AS " + t + "[])"
		}
		return "SELECT * FROM unnest(" + strings.Join(params, ", ") + ")", nil
	}
	var q strings.Builder
	q.WriteString("VALUES ")
	for r, row := range rows {
		if r > 0 {
			q.WriteString(", ")
		}
		q.WriteByte('(')
		for i, v := range row {
			if i > 0 {
				q.WriteString(", ")
			}
			// Typed, since VALUES gives an untyped parameter the type
			// text on PostgreSQL.
			if t := cols.types[i]; t != typeText {
				q.WriteString("CAST(" + b.Bind(v) + " AS " + t + ")")
			} else {
				q.WriteString(b.Bind(v))
			}
		}
		q.WriteByte(')')
	}
	return q.String(), nil
}

// arrayOf is column i of rows as a slice the driver binds as one array,
// with nil for NULL.
func arrayOf(typ string, rows [][]any, i int) (any, error) {
	switch typ {
	case typeBigint, typeInteger:
		vals, ptrs := make([]int64, len(rows)), make([]*int64, len(rows))
		for r, row := range rows {
			switch v := row[i].(type) {
			case int64:
				vals[r] = v
			case int:
				vals[r] = int64(v)
			case sql.NullInt64:
				if !v.Valid {
					continue
				}
				vals[r] = v.Int64
			default:
				return nil, fmt.Errorf("a %T is not an integer", v)
			}
			ptrs[r] = &vals[r]
		}
		return ptrs, nil
	case typeText:
		vals, ptrs := make([]string, len(rows)), make([]*string, len(rows))
		for r, row := range rows {
			switch v := row[i].(type) {
			case string:
				vals[r] = v
			case sql.NullString:
				if !v.Valid {
					continue
				}
				vals[r] = v.String
			default:
				return nil, fmt.Errorf("a %T is not text", v)
			}
			ptrs[r] = &vals[r]
		}
		return ptrs, nil
	}
	return nil, fmt.Errorf("no array of %s", typ)
}

// queueInsert queues the insert of rows into table: when they go as arrays
// (bindsArrays), as INSERT … SELECT sel FROM relation v (v's columns in
// cols' order when sel is ""), and else as queueTuples does with tuple.
// rows are in the form of that statement: one value a column of v, or one
// a placeholder of tuple.
func (c conn) queueInsert(ctx context.Context, queue queueFunc, table string, cols columns, sel, tuple string, rows [][]any, suffix string, scan func(scanner) error) error {
	if len(rows) == 0 {
		return nil
	}
	if !bindsArrays(c.d, len(rows)) {
		return queueTuples(ctx, queue, table, cols.names, tuple, rows, suffix, scan)
	}
	b := &sqlbuild.Builder{D: c.d}
	from, err := relation(c.d, b, cols, rows)
	if err != nil {
		return fmt.Errorf("insert into %s: %w", table, err)
	}
	if sel == "" {
		sel = "*"
	}
	return queue(ctx, scan, "WITH v ("+cols.names+") AS ("+from+") INSERT INTO "+table+" ("+cols.names+") SELECT "+sel+" FROM v"+suffix, b.Args...)
}
