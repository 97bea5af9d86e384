package record

import (
	"encoding/base64"
	"encoding/json"
	"strings"

	"github.com/heraldhq/herald"
)

// ParseOrder parses Twenty's order_by: "field[Direction],field2" where
// Direction is AscNullsFirst (the default), AscNullsLast, DescNullsFirst or
// DescNullsLast. With no order_by, records come oldest first. The id is
// always appended as the last tie-breaker.
func ParseOrder(obj *herald.Object, s string) ([]herald.OrderTerm, error) {
	var out []herald.OrderTerm
	if strings.TrimSpace(s) == "" {
		out = append(out, herald.OrderTerm{Field: herald.FieldNameCreatedAt, Type: herald.FieldDateTime, NullsFirst: true})
	} else {
		for _, part := range strings.Split(s, ",") {
			part = strings.TrimSpace(part)
			name, dir, hasDir := strings.Cut(part, "[")
			t := herald.OrderTerm{Field: name, NullsFirst: true}
			if hasDir {
				dir, ok := strings.CutSuffix(dir, "]")
				if !ok {
					return nil, herald.FieldErrorf("order_by", "expected ']' in %q", part)
				}
				switch dir {
				case "AscNullsFirst":
				case "AscNullsLast":
					t.NullsFirst = false
				case "DescNullsFirst":
					t.Desc = true
				case "DescNullsLast":
					t.Desc, t.NullsFirst = true, false
				default:
					return nil, herald.FieldErrorf("order_by", "unknown direction %q (use AscNullsFirst, AscNullsLast, DescNullsFirst or DescNullsLast)", dir)
				}
			}
			typ, _, err := FieldPath(obj, name, "order_by")
			if err != nil {
				return nil, err
			}
			t.Type = typ
			if name == herald.FieldNameID {
				continue // appended below
			}
			out = append(out, t)
		}
		if len(out) > 8 {
			return nil, herald.FieldErrorf("order_by", "at most 8 order fields")
		}
	}
	return append(out, herald.OrderTerm{Field: herald.FieldNameID, Type: herald.FieldUUID, NullsFirst: true}), nil
}

// EncodeCursor returns the opaque cursor of r under order.
func EncodeCursor(r *herald.Record, order []herald.OrderTerm) string {
	vals := make([]any, len(order))
	for i, t := range order {
		vals[i] = OrderValue(r, t.Field)
	}
	b, _ := json.Marshal(vals)
	return base64.RawURLEncoding.EncodeToString(b)
}

// DecodeCursor returns the order values a cursor holds, checking they fit
// order. param names the query parameter, for the error.
func DecodeCursor(s, param string, order []herald.OrderTerm) ([]any, error) {
	bad := herald.FieldErrorf(param, "invalid cursor: use startCursor or endCursor from a page read with the same order_by")
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return nil, bad
	}
	var vals []any
	if err := json.Unmarshal(b, &vals); err != nil || len(vals) != len(order) {
		return nil, bad
	}
	for i, t := range order {
		switch vals[i].(type) {
		case nil:
		case float64:
			if t.Type != herald.FieldNumber {
				return nil, bad
			}
		case bool:
			if t.Type != herald.FieldBoolean {
				return nil, bad
			}
		case string:
			if t.Type == herald.FieldNumber || t.Type == herald.FieldBoolean {
				return nil, bad
			}
		default:
			return nil, bad
		}
	}
	if vals[len(vals)-1] == nil {
		return nil, bad
	}
	return vals, nil
}
