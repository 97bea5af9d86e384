package catalog

import (
	"slices"

	"github.com/heraldhq/herald"
)

// Schema is a JSON Schema (draft 2020-12, which OpenAPI 3.1 uses).
type Schema = map[string]any

func typed(types ...string) Schema {
	if len(types) == 1 {
		return Schema{"type": types[0]}
	}
	return Schema{"type": types}
}

func withFormat(s Schema, format string) Schema {
	s["format"] = format
	return s
}

// object is a closed object schema: every property required unless
// optional names it.
func object(props Schema, optional ...string) Schema {
	required := []string{}
	for name := range props {
		if !slices.Contains(optional, name) {
			required = append(required, name)
		}
	}
	slices.Sort(required)
	return Schema{"type": "object", "properties": props, "required": required, "additionalProperties": false}
}

func list(items Schema) Schema { return Schema{"type": []string{"array", "null"}, "items": items} }

// fieldSchema is the schema of a field's value as a record shows it:
// null when unset, a composite always whole.
func fieldSchema(f herald.Field) Schema {
	if subs := herald.CompositeFields(f.Type); subs != nil {
		return compositeSchema(f.Type, subs)
	}
	switch f.Type {
	case herald.FieldNumber:
		return typed("number", "null")
	case herald.FieldBoolean:
		return typed("boolean", "null")
	case herald.FieldDateTime:
		return withFormat(typed("string", "null"), "date-time")
	case herald.FieldRelation, herald.FieldUUID:
		return withFormat(typed("string", "null"), "uuid")
	case herald.FieldSelect:
		return Schema{"enum": append(anys(f.Options), nil)}
	case herald.FieldMultiSelect:
		return list(Schema{"enum": anys(f.Options)})
	case herald.FieldRating:
		return Schema{"enum": append(anys(herald.RatingValues), nil)}
	case herald.FieldRawJSON:
		return Schema{}
	}
	return typed("string", "null")
}

// compositeSchema is a composite value: every sub-field, "" for unset
// text (null in rich text), null for the others.
func compositeSchema(t herald.FieldType, subs []herald.SubField) Schema {
	props := Schema{}
	for _, sub := range subs {
		switch {
		case sub.Type == herald.FieldText && t != herald.FieldRichTextV2:
			props[sub.Name] = typed("string")
		case sub.Type == herald.FieldText:
			props[sub.Name] = typed("string", "null")
		case sub.Type == herald.FieldNumber:
			props[sub.Name] = typed("number", "null")
		case sub.Type == herald.FieldUUID:
			props[sub.Name] = withFormat(typed("string", "null"), "uuid")
		default:
			props[sub.Name] = listSchema(sub.Name)
		}
	}
	return object(props)
}

// listSchema is a composite's list sub-field.
func listSchema(name string) Schema {
	strs := func(names ...string) Schema {
		props := Schema{}
		for _, n := range names {
			props[n] = typed("string")
		}
		return object(props)
	}
	switch name {
	case "additionalEmails":
		return list(withFormat(typed("string"), "email"))
	case "additionalPhones":
		return list(strs("number", "countryCode", "callingCode"))
	case "secondaryLinks":
		return list(strs("label", "url"))
	case "context":
		return typed("object")
	}
	return Schema{}
}

// recordSchema is a record of obj as events carry it; partial is the
// schema of previousData, some of its fields.
func recordSchema(obj *herald.Object) (full, partial Schema) {
	props := Schema{herald.FieldNameID: withFormat(typed("string"), "uuid")}
	fields := Schema{}
	for _, f := range obj.Fields {
		props[f.Name] = fieldSchema(f)
		fields[f.Name] = props[f.Name]
	}
	props[herald.FieldNameCreatedAt] = withFormat(typed("string"), "date-time")
	props[herald.FieldNameUpdatedAt] = withFormat(typed("string"), "date-time")
	props[herald.FieldNameDeletedAt] = withFormat(typed("string", "null"), "date-time")
	props[herald.FieldNameCreatedBy] = compositeSchema(herald.FieldActor, herald.CompositeFields(herald.FieldActor))
	partial = Schema{"type": "object", "properties": fields, "additionalProperties": false}
	return object(props), partial
}

// metadataSchema is an object as metadata.object events carry it (the
// metadata API's shape).
func metadataSchema() Schema {
	field := Schema{"type": "object", "required": []string{"name", "type"}, "additionalProperties": false, "properties": Schema{
		"name": typed("string"), "type": typed("string"), "label": typed("string"), "description": typed("string"),
		"options": Schema{"type": "array", "items": typed("string")}, "defaultValue": typed("string"), "relationTarget": typed("string"),
	}}
	return object(Schema{
		"id": withFormat(typed("string"), "uuid"), "nameSingular": typed("string"), "namePlural": typed("string"),
		"labelSingular": typed("string"), "labelPlural": typed("string"), "description": typed("string"),
		"isCustom": typed("boolean"), "fields": Schema{"type": "array", "items": field},
		"createdAt": withFormat(typed("string", "null"), "date-time"), "updatedAt": withFormat(typed("string", "null"), "date-time"),
	})
}

func metadataPartial() Schema {
	full := metadataSchema()
	return Schema{"type": "object", "properties": full["properties"], "additionalProperties": false}
}

func anys(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}
