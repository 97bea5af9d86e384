// Package webhook holds what Herald needs to send a webhook: secrets,
// target URL checks, the request body of DESIGN.md §5 and its signed
// headers.
package webhook

import (
	"crypto/rand"
	"encoding/base64"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/heraldhq/herald"
	"github.com/heraldhq/herald/record"
	"github.com/heraldhq/herald/verify"
)

// NewSecret returns "whsec_" + base64 of 32 random bytes.
func NewSecret() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // never fails on supported platforms
	return "whsec_" + base64.StdEncoding.EncodeToString(b)
}

// CheckSecret accepts a client-chosen secret: any string of
// MinSecretLength characters or more, as Twenty accepts any, so that
// receivers moved from Twenty keep theirs. Twenty's scheme keys with its
// bytes; Standard Webhooks' with the base64 after "whsec_", which must
// then decode, or else with its bytes too (verify.StandardKey).
func CheckSecret(s string) error {
	switch n := utf8.RuneCountInString(s); {
	case n < MinSecretLength:
		return herald.FieldErrorf("secret", "secret must be at least %d characters (omit it to have one generated)", MinSecretLength)
	case len(s) > MaxSecretLength:
		return herald.FieldErrorf("secret", "secret is longer than %d bytes", MaxSecretLength)
	}
	if strings.HasPrefix(s, "whsec_") {
		// Standard Webhooks' form: what follows is the key, in base64.
		if key, err := verify.StandardKey(s); err != nil || len(key) < 16 {
			return herald.FieldErrorf("secret", "a secret that starts with whsec_ must go on in base64 of at least 16 bytes")
		}
	}
	return nil
}

// Secret lengths: any string of MinSecretLength characters or more is a
// secret, as Twenty accepts any (its server makes 64 hex characters).
const (
	MinSecretLength = 16
	MaxSecretLength = 1024
)

// MaxURLLength bounds a target URL.
const MaxURLLength = 2048

// CheckURL accepts absolute http and https URLs with a host.
func CheckURL(raw string) (*url.URL, error) {
	if raw == "" {
		return nil, herald.FieldErrorf("targetUrl", "targetUrl is required")
	}
	if len(raw) > MaxURLLength {
		return nil, herald.FieldErrorf("targetUrl", "targetUrl is longer than %d characters", MaxURLLength)
	}
	u, err := url.Parse(raw)
	if err != nil || strings.ContainsAny(raw, " \t\r\n") {
		return nil, herald.FieldErrorf("targetUrl", "targetUrl is not a valid URL")
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, herald.FieldErrorf("targetUrl", "targetUrl must start with http:// or https://")
	}
	if u.Hostname() == "" {
		return nil, herald.FieldErrorf("targetUrl", "targetUrl has no host")
	}
	return u, nil
}

// MaxOperations bounds the operations list of one webhook.
const MaxOperations = 100

// validDotted reports whether s is identifiers joined by dots, as the object
// part of "metadata.object.created" is.
func validDotted(s string) bool {
	for part := range strings.SplitSeq(s, ".") {
		if !record.ValidIdentifier(part) {
			return false
		}
	}
	return true
}

// CheckOperations validates a webhook's operations list: each "object.action"
// where either part may be "*". An empty list means every event ("*.*").
func CheckOperations(ops []string) ([]string, error) {
	if len(ops) == 0 {
		return []string{"*.*"}, nil
	}
	if len(ops) > MaxOperations {
		return nil, herald.FieldErrorf("operations", "at most %d operations", MaxOperations)
	}
	out := make([]string, 0, len(ops))
	for _, op := range ops {
		i := strings.LastIndexByte(op, '.')
		if i < 0 || !(op[:i] == "*" || validDotted(op[:i])) || !(op[i+1:] == "*" || record.ValidIdentifier(op[i+1:])) {
			return nil, herald.FieldErrorf("operations", "operation %q must look like object.action, e.g. person.created, *.updated or *.*", op)
		}
		out = append(out, op)
	}
	return out, nil
}
