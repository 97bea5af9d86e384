package record

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/heraldhq/herald"
)

// MaxFilterDepth bounds nesting of and/or/not, so a hostile filter cannot
// exhaust the stack or build a giant SQL statement.
const MaxFilterDepth = 8

// maxFilterLeaves bounds the comparisons of one filter, and
// maxFilterValues the values its lists hold in all: each is a bound
// parameter of the query, and the engines take some thousands at most
// (SQLite failed a list of 32,000 with "too many SQL variables").
const (
	maxFilterLeaves = 64
	maxFilterValues = 1000
)

var comparators = map[string]bool{
	"eq": true, "neq": true, "in": true, "is": true, "gt": true, "gte": true,
	"lt": true, "lte": true, "startsWith": true, "like": true, "ilike": true, "containsAny": true,
}

// ParseFilter parses Twenty's filter syntax for obj:
//
//	field[comparator]:value        one comparison
//	a,b                            both (and)
//	and(a,b) or(a,b) not(a)        grouping
//
// Values may be double-quoted; "in" takes [v1,v2]; "is" takes NULL or
// NOT_NULL. Values are converted to the field's type. An empty string
// yields a nil filter.
func ParseFilter(obj *herald.Object, s string) (*herald.Filter, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	p := &filterParser{obj: obj, s: s}
	list, err := p.list(0)
	if err != nil {
		return nil, err
	}
	if p.pos != len(p.s) {
		return nil, p.errorf("unexpected %q", p.s[p.pos:])
	}
	if len(list) == 1 {
		return list[0], nil
	}
	return &herald.Filter{Op: "and", Children: list}, nil
}

type filterParser struct {
	obj    *herald.Object
	s      string
	pos    int
	leaves int
	values int
}

func (p *filterParser) errorf(format string, args ...any) error {
	return herald.FieldErrorf("filter", "invalid filter at position %d: %s", p.pos, fmt.Sprintf(format, args...))
}

func (p *filterParser) skipSpace() {
	for p.pos < len(p.s) && p.s[p.pos] == ' ' {
		p.pos++
	}
}

// list parses comma-separated expressions up to the end or a ')'.
func (p *filterParser) list(depth int) ([]*herald.Filter, error) {
	var out []*herald.Filter
	for {
		p.skipSpace()
		f, err := p.expr(depth)
		if err != nil {
			return nil, err
		}
		out = append(out, f)
		p.skipSpace()
		if p.pos < len(p.s) && p.s[p.pos] == ',' {
			p.pos++
			continue
		}
		return out, nil
	}
}

func (p *filterParser) ident() string {
	start := p.pos
	for p.pos < len(p.s) {
		c := p.s[p.pos]
		if c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' {
			p.pos++
			continue
		}
		break
	}
	return p.s[start:p.pos]
}

// path reads a field name, or a composite field's sub-field
// (emails.primaryEmail).
func (p *filterParser) path() string {
	start := p.pos
	p.ident()
	if p.pos < len(p.s) && p.s[p.pos] == '.' && p.pos > start {
		p.pos++
		p.ident()
	}
	return p.s[start:p.pos]
}

func (p *filterParser) expr(depth int) (*herald.Filter, error) {
	if depth > MaxFilterDepth {
		return nil, p.errorf("nested deeper than %d levels", MaxFilterDepth)
	}
	name := p.path()
	if name == "" {
		return nil, p.errorf("expected a field name or and(, or(, not(")
	}
	if p.pos < len(p.s) && p.s[p.pos] == '(' && (name == "and" || name == "or" || name == "not") {
		p.pos++
		children, err := p.list(depth + 1)
		if err != nil {
			return nil, err
		}
		if p.pos >= len(p.s) || p.s[p.pos] != ')' {
			return nil, p.errorf("expected ')'")
		}
		p.pos++
		if name == "not" && len(children) != 1 {
			return nil, p.errorf("not() takes exactly one condition")
		}
		return &herald.Filter{Op: name, Children: children}, nil
	}
	if p.leaves++; p.leaves > maxFilterLeaves {
		return nil, p.errorf("more than %d conditions", maxFilterLeaves)
	}
	typ, options, err := p.fieldType(name)
	if err != nil {
		return nil, err
	}
	if p.pos >= len(p.s) || p.s[p.pos] != '[' {
		return nil, p.errorf("expected '[' after field %s", name)
	}
	p.pos++
	cmp := p.ident()
	if !comparators[cmp] {
		return nil, p.errorf("unknown comparator %q (use eq, neq, in, containsAny, is, gt, gte, lt, lte, startsWith, like, ilike)", cmp)
	}
	if p.pos+1 >= len(p.s) || p.s[p.pos] != ']' || p.s[p.pos+1] != ':' {
		return nil, p.errorf("expected ']:' after comparator %s", cmp)
	}
	p.pos += 2
	f := &herald.Filter{Op: "cmp", Field: name, Type: typ, Comparator: cmp}
	if list := typ == herald.FieldMultiSelect || typ == herald.FieldRawJSON; list != (cmp == "containsAny") && cmp != "is" {
		if list {
			return nil, p.errorf("%s is a list: compare it with containsAny or is", name)
		}
		return nil, p.errorf("containsAny compares lists (multi-select fields, emails.additionalEmails), not %s", name)
	}
	switch cmp {
	case "containsAny":
		vals, err := p.array()
		if err != nil {
			return nil, err
		}
		for _, v := range vals {
			f.Values = append(f.Values, v)
		}
		return f, nil
	case "is":
		v := p.bare()
		switch strings.ToUpper(v) {
		case "NULL":
			f.IsNull = true
		case "NOT_NULL":
		default:
			return nil, p.errorf("is takes NULL or NOT_NULL, not %q", v)
		}
		return f, nil
	case "in":
		vals, err := p.array()
		if err != nil {
			return nil, err
		}
		for _, v := range vals {
			tv, err := p.typed(name, typ, options, v)
			if err != nil {
				return nil, err
			}
			f.Values = append(f.Values, tv)
		}
		return f, nil
	case "like", "ilike", "startsWith":
		if !textual(typ) {
			return nil, p.errorf("%s only applies to text fields, not %s", cmp, name)
		}
		v, err := p.value()
		if err != nil {
			return nil, err
		}
		f.Values = []any{v}
		return f, nil
	}
	v, err := p.value()
	if err != nil {
		return nil, err
	}
	tv, err := p.typed(name, typ, options, v)
	if err != nil {
		return nil, err
	}
	f.Values = []any{tv}
	return f, nil
}

func textual(t herald.FieldType) bool {
	switch t {
	case herald.FieldNumber, herald.FieldBoolean:
		return false
	}
	return true
}

func (p *filterParser) fieldType(name string) (herald.FieldType, []string, error) {
	return FieldPath(p.obj, name, "filter")
}

// FieldPath resolves a field a filter or an order_by names: a field of
// obj or a system field, or a composite field's sub-field (name.firstName,
// createdBy.source). It returns the type values compare as, and a
// select's options. param names the query parameter, for the error.
func FieldPath(obj *herald.Object, path, param string) (herald.FieldType, []string, error) {
	name, sub, hasSub := strings.Cut(path, ".")
	t, ok := herald.SystemFieldType(name)
	var options []string
	if !ok {
		f, found := obj.Field(name)
		if !found {
			return "", nil, herald.FieldErrorf(param, "unknown field %q in %s for object %s", name, param, obj.NameSingular)
		}
		t, options = f.Type, f.Options
	}
	subs := herald.CompositeFields(t)
	switch {
	case subs == nil && hasSub:
		return "", nil, herald.FieldErrorf(param, "%s has no fields: %s is not a composite field", path, name)
	case subs != nil && !hasSub:
		return "", nil, herald.FieldErrorf(param, "%s is a composite field: name one of its fields, such as %s.%s", name, name, subs[0].Name)
	case t == herald.FieldMultiSelect && param == "order_by":
		return "", nil, herald.FieldErrorf(param, "%s is a list, which order_by cannot compare", name)
	case !hasSub:
		return t, options, nil
	}
	st, ok := herald.SubFieldType(t, sub)
	if !ok {
		return "", nil, herald.FieldErrorf(param, "unknown field %q of %s: use %s", sub, name, subNames(t))
	}
	if st == herald.FieldRawJSON && (param == "order_by" || sub != "additionalEmails") {
		// Lists of objects (additionalPhones, secondaryLinks) or an
		// object (context) compare with nothing.
		return "", nil, herald.FieldErrorf(param, "%s is not a list of text, which %s cannot compare", path, param)
	}
	return st, nil, nil
}

// typed converts a raw filter value to the type the stores compare.
func (p *filterParser) typed(name string, t herald.FieldType, options []string, v string) (any, error) {
	switch t {
	case herald.FieldNumber:
		n, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return nil, herald.FieldErrorf("filter", "%s takes numbers, not %q", name, v)
		}
		return n, nil
	case herald.FieldBoolean:
		b, err := strconv.ParseBool(v)
		if err != nil {
			return nil, herald.FieldErrorf("filter", "%s takes true or false, not %q", name, v)
		}
		return b, nil
	case herald.FieldSelect:
		// Selects compare as text: a filter for a value no record has is
		// not an error.
		return v, nil
	}
	s, err := ParseString(name, t, options, v)
	if err != nil {
		return nil, herald.FieldErrorf("filter", "%s", herald.ErrorMessage(err))
	}
	return s, nil
}

// value reads a quoted string or a bare value up to ',' or ')'.
func (p *filterParser) value() (string, error) {
	if p.pos < len(p.s) && p.s[p.pos] == '"' {
		return p.quoted()
	}
	v := p.bare()
	if v == "" {
		return "", p.errorf("expected a value")
	}
	return v, nil
}

func (p *filterParser) bare() string {
	start := p.pos
	for p.pos < len(p.s) && p.s[p.pos] != ',' && p.s[p.pos] != ')' {
		p.pos++
	}
	return strings.TrimSpace(p.s[start:p.pos])
}

func (p *filterParser) quoted() (string, error) {
	p.pos++ // opening quote
	var b strings.Builder
	for p.pos < len(p.s) {
		c := p.s[p.pos]
		p.pos++
		switch c {
		case '\\':
			if p.pos < len(p.s) {
				b.WriteByte(p.s[p.pos])
				p.pos++
			}
		case '"':
			return b.String(), nil
		default:
			b.WriteByte(c)
		}
	}
	return "", p.errorf("unterminated quoted value")
}

// array reads [v1,v2,...] where each value may be quoted.
func (p *filterParser) array() ([]string, error) {
	if p.pos >= len(p.s) || p.s[p.pos] != '[' {
		return nil, p.errorf("in takes a list such as [a,b]")
	}
	p.pos++
	var out []string
	for {
		p.skipSpace()
		var v string
		var err error
		if p.pos < len(p.s) && p.s[p.pos] == '"' {
			v, err = p.quoted()
		} else {
			start := p.pos
			for p.pos < len(p.s) && p.s[p.pos] != ',' && p.s[p.pos] != ']' {
				p.pos++
			}
			v = strings.TrimSpace(p.s[start:p.pos])
		}
		if err != nil {
			return nil, err
		}
		if p.values++; p.values > maxFilterValues {
			return nil, p.errorf("lists hold more than %d values in all; split the query", maxFilterValues)
		}
		out = append(out, v)
		p.skipSpace()
		if p.pos >= len(p.s) {
			return nil, p.errorf("unterminated list")
		}
		if p.s[p.pos] == ']' {
			p.pos++
			return out, nil
		}
		if p.s[p.pos] != ',' {
			return nil, p.errorf("expected ',' or ']' in list")
		}
		p.pos++
	}
}
