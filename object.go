package herald

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

// Field describes one user-writable field of an object.
type Field struct {
	Name string
	Type FieldType
	// Options lists the allowed values of a SELECT field.
	Options []string
	// Default is the value a SELECT field takes when a create omits it.
	Default string
	// Target is the singular name of the object a RELATION field points to.
	Target string
}

// Object describes a kind of record: a standard one (person, company, ...)
// or a custom one defined through the metadata API.
type Object struct {
	NameSingular string
	NamePlural   string
	Fields       []Field
	Custom       bool
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
		{NameSingular: "person", NamePlural: "people", Fields: []Field{
			{Name: "firstName", Type: FieldText},
			{Name: "lastName", Type: FieldText},
			{Name: "email", Type: FieldEmail},
			{Name: "phone", Type: FieldText},
			{Name: "jobTitle", Type: FieldText},
			{Name: "city", Type: FieldText},
			{Name: "companyId", Type: FieldRelation, Target: "company"},
		}},
		{NameSingular: "company", NamePlural: "companies", Fields: []Field{
			{Name: "name", Type: FieldText},
			{Name: "domainName", Type: FieldURL},
			{Name: "employees", Type: FieldNumber},
			{Name: "address", Type: FieldText},
			{Name: "idealCustomerProfile", Type: FieldBoolean},
		}},
		{NameSingular: "opportunity", NamePlural: "opportunities", Fields: []Field{
			{Name: "name", Type: FieldText},
			{Name: "amount", Type: FieldNumber},
			{Name: "currencyCode", Type: FieldText},
			{Name: "stage", Type: FieldSelect, Options: []string{"NEW", "SCREENING", "MEETING", "PROPOSAL", "CUSTOMER"}, Default: "NEW"},
			{Name: "closeDate", Type: FieldDateTime},
			{Name: "companyId", Type: FieldRelation, Target: "company"},
			{Name: "pointOfContactId", Type: FieldRelation, Target: "person"},
		}},
		{NameSingular: "note", NamePlural: "notes", Fields: []Field{
			{Name: "title", Type: FieldText},
			{Name: "body", Type: FieldText},
		}},
		{NameSingular: "task", NamePlural: "tasks", Fields: []Field{
			{Name: "title", Type: FieldText},
			{Name: "body", Type: FieldText},
			{Name: "dueAt", Type: FieldDateTime},
			{Name: "status", Type: FieldSelect, Options: []string{"TODO", "IN_PROGRESS", "DONE"}, Default: "TODO"},
			{Name: "assigneeId", Type: FieldRelation, Target: "person"},
		}},
	}
}
