package herald

import (
	"slices"
	"strings"
	"time"
)

// FieldType is the type of a record field. It decides how input is
// validated, how values are stored and how filters compare them.
type FieldType string

// Field types a record field can have, Twenty's names.
const (
	FieldText        FieldType = "TEXT"
	FieldNumber      FieldType = "NUMBER"
	FieldBoolean     FieldType = "BOOLEAN"
	FieldDateTime    FieldType = "DATE_TIME"
	FieldSelect      FieldType = "SELECT"
	FieldMultiSelect FieldType = "MULTI_SELECT"
	// FieldRating is one of RatingValues.
	FieldRating   FieldType = "RATING"
	FieldRelation FieldType = "RELATION"
	// FieldUUID is the type of the system id fields.
	FieldUUID FieldType = "UUID"
	// FieldRawJSON is the type of sub-fields holding a JSON list or
	// object (additionalEmails, secondaryLinks, an actor's context).
	FieldRawJSON FieldType = "RAW_JSON"

	// Composite types: a field of one is a JSON object of sub-fields
	// (CompositeFields).
	FieldFullName   FieldType = "FULL_NAME"
	FieldEmails     FieldType = "EMAILS"
	FieldPhones     FieldType = "PHONES"
	FieldLinks      FieldType = "LINKS"
	FieldCurrency   FieldType = "CURRENCY"
	FieldAddress    FieldType = "ADDRESS"
	FieldRichTextV2 FieldType = "RICH_TEXT_V2"
	// FieldActor is the type of createdBy: who made the record.
	FieldActor FieldType = "ACTOR"
)

// RatingValues are the values of a RATING field, as Twenty's.
var RatingValues = []string{"RATING_1", "RATING_2", "RATING_3", "RATING_4", "RATING_5"}

// FieldTypes lists every field type a custom object's field may have.
var FieldTypes = []FieldType{FieldText, FieldNumber, FieldBoolean, FieldDateTime, FieldSelect, FieldMultiSelect, FieldRating, FieldRelation,
	FieldFullName, FieldEmails, FieldPhones, FieldLinks, FieldCurrency, FieldAddress, FieldRichTextV2}

// ParseFieldType accepts Twenty's type names (TEXT, DATE_TIME, EMAILS,
// LINKS, ...) and the plain ones people write (text, date-time, email,
// url, ...).
func ParseFieldType(s string) (FieldType, bool) {
	t := FieldType(strings.ToUpper(strings.NewReplacer("-", "_", " ", "_").Replace(s)))
	switch t {
	case "DATETIME":
		t = FieldDateTime
	case "EMAIL":
		t = FieldEmails
	case "URL", "LINK":
		t = FieldLinks
	case "PHONE":
		t = FieldPhones
	case "NAME", "FULLNAME":
		t = FieldFullName
	case "MULTISELECT":
		t = FieldMultiSelect
	case "RICH_TEXT", "RICHTEXT":
		t = FieldRichTextV2
	}
	return t, slices.Contains(FieldTypes, t)
}

// SubField is one part of a composite field's value.
type SubField struct {
	Name string
	Type FieldType
}

// compositeFields are Twenty's composite types, sub-fields in its order.
// An unset TEXT sub-field is "", any other null.
var compositeFields = map[FieldType][]SubField{
	FieldFullName: {{"firstName", FieldText}, {"lastName", FieldText}},
	FieldEmails:   {{"primaryEmail", FieldText}, {"additionalEmails", FieldRawJSON}},
	FieldPhones: {{"primaryPhoneNumber", FieldText}, {"primaryPhoneCountryCode", FieldText}, {"primaryPhoneCallingCode", FieldText},
		{"additionalPhones", FieldRawJSON}},
	FieldLinks:    {{"primaryLinkLabel", FieldText}, {"primaryLinkUrl", FieldText}, {"secondaryLinks", FieldRawJSON}},
	FieldCurrency: {{"amountMicros", FieldNumber}, {"currencyCode", FieldText}},
	FieldAddress: {{"addressStreet1", FieldText}, {"addressStreet2", FieldText}, {"addressCity", FieldText}, {"addressPostcode", FieldText},
		{"addressState", FieldText}, {"addressCountry", FieldText}, {"addressLat", FieldNumber}, {"addressLng", FieldNumber}},
	FieldRichTextV2: {{"blocknote", FieldText}, {"markdown", FieldText}},
	FieldActor:      {{"source", FieldText}, {"workspaceMemberId", FieldUUID}, {"name", FieldText}, {"context", FieldRawJSON}},
}

// CompositeFields returns the sub-fields of a composite type, nil for any
// other.
func CompositeFields(t FieldType) []SubField { return compositeFields[t] }

// SubFieldType returns the type of a composite type's sub-field.
func SubFieldType(t FieldType, name string) (FieldType, bool) {
	for _, sf := range compositeFields[t] {
		if sf.Name == name {
			return sf.Type, true
		}
	}
	return "", false
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
	// The objects of Herald's own events (package operational).
	WebhookObject        = "webhook"
	WebhookObjectPlural  = "webhooks"
	DeliveryObject       = "delivery"
	DeliveryObjectPlural = "deliveries"
)

// OperationalObject reports whether events of object come from Herald
// itself (webhook.disabled, delivery.exhausted), not from records.
func OperationalObject(object string) bool {
	return object == WebhookObject || object == DeliveryObject
}

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
		if name == FieldNameCreatedBy {
			return FieldActor, true
		}
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
			{Name: "name", Type: FieldFullName},
			{Name: "emails", Type: FieldEmails},
			{Name: "linkedinLink", Type: FieldLinks},
			{Name: "xLink", Type: FieldLinks},
			{Name: "jobTitle", Type: FieldText},
			{Name: "phones", Type: FieldPhones},
			{Name: "city", Type: FieldText},
			{Name: "avatarUrl", Type: FieldText},
			{Name: "position", Type: FieldNumber},
			{Name: "companyId", Type: FieldRelation, Target: "company"},
		}},
		{NameSingular: "company", NamePlural: "companies", LabelSingular: "Company", LabelPlural: "Companies", Fields: []Field{
			{Name: "name", Type: FieldText},
			{Name: "domainName", Type: FieldLinks},
			{Name: "employees", Type: FieldNumber},
			{Name: "linkedinLink", Type: FieldLinks},
			{Name: "xLink", Type: FieldLinks},
			{Name: "annualRecurringRevenue", Type: FieldCurrency},
			{Name: "address", Type: FieldAddress},
			{Name: "idealCustomerProfile", Type: FieldBoolean},
			{Name: "position", Type: FieldNumber},
		}},
		{NameSingular: "opportunity", NamePlural: "opportunities", LabelSingular: "Opportunity", LabelPlural: "Opportunities", Fields: []Field{
			{Name: "name", Type: FieldText},
			{Name: "amount", Type: FieldCurrency},
			{Name: "closeDate", Type: FieldDateTime},
			{Name: "stage", Type: FieldSelect, Options: []string{"NEW", "SCREENING", "MEETING", "PROPOSAL", "CUSTOMER"}, Default: "NEW"},
			{Name: "position", Type: FieldNumber},
			{Name: "pointOfContactId", Type: FieldRelation, Target: "person"},
			{Name: "companyId", Type: FieldRelation, Target: "company"},
		}},
		{NameSingular: "note", NamePlural: "notes", LabelSingular: "Note", LabelPlural: "Notes", Fields: []Field{
			{Name: "position", Type: FieldNumber},
			{Name: "title", Type: FieldText},
			{Name: "bodyV2", Type: FieldRichTextV2},
		}},
		{NameSingular: "task", NamePlural: "tasks", LabelSingular: "Task", LabelPlural: "Tasks", Fields: []Field{
			{Name: "position", Type: FieldNumber},
			{Name: "title", Type: FieldText},
			{Name: "bodyV2", Type: FieldRichTextV2},
			{Name: "dueAt", Type: FieldDateTime},
			{Name: "status", Type: FieldSelect, Options: []string{"TODO", "IN_PROGRESS", "DONE"}, Default: "TODO"},
			{Name: "assigneeId", Type: FieldRelation, Target: "person"},
		}},
	}
}
