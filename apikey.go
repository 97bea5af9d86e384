package herald

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"
)

// APIKeyPrefix starts every Herald API key, so leaked keys are easy to
// recognise (and to scan for).
const APIKeyPrefix = "hk_"

// NewAPIKey returns a new secret key and its record for workspaceID. The
// secret is shown once; only its hash is stored.
func NewAPIKey(workspaceID, name string, now time.Time) (string, *APIKey) {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // never fails on supported platforms
	secret := APIKeyPrefix + base64.RawURLEncoding.EncodeToString(b)
	return secret, &APIKey{
		ID:          uuid.NewString(),
		WorkspaceID: workspaceID,
		Name:        name,
		Hash:        HashAPIKey(secret),
		Prefix:      secret[:len(APIKeyPrefix)+6],
		CreatedAt:   StoredTime(now),
	}
}

// HashAPIKey returns the stored form of a key. Keys carry 256 random bits,
// so a plain SHA-256 (fast enough for every request) cannot be brute-forced.
func HashAPIKey(secret string) string {
	h := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(h[:])
}

// Session is a web UI sign-in: the browser holds a random token in a
// cookie, the store keeps its hash. It acts as the API key it was opened
// with, and ends when that key is revoked.
type Session struct {
	// Hash is HashAPIKey of the cookie's token.
	Hash        string
	APIKeyID    string
	WorkspaceID string
	CreatedAt   time.Time
	ExpiresAt   time.Time
}

// NewSession returns a cookie token and the session it opens for key,
// valid for ttl.
func NewSession(key *APIKey, now time.Time, ttl time.Duration) (string, *Session) {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	token := base64.RawURLEncoding.EncodeToString(b)
	now = StoredTime(now)
	return token, &Session{Hash: HashAPIKey(token), APIKeyID: key.ID, WorkspaceID: key.WorkspaceID, CreatedAt: now, ExpiresAt: now.Add(ttl)}
}

// MaxKeyNameLength bounds an API key's name, in bytes.
const MaxKeyNameLength = 200

// CheckKeyName returns an API key's name as it is kept (trimmed), or an
// EINVALID error on field "name": a name is required, of printable UTF-8
// text, since it is shown in the UI and printed by herald apikey list,
// where a control character would be a terminal escape.
func CheckKeyName(name string) (string, error) {
	name = strings.TrimSpace(name)
	switch {
	case name == "":
		return "", FieldErrorf("name", "name is required: say what the key is for, e.g. \"billing sync\"")
	case len(name) > MaxKeyNameLength:
		return "", FieldErrorf("name", "name is longer than %d bytes", MaxKeyNameLength)
	case !utf8.ValidString(name):
		return "", FieldErrorf("name", "name is not valid UTF-8")
	case strings.IndexFunc(name, func(r rune) bool { return !unicode.IsPrint(r) && r != ' ' }) >= 0:
		return "", FieldErrorf("name", "name holds a control or invisible character: use printable text")
	}
	return name, nil
}
