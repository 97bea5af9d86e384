package record

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/heraldhq/herald"
)

// Composite fields (Twenty's FULL_NAME, EMAILS, PHONES, LINKS, CURRENCY,
// ADDRESS, RICH_TEXT_V2) hold a JSON object of sub-fields, kept and shown
// whole, in the type's sub-field order. Input may give some of them: a
// create fills the others with their empty value, an update keeps them as
// they were, as Twenty's does (its ORM writes only the sub-fields a body
// gives). null sets every sub-field to its empty value.

// emptySub is the value of a sub-field nobody set: "" for text, as
// Twenty's defaults, null for the rest and for rich text.
func emptySub(t herald.FieldType, sub herald.SubField) json.RawMessage {
	if sub.Type == herald.FieldText && t != herald.FieldRichTextV2 {
		return json.RawMessage(`""`)
	}
	return null
}

// subValues reads a stored or given composite value into its sub-fields.
// A JSON string is a value kept before the field was composite (a flat
// email or URL), read as its primary sub-field.
func subValues(t herald.FieldType, raw json.RawMessage) map[string]json.RawMessage {
	vals := map[string]json.RawMessage{}
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] == 'n' {
		return vals
	}
	if raw[0] == '"' {
		if primary := primarySub(t); primary != "" {
			vals[primary] = raw
		}
		return vals
	}
	_ = eachMember(raw, func(name string, v json.RawMessage) error {
		vals[name] = append(json.RawMessage(nil), v...)
		return nil
	})
	return vals
}

// primarySub is the sub-field a flat value of the type was.
func primarySub(t herald.FieldType) string {
	switch t {
	case herald.FieldEmails:
		return "primaryEmail"
	case herald.FieldLinks:
		return "primaryLinkUrl"
	case herald.FieldPhones:
		return "primaryPhoneNumber"
	case herald.FieldAddress:
		return "addressStreet1"
	case herald.FieldRichTextV2:
		return "markdown"
	}
	return ""
}

// writeComposite writes a composite value, every sub-field in the type's
// order; missing ones take their empty value. normalize writes the others
// as JSON.stringify writes them, for values read back from a store that
// reformats JSON; values Herald made itself are so already.
func writeComposite(t herald.FieldType, vals map[string]json.RawMessage, normalize bool) json.RawMessage {
	b := []byte{'{'}
	for i, sub := range herald.CompositeFields(t) {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSString(b, sub.Name)
		b = append(b, ':')
		v, ok := vals[sub.Name]
		if !ok {
			v = emptySub(t, sub)
		} else if normalize && !jsScalar(v) {
			if js, err := JSText(v); err == nil {
				v = js
			}
		}
		b = append(b, v...)
	}
	return append(b, '}')
}

// jsScalar reports whether v, a JSON value, is written as JSON.stringify
// writes it and needs no decoding to know it: a string without escapes
// (valid JSON holds no raw control character, quote or backslash, and
// JSON.stringify leaves the rest as they are), null, true, false, or a
// whole number of at most 15 digits. Most sub-fields are one, and a
// decoder for each cost a stored record's render more than the rest of it.
func jsScalar(v json.RawMessage) bool {
	switch {
	case len(v) == 0:
		return false
	case v[0] == '"':
		return len(v) >= 2 && v[len(v)-1] == '"' && bytes.IndexByte(v[1:len(v)-1], '\\') < 0 && bytes.IndexByte(v[1:len(v)-1], '"') < 0
	case string(v) == "null" || string(v) == "true" || string(v) == "false":
		return true
	}
	digits := v
	if digits[0] == '-' {
		digits = digits[1:]
	}
	if len(digits) == 0 || len(digits) > 15 || digits[0] == '0' && len(digits) > 1 {
		return false
	}
	for _, c := range digits {
		if c < '0' || c > '9' {
			return false
		}
	}
	return string(v) != "-0"
}

// ShowComposite is a stored composite value as the API shows it: whole,
// in order, as JSON.stringify writes it (PostgreSQL reorders an object's
// keys and adds spaces), the empty value when unset.
func ShowComposite(t herald.FieldType, raw json.RawMessage) json.RawMessage {
	return writeComposite(t, subValues(t, raw), true)
}

// mergeComposite is base with the sub-fields patch gives (a canonical
// input, or null to empty every one). Both are Herald's own writing: base
// nil or shown by ShowComposite, patch made by compositeInput.
func mergeComposite(t herald.FieldType, base, patch json.RawMessage) json.RawMessage {
	if patch != nil && bytes.Equal(patch, null) {
		return writeComposite(t, nil, false)
	}
	vals := subValues(t, base)
	for k, v := range subValues(t, patch) {
		vals[k] = v
	}
	return writeComposite(t, vals, false)
}

// compositeInput checks v, null or an object of some of f's sub-fields,
// and returns it canonical: the sub-fields given, in the type's order.
// Errors name the sub-field's path (emails.primaryEmail,
// emails.additionalEmails[1]).
func compositeInput(f herald.Field, v json.RawMessage) (json.RawMessage, error) {
	if bytes.Equal(bytes.TrimSpace(v), null) {
		return null, nil
	}
	if t := bytes.TrimSpace(v); len(t) == 0 || t[0] != '{' {
		return nil, herald.FieldErrorf(f.Name, "%s must be an object of %s", f.Name, subNames(f.Type))
	}
	given := map[string]json.RawMessage{}
	err := eachMember(v, func(name string, sv json.RawMessage) error {
		path := f.Name + "." + name
		st, ok := herald.SubFieldType(f.Type, name)
		if !ok {
			return herald.FieldErrorf(path, "unknown field %q of %s: use %s", name, f.Name, subNames(f.Type))
		}
		canon, err := subInput(f.Type, name, st, path, sv)
		if err != nil {
			return err
		}
		given[name] = canon
		return nil
	})
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(given))
	for _, sub := range herald.CompositeFields(f.Type) {
		names = append(names, sub.Name)
	}
	return writeObject(names, given), nil
}

// writeObject writes {"name":value,…} for each of names that vals holds,
// in names' order.
func writeObject(names []string, vals map[string]json.RawMessage) json.RawMessage {
	b := []byte{'{'}
	for _, name := range names {
		v, ok := vals[name]
		if !ok {
			continue
		}
		if len(b) > 1 {
			b = append(b, ',')
		}
		b = appendJSString(b, name)
		b = append(b, ':')
		b = append(b, v...)
	}
	return append(b, '}')
}

func subNames(t herald.FieldType) string {
	var names []string
	for _, sub := range herald.CompositeFields(t) {
		names = append(names, sub.Name)
	}
	return strings.Join(names, ", ")
}

// subInput checks one sub-field's value and returns it canonical.
func subInput(t herald.FieldType, name string, st herald.FieldType, path string, v json.RawMessage) (json.RawMessage, error) {
	isNull := bytes.Equal(bytes.TrimSpace(v), null)
	switch st {
	case herald.FieldText:
		if isNull {
			return emptySub(t, herald.SubField{Name: name, Type: st}), nil
		}
		var s string
		if err := json.Unmarshal(v, &s); err != nil {
			return nil, herald.FieldErrorf(path, "%s must be a string", path)
		}
		if len(s) > MaxTextLength {
			return nil, herald.FieldErrorf(path, "%s is longer than %d bytes", path, MaxTextLength)
		}
		if err := checkSubText(t, name, path, s); err != nil {
			return nil, err
		}
		return appendJSString(nil, s), nil
	case herald.FieldNumber:
		if isNull {
			return null, nil
		}
		n, err := numberOrNumeral(v)
		if err != nil {
			return nil, herald.FieldErrorf(path, "%s must be a number", path)
		}
		if name == "amountMicros" && n != math.Trunc(n) {
			return nil, herald.FieldErrorf(path, "%s must be a whole number of millionths (1.5 is 1500000)", path)
		}
		return AppendJSNumber(nil, n), nil
	case herald.FieldRawJSON:
		if isNull {
			return null, nil
		}
		return listInput(name, path, v)
	}
	return nil, herald.FieldErrorf(path, "%s is read-only", path)
}

// numberOrNumeral reads a JSON number, or a string holding one (Twenty's
// NUMERIC sub-fields, such as amountMicros, come as either).
func numberOrNumeral(v json.RawMessage) (float64, error) {
	var n float64
	if err := json.Unmarshal(v, &n); err == nil && !math.IsInf(n, 0) {
		return n, nil
	}
	var s string
	if err := json.Unmarshal(v, &s); err != nil {
		return 0, err
	}
	n, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || math.IsInf(n, 0) || math.IsNaN(n) {
		return 0, fmt.Errorf("not a number: %q", s)
	}
	return n, nil
}

// checkSubText checks the text sub-fields whose form is known.
func checkSubText(t herald.FieldType, name, path, s string) error {
	if s == "" {
		return nil
	}
	switch {
	case t == herald.FieldEmails && name == "primaryEmail":
		return checkEmail(path, s)
	case t == herald.FieldLinks && name == "primaryLinkUrl":
		return checkURL(path, s)
	case t == herald.FieldCurrency && name == "currencyCode":
		if len(s) != 3 || strings.ToUpper(s) != s || strings.ContainsFunc(s, func(r rune) bool { return r < 'A' || r > 'Z' }) {
			return herald.FieldErrorf(path, "%s must be an ISO 4217 code such as USD or EUR", path)
		}
	}
	return nil
}

// listInput checks the list sub-fields: additionalEmails (email
// addresses), additionalPhones ({number, countryCode, callingCode}) and
// secondaryLinks ({url, label}).
func listInput(name, path string, v json.RawMessage) (json.RawMessage, error) {
	var items []json.RawMessage
	if err := json.Unmarshal(v, &items); err != nil {
		return nil, herald.FieldErrorf(path, "%s must be a list", path)
	}
	out := []byte{'['}
	for i, item := range items {
		at := fmt.Sprintf("%s[%d]", path, i)
		var canon json.RawMessage
		switch name {
		case "additionalEmails":
			var s string
			if err := json.Unmarshal(item, &s); err != nil {
				return nil, herald.FieldErrorf(at, "%s must be an email address", at)
			}
			if err := checkEmail(at, s); err != nil {
				return nil, err
			}
			canon = appendJSString(nil, s)
		case "additionalPhones":
			c, err := objectInput(at, item, []string{"number", "countryCode", "callingCode"}, nil)
			if err != nil {
				return nil, err
			}
			canon = c
		case "secondaryLinks":
			c, err := objectInput(at, item, []string{"label", "url"}, map[string]func(path, s string) error{"url": checkURL})
			if err != nil {
				return nil, err
			}
			canon = c
		default:
			return nil, herald.FieldErrorf(path, "%s is read-only", path)
		}
		if i > 0 {
			out = append(out, ',')
		}
		out = append(out, canon...)
	}
	return append(out, ']'), nil
}

// objectInput checks an object of string members named keys (each
// optional, "" when missing) and returns it canonical, in keys' order.
func objectInput(path string, v json.RawMessage, keys []string, checks map[string]func(path, s string) error) (json.RawMessage, error) {
	if t := bytes.TrimSpace(v); len(t) == 0 || t[0] != '{' {
		return nil, herald.FieldErrorf(path, "%s must be an object of %s", path, strings.Join(keys, ", "))
	}
	vals := make(map[string]json.RawMessage, len(keys))
	for _, k := range keys {
		vals[k] = json.RawMessage(`""`)
	}
	err := eachMember(v, func(name string, mv json.RawMessage) error {
		at := path + "." + name
		if !slices.Contains(keys, name) {
			return herald.FieldErrorf(at, "unknown field %q: use %s", name, strings.Join(keys, ", "))
		}
		var s string
		if !bytes.Equal(bytes.TrimSpace(mv), null) {
			if err := json.Unmarshal(mv, &s); err != nil {
				return herald.FieldErrorf(at, "%s must be a string", at)
			}
		}
		if check := checks[name]; check != nil && s != "" {
			if err := check(at, s); err != nil {
				return err
			}
		}
		vals[name] = appendJSString(nil, s)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return writeObject(keys, vals), nil
}

// multiSelectInput checks a MULTI_SELECT value: null or a list of the
// field's options, each once.
func multiSelectInput(f herald.Field, v json.RawMessage) (json.RawMessage, error) {
	if bytes.Equal(bytes.TrimSpace(v), null) {
		return null, nil
	}
	var items []string
	if err := json.Unmarshal(v, &items); err != nil {
		return nil, herald.FieldErrorf(f.Name, "%s must be a list of %s", f.Name, strings.Join(f.Options, ", "))
	}
	out := []byte{'['}
	for i, s := range items {
		at := fmt.Sprintf("%s[%d]", f.Name, i)
		if !slices.Contains(f.Options, s) {
			return nil, herald.FieldErrorf(at, "%s must be one of %s", at, strings.Join(f.Options, ", "))
		}
		if slices.Contains(items[:i], s) {
			return nil, herald.FieldErrorf(at, "%s is given twice", s)
		}
		if i > 0 {
			out = append(out, ',')
		}
		out = appendJSString(out, s)
	}
	return append(out, ']'), nil
}
