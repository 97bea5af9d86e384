// Package record validates record input against an object's fields, renders
// records as the API shows them, and parses Twenty's query syntax (filter,
// order_by, cursors).
package record

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/mail"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-json-experiment/json/jsontext"
	"github.com/google/uuid"
	"github.com/heraldhq/herald"
)

// MaxTextLength bounds a text value, so that one field cannot take a whole
// request body.
const MaxTextLength = 64 << 10

// Input is a validated create or update body: canonical JSON per field.
type Input struct {
	// ID is set when a create names the record's id.
	ID     string
	Values map[string]json.RawMessage
	// Order is the order fields appeared in, for stable updatedFields.
	Order []string
}

var null = json.RawMessage("null")

// ParseInput validates body, a JSON object, against obj's fields. creating
// allows an "id". Unknown fields, read-only fields and values of the wrong
// type are EINVALID errors naming the field.
func ParseInput(obj *herald.Object, body json.RawMessage, creating bool) (*Input, error) {
	in := &Input{Values: map[string]json.RawMessage{}}
	err := eachMember(body, func(name string, v json.RawMessage) error {
		if name == herald.FieldNameID {
			if !creating {
				return herald.FieldErrorf(name, "id cannot be changed")
			}
			var s string
			if err := json.Unmarshal(v, &s); err != nil || uuid.Validate(s) != nil {
				return herald.FieldErrorf(name, "id must be a UUID")
			}
			in.ID = strings.ToLower(s)
			return nil
		}
		if _, ok := herald.SystemFieldType(name); ok {
			return herald.FieldErrorf(name, "%s is read-only", name)
		}
		f, ok := obj.Field(name)
		if !ok {
			return herald.FieldErrorf(name, "unknown field %q for object %s", name, obj.NameSingular)
		}
		canon, err := canonical(f, v)
		if err != nil {
			return err
		}
		in.Values[name] = canon
		in.Order = append(in.Order, name)
		return nil
	})
	if err != nil {
		return nil, err
	}
	if creating {
		for _, f := range obj.Fields {
			if _, ok := in.Values[f.Name]; !ok && f.Default != "" {
				in.Values[f.Name] = appendJSString(nil, f.Default)
			}
		}
	}
	return in, nil
}

// memberReader is eachMember's decoder and its input, kept for the next
// call: a record's create reads a dozen small objects (its body, each
// composite value), and a new decoder for each was a fifth of the bytes
// it allocated.
type memberReader struct {
	buf bytes.Buffer
	dec jsontext.Decoder
}

var readers = sync.Pool{New: func() any { return new(memberReader) }}

// eachMember calls fn with each member of the JSON object body in the
// order the client wrote them, so that errors and updatedFields follow it.
// v is only valid during the call. encoding/json's token API took 13 µs
// and 90 allocations for a four-field person, most of them error values it
// builds and drops to find where each value ends; jsontext reads it in a
// fraction of that.
func eachMember(body json.RawMessage, fn func(name string, v json.RawMessage) error) error {
	// Duplicate names are let through the decoder to be refused below with
	// the field's name; invalid UTF-8 is refused (CheckJSON says why).
	r := readers.Get().(*memberReader)
	r.buf = *bytes.NewBuffer(body) // read in place, not copied
	dec := &r.dec
	dec.Reset(&r.buf, jsontext.AllowDuplicateNames(true))
	defer func() {
		// Kept without the caller's body.
		r.buf = bytes.Buffer{}
		dec.Reset(&r.buf)
		readers.Put(r)
	}()
	tok, err := dec.ReadToken()
	if err != nil {
		return herald.Errorf(herald.EINVALID, "body is not valid JSON: %v", err)
	}
	if tok.Kind() != '{' {
		return herald.Errorf(herald.EINVALID, "body must be a JSON object")
	}
	seen := make(map[string]bool, 8)
	for dec.PeekKind() != '}' {
		tok, err := dec.ReadToken()
		if err != nil {
			return herald.Errorf(herald.EINVALID, "body is not valid JSON: %v", err)
		}
		name := tok.String()
		v, err := dec.ReadValue()
		if err != nil {
			return herald.FieldErrorf(name, "value is not valid JSON: %v", err)
		}
		if seen[name] {
			return herald.FieldErrorf(name, "field %q given twice", name)
		}
		seen[name] = true
		if err := fn(name, json.RawMessage(v)); err != nil {
			return err
		}
	}
	if _, err := dec.ReadToken(); err != nil {
		return herald.Errorf(herald.EINVALID, "body is not valid JSON: %v", err)
	}
	if _, err := dec.ReadToken(); err != io.EOF {
		return herald.Errorf(herald.EINVALID, "body must hold a single JSON object")
	}
	return nil
}

// canonical checks v against f's type and returns it in canonical form, so
// equal values have equal bytes.
func canonical(f herald.Field, v json.RawMessage) (json.RawMessage, error) {
	switch {
	case herald.CompositeFields(f.Type) != nil:
		return compositeInput(f, v)
	case f.Type == herald.FieldMultiSelect:
		return multiSelectInput(f, v)
	}
	if bytes.Equal(bytes.TrimSpace(v), null) {
		return null, nil
	}
	typed, err := decodeValue(f.Name, f.Type, f.Options, v)
	if err != nil {
		return nil, err
	}
	// As JavaScript writes it (JSText), so that bodies made of stored
	// values are what JSON.stringify makes of them.
	switch v := typed.(type) {
	case string:
		return appendJSString(nil, v), nil
	case float64:
		return AppendJSNumber(nil, v), nil
	case bool:
		return strconv.AppendBool(nil, v), nil
	}
	return nil, fmt.Errorf("encode %s: a %T", f.Name, typed)
}

func decodeValue(name string, t herald.FieldType, options []string, v json.RawMessage) (any, error) {
	switch t {
	case herald.FieldNumber:
		var n float64
		if err := json.Unmarshal(v, &n); err != nil || math.IsInf(n, 0) {
			return nil, herald.FieldErrorf(name, "%s must be a number", name)
		}
		return n, nil
	case herald.FieldBoolean:
		var b bool
		if err := json.Unmarshal(v, &b); err != nil {
			return nil, herald.FieldErrorf(name, "%s must be true or false", name)
		}
		return b, nil
	}
	var s string
	if err := json.Unmarshal(v, &s); err != nil {
		return nil, herald.FieldErrorf(name, "%s must be a string", name)
	}
	return ParseString(name, t, options, s)
}

// ParseString checks a string value of a text-like field type and returns
// its canonical form. Filters use it for their values too.
func ParseString(name string, t herald.FieldType, options []string, s string) (string, error) {
	if len(s) > MaxTextLength {
		return "", herald.FieldErrorf(name, "%s is longer than %d bytes", name, MaxTextLength)
	}
	switch t {
	case herald.FieldDateTime:
		tm, err := ParseTime(s)
		if err != nil {
			return "", herald.FieldErrorf(name, "%s must be an ISO 8601 date-time such as 2025-02-10T15:30:50Z", name)
		}
		return herald.FormatTime(tm), nil
	case herald.FieldSelect, herald.FieldMultiSelect:
		if !slices.Contains(options, s) {
			return "", herald.FieldErrorf(name, "%s must be one of %s", name, strings.Join(options, ", "))
		}
	case herald.FieldRating:
		if !slices.Contains(herald.RatingValues, s) {
			return "", herald.FieldErrorf(name, "%s must be one of %s", name, strings.Join(herald.RatingValues, ", "))
		}
	case herald.FieldRelation, herald.FieldUUID:
		if uuid.Validate(s) != nil {
			return "", herald.FieldErrorf(name, "%s must be a UUID", name)
		}
		return strings.ToLower(s), nil
	}
	return s, nil
}

// checkEmail checks an email address sub-field.
func checkEmail(path, s string) error {
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s {
		return herald.FieldErrorf(path, "%s must be an email address", path)
	}
	return nil
}

// checkURL checks a link sub-field: a URL, or a domain name as people
// write them (example.com).
func checkURL(path, s string) error {
	u, err := url.Parse(s)
	if err == nil && u.Scheme == "" {
		u, err = url.Parse("https://" + s)
	}
	if err != nil || u.Host == "" || strings.ContainsAny(s, " \t\r\n") {
		return herald.FieldErrorf(path, "%s must be a URL or domain name", path)
	}
	return nil
}

// ParseTime accepts RFC 3339 date-times (any precision) and plain dates.
func ParseTime(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	return time.Parse(time.DateOnly, s)
}

var identRe = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]{0,62}$`)

// ValidIdentifier reports whether s can name an object or field. Filters
// and SQL rely on it: names are inlined into JSON paths.
func ValidIdentifier(s string) bool { return identRe.MatchString(s) }
