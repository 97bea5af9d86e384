package httpapi

import (
	"context"
	"net/http"
	"time"

	"github.com/heraldhq/herald"
)

// WithAPIKey returns a context whose requests the API serves as key,
// without an Authorization header: the web UI calls the API in-process
// for a signed-in session this way, so that both share every rule.
func WithAPIKey(ctx context.Context, key *herald.APIKey) context.Context {
	return context.WithValue(ctx, keyCtxKey, key)
}

// APIKeyJSON is an API key as the API shows it.
type APIKeyJSON struct {
	ID        string  `json:"id"`
	Name      string  `json:"name"`
	Prefix    string  `json:"prefix"`
	CreatedAt string  `json:"createdAt"`
	RevokedAt *string `json:"revokedAt"`
	// Key is the secret itself, present only in the answer to its
	// creation: only its hash is stored.
	Key string `json:"key,omitempty"`
}

func toAPIKeyJSON(k *herald.APIKey) APIKeyJSON {
	return APIKeyJSON{ID: k.ID, Name: k.Name, Prefix: k.Prefix, CreatedAt: herald.FormatTime(k.CreatedAt), RevokedAt: timePtr(k.RevokedAt)}
}

func (s *Server) listAPIKeys(w http.ResponseWriter, r *http.Request) {
	keys, err := s.Store.ListAPIKeys(r.Context(), apiKey(r).WorkspaceID)
	if err != nil {
		s.error(w, r, err)
		return
	}
	out := make([]APIKeyJSON, len(keys))
	for i, k := range keys {
		out[i] = toAPIKeyJSON(k)
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": map[string]any{"apiKeys": out}, "totalCount": len(out)})
}

func (s *Server) createAPIKey(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Name *string `json:"name"`
	}
	if err := decodeBody(w, r, &in); err != nil {
		s.error(w, r, err)
		return
	}
	var name string
	if in.Name != nil {
		name = *in.Name
	}
	name, err := herald.CheckKeyName(name)
	if err != nil {
		s.error(w, r, err)
		return
	}
	secret, key := herald.NewAPIKey(apiKey(r).WorkspaceID, name, time.Now())
	if err := s.Store.CreateAPIKey(r.Context(), key); err != nil {
		s.error(w, r, err)
		return
	}
	out := toAPIKeyJSON(key)
	out.Key = secret
	writeJSON(w, http.StatusCreated, map[string]any{"data": map[string]any{"createApiKey": out}})
}

// revokeAPIKey revokes a key. The key making the request cannot revoke
// itself: that would lock the caller out half-way through a rotation.
func (s *Server) revokeAPIKey(w http.ResponseWriter, r *http.Request) {
	key, id := apiKey(r), r.PathValue("id")
	if id == key.ID {
		s.error(w, r, herald.Errorf(herald.ECONFLICT, "this is the key the request is made with: revoke it with another key"))
		return
	}
	if err := s.Store.RevokeAPIKey(r.Context(), key.WorkspaceID, id, time.Now()); err != nil {
		s.error(w, r, err)
		return
	}
	s.keys.clear()
	writeJSON(w, http.StatusOK, map[string]any{"data": map[string]any{"revokeApiKey": map[string]string{"id": id}}})
}
