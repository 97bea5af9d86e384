package record

import (
	"encoding/json"
	"regexp"
	"strings"

	"github.com/heraldhq/herald"
)

// Matches reports whether a rendered record (an event's data) passes f, a
// filter ParseFilter made for its object: the same test the stores run
// in SQL, run on the JSON, for webhook conditions. A nil filter passes
// everything.
func Matches(f *herald.Filter, data json.RawMessage) bool {
	if f == nil {
		return true
	}
	var rec map[string]any
	if err := json.Unmarshal(data, &rec); err != nil {
		return false
	}
	return matches(f, rec)
}

func matches(f *herald.Filter, rec map[string]any) bool {
	switch f.Op {
	case "and":
		for _, c := range f.Children {
			if !matches(c, rec) {
				return false
			}
		}
		return true
	case "or":
		for _, c := range f.Children {
			if matches(c, rec) {
				return true
			}
		}
		return false
	case "not":
		return !matches(f.Children[0], rec)
	}
	v := lookup(rec, f.Field)
	switch f.Comparator {
	case "is":
		return (v == nil) == f.IsNull
	case "containsAny":
		list, _ := v.([]any)
		for _, item := range list {
			for _, want := range f.Values {
				if item == want {
					return true
				}
			}
		}
		return false
	}
	if v == nil {
		return false // as SQL: a comparison with NULL is not true
	}
	switch f.Comparator {
	case "in":
		for _, want := range f.Values {
			if compare(v, want) == 0 {
				return true
			}
		}
		return false
	case "startsWith":
		s, ok := v.(string)
		return ok && strings.HasPrefix(s, f.Values[0].(string))
	case "like", "ilike":
		s, ok := v.(string)
		return ok && likeRegexp(f.Values[0].(string), f.Comparator == "ilike").MatchString(s)
	}
	c := compare(v, f.Values[0])
	switch f.Comparator {
	case "eq":
		return c == 0
	case "neq":
		return c != 0 && c != incomparable
	case "gt":
		return c == 1
	case "gte":
		return c == 0 || c == 1
	case "lt":
		return c == -1
	case "lte":
		return c == 0 || c == -1
	}
	return false
}

// lookup reads a field, or a sub-field by its path (name.firstName).
func lookup(rec map[string]any, path string) any {
	name, sub, ok := strings.Cut(path, ".")
	v := rec[name]
	if !ok {
		return v
	}
	m, _ := v.(map[string]any)
	return m[sub]
}

const incomparable = 2

// compare orders a record's value against a filter's, typed alike
// (strings byte by byte, as the stores' C collation does); incomparable
// when their types differ.
func compare(v, want any) int {
	switch w := want.(type) {
	case string:
		s, ok := v.(string)
		if !ok {
			return incomparable
		}
		return strings.Compare(s, w)
	case float64:
		n, ok := v.(float64)
		switch {
		case !ok:
			return incomparable
		case n < w:
			return -1
		case n > w:
			return 1
		}
		return 0
	case bool:
		b, ok := v.(bool)
		switch {
		case !ok:
			return incomparable
		case b == w:
			return 0
		case !b:
			return -1
		}
		return 1
	}
	return incomparable
}

// likeRegexp is SQL's LIKE pattern as a regular expression: % any run, _
// one character, \ escaping the next.
func likeRegexp(pattern string, insensitive bool) *regexp.Regexp {
	var b strings.Builder
	if insensitive {
		b.WriteString("(?is)")
	} else {
		b.WriteString("(?s)")
	}
	b.WriteByte('^')
	escaped := false
	for _, c := range pattern {
		switch {
		case escaped:
			b.WriteString(regexp.QuoteMeta(string(c)))
			escaped = false
		case c == '\\':
			escaped = true
		case c == '%':
			b.WriteString(".*")
		case c == '_':
			b.WriteByte('.')
		default:
			b.WriteString(regexp.QuoteMeta(string(c)))
		}
	}
	b.WriteByte('$')
	return regexp.MustCompile(b.String())
}
