package herald

import (
	"slices"
	"strings"
	"time"
)

// FieldType is the type of a record field. It decides how input is
// validated, how values are stored and how filters compare them.
type FieldType string

// Field types a record field can have.
const (
	FieldText     FieldType = "TEXT"
	FieldNumber   FieldType = "NUMBER"
	FieldBoolean  FieldType = "BOOLEAN"
	FieldDateTime FieldType = "DATE_TIME"
	FieldEmail    FieldType = "EMAILS"
	FieldURL      FieldType = "LINKS"
	FieldSelect   FieldType = "SELECT"
	FieldRelation FieldType = "RELATION"
	// FieldUUID is the type of the system id fields.
	FieldUUID FieldType = "UUID"
)

// FieldTypes lists every field type a custom object's field may have.
var FieldTypes = []FieldType{FieldText, FieldNumber, FieldBoolean, FieldDateTime, FieldEmail, FieldURL, FieldSelect, FieldRelation}

// ParseFieldType accepts Twenty's type names (TEXT, DATE_TIME, EMAILS,
// LINKS, ...) and the plain ones people write (text, date-time, email,
// url, ...).
func ParseFieldType(s string) (FieldType, bool) {
	t := FieldType(strings.ToUpper(strings.NewReplacer("-", "_", " ", "_").Replace(s)))
	switch t {
	case "DATETIME":
		t = FieldDateTime
	case "EMAIL":
		t = FieldEmail
	case "URL", "LINK":
		t = FieldURL
	}
	return t, slices.Contains(FieldTypes, t)
}

// Field describes one user-writable field of an object. The JSON form is
// both how the metadata API shows it and how the store keeps it.
type Field struct {
	Name        string    `json:"name"`
	Type        FieldType `json:"type"`
	Label       string    `json:"label,omitempty"`
	Description string    `json:"description,omitempty"`
	// Options lists the allowed values of a SELECT field.
	Options []string `json:"options,omitempty"`
	// Default is the value a SELECT field takes when a create omits it.
	Default string `json:"defaultValue,omitempty"`
	// Target is the singular name of the object a RELATION field points to.
	Target string `json:"relationTarget,omitempty"`
}

// Object describes a kind of record: a standard one (person, company, ...)
// or a custom one defined through the metadata API.
type Object struct {
	ID            string
	WorkspaceID   string
	NameSingular  string
	NamePlural    string
	LabelSingular string
	LabelPlural   string
	Description   string
	Fields        []Field
	Custom        bool
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

// Metadata events: a custom object was created, changed or deleted.
const (
	MetadataObject       = "metadata.object"
	MetadataObjectPlural = "metadata.objects"
)

// ReservedName reports whether s cannot name a custom object or event: the
// standard objects and the API's own path segments.
func ReservedName(s string) bool {
	switch strings.ToLower(s) {
	case "batch", "restore", "metadata", "webhook", "webhooks", "delivery", "deliveries",
		"event", "events", "object", "objects", "openapi", "apikey", "apikeys", "workspace", "workspaces":
		return true
	}
	for _, o := range StandardObjects() {
		if strings.EqualFold(s, o.NameSingular) || strings.EqualFold(s, o.NamePlural) {
			return true
		}
	}
	return false
}

// Field returns the field called name, and whether it exists.
func (o *Object) Field(name string) (Field, bool) {
	for _, f := range o.Fields {
		if f.Name == name {
			return f, true
		}
	}
	return Field{}, false
}

// System fields present on every record. They are read-only through the
// API (id may be given on create).
const (
	FieldNameID        = "id"
	FieldNameCreatedAt = "createdAt"
	FieldNameUpdatedAt = "updatedAt"
	FieldNameDeletedAt = "deletedAt"
	FieldNameCreatedBy = "createdBy"
)

// SystemFieldType returns the type of a system field and whether name is one.
func SystemFieldType(name string) (FieldType, bool) {
	switch name {
	case FieldNameID, FieldNameCreatedBy:
		return FieldUUID, true
	case FieldNameCreatedAt, FieldNameUpdatedAt, FieldNameDeletedAt:
		return FieldDateTime, true
	}
	return "", false
}

// StandardObjects returns the objects every workspace has, in a fresh slice
// the caller may keep.
func StandardObjects() []*Object {
	return []*Object{
		{NameSingular: "person", NamePlural: "people", LabelSingular: "Person", LabelPlural: "People", Fields: []Field{
			{Name: "firstName", Type: FieldText},
			{Name: "lastName", Type: FieldText},
			{Name: "email", Type: FieldEmail},
			{Name: "phone", Type: FieldText},
			{Name: "jobTitle", Type: FieldText},
			{Name: "city", Type: FieldText},
			{Name: "companyId", Type: FieldRelation, Target: "company"},
		}},
		{NameSingular: "company", NamePlural: "companies", LabelSingular: "Company", LabelPlural: "Companies", Fields: []Field{
			{Name: "name", Type: FieldText},
			{Name: "domainName", Type: FieldURL},
			{Name: "employees", Type: FieldNumber},
			{Name: "address", Type: FieldText},
			{Name: "idealCustomerProfile", Type: FieldBoolean},
		}},
		{NameSingular: "opportunity", NamePlural: "opportunities", LabelSingular: "Opportunity", LabelPlural: "Opportunities", Fields: []Field{
			{Name: "name", Type: FieldText},
			{Name: "amount", Type: FieldNumber},
			{Name: "currencyCode", Type: FieldText},
			{Name: "stage", Type: FieldSelect, Options: []string{"NEW", "SCREENING", "MEETING", "PROPOSAL", "CUSTOMER"}, Default: "NEW"},
			{Name: "closeDate", Type: FieldDateTime},
			{Name: "companyId", Type: FieldRelation, Target: "company"},
			{Name: "pointOfContactId", Type: FieldRelation, Target: "person"},
		}},
		{NameSingular: "note", NamePlural: "notes", LabelSingular: "Note", LabelPlural: "Notes", Fields: []Field{
			{Name: "title", Type: FieldText},
			{Name: "body", Type: FieldText},
		}},
		{NameSingular: "task", NamePlural: "tasks", LabelSingular: "Task", LabelPlural: "Tasks", Fields: []Field{
			{Name: "title", Type: FieldText},
			{Name: "body", Type: FieldText},
			{Name: "dueAt", Type: FieldDateTime},
			{Name: "status", Type: FieldSelect, Options: []string{"TODO", "IN_PROGRESS", "DONE"}, Default: "TODO"},
			{Name: "assigneeId", Type: FieldRelation, Target: "person"},
		}},
	}
}
