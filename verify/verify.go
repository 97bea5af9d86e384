// Package verify checks the signatures Herald puts on webhook requests. It
// depends only on the standard library, so receivers can import it alone.
//
// Herald signs every request twice (DESIGN.md §5):
//
//   - Twenty's scheme: X-Twenty-Webhook-Signature is the lowercase hex
//     HMAC-SHA256 of timestamp + ":" + body, keyed with the secret string's
//     bytes, where timestamp is X-Twenty-Webhook-Timestamp (milliseconds).
//   - Standard Webhooks: webhook-signature holds "v1,<base64 HMAC-SHA256>"
//     of id + "." + timestamp + "." + body, keyed with the base64-decoded
//     part of the secret after "whsec_", or with the secret's bytes when it
//     has no such prefix; several space-separated signatures appear while a
//     rotated secret is still live.
//
// Always verify the raw body bytes as received, before any JSON decoding.
package verify

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// DefaultTolerance is how far a request's timestamp may be from now.
const DefaultTolerance = 5 * time.Minute

// Errors returned by verification. Callers may compare with errors.Is.
var (
	ErrMissingHeader    = errors.New("verify: missing signature header")
	ErrInvalidTimestamp = errors.New("verify: invalid timestamp header")
	ErrTimestampTooOld  = errors.New("verify: timestamp too old")
	ErrTimestampTooNew  = errors.New("verify: timestamp too far in the future")
	ErrInvalidSecret    = errors.New("verify: a secret that starts with whsec_ must go on in base64")
	ErrEmptySecret      = errors.New("verify: empty secret: anyone can sign with an empty key")
	ErrNoMatch          = errors.New("verify: no signature matches")
)

// Header names Herald sends.
const (
	HeaderTwentyTimestamp    = "X-Twenty-Webhook-Timestamp"
	HeaderTwentySignature    = "X-Twenty-Webhook-Signature"
	HeaderTwentyNonce        = "X-Twenty-Webhook-Nonce"
	HeaderStandardID         = "webhook-id"
	HeaderStandardTimestamp  = "webhook-timestamp"
	HeaderStandardSignature  = "webhook-signature"
	standardSignaturePrefix  = "v1,"
	standardSecretPrefix     = "whsec_"
	svixHeaderPrefixFallback = "svix-"
)

// SignTwenty returns Twenty's signature of body sent at timestamp (the
// decimal milliseconds string of the timestamp header).
func SignTwenty(secret, timestamp string, body []byte) string {
	return SignTwentyMAC(hmac.New(sha256.New, []byte(secret)), timestamp, body)
}

// SignTwentyMAC is SignTwenty with mac, an HMAC-SHA256 keyed with the
// secret's bytes, new or Reset since its last use: one keyed mac may sign
// many bodies without hashing its key again.
func SignTwentyMAC(mac hash.Hash, timestamp string, body []byte) string {
	mac.Write([]byte(timestamp))
	mac.Write([]byte{':'})
	mac.Write(body)
	var sum [sha256.Size]byte
	return hex.EncodeToString(mac.Sum(sum[:0]))
}

// SignStandard returns the Standard Webhooks signature ("v1,<base64>") of
// body with message id msgID sent at timestamp (seconds).
func SignStandard(secret, msgID string, timestamp int64, body []byte) (string, error) {
	key, err := StandardKey(secret)
	if err != nil {
		return "", err
	}
	return SignStandardKey(key, msgID, timestamp, body), nil
}

// StandardKey returns the HMAC key of a secret: the base64-decoded bytes
// after "whsec_", or, for a secret without that prefix (Twenty's are 64
// hex characters), the string's own bytes. Decode once and reuse when
// signing many bodies.
func StandardKey(secret string) ([]byte, error) {
	rest, prefixed := strings.CutPrefix(secret, standardSecretPrefix)
	if !prefixed {
		if secret == "" {
			return nil, ErrEmptySecret
		}
		return []byte(secret), nil
	}
	key, err := base64.StdEncoding.DecodeString(rest)
	if err != nil || len(key) == 0 {
		return nil, ErrInvalidSecret
	}
	return key, nil
}

// SignStandardKey is SignStandard with a key from StandardKey.
func SignStandardKey(key []byte, msgID string, timestamp int64, body []byte) string {
	return SignStandardMAC(hmac.New(sha256.New, key), msgID, timestamp, body)
}

// SignStandardMAC is SignStandard with mac, an HMAC-SHA256 keyed with a
// key from StandardKey, new or Reset since its last use.
func SignStandardMAC(mac hash.Hash, msgID string, timestamp int64, body []byte) string {
	var ts [20]byte
	mac.Write([]byte(msgID))
	mac.Write([]byte{'.'})
	mac.Write(strconv.AppendInt(ts[:0], timestamp, 10))
	mac.Write([]byte{'.'})
	mac.Write(body)
	var sum [sha256.Size]byte
	return standardSignaturePrefix + base64.StdEncoding.EncodeToString(mac.Sum(sum[:0]))
}

// Verifier checks signatures against a clock and a tolerance. The zero
// value uses time.Now and DefaultTolerance.
type Verifier struct {
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
	// Tolerance is how far the timestamp may be from Now; zero means
	// DefaultTolerance, negative disables the check.
	Tolerance time.Duration
}

// Twenty verifies Twenty's signature headers of a request with body,
// with the default clock and tolerance.
func Twenty(secret string, header http.Header, body []byte) error {
	return Verifier{}.Twenty(secret, header, body)
}

// Standard verifies the Standard Webhooks headers of a request with body.
// tolerance <= 0 means DefaultTolerance: the timestamp is always checked
// (a Verifier with a negative Tolerance is the way to turn it off).
func Standard(secret string, header http.Header, body []byte, tolerance time.Duration) error {
	return Verifier{Tolerance: max(tolerance, 0)}.Standard(secret, header, body)
}

// Twenty verifies X-Twenty-Webhook-Signature over the timestamp and body.
func (v Verifier) Twenty(secret string, header http.Header, body []byte) error {
	if secret == "" {
		return ErrEmptySecret
	}
	ts := get(header, HeaderTwentyTimestamp)
	sig := get(header, HeaderTwentySignature)
	if ts == "" || sig == "" {
		return ErrMissingHeader
	}
	ms, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return ErrInvalidTimestamp
	}
	if err := v.checkTime(time.UnixMilli(ms)); err != nil {
		return err
	}
	want := SignTwenty(secret, ts, body)
	if !hmac.Equal([]byte(want), []byte(strings.ToLower(strings.TrimSpace(sig)))) {
		return ErrNoMatch
	}
	return nil
}

// Standard verifies webhook-signature (or svix-signature) over the id,
// timestamp and body. Any one matching signature is enough.
func (v Verifier) Standard(secret string, header http.Header, body []byte) error {
	if secret == "" {
		return ErrEmptySecret
	}
	id, ts, sigs := get(header, HeaderStandardID), get(header, HeaderStandardTimestamp), get(header, HeaderStandardSignature)
	if id == "" && ts == "" && sigs == "" {
		p := svixHeaderPrefixFallback
		id, ts, sigs = get(header, p+"id"), get(header, p+"timestamp"), get(header, p+"signature")
	}
	if id == "" || ts == "" || sigs == "" {
		return ErrMissingHeader
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return ErrInvalidTimestamp
	}
	if err := v.checkTime(time.Unix(sec, 0)); err != nil {
		return err
	}
	key, err := StandardKey(secret)
	if err != nil {
		return err
	}
	want := []byte(SignStandardKey(key, id, sec, body))
	for _, s := range strings.Fields(sigs) {
		if hmac.Equal(want, []byte(s)) {
			return nil
		}
	}
	return ErrNoMatch
}

// get reads a header whatever the case of its key: http.Header.Get only
// finds canonical keys, and Herald sets the Standard Webhooks names in
// lowercase, as the specification writes them.
func get(h http.Header, name string) string {
	if v := h.Get(name); v != "" {
		return v
	}
	for k, v := range h {
		if len(v) > 0 && strings.EqualFold(k, name) {
			return v[0]
		}
	}
	return ""
}

func (v Verifier) checkTime(t time.Time) error {
	if v.Tolerance < 0 {
		return nil
	}
	tol := v.Tolerance
	if tol == 0 {
		tol = DefaultTolerance
	}
	now := time.Now()
	if v.Now != nil {
		now = v.Now()
	}
	switch d := now.Sub(t); {
	case d > tol:
		return fmt.Errorf("%w: %s old", ErrTimestampTooOld, d.Round(time.Second))
	case d < -tol:
		return ErrTimestampTooNew
	}
	return nil
}
