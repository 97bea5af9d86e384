package record

import (
	"bytes"
	"fmt"
	"math"
	"slices"
	"strconv"

	"github.com/go-json-experiment/json/jsontext"
)

// JSText returns raw, one JSON value, written as JavaScript writes
// JSON.stringify(JSON.parse(raw)): compact; strings escaped only where
// JSON requires it (no \u0026 for &, < and >, U+2028 and U+2029 as they
// are), control characters as \b \t \n \f \r or \u00xx; numbers as
// JavaScript prints a double (1.0 is 1, 1e21 is 1e+21, -0 is 0, past the
// double's range null); and an object's array-index keys ("0", "1", …)
// first, in numeric order, as JavaScript orders them.
//
// Every body Herald signs is written this way, because many Twenty
// receivers verify the signature over the re-serialised JSON, as
// Twenty's own docs example does, rather than over the bytes received.
func JSText(raw []byte) ([]byte, error) {
	dec := jsontext.NewDecoder(bytes.NewReader(raw))
	out, err := appendJS(nil, dec)
	if err != nil {
		return nil, fmt.Errorf("not one JSON value: %w", err)
	}
	if _, err := dec.ReadToken(); err == nil {
		return nil, fmt.Errorf("not one JSON value: more follows")
	}
	return out, nil
}

func appendJS(dst []byte, dec *jsontext.Decoder) ([]byte, error) {
	tok, err := dec.ReadToken()
	if err != nil {
		return nil, err
	}
	switch tok.Kind() {
	case 'n':
		return append(dst, "null"...), nil
	case 't':
		return append(dst, "true"...), nil
	case 'f':
		return append(dst, "false"...), nil
	case '"':
		return appendJSString(dst, tok.String()), nil
	case '0':
		// ParseFloat, not tok.Float: past the double's range it gives
		// ±Inf, as JavaScript does, where tok.Float gives the largest double.
		f, _ := strconv.ParseFloat(tok.String(), 64)
		return AppendJSNumber(dst, f), nil
	case '[':
		dst = append(dst, '[')
		for i := 0; dec.PeekKind() != ']'; i++ {
			if i > 0 {
				dst = append(dst, ',')
			}
			if dst, err = appendJS(dst, dec); err != nil {
				return nil, err
			}
		}
		if _, err := dec.ReadToken(); err != nil {
			return nil, err
		}
		return append(dst, ']'), nil
	case '{':
		type member struct {
			index int64 // -1 unless the key is an array index
			text  []byte
		}
		var members []member
		indexed := false
		for dec.PeekKind() != '}' {
			key, err := dec.ReadToken()
			if err != nil {
				return nil, err
			}
			m := member{index: arrayIndex(key.String())}
			m.text = append(appendJSString(nil, key.String()), ':')
			if m.text, err = appendJS(m.text, dec); err != nil {
				return nil, err
			}
			indexed = indexed || m.index >= 0
			members = append(members, m)
		}
		if _, err := dec.ReadToken(); err != nil {
			return nil, err
		}
		if indexed {
			// Stable: the other keys keep the order they came in.
			slices.SortStableFunc(members, func(a, b member) int {
				switch {
				case a.index >= 0 && b.index >= 0:
					return int(a.index - b.index)
				case a.index >= 0:
					return -1
				case b.index >= 0:
					return 1
				}
				return 0
			})
		}
		dst = append(dst, '{')
		for i, m := range members {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = append(dst, m.text...)
		}
		return append(dst, '}'), nil
	}
	return nil, fmt.Errorf("unexpected %v", tok)
}

// arrayIndex returns the array index a key names, as JavaScript reads
// keys: "0" to "4294967294" written without a sign or leading zero. It is
// -1 for any other key.
func arrayIndex(k string) int64 {
	if k == "" || len(k) > 10 || (k[0] == '0' && len(k) > 1) {
		return -1
	}
	n, err := strconv.ParseUint(k, 10, 64)
	if err != nil || n >= math.MaxUint32 {
		return -1
	}
	return int64(n)
}

// appendJSString writes s quoted as JSON.stringify does.
func appendJSString(dst []byte, s string) []byte {
	dst, _ = jsontext.AppendQuote(dst, s) // valid UTF-8: it came out of a decoder
	return dst
}

// AppendJSNumber writes f as JavaScript's JSON.stringify does: the
// shortest decimal that reads back as f, in exponent form below 1e-6 and
// from 1e21 up, 0 for -0, and null for what is not finite.
func AppendJSNumber(dst []byte, f float64) []byte {
	switch {
	case math.IsInf(f, 0) || math.IsNaN(f):
		return append(dst, "null"...)
	case f == 0:
		return append(dst, '0')
	}
	abs := math.Abs(f)
	if abs < 1e-6 || abs >= 1e21 {
		start := len(dst)
		dst = strconv.AppendFloat(dst, f, 'e', -1, 64)
		// Go writes e-07 and e+21 where JavaScript writes e-7 and e+21.
		if n := len(dst); n-start >= 4 && dst[n-4] == 'e' && dst[n-3] == '-' && dst[n-2] == '0' {
			dst[n-2] = dst[n-1]
			dst = dst[:n-1]
		}
		return dst
	}
	return strconv.AppendFloat(dst, f, 'f', -1, 64)
}
