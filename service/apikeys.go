package service

import (
	"context"
	"time"

	"github.com/heraldhq/herald"
)

// APIKeys are the rules of API keys: authenticating with one, making and
// revoking them.
type APIKeys struct {
	store herald.Store
	cache keyCache
}

// Authenticate returns the unrevoked key whose secret is token, or
// EUNAUTHENTICATED. Keys that authenticated recently are kept in memory
// for a few seconds (see keyCache).
func (s *APIKeys) Authenticate(ctx context.Context, token string) (*herald.APIKey, error) {
	hash, now := herald.HashAPIKey(token), time.Now()
	if k := s.cache.get(hash, now); k != nil {
		return k, nil
	}
	k, err := s.store.FindAPIKey(ctx, hash)
	if herald.ErrorCode(err) == herald.ENOTFOUND {
		return nil, herald.Errorf(herald.EUNAUTHENTICATED, "invalid or revoked API key")
	}
	if err != nil {
		return nil, err
	}
	s.cache.put(hash, k, now)
	return k, nil
}

// List returns the workspace's keys, revoked ones included.
func (s *APIKeys) List(ctx context.Context, workspaceID string) ([]*herald.APIKey, error) {
	return s.store.ListAPIKeys(ctx, workspaceID)
}

// Create makes a key called name and returns its secret, shown this once:
// only its hash is kept.
func (s *APIKeys) Create(ctx context.Context, workspaceID, name string) (string, *herald.APIKey, error) {
	name, err := herald.CheckKeyName(name)
	if err != nil {
		return "", nil, err
	}
	secret, key := herald.NewAPIKey(workspaceID, name, time.Now())
	if err := s.store.CreateAPIKey(ctx, key); err != nil {
		return "", nil, err
	}
	return secret, key, nil
}

// Revoke revokes the key id of by's workspace. A key cannot revoke
// itself: that would lock the caller out half-way through a rotation.
func (s *APIKeys) Revoke(ctx context.Context, by *herald.APIKey, id string) error {
	if id == by.ID {
		return herald.Errorf(herald.ECONFLICT, "this is the key the request is made with: revoke it with another key")
	}
	if err := s.store.RevokeAPIKey(ctx, by.WorkspaceID, id, time.Now()); err != nil {
		return err
	}
	s.cache.clear()
	return nil
}
