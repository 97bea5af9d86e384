package webhook_test

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/heraldhq/herald"
	"github.com/heraldhq/herald/verify"
	"github.com/heraldhq/herald/webhook"
)

// TestSignerReusesKeys: a Signer's reused HMACs sign every body as fresh
// ones do, whatever was signed with them before, from many goroutines at
// once, for secrets with and without the whsec_ prefix and during a
// rotation; a secret it cannot use fails every time.
func TestSignerReusesKeys(t *testing.T) {
	t.Parallel()
	whsec := "whsec_" + base64.StdEncoding.EncodeToString([]byte("a key of some thirty-two bytes!!"))
	plain := webhook.NewSecret()
	secretSets := [][]string{{whsec}, {plain}, {plain, whsec}, {"any string at all"}}
	var s webhook.Signer
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 50 {
				secrets := secretSets[(g+i)%len(secretSets)]
				body := []byte(fmt.Sprintf(`{"id":"%d","data":"%s"}`, i, strings.Repeat("x", i*37%200)))
				ev := &herald.Event{ID: fmt.Sprintf("evt_%d_%d", g, i)}
				now := time.Now()
				got, want := http.Header{}, http.Header{}
				if err := s.SetHeaders(got, "1", ev, secrets, now, body); err != nil {
					t.Error(err)
					return
				}
				if err := webhook.SetHeaders(want, "1", ev, secrets, now, body); err != nil {
					t.Error(err)
					return
				}
				for _, name := range []string{verify.HeaderTwentySignature, verify.HeaderStandardSignature, verify.HeaderTwentyTimestamp} {
					if got.Get(name) != want.Get(name) {
						t.Errorf("%s through the Signer %q, fresh %q", name, got.Get(name), want.Get(name))
					}
				}
				if err := verify.Standard(secrets[len(secrets)-1], got, body, 0); err != nil {
					t.Errorf("Standard: %v", err)
				}
				if err := verify.Twenty(secrets[0], got, body); err != nil {
					t.Errorf("Twenty: %v", err)
				}
			}
		})
	}
	wg.Wait()
	for range 2 {
		if err := s.SetHeaders(http.Header{}, "1", &herald.Event{ID: "e"}, []string{"whsec_not base64"}, time.Now(), nil); err == nil {
			t.Error("a whsec_ secret that is not base64 signed")
		}
	}
}
