package httpapi

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/heraldhq/herald"
	"github.com/heraldhq/herald/service"
)

func errorf404(format string, args ...any) error {
	return herald.Errorf(herald.ENOTFOUND, format, args...)
}

func capitalize(s string) string { return strings.ToUpper(s[:1]) + s[1:] }

// pageLimit reads a limit parameter: 0 when absent (the services' default
// page), and a 400 when it is not a whole number of 1 or more. Larger
// ones are capped by the services, as Twenty caps them.
func pageLimit(v string) (int, error) {
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		return 0, herald.FieldErrorf("limit", "limit %q is invalid: use a whole number of 1 or more (pages hold at most %d)", v, service.MaxLimit)
	}
	return n, nil
}

// boolParam reads a true/false query parameter.
func boolParam(r *http.Request, name string, def bool) (bool, error) {
	switch v := r.URL.Query().Get(name); v {
	case "":
		return def, nil
	case "true":
		return true, nil
	case "false":
		return false, nil
	default:
		return false, herald.FieldErrorf(name, "%s must be true or false, not %q", name, v)
	}
}

// object resolves the {plural} path segment.
func (s *Server) object(r *http.Request) (*herald.Object, error) {
	return s.Services.Objects.ByPlural(r.Context(), apiKey(r).WorkspaceID, r.PathValue("plural"))
}

func (s *Server) listRecords(w http.ResponseWriter, r *http.Request) error {
	obj, err := s.object(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	query := service.RecordQuery{Filter: q.Get("filter"), OrderBy: q.Get("order_by"), After: q.Get("starting_after"), Before: q.Get("ending_before")}
	if query.Limit, err = pageLimit(q.Get("limit")); err != nil {
		return err
	}
	if query.Depth, err = service.ParseDepth(q.Get("depth")); err != nil {
		return err
	}
	page, err := s.Services.Records.List(r.Context(), apiKey(r).WorkspaceID, obj, query)
	if err != nil {
		return err
	}
	info := map[string]any{"startCursor": nil, "endCursor": nil, "hasNextPage": page.HasNextPage, "hasPreviousPage": page.HasPrevious}
	if len(page.Records) > 0 {
		info["startCursor"], info["endCursor"] = page.StartCursor, page.EndCursor
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"data":       map[string]any{obj.NamePlural: page.Records},
		"pageInfo":   info,
		"totalCount": page.TotalCount,
	})
	return nil
}

func (s *Server) getRecord(w http.ResponseWriter, r *http.Request) error {
	obj, err := s.object(r)
	if err != nil {
		return err
	}
	depth, err := service.ParseDepth(r.URL.Query().Get("depth"))
	if err != nil {
		return err
	}
	rec, err := s.Services.Records.Find(r.Context(), apiKey(r).WorkspaceID, obj, r.PathValue("id"), depth)
	if err != nil {
		return err
	}
	writeData(w, http.StatusOK, obj.NameSingular, rec)
	return nil
}

func (s *Server) createRecord(w http.ResponseWriter, r *http.Request) error {
	obj, err := s.object(r)
	if err != nil {
		return err
	}
	body, err := readBody(w, r)
	if err != nil {
		return err
	}
	upsert, err := boolParam(r, "upsert", false)
	if err != nil {
		return err
	}
	rec, err := s.Services.Records.Create(r.Context(), apiKey(r), obj, body, upsert)
	if err != nil {
		return err
	}
	writeData(w, http.StatusCreated, "create"+capitalize(obj.NameSingular), rec)
	return nil
}

func (s *Server) createRecords(w http.ResponseWriter, r *http.Request) error {
	obj, err := s.object(r)
	if err != nil {
		return err
	}
	body, err := readBody(w, r)
	if err != nil {
		return err
	}
	recs, err := s.Services.Records.CreateMany(r.Context(), apiKey(r), obj, body)
	if err != nil {
		return err
	}
	list := []byte{'['}
	for i, rec := range recs {
		if i > 0 {
			list = append(list, ',')
		}
		list = append(list, rec...)
	}
	writeData(w, http.StatusCreated, "create"+capitalize(obj.NamePlural), append(list, ']'))
	return nil
}

func (s *Server) updateRecord(w http.ResponseWriter, r *http.Request) error {
	obj, err := s.object(r)
	if err != nil {
		return err
	}
	body, err := readBody(w, r)
	if err != nil {
		return err
	}
	rec, err := s.Services.Records.Update(r.Context(), apiKey(r).WorkspaceID, obj, r.PathValue("id"), body)
	if err != nil {
		return err
	}
	writeData(w, http.StatusOK, "update"+capitalize(obj.NameSingular), rec)
	return nil
}

func (s *Server) deleteRecord(w http.ResponseWriter, r *http.Request) error {
	obj, err := s.object(r)
	if err != nil {
		return err
	}
	id := r.PathValue("id")
	soft, err := boolParam(r, "soft_delete", true)
	if err == nil {
		err = s.Services.Records.Delete(r.Context(), apiKey(r).WorkspaceID, obj, id, soft)
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, envelope("delete"+capitalize(obj.NameSingular), map[string]string{"id": id}))
	return nil
}

func (s *Server) restoreRecord(w http.ResponseWriter, r *http.Request) error {
	obj, err := s.object(r)
	if err != nil {
		return err
	}
	rec, err := s.Services.Records.Restore(r.Context(), apiKey(r).WorkspaceID, obj, r.PathValue("id"))
	if err != nil {
		return err
	}
	writeData(w, http.StatusOK, "restore"+capitalize(obj.NameSingular), rec)
	return nil
}
