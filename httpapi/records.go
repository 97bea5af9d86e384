package httpapi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/heraldhq/herald"
	"github.com/heraldhq/herald/record"
)

// Page sizes, as Twenty's REST API.
const (
	defaultLimit = 60
	maxLimit     = 200
	// maxBatch is how many records one batch create may hold.
	maxBatch = 60
)

func errorf404(format string, args ...any) error {
	return herald.Errorf(herald.ENOTFOUND, format, args...)
}

func capitalize(s string) string { return strings.ToUpper(s[:1]) + s[1:] }

// pageLimit reads a limit parameter as Twenty does: defaultLimit when
// absent, capped at maxLimit without a word (clients written for Twenty
// ask for more), and a 400 when it is not a whole number of 1 or more.
func pageLimit(v string) (int, error) {
	if v == "" {
		return defaultLimit, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		return 0, herald.FieldErrorf("limit", "limit %q is invalid: use a whole number of 1 or more (pages hold at most %d)", v, maxLimit)
	}
	return min(n, maxLimit), nil
}

func (s *Server) listRecords(w http.ResponseWriter, r *http.Request) {
	obj, err := s.object(r)
	if err != nil {
		s.error(w, r, err)
		return
	}
	q := r.URL.Query()
	query := herald.RecordQuery{WorkspaceID: apiKey(r).WorkspaceID, Object: obj}
	if query.Limit, err = pageLimit(q.Get("limit")); err != nil {
		s.error(w, r, err)
		return
	}
	if query.Filter, err = record.ParseFilter(obj, q.Get("filter")); err != nil {
		s.error(w, r, err)
		return
	}
	query.IncludeDeleted = query.Filter.Mentions(herald.FieldNameDeletedAt)
	if query.Order, err = record.ParseOrder(obj, q.Get("order_by")); err != nil {
		s.error(w, r, err)
		return
	}
	after, before := q.Get("starting_after"), q.Get("ending_before")
	switch {
	case after != "" && before != "":
		s.error(w, r, herald.FieldErrorf("ending_before", "give starting_after or ending_before, not both"))
		return
	case after != "":
		query.After, err = record.DecodeCursor(after, "starting_after", query.Order)
	case before != "":
		query.Before, err = record.DecodeCursor(before, "ending_before", query.Order)
	}
	if err != nil {
		s.error(w, r, err)
		return
	}
	depth, err := parseDepth(q.Get("depth"))
	if err != nil {
		s.error(w, r, err)
		return
	}
	page, err := s.Store.ListRecords(r.Context(), query)
	if err != nil {
		s.error(w, r, err)
		return
	}
	items, err := s.render(r.Context(), query.WorkspaceID, obj, page.Records, depth)
	if err != nil {
		s.error(w, r, err)
		return
	}
	info := map[string]any{"startCursor": nil, "endCursor": nil}
	if n := len(page.Records); n > 0 {
		info["startCursor"] = record.EncodeCursor(page.Records[0], query.Order)
		info["endCursor"] = record.EncodeCursor(page.Records[n-1], query.Order)
	}
	if query.Before != nil {
		info["hasNextPage"], info["hasPreviousPage"] = true, page.HasMore
	} else {
		info["hasNextPage"], info["hasPreviousPage"] = page.HasMore, query.After != nil
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"data":       map[string]any{obj.NamePlural: items},
		"pageInfo":   info,
		"totalCount": page.TotalCount,
	})
}

func (s *Server) getRecord(w http.ResponseWriter, r *http.Request) {
	obj, err := s.object(r)
	if err != nil {
		s.error(w, r, err)
		return
	}
	depth, err := parseDepth(r.URL.Query().Get("depth"))
	if err != nil {
		s.error(w, r, err)
		return
	}
	ws := apiKey(r).WorkspaceID
	rec, err := s.Store.FindRecord(r.Context(), ws, obj.NameSingular, r.PathValue("id"))
	if err == nil && rec.DeletedAt != nil {
		err = errorf404("%s %s was deleted; restore it with PATCH /rest/restore/%s/%s", obj.NameSingular, rec.ID, obj.NamePlural, rec.ID)
	}
	var rendered []json.RawMessage
	if err == nil {
		rendered, err = s.render(r.Context(), ws, obj, []*herald.Record{rec}, depth)
	}
	if err != nil {
		s.error(w, r, err)
		return
	}
	writeData(w, http.StatusOK, obj.NameSingular, rendered[0])
}

func (s *Server) createRecord(w http.ResponseWriter, r *http.Request) {
	obj, err := s.object(r)
	if err != nil {
		s.error(w, r, err)
		return
	}
	body, err := readBody(w, r)
	if err != nil {
		s.error(w, r, err)
		return
	}
	in, err := record.ParseInput(obj, body, true)
	if err != nil {
		s.error(w, r, err)
		return
	}
	upsert := false
	switch v := r.URL.Query().Get("upsert"); v {
	case "", "false":
	case "true":
		upsert = in.ID != "" // Herald's records have no unique field but the id
	default:
		s.error(w, r, herald.FieldErrorf("upsert", "upsert=%s: use true or false", v))
		return
	}
	name := "create" + capitalize(obj.NameSingular)
	key := apiKey(r)
	for try := 0; ; try++ {
		if upsert {
			// Twenty's upsert: a record with this id is updated with the
			// body (as PATCH would), and the answer is a creation's.
			rec, err := s.upsertRecord(r, obj, body, in.ID)
			if err == nil {
				writeData(w, http.StatusCreated, name, record.Render(obj, rec))
				return
			}
			if herald.ErrorCode(err) != herald.ENOTFOUND {
				s.error(w, r, err)
				return
			}
		}
		rec, ev := record.New(obj, key.WorkspaceID, key.ID, in, time.Now())
		err := s.Store.CreateRecords(r.Context(), []*herald.Record{rec}, []*herald.Event{ev})
		if upsert && try == 0 && herald.ErrorCode(err) == herald.ECONFLICT {
			continue // a concurrent upsert created it first: update it
		}
		if err != nil {
			s.error(w, r, err)
			return
		}
		// The created event carries the record as rendered: no need to render it twice.
		writeData(w, http.StatusCreated, name, ev.Data)
		return
	}
}

// upsertRecord updates the record id of obj with body's other fields, or
// answers ENOTFOUND when there is none.
func (s *Server) upsertRecord(r *http.Request, obj *herald.Object, body []byte, id string) (*herald.Record, error) {
	rest, err := record.WithoutMember(body, herald.FieldNameID)
	if err != nil {
		return nil, err
	}
	in, err := record.ParseInput(obj, rest, false)
	if err != nil {
		return nil, err
	}
	return s.Store.UpdateRecord(r.Context(), apiKey(r).WorkspaceID, obj.NameSingular, id, func(rec *herald.Record) (*herald.Event, error) {
		if rec.DeletedAt != nil {
			return nil, herald.Errorf(herald.ECONFLICT, "%s %s was deleted; restore it with PATCH /rest/restore/%s/%s before upserting it", obj.NameSingular, rec.ID, obj.NamePlural, rec.ID)
		}
		return record.Apply(obj, rec, in, time.Now()), nil
	})
}

func (s *Server) createRecords(w http.ResponseWriter, r *http.Request) {
	obj, err := s.object(r)
	if err != nil {
		s.error(w, r, err)
		return
	}
	body, err := readBody(w, r)
	if err != nil {
		s.error(w, r, err)
		return
	}
	var items []json.RawMessage
	if err := json.Unmarshal(body, &items); err != nil {
		s.error(w, r, herald.Errorf(herald.EINVALID, "body must be a JSON array of %s objects", obj.NameSingular))
		return
	}
	if len(items) == 0 || len(items) > maxBatch {
		s.error(w, r, herald.Errorf(herald.EINVALID, "a batch holds 1 to %d records, not %d", maxBatch, len(items)))
		return
	}
	key := apiKey(r)
	now := time.Now()
	recs := make([]*herald.Record, len(items))
	events := make([]*herald.Event, len(items))
	seen := map[string]bool{}
	for i, item := range items {
		in, err := record.ParseInput(obj, item, true)
		if err != nil {
			s.error(w, r, atIndex(i, err))
			return
		}
		recs[i], events[i] = record.New(obj, key.WorkspaceID, key.ID, in, now)
		if seen[recs[i].ID] {
			s.error(w, r, atIndex(i, herald.FieldErrorf("id", "id %s appears twice in the batch", recs[i].ID)))
			return
		}
		seen[recs[i].ID] = true
	}
	if err := s.Store.CreateRecords(r.Context(), recs, events); err != nil {
		s.error(w, r, err)
		return
	}
	out := []byte{'['}
	for i, ev := range events {
		if i > 0 {
			out = append(out, ',')
		}
		out = append(out, ev.Data...) // the record as rendered
	}
	writeData(w, http.StatusCreated, "create"+capitalize(obj.NamePlural), append(out, ']'))
}

// atIndex prefixes a batch item's error with its position.
func atIndex(i int, err error) error {
	e, ok := err.(*herald.Error)
	if !ok {
		return err
	}
	c := *e
	c.Message = fmt.Sprintf("record %d: %s", i, e.Message)
	if c.Field != "" {
		c.Field = fmt.Sprintf("[%d].%s", i, e.Field)
	}
	return &c
}

func (s *Server) updateRecord(w http.ResponseWriter, r *http.Request) {
	obj, err := s.object(r)
	if err != nil {
		s.error(w, r, err)
		return
	}
	body, err := readBody(w, r)
	if err != nil {
		s.error(w, r, err)
		return
	}
	in, err := record.ParseInput(obj, body, false)
	if err != nil {
		s.error(w, r, err)
		return
	}
	rec, err := s.Store.UpdateRecord(r.Context(), apiKey(r).WorkspaceID, obj.NameSingular, r.PathValue("id"), func(rec *herald.Record) (*herald.Event, error) {
		if rec.DeletedAt != nil {
			return nil, errorf404("%s %s was deleted; restore it before updating", obj.NameSingular, rec.ID)
		}
		return record.Apply(obj, rec, in, time.Now()), nil
	})
	if err != nil {
		s.error(w, r, err)
		return
	}
	writeData(w, http.StatusOK, "update"+capitalize(obj.NameSingular), record.Render(obj, rec))
}

func (s *Server) deleteRecord(w http.ResponseWriter, r *http.Request) {
	obj, err := s.object(r)
	if err != nil {
		s.error(w, r, err)
		return
	}
	ws, id := apiKey(r).WorkspaceID, r.PathValue("id")
	switch v := r.URL.Query().Get("soft_delete"); v {
	case "false":
		_, err = s.Store.DestroyRecord(r.Context(), ws, obj.NameSingular, id, func(rec *herald.Record) (*herald.Event, error) {
			return record.NewEvent(obj, rec, herald.ActionDestroyed, time.Now()), nil
		})
	case "", "true":
		_, err = s.Store.UpdateRecord(r.Context(), ws, obj.NameSingular, id, func(rec *herald.Record) (*herald.Event, error) {
			if rec.DeletedAt != nil {
				return nil, errorf404("%s %s is already deleted", obj.NameSingular, rec.ID)
			}
			now := time.Now().UTC().Truncate(time.Millisecond)
			ev := record.NewEvent(obj, rec, herald.ActionDeleted, now) // the state before deletion
			rec.DeletedAt, rec.UpdatedAt = &now, now
			return ev, nil
		})
	default:
		err = herald.FieldErrorf("soft_delete", "soft_delete must be true or false")
	}
	if err != nil {
		s.error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": map[string]any{"delete" + capitalize(obj.NameSingular): map[string]string{"id": id}}})
}

func (s *Server) restoreRecord(w http.ResponseWriter, r *http.Request) {
	obj, err := s.object(r)
	if err != nil {
		s.error(w, r, err)
		return
	}
	rec, err := s.Store.UpdateRecord(r.Context(), apiKey(r).WorkspaceID, obj.NameSingular, r.PathValue("id"), func(rec *herald.Record) (*herald.Event, error) {
		if rec.DeletedAt == nil {
			return nil, nil // not deleted: nothing to restore
		}
		now := time.Now().UTC().Truncate(time.Millisecond)
		rec.DeletedAt, rec.UpdatedAt = nil, now
		return record.NewEvent(obj, rec, herald.ActionRestored, now), nil
	})
	if err != nil {
		s.error(w, r, err)
		return
	}
	writeData(w, http.StatusOK, "restore"+capitalize(obj.NameSingular), record.Render(obj, rec))
}
