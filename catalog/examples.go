package catalog

import (
	"encoding/json"

	"github.com/heraldhq/herald"
	"github.com/heraldhq/herald/record"
)

// exampleValue is a value of a field of type t, as a client would send
// it; nil for none (a relation, whose record the example lacks).
func exampleValue(f herald.Field) any {
	switch f.Type {
	case herald.FieldText:
		return "Example"
	case herald.FieldNumber:
		return 42
	case herald.FieldBoolean:
		return true
	case herald.FieldDateTime:
		return herald.FormatTime(exampleTime)
	case herald.FieldSelect, herald.FieldMultiSelect:
		if len(f.Options) == 0 {
			return nil
		}
		if f.Type == herald.FieldMultiSelect {
			return []string{f.Options[0]}
		}
		return f.Options[0]
	case herald.FieldRating:
		return "RATING_4"
	case herald.FieldRawJSON:
		return map[string]any{"example": true}
	case herald.FieldFullName:
		return map[string]any{"firstName": "Ada", "lastName": "Lovelace"}
	case herald.FieldEmails:
		return map[string]any{"primaryEmail": "ada@example.com", "additionalEmails": []string{"ada.lovelace@example.org"}}
	case herald.FieldPhones:
		return map[string]any{"primaryPhoneNumber": "7946 0958", "primaryPhoneCountryCode": "GB", "primaryPhoneCallingCode": "+44"}
	case herald.FieldLinks:
		return map[string]any{"primaryLinkUrl": "https://example.com"}
	case herald.FieldCurrency:
		return map[string]any{"amountMicros": 1500000000, "currencyCode": "EUR"}
	case herald.FieldAddress:
		return map[string]any{"addressStreet1": "12 Example Street", "addressCity": "London", "addressPostcode": "N1 9GU", "addressCountry": "United Kingdom"}
	case herald.FieldRichTextV2:
		return map[string]any{"markdown": "An **example**"}
	}
	return nil
}

// changedValue is another value of the field, for an update's example.
func changedValue(f herald.Field) any {
	switch f.Type {
	case herald.FieldText:
		return "Example, changed"
	case herald.FieldNumber:
		return 43
	case herald.FieldBoolean:
		return false
	case herald.FieldSelect:
		if len(f.Options) > 1 {
			return f.Options[1]
		}
	case herald.FieldFullName:
		return map[string]any{"firstName": "Augusta Ada"}
	case herald.FieldCurrency:
		return map[string]any{"amountMicros": 2500000000}
	}
	return nil
}

// exampleInput is a create with an example value for every field that
// takes one.
func exampleInput(o *herald.Object) *record.Input {
	return input(o, func(f herald.Field) any { return exampleValue(f) }, -1)
}

// changeInput changes the first field an example can change.
func changeInput(o *herald.Object) *record.Input {
	for i, f := range o.Fields {
		if changedValue(f) != nil {
			return input(o, changedValue, i)
		}
	}
	return &record.Input{}
}

// input is the values of value for o's fields (only field only, when it
// is not -1), each that the record layer takes.
func input(o *herald.Object, value func(herald.Field) any, only int) *record.Input {
	body := map[string]json.RawMessage{}
	for i, f := range o.Fields {
		v := value(f)
		if v == nil || only >= 0 && i != only {
			continue
		}
		raw, _ := json.Marshal(v)
		one, _ := json.Marshal(map[string]json.RawMessage{f.Name: raw})
		if _, err := record.ParseInput(o, one, only < 0); err == nil {
			body[f.Name] = raw
		}
	}
	all, _ := json.Marshal(body)
	in, err := record.ParseInput(o, all, only < 0)
	if err != nil {
		return &record.Input{}
	}
	return in
}
