package herald

import (
	"encoding/json"
	"time"
)

// TimeLayout is how Herald writes every timestamp: UTC, millisecond
// precision, fixed width, so that text comparison orders times correctly.
const TimeLayout = "2006-01-02T15:04:05.000Z"

// FormatTime formats t in TimeLayout.
func FormatTime(t time.Time) string { return t.UTC().Format(TimeLayout) }

// StoredTime is t as Herald keeps it: UTC, to the millisecond, so that a
// time read back from the store equals the one written.
func StoredTime(t time.Time) time.Time { return t.UTC().Truncate(time.Millisecond) }

// Now is the current time as Herald keeps it (StoredTime).
func Now() time.Time { return StoredTime(time.Now()) }

// Workspace is a tenant: every record, webhook and API key belongs to one.
type Workspace struct {
	ID        string
	Name      string
	CreatedAt time.Time
}

// APIKey authenticates API calls for one workspace. Only a hash of the
// secret is stored.
type APIKey struct {
	ID          string
	WorkspaceID string
	Name        string
	// Hash is the hex SHA-256 of the full key.
	Hash string
	// Prefix is the first characters of the key, shown in listings.
	Prefix    string
	CreatedAt time.Time
	RevokedAt *time.Time
}

// Record is one row of an object: a person, a company, a custom object's
// record. Values holds the user fields as canonical JSON, keyed by field
// name; system fields are struct fields.
type Record struct {
	ID          string
	WorkspaceID string
	Object      string
	Values      map[string]json.RawMessage
	CreatedAt   time.Time
	UpdatedAt   time.Time
	DeletedAt   *time.Time
	CreatedBy   string
}

// Clone returns a deep copy of r whose Values map may be changed freely.
func (r *Record) Clone() *Record {
	c := *r
	c.Values = make(map[string]json.RawMessage, len(r.Values))
	for k, v := range r.Values {
		c.Values[k] = v
	}
	if r.DeletedAt != nil {
		d := *r.DeletedAt
		c.DeletedAt = &d
	}
	return &c
}
