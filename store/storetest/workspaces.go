package storetest

import (
	"testing"
	"time"

	"github.com/heraldhq/herald"
)

var workspaceCases = []testCase{
	{"EnsureWorkspace", func(t *testing.T, b *bundle) {
		again, created, err := b.s.EnsureWorkspace(b.ctx, b.ws.Name)
		must(t, err)
		if created || again.ID != b.ws.ID {
			t.Fatalf("EnsureWorkspace of an existing name: created %v, id %s, want %s", created, again.ID, b.ws.ID)
		}
		found, err := b.s.FindWorkspace(b.ctx, b.ws.Name)
		must(t, err)
		if found.ID != b.ws.ID {
			t.Fatalf("FindWorkspace = %+v", found)
		}
		_, err = b.s.FindWorkspace(b.ctx, "no-such-workspace")
		wantCode(t, err, herald.ENOTFOUND)
	}},
	{"APIKeys", func(t *testing.T, b *bundle) {
		s, ctx := b.s, b.ctx
		secret, key := herald.NewAPIKey(b.ws.ID, "ci", time.Now())
		must(t, s.CreateAPIKey(ctx, key))
		found, err := s.FindAPIKey(ctx, herald.HashAPIKey(secret))
		must(t, err)
		if found.WorkspaceID != b.ws.ID || found.ID != key.ID {
			t.Fatalf("FindAPIKey = %+v", found)
		}
		_, err = s.FindAPIKey(ctx, herald.HashAPIKey(secret+"x"))
		wantCode(t, err, herald.ENOTFOUND)
		wantCode(t, s.RevokeAPIKey(ctx, b.other().ws.ID, key.ID, time.Now()), herald.ENOTFOUND)
		must(t, s.RevokeAPIKey(ctx, b.ws.ID, key.ID, time.Now()))
		_, err = s.FindAPIKey(ctx, herald.HashAPIKey(secret))
		wantCode(t, err, herald.ENOTFOUND)
		keys, err := s.ListAPIKeys(ctx, b.ws.ID)
		must(t, err)
		if len(keys) != 1 || keys[0].RevokedAt == nil {
			t.Fatalf("ListAPIKeys = %+v", keys)
		}
	}},
	// Sessions act as their key, and end on sign-out, expiry or revocation.
	{"Sessions", func(t *testing.T, b *bundle) {
		s, ctx := b.s, b.ctx
		now := time.Now()
		_, key := herald.NewAPIKey(b.ws.ID, "ui", now)
		must(t, s.CreateAPIKey(ctx, key))
		token, sess := herald.NewSession(key, now, time.Hour)
		must(t, s.CreateSession(ctx, sess))
		k, err := s.FindSession(ctx, herald.HashAPIKey(token), now)
		must(t, err)
		if k.ID != key.ID || k.WorkspaceID != b.ws.ID {
			t.Fatalf("FindSession = %+v, want key %s", k, key.ID)
		}
		_, err = s.FindSession(ctx, herald.HashAPIKey(token), now.Add(2*time.Hour))
		wantCode(t, err, herald.ENOTFOUND)
		// A sign-in after the first expired sweeps it away.
		_, later := herald.NewSession(key, now.Add(3*time.Hour), time.Hour)
		must(t, s.CreateSession(ctx, later))
		_, err = s.FindSession(ctx, sess.Hash, now)
		wantCode(t, err, herald.ENOTFOUND)
		_, err = s.FindSession(ctx, later.Hash, now.Add(3*time.Hour))
		must(t, err)
		// Signing out twice is no error.
		must(t, s.DeleteSession(ctx, later.Hash))
		must(t, s.DeleteSession(ctx, later.Hash))
		_, err = s.FindSession(ctx, later.Hash, now.Add(3*time.Hour))
		wantCode(t, err, herald.ENOTFOUND)
		_, third := herald.NewSession(key, now, time.Hour)
		must(t, s.CreateSession(ctx, third))
		must(t, s.RevokeAPIKey(ctx, b.ws.ID, key.ID, now))
		_, err = s.FindSession(ctx, third.Hash, now)
		wantCode(t, err, herald.ENOTFOUND)
	}},
	// A secret is made once and read back the same by every caller,
	// concurrent ones too.
	{"Secrets", func(t *testing.T, b *bundle) {
		got := make(chan []byte, 4)
		for range 4 {
			go func() {
				k, err := b.s.Secret(b.ctx, "ids", 24)
				if err != nil {
					t.Error(err)
				}
				got <- k
			}()
		}
		first := <-got
		for range 3 {
			if k := <-got; string(k) != string(first) {
				t.Fatalf("concurrent callers got different secrets")
			}
		}
		if len(first) != 24 || string(first) == string(make([]byte, 24)) {
			t.Fatalf("secret %x", first)
		}
		other, err := b.s.Secret(b.ctx, "other", 24)
		must(t, err)
		if string(other) == string(first) {
			t.Fatal("two secrets are the same")
		}
		if _, err := b.s.Secret(b.ctx, "ids", 16); err == nil {
			t.Fatal("a secret read at another size than it was made")
		}
	}},
}
