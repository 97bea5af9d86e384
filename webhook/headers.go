package webhook

import (
	"net/http"
	"strings"

	"golang.org/x/net/http/httpguts"

	"github.com/heraldhq/herald"
)

// MaskedHeader is how the API shows a custom header's value: values are
// credentials, written and never read back. Given back as a value, it
// keeps the header's current one.
const MaskedHeader = "********"

// Limits of a webhook's custom headers.
const (
	MaxHeaders          = 20
	MaxHeaderValueBytes = 4 << 10
)

// reservedHeaders are the names a webhook cannot set: those of the
// connection (hop-by-hop, or HTTP's framing), and those Herald signs and
// describes the request with.
var reservedHeaders = map[string]bool{
	"connection": true, "keep-alive": true, "proxy-authenticate": true, "proxy-authorization": true, "proxy-connection": true,
	"te": true, "trailer": true, "transfer-encoding": true, "upgrade": true, "host": true, "content-length": true,
	"content-type": true, "content-encoding": true, "user-agent": true,
}

// CheckHeaders checks a webhook's custom headers and returns them with
// names in canonical form. A value given as MaskedHeader keeps the value
// that current holds for the name (an edit that did not change it).
// Errors name the field headers.<Name>.
func CheckHeaders(in, current map[string]string) (map[string]string, error) {
	if len(in) > MaxHeaders {
		return nil, herald.FieldErrorf("headers", "a webhook has at most %d headers", MaxHeaders)
	}
	out := make(map[string]string, len(in))
	for name, value := range in {
		field := "headers." + name
		canon := http.CanonicalHeaderKey(strings.TrimSpace(name))
		lower := strings.ToLower(canon)
		switch {
		case !httpguts.ValidHeaderFieldName(canon):
			return nil, herald.FieldErrorf(field, "%q is not a header name: use letters, digits and - (X-Api-Key)", name)
		case reservedHeaders[lower]:
			return nil, herald.FieldErrorf(field, "%s is set by HTTP or by Herald itself, not by a webhook", canon)
		case strings.HasPrefix(lower, "webhook-") || strings.HasPrefix(lower, "x-twenty-webhook-"):
			return nil, herald.FieldErrorf(field, "%s would pass for one of Herald's signature headers", canon)
		}
		if _, dup := out[canon]; dup {
			return nil, herald.FieldErrorf(field, "%s is given twice", canon)
		}
		if value == MaskedHeader {
			old, ok := current[canon] // saved names are canonical: this made them
			if !ok {
				return nil, herald.FieldErrorf(field, "%s is new: give its value", canon)
			}
			value = old
		}
		switch {
		case len(value) > MaxHeaderValueBytes:
			return nil, herald.FieldErrorf(field, "the value of %s is longer than %d bytes", canon, MaxHeaderValueBytes)
		case !httpguts.ValidHeaderFieldValue(value) || strings.ContainsAny(value, "\r\n"):
			return nil, herald.FieldErrorf(field, "the value of %s holds a line break or a control character", canon)
		}
		out[canon] = value
	}
	return out, nil
}

// Masked is headers as the API shows them: names, and MaskedHeader for
// every value.
func Masked(headers map[string]string) map[string]string {
	out := make(map[string]string, len(headers))
	for name := range headers {
		out[name] = MaskedHeader
	}
	return out
}
