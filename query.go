package herald

import "time"

// Filter is a parsed `filter` query parameter: a tree of and/or/not nodes
// whose leaves compare one field with typed values.
type Filter struct {
	// Op is "and", "or", "not" or "cmp".
	Op       string
	Children []*Filter
	// For Op "cmp":
	Field      string
	Type       FieldType
	Comparator string
	// Values holds one value (two or more for "in"), typed for the field:
	// string, float64 or bool. "is" has none: IsNull says which test.
	Values []any
	IsNull bool
}

// Mentions reports whether the filter tree compares the named field.
func (f *Filter) Mentions(field string) bool {
	if f == nil {
		return false
	}
	if f.Op == "cmp" {
		return f.Field == field
	}
	for _, c := range f.Children {
		if c.Mentions(field) {
			return true
		}
	}
	return false
}

// OrderTerm is one field of an `order_by` parameter.
type OrderTerm struct {
	Field      string
	Type       FieldType
	Desc       bool
	NullsFirst bool
}

// RecordQuery selects one page of records of one object.
type RecordQuery struct {
	WorkspaceID string
	Object      *Object
	Filter      *Filter
	// Order always ends with the id, so that keyset pagination is total.
	Order []OrderTerm
	// After and Before hold the order values of the cursor record (the id
	// last); at most one is set.
	After  []any
	Before []any
	Limit  int
	// IncludeDeleted is true when soft-deleted records are wanted too.
	IncludeDeleted bool
}

// RecordPage is one page of a RecordQuery.
type RecordPage struct {
	Records []*Record
	// HasMore reports whether records exist beyond the page in the
	// direction of the query.
	HasMore    bool
	TotalCount int
}

// RetrySelection picks a webhook's finished deliveries to send again.
type RetrySelection struct {
	WorkspaceID, WebhookID string
	// Status, when set, keeps those with that status (failed, delivered
	// or skipped); EventName those of that event.
	Status, EventName string
	// Since keeps those that finished at or after it.
	Since time.Time
}

// DeliveryQuery selects one page of a webhook's deliveries, newest event
// first.
type DeliveryQuery struct {
	WorkspaceID string
	WebhookID   string
	Status      string
	EventName   string
	// BeforeID, when set, asks for the deliveries of events older than
	// this delivery's.
	BeforeID int64
	Limit    int
}
