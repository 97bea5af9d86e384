// Package sqlbuild turns parsed record queries (filters, order_by, cursors)
// into SQL for either engine. The engines differ only in a Dialect: how a
// parameter is written and how a JSON field is read.
package sqlbuild

import (
	"fmt"
	"strings"

	"github.com/heraldhq/herald"
)

// Dialect is what differs between SQL engines.
type Dialect interface {
	// Param returns the placeholder of the n-th argument (1-based).
	Param(n int) string
	// JSONField returns an expression reading the member at path (a
	// field, or field.subField) of type t from the JSON in column, typed
	// so it compares with Arg values.
	JSONField(column, path string, t herald.FieldType) string
	// Like returns "expr LIKE param" with '\' as the escape character,
	// case-sensitive or not.
	Like(expr, param string, insensitive bool) string
	// ContainsAny returns a condition true when the JSON list at path in
	// the data column holds any of the values bound at params.
	ContainsAny(path string, params []string) string
}

// Builder accumulates SQL arguments while rendering query fragments.
type Builder struct {
	D    Dialect
	Args []any
}

// Bind adds an argument and returns its placeholder. Use the placeholder
// once: with positional "?" parameters a second use would read the next
// argument.
func (b *Builder) Bind(v any) string {
	b.Args = append(b.Args, v)
	return b.D.Param(len(b.Args))
}

// BindList binds each value and returns the comma-separated placeholders.
func BindList[T any](b *Builder, vals []T) string {
	ps := make([]string, len(vals))
	for i, v := range vals {
		ps[i] = b.Bind(v)
	}
	return strings.Join(ps, ",")
}

var systemColumns = map[string]string{
	herald.FieldNameID:        "id",
	herald.FieldNameCreatedAt: "created_at",
	herald.FieldNameUpdatedAt: "updated_at",
	herald.FieldNameDeletedAt: "deleted_at",
	herald.FieldNameCreatedBy: "created_by",
}

// Column returns the SQL expression of a record field. Field names have
// been checked by the parsers (identifiers only), so inlining is safe.
func (b *Builder) Column(field string, t herald.FieldType) string {
	if c, ok := systemColumns[field]; ok {
		return c
	}
	if sub, ok := strings.CutPrefix(field, herald.FieldNameCreatedBy+"."); ok {
		return b.D.JSONField("created_by", sub, t)
	}
	return b.D.JSONField("data", field, t)
}

// Filter renders f as a boolean SQL expression.
func (b *Builder) Filter(f *herald.Filter) string {
	switch f.Op {
	case "and", "or":
		parts := make([]string, len(f.Children))
		for i, c := range f.Children {
			parts[i] = b.Filter(c)
		}
		return "(" + strings.Join(parts, " "+strings.ToUpper(f.Op)+" ") + ")"
	case "not":
		return "(NOT " + b.Filter(f.Children[0]) + ")"
	}
	if f.Comparator == "containsAny" {
		params := make([]string, len(f.Values))
		for i, v := range f.Values {
			params[i] = b.Bind(v)
		}
		return b.D.ContainsAny(f.Field, params)
	}
	col := b.Column(f.Field, f.Type)
	switch f.Comparator {
	case "is":
		if f.IsNull {
			return col + " IS NULL"
		}
		return col + " IS NOT NULL"
	case "in":
		return col + " IN (" + BindList(b, f.Values) + ")"
	case "startsWith":
		return b.D.Like(col, b.Bind(EscapeLike(f.Values[0].(string))+"%"), false)
	case "like", "ilike":
		return b.D.Like(col, b.Bind(f.Values[0]), f.Comparator == "ilike")
	}
	op := map[string]string{"eq": "=", "neq": "<>", "gt": ">", "gte": ">=", "lt": "<", "lte": "<="}[f.Comparator]
	if op == "" {
		panic(fmt.Sprintf("sqlbuild: comparator %q passed the parser", f.Comparator))
	}
	return col + " " + op + " " + b.Bind(f.Values[0])
}

// Like is the LIKE both engines use: '\' escapes, and the insensitive
// form lowers both sides (SQLite must run with case_sensitive_like on).
func Like(expr, param string, insensitive bool) string {
	if insensitive {
		return "lower(" + expr + ") LIKE lower(" + param + `) ESCAPE '\'`
	}
	return expr + " LIKE " + param + ` ESCAPE '\'`
}

// EscapeLike escapes LIKE's wildcards so s matches literally.
func EscapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// OrderBy renders an ORDER BY list (without the keywords).
func (b *Builder) OrderBy(order []herald.OrderTerm) string {
	parts := make([]string, len(order))
	for i, t := range order {
		dir := " ASC"
		if t.Desc {
			dir = " DESC"
		}
		nulls := " NULLS LAST"
		if t.NullsFirst {
			nulls = " NULLS FIRST"
		}
		parts[i] = b.Column(t.Field, t.Type) + dir + nulls
	}
	return strings.Join(parts, ", ")
}

// Reverse returns order read backwards: each direction and null placement
// flipped. Paging backwards (ending_before) is paging forwards in it.
func Reverse(order []herald.OrderTerm) []herald.OrderTerm {
	out := make([]herald.OrderTerm, len(order))
	for i, t := range order {
		t.Desc, t.NullsFirst = !t.Desc, !t.NullsFirst
		out[i] = t
	}
	return out
}

// After renders the keyset condition "comes after the row whose order
// values are vals": (t1 > v1) OR (t1 = v1 AND t2 > v2) OR ..., with NULLs
// placed as each term says.
func (b *Builder) After(order []herald.OrderTerm, vals []any) string {
	var ors []string
	for i, t := range order {
		var ands []string
		for j := 0; j < i; j++ {
			ands = append(ands, b.equal(order[j], vals[j]))
		}
		gt := b.greater(t, vals[i])
		if gt == "" {
			continue // nothing comes after NULL in this term
		}
		ands = append(ands, gt)
		ors = append(ors, "("+strings.Join(ands, " AND ")+")")
	}
	if len(ors) == 0 {
		return "1=0"
	}
	return "(" + strings.Join(ors, " OR ") + ")"
}

func (b *Builder) equal(t herald.OrderTerm, v any) string {
	col := b.Column(t.Field, t.Type)
	if v == nil {
		return col + " IS NULL"
	}
	return col + " = " + b.Bind(v)
}

// greater returns the condition "strictly after v" in term t, or "" when
// nothing can be.
func (b *Builder) greater(t herald.OrderTerm, v any) string {
	col := b.Column(t.Field, t.Type)
	if v == nil {
		if t.NullsFirst {
			return col + " IS NOT NULL"
		}
		return ""
	}
	op := " > "
	if t.Desc {
		op = " < "
	}
	cond := col + op + b.Bind(v)
	if !t.NullsFirst {
		cond = "(" + cond + " OR " + col + " IS NULL)"
	}
	return cond
}
