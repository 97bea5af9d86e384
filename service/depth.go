package service

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"

	"github.com/heraldhq/herald"
	"github.com/heraldhq/herald/record"
)

// MaxDepth is the deepest nesting of related records Twenty's REST API
// offers (depth=0, 1 or 2).
const MaxDepth = 2

// ParseDepth reads the depth parameter as Twenty does: 0 when absent (ids
// only), 1 to nest each relation's record, 2 to nest theirs too.
func ParseDepth(v string) (int, error) {
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || checkDepth(n) != nil {
		return 0, herald.FieldErrorf("depth", "depth=%s is not allowed: use 0, 1 or 2", v)
	}
	return n, nil
}

func checkDepth(n int) error {
	if n < 0 || n > MaxDepth {
		return herald.FieldErrorf("depth", "depth=%d is not allowed: use 0, 1 or 2", n)
	}
	return nil
}

// relationName is the key a relation field's record is nested under, as
// Twenty names it: companyId's is company. A field not named ...Id has
// none, and its record is not nested.
func relationName(obj *herald.Object, f herald.Field) (string, bool) {
	name, ok := strings.CutSuffix(f.Name, "Id")
	if !ok || name == "" {
		return "", false
	}
	if _, taken := obj.Field(name); taken {
		return "", false
	}
	return name, true
}

// render renders records of obj as the API shows them, with the records
// their relations point to nested depth levels down: one query per
// relation field and level, whatever the number of records.
func (s *Records) render(ctx context.Context, workspaceID string, obj *herald.Object, recs []*herald.Record, depth int) ([]json.RawMessage, error) {
	out := make([]json.RawMessage, len(recs))
	for i, r := range recs {
		out[i] = record.Render(obj, r)
	}
	if depth == 0 || len(recs) == 0 {
		return out, nil
	}
	for _, f := range obj.Fields {
		name, ok := relationName(obj, f)
		if f.Type != herald.FieldRelation || !ok {
			continue
		}
		target, err := s.objects.named(ctx, workspaceID, f.Target)
		if err != nil {
			return nil, err
		}
		ids := map[string]bool{}
		for _, r := range recs {
			if id := relationID(r, f.Name); id != "" {
				ids[id] = true
			}
		}
		nested := map[string]json.RawMessage{}
		if len(ids) > 0 {
			quoted := make([]string, 0, len(ids))
			for id := range ids {
				quoted = append(quoted, strconv.Quote(id))
			}
			filter, err := record.ParseFilter(target, "id[in]:["+strings.Join(quoted, ",")+"]")
			if err != nil {
				return nil, err
			}
			order, _ := record.ParseOrder(target, "")
			page, err := s.store.ListRecords(ctx, herald.RecordQuery{WorkspaceID: workspaceID, Object: target, Filter: filter, Order: order, Limit: len(ids)})
			if err != nil {
				return nil, err
			}
			rendered, err := s.render(ctx, workspaceID, target, page.Records, depth-1)
			if err != nil {
				return nil, err
			}
			for i, r := range page.Records {
				nested[r.ID] = rendered[i]
			}
		}
		for i, r := range recs {
			v, ok := nested[relationID(r, f.Name)]
			if !ok {
				v = json.RawMessage("null") // no relation, or a record deleted since
			}
			out[i] = withMember(out[i], name, v)
		}
	}
	return out, nil
}

// relationID is the id a record's relation field holds, or "".
func relationID(r *herald.Record, field string) string {
	var id string
	_ = json.Unmarshal(r.Values[field], &id)
	return id
}

// withMember adds "name": v at the end of the rendered object obj.
func withMember(obj json.RawMessage, name string, v json.RawMessage) json.RawMessage {
	out := make([]byte, 0, len(obj)+len(name)+len(v)+4)
	out = append(out, obj[:len(obj)-1]...)
	out = append(out, ',', '"')
	out = append(out, name...)
	out = append(out, '"', ':')
	out = append(out, v...)
	return append(out, '}')
}
