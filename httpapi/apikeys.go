package httpapi

import (
	"net/http"

	"github.com/heraldhq/herald"
)

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

func (s *Server) listAPIKeys(w http.ResponseWriter, r *http.Request) error {
	keys, err := s.Services.APIKeys.List(r.Context(), apiKey(r).WorkspaceID)
	if err != nil {
		return err
	}
	out := make([]APIKeyJSON, len(keys))
	for i, k := range keys {
		out[i] = toAPIKeyJSON(k)
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": map[string]any{"apiKeys": out}, "totalCount": len(out)})
	return nil
}

func (s *Server) createAPIKey(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Name string `json:"name"`
	}
	if err := decodeBody(w, r, &in); err != nil {
		return err
	}
	secret, key, err := s.Services.APIKeys.Create(r.Context(), apiKey(r).WorkspaceID, in.Name)
	if err != nil {
		return err
	}
	out := toAPIKeyJSON(key)
	out.Key = secret
	writeJSON(w, http.StatusCreated, envelope("createApiKey", out))
	return nil
}

func (s *Server) revokeAPIKey(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	if err := s.Services.APIKeys.Revoke(r.Context(), apiKey(r), id); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, envelope("revokeApiKey", map[string]string{"id": id}))
	return nil
}
