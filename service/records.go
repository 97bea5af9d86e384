package service

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/heraldhq/herald"
	"github.com/heraldhq/herald/record"
)

// Records are the rules of records of every object: reading them in
// Twenty's shapes, and changing them, each change written with its event
// and its deliveries in one transaction. Records go in and come out as
// JSON, as the API takes and shows them.
type Records struct {
	store   herald.Store
	objects *Objects
}

// MaxBatch is how many records one batch create may hold, as Twenty.
const MaxBatch = 60

// RecordQuery selects a page of records. Filter and OrderBy are in
// Twenty's syntax; After and Before are the cursors of a neighbouring
// page (at most one of them).
type RecordQuery struct {
	Filter, OrderBy string
	After, Before   string
	// Limit is the page size: 0 for DefaultLimit, capped at MaxLimit.
	Limit int
	// Depth nests the records relations point to, 0 to MaxDepth levels.
	Depth int
}

// RecordPage is a page of rendered records, with the cursors of its ends
// (empty on an empty page).
type RecordPage struct {
	Records                  []json.RawMessage
	StartCursor, EndCursor   string
	HasNextPage, HasPrevious bool
	TotalCount               int
}

// List returns a page of obj's records.
func (s *Records) List(ctx context.Context, workspaceID string, obj *herald.Object, q RecordQuery) (RecordPage, error) {
	query := herald.RecordQuery{WorkspaceID: workspaceID, Object: obj, Limit: pageSize(q.Limit)}
	var err error
	if err = checkDepth(q.Depth); err != nil {
		return RecordPage{}, err
	}
	if query.Filter, err = record.ParseFilter(obj, q.Filter); err != nil {
		return RecordPage{}, err
	}
	query.IncludeDeleted = query.Filter.Mentions(herald.FieldNameDeletedAt)
	if query.Order, err = record.ParseOrder(obj, q.OrderBy); err != nil {
		return RecordPage{}, err
	}
	switch {
	case q.After != "" && q.Before != "":
		return RecordPage{}, herald.FieldErrorf("ending_before", "give starting_after or ending_before, not both")
	case q.After != "":
		query.After, err = record.DecodeCursor(q.After, "starting_after", query.Order)
	case q.Before != "":
		query.Before, err = record.DecodeCursor(q.Before, "ending_before", query.Order)
	}
	if err != nil {
		return RecordPage{}, err
	}
	page, err := s.store.ListRecords(ctx, query)
	if err != nil {
		return RecordPage{}, err
	}
	out := RecordPage{TotalCount: page.TotalCount}
	if out.Records, err = s.render(ctx, workspaceID, obj, page.Records, q.Depth); err != nil {
		return RecordPage{}, err
	}
	if n := len(page.Records); n > 0 {
		out.StartCursor = record.EncodeCursor(page.Records[0], query.Order)
		out.EndCursor = record.EncodeCursor(page.Records[n-1], query.Order)
	}
	if query.Before != nil {
		out.HasNextPage, out.HasPrevious = true, page.HasMore
	} else {
		out.HasNextPage, out.HasPrevious = page.HasMore, query.After != nil
	}
	return out, nil
}

// Find returns one record that is not deleted, with depth levels of
// related records nested.
func (s *Records) Find(ctx context.Context, workspaceID string, obj *herald.Object, id string, depth int) (json.RawMessage, error) {
	if err := checkDepth(depth); err != nil {
		return nil, err
	}
	rec, err := s.store.FindRecord(ctx, workspaceID, obj.NameSingular, id)
	if err != nil {
		return nil, err
	}
	if rec.DeletedAt != nil {
		return nil, errorf404("%s %s was deleted; restore it with PATCH /rest/restore/%s/%s", obj.NameSingular, rec.ID, obj.NamePlural, rec.ID)
	}
	rendered, err := s.render(ctx, workspaceID, obj, []*herald.Record{rec}, depth)
	if err != nil {
		return nil, err
	}
	return rendered[0], nil
}

// uniqueFields are the sub-fields Twenty's standard objects are unique
// by, which its upsert matches on besides the id: a person's primary email
// and a company's domain.
var uniqueFields = map[string]string{"person": "emails.primaryEmail", "company": "domainName.primaryLinkUrl"}

// Create makes a record of obj from body, made by key. With upsert, a
// body that names an existing record updates it instead (as Update
// would), as Twenty's upsert does: by its id, or for a person by its
// primary email and for a company by its domain.
func (s *Records) Create(ctx context.Context, key *herald.APIKey, obj *herald.Object, body []byte, upsert bool) (json.RawMessage, error) {
	in, err := record.ParseInput(obj, body, true)
	if err != nil {
		return nil, err
	}
	if upsert && in.ID == "" {
		if in.ID, err = s.findUnique(ctx, key.WorkspaceID, obj, in); err != nil {
			return nil, err
		}
		if in.ID != "" {
			return s.Update(ctx, key.WorkspaceID, obj, in.ID, body)
		}
	}
	upsert = upsert && in.ID != ""
	for try := 0; ; try++ {
		if upsert {
			rec, err := s.upsert(ctx, key.WorkspaceID, obj, body, in.ID)
			if err == nil {
				return record.Render(obj, rec), nil
			}
			if herald.ErrorCode(err) != herald.ENOTFOUND {
				return nil, err
			}
		}
		rec, ev := record.New(obj, key.WorkspaceID, record.APIActor(key.Name), in, time.Now())
		err := s.store.CreateRecords(ctx, []*herald.Record{rec}, []*herald.Event{ev})
		if upsert && try == 0 && herald.ErrorCode(err) == herald.ECONFLICT {
			continue // a concurrent upsert created it first: update it
		}
		if err != nil {
			return nil, err
		}
		// The created event carries the record as rendered: no need to render it twice.
		return ev.Data, nil
	}
}

// findUnique returns the id of the record that has in's value of obj's
// unique field, or "" when there is none (or in gives none).
func (s *Records) findUnique(ctx context.Context, workspaceID string, obj *herald.Object, in *record.Input) (string, error) {
	path, ok := uniqueFields[obj.NameSingular]
	if !ok || obj.Custom {
		return "", nil
	}
	field, sub, _ := strings.Cut(path, ".")
	var given map[string]json.RawMessage
	if err := json.Unmarshal(in.Values[field], &given); err != nil {
		return "", nil // not given, or null
	}
	var value string
	if err := json.Unmarshal(given[sub], &value); err != nil || value == "" {
		return "", nil
	}
	// Built, not parsed from text: a value the filter syntax would have to
	// escape (a quote, a comma) cannot change what it means.
	filter := &herald.Filter{Op: "cmp", Field: path, Type: herald.FieldText, Comparator: "eq", Values: []any{value}}
	order, _ := record.ParseOrder(obj, "")
	page, err := s.store.ListRecords(ctx, herald.RecordQuery{WorkspaceID: workspaceID, Object: obj, Filter: filter, Order: order, Limit: 1})
	if err != nil || len(page.Records) == 0 {
		return "", err
	}
	return page.Records[0].ID, nil
}

// upsert updates the record id of obj with body's other fields, or
// answers ENOTFOUND when there is none.
func (s *Records) upsert(ctx context.Context, workspaceID string, obj *herald.Object, body []byte, id string) (*herald.Record, error) {
	rest, err := record.WithoutMember(body, herald.FieldNameID)
	if err != nil {
		return nil, err
	}
	in, err := record.ParseInput(obj, rest, false)
	if err != nil {
		return nil, err
	}
	return s.store.UpdateRecord(ctx, workspaceID, obj.NameSingular, id, func(rec *herald.Record) (*herald.Event, error) {
		if rec.DeletedAt != nil {
			return nil, herald.Errorf(herald.ECONFLICT, "%s %s was deleted; restore it with PATCH /rest/restore/%s/%s before upserting it", obj.NameSingular, rec.ID, obj.NamePlural, rec.ID)
		}
		return record.Apply(obj, rec, in, time.Now()), nil
	})
}

// CreateMany makes the records of body, a JSON array of 1 to MaxBatch of
// them, all or none, and returns them rendered, in order. An item's error
// names its position.
func (s *Records) CreateMany(ctx context.Context, key *herald.APIKey, obj *herald.Object, body []byte) ([]json.RawMessage, error) {
	var items []json.RawMessage
	if err := json.Unmarshal(body, &items); err != nil {
		return nil, herald.Errorf(herald.EINVALID, "body must be a JSON array of %s objects", obj.NameSingular)
	}
	if len(items) == 0 || len(items) > MaxBatch {
		return nil, herald.Errorf(herald.EINVALID, "a batch holds 1 to %d records, not %d", MaxBatch, len(items))
	}
	now := time.Now()
	recs := make([]*herald.Record, len(items))
	events := make([]*herald.Event, len(items))
	seen := map[string]bool{}
	for i, item := range items {
		in, err := record.ParseInput(obj, item, true)
		if err != nil {
			return nil, atIndex(i, err)
		}
		recs[i], events[i] = record.New(obj, key.WorkspaceID, record.APIActor(key.Name), in, now)
		if seen[recs[i].ID] {
			return nil, atIndex(i, herald.FieldErrorf("id", "id %s appears twice in the batch", recs[i].ID))
		}
		seen[recs[i].ID] = true
	}
	if err := s.store.CreateRecords(ctx, recs, events); err != nil {
		return nil, err
	}
	out := make([]json.RawMessage, len(events))
	for i, ev := range events {
		out[i] = ev.Data // the record as rendered
	}
	return out, nil
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

// Update changes the fields body gives of a record that is not deleted.
func (s *Records) Update(ctx context.Context, workspaceID string, obj *herald.Object, id string, body []byte) (json.RawMessage, error) {
	in, err := record.ParseInput(obj, body, false)
	if err != nil {
		return nil, err
	}
	var ev *herald.Event
	rec, err := s.store.UpdateRecord(ctx, workspaceID, obj.NameSingular, id, func(rec *herald.Record) (*herald.Event, error) {
		if rec.DeletedAt != nil {
			return nil, errorf404("%s %s was deleted; restore it before updating", obj.NameSingular, rec.ID)
		}
		ev = record.Apply(obj, rec, in, time.Now())
		return ev, nil
	})
	if err != nil {
		return nil, err
	}
	if ev != nil {
		// The event carries the record as it is now, rendered already.
		return ev.Data, nil
	}
	return record.Render(obj, rec), nil
}

// Delete deletes a record: softly (it can be restored, and filters on
// deletedAt still find it) or for good.
func (s *Records) Delete(ctx context.Context, workspaceID string, obj *herald.Object, id string, soft bool) error {
	if !soft {
		_, err := s.store.DestroyRecord(ctx, workspaceID, obj.NameSingular, id, func(rec *herald.Record) (*herald.Event, error) {
			return record.NewEvent(obj, rec, herald.ActionDestroyed, time.Now()), nil
		})
		return err
	}
	_, err := s.store.UpdateRecord(ctx, workspaceID, obj.NameSingular, id, func(rec *herald.Record) (*herald.Event, error) {
		if rec.DeletedAt != nil {
			return nil, errorf404("%s %s is already deleted", obj.NameSingular, rec.ID)
		}
		now := herald.Now()
		ev := record.NewEvent(obj, rec, herald.ActionDeleted, now) // the state before deletion
		rec.DeletedAt, rec.UpdatedAt = &now, now
		return ev, nil
	})
	return err
}

// Restore brings back a soft-deleted record; restoring one that is not
// deleted changes nothing and sends nothing.
func (s *Records) Restore(ctx context.Context, workspaceID string, obj *herald.Object, id string) (json.RawMessage, error) {
	rec, err := s.store.UpdateRecord(ctx, workspaceID, obj.NameSingular, id, func(rec *herald.Record) (*herald.Event, error) {
		if rec.DeletedAt == nil {
			return nil, nil
		}
		now := herald.Now()
		rec.DeletedAt, rec.UpdatedAt = nil, now
		return record.NewEvent(obj, rec, herald.ActionRestored, now), nil
	})
	if err != nil {
		return nil, err
	}
	return record.Render(obj, rec), nil
}
