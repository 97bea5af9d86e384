package record

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strings"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/heraldhq/herald"
)

// CheckJSON reports whether body is one JSON value that every reader
// takes the same way: valid UTF-8 throughout (encoding/json would turn
// the rest into U+FFFD without a word), and no object, at any depth, that
// names a member twice (readers disagree on which one wins). Every JSON
// body the API reads passes it first, so one rule holds on every route.
// The error is EINVALID and names where it is.
func CheckJSON(body []byte) error {
	dec := jsontext.NewDecoder(bytes.NewReader(body))
	_, err := dec.ReadValue()
	if err == nil {
		if _, err := dec.ReadToken(); err != io.EOF {
			return herald.Errorf(herald.EINVALID, "body must hold a single JSON value")
		}
		return nil
	}
	var se *jsontext.SyntacticError
	if !errors.As(err, &se) {
		return herald.Errorf(herald.EINVALID, "body is not valid JSON: %v", err)
	}
	at := pointerPath(se.JSONPointer)
	switch {
	case errors.Is(se.Err, jsontext.ErrDuplicateName):
		return herald.FieldErrorf(at, "%q is given twice: name each field once", at)
	case strings.Contains(se.Err.Error(), "invalid UTF-8"):
		return herald.FieldErrorf(at, "body is not valid UTF-8 (at byte %d): send text as UTF-8", se.ByteOffset)
	}
	return herald.Errorf(herald.EINVALID, "body is not valid JSON: %v (at byte %d)", se.Err, se.ByteOffset)
}

// pointerPath writes a JSON pointer as the dotted path errors name
// fields with: /emails/primaryEmail is emails.primaryEmail.
func pointerPath(p jsontext.Pointer) string {
	var parts []string
	for tok := range p.Tokens() {
		parts = append(parts, tok)
	}
	return strings.Join(parts, ".")
}

// WithoutMember returns body, a JSON object, without its member name, the
// others in their order.
func WithoutMember(body []byte, name string) ([]byte, error) {
	out := []byte{'{'}
	err := eachMember(body, func(n string, v json.RawMessage) error {
		if n == name {
			return nil
		}
		if len(out) > 1 {
			out = append(out, ',')
		}
		out = appendJSString(out, n)
		out = append(out, ':')
		out = append(out, v...)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return append(out, '}'), nil
}
