package service_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/heraldhq/herald"
)

func TestAPIKeys(t *testing.T) {
	t.Parallel()
	forEach(t, nil, func(t *testing.T, f *fixture) {
		ctx, ws := context.Background(), f.workspace(t)
		keys := f.svc.APIKeys
		for _, name := range []string{"", "  ", strings.Repeat("k", herald.MaxKeyNameLength+1), "bell\a"} {
			_, _, err := keys.Create(ctx, ws.ID, name)
			wantError(t, err, herald.EINVALID, "name")
		}
		secret, key, err := keys.Create(ctx, ws.ID, "  billing sync ")
		must(t, err)
		if key.Name != "billing sync" || !strings.HasPrefix(secret, herald.APIKeyPrefix) || strings.Contains(key.Hash, secret) {
			t.Fatalf("created %+v", key)
		}
		got, err := keys.Authenticate(ctx, secret)
		must(t, err)
		if got.ID != key.ID {
			t.Fatalf("authenticated as %s, want %s", got.ID, key.ID)
		}
		_, err = keys.Authenticate(ctx, secret+"x")
		wantError(t, err, herald.EUNAUTHENTICATED, "")

		// A key cannot revoke itself; another can, and then it is refused at once.
		wantError(t, keys.Revoke(ctx, key, key.ID), herald.ECONFLICT, "")
		must(t, keys.Revoke(ctx, ws.Key, key.ID))
		_, err = keys.Authenticate(ctx, secret)
		wantError(t, err, herald.EUNAUTHENTICATED, "")
		wantError(t, keys.Revoke(ctx, ws.Key, "no-such-key"), herald.ENOTFOUND, "")
		list, err := keys.List(ctx, ws.ID)
		must(t, err)
		if len(list) != 2 {
			t.Fatalf("%d keys, want 2", len(list))
		}
	})
}

// A key revoked by another process (herald apikey revoke) stops working
// once the authentication cache lapses.
func TestKeysRevokedElsewhere(t *testing.T) {
	t.Parallel()
	forEach(t, nil, func(t *testing.T, f *fixture) {
		ctx, ws := context.Background(), f.workspace(t)
		_, err := f.svc.APIKeys.Authenticate(ctx, ws.Secret)
		must(t, err)
		must(t, f.store.RevokeAPIKey(ctx, ws.ID, ws.Key.ID, time.Now()))
		_, err = f.svc.APIKeys.Authenticate(ctx, ws.Secret)
		must(t, err) // still cached: the price of not reading the store on every request
		deadline := time.Now().Add(30 * time.Second)
		for {
			_, err = f.svc.APIKeys.Authenticate(ctx, ws.Secret)
			if err != nil || time.Now().After(deadline) {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		wantError(t, err, herald.EUNAUTHENTICATED, "")
	})
}
