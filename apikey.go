package herald

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"time"

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
		CreatedAt:   now.UTC().Truncate(time.Millisecond),
	}
}

// HashAPIKey returns the stored form of a key. Keys carry 256 random bits,
// so a plain SHA-256 (fast enough for every request) cannot be brute-forced.
func HashAPIKey(secret string) string {
	h := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(h[:])
}
