package listen_test

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/heraldhq/herald"
	"github.com/heraldhq/herald/listen"
	"github.com/heraldhq/herald/verify"
	"github.com/heraldhq/herald/webhook"
)

const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

// syncBuffer is an io.Writer the handler and the test share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// signed builds a request as Herald sends it, signed with key.
func signed(t *testing.T, url, key string, mutate func(h http.Header, body []byte) []byte) *http.Request {
	t.Helper()
	ev := &herald.Event{ID: "evt_0123", Name: "person.created", Object: "person", ObjectPlural: "people",
		WorkspaceID: "ws", Data: []byte(`{"name":{"firstName":"Ada"}}`), Timestamp: time.Now()}
	body := webhook.AppendBody(nil, ev, &herald.Webhook{ID: "wh"})
	req, err := http.NewRequest("POST", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := webhook.SetHeaders(req.Header, "test", ev, []string{key}, time.Now(), body); err != nil {
		t.Fatal(err)
	}
	if mutate != nil {
		body = mutate(req.Header, body)
	}
	req.Body = io.NopCloser(bytes.NewReader(body))
	return req
}

func TestListen(t *testing.T) {
	t.Parallel()
	var forwarded []http.Header
	var mu sync.Mutex
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		forwarded = append(forwarded, r.Header.Clone())
		mu.Unlock()
		if err := verify.Standard(secret, r.Header, body, 0); err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		w.WriteHeader(202)
		_, _ = io.WriteString(w, "queued")
	}))
	defer app.Close()

	for _, tc := range []struct {
		name     string
		forward  string
		req      func(url string) *http.Request
		code     int
		printed  string
		answered string
	}{
		{"valid", "", func(u string) *http.Request { return signed(t, u, secret, nil) }, 200, "Twenty and Standard Webhooks signatures verified", `{"received":true}`},
		{"wrong secret", "", func(u string) *http.Request { return signed(t, u, "whsec_b3RoZXJzZWNyZXQ=", nil) }, 401, "✗ Twenty signature", "no signature matches"},
		{"tampered body", "", func(u string) *http.Request {
			return signed(t, u, secret, func(_ http.Header, b []byte) []byte { return bytes.Replace(b, []byte("Ada"), []byte("Eve"), 1) })
		}, 401, "✗", ""},
		{"unsigned", "", func(u string) *http.Request {
			return signed(t, u, secret, func(h http.Header, b []byte) []byte {
				h.Del(verify.HeaderTwentySignature)
				delete(h, verify.HeaderStandardSignature) // SetHeaders writes the lowercase name
				return b
			})
		}, 401, "unsigned request", ""},
		{"only Twenty's headers", "", func(u string) *http.Request {
			return signed(t, u, secret, func(h http.Header, b []byte) []byte { delete(h, verify.HeaderStandardSignature); return b })
		}, 200, "✓ Twenty signatures verified", ""},
		{"forwarded", app.URL, func(u string) *http.Request { return signed(t, u, secret, nil) }, 202, "answered 202", "queued"},
		{"forward target down", "http://127.0.0.1:1/", func(u string) *http.Request { return signed(t, u, secret, nil) }, 502, "→ http://127.0.0.1:1/", "forwarding to"},
		{"GET", "", func(u string) *http.Request { r, _ := http.NewRequest("GET", u, nil); return r }, 405, "", "POST requests only"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := &syncBuffer{}
			h, err := listen.New(listen.Config{Secret: secret, Forward: tc.forward, Out: out})
			if err != nil {
				t.Fatal(err)
			}
			srv := httptest.NewServer(h)
			defer srv.Close()
			resp, err := http.DefaultClient.Do(tc.req(srv.URL))
			if err != nil {
				t.Fatal(err)
			}
			answer, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.code || !strings.Contains(string(answer), tc.answered) {
				t.Errorf("answer %d %q, want %d containing %q", resp.StatusCode, answer, tc.code, tc.answered)
			}
			if !strings.Contains(out.String(), tc.printed) {
				t.Errorf("printed %q, want it to contain %q", out.String(), tc.printed)
			}
			if tc.code == 200 && !strings.Contains(out.String(), "\n        \"firstName\": \"Ada\"") {
				t.Errorf("the event body is not pretty-printed: %q", out.String())
			}
		})
	}
	mu.Lock()
	defer mu.Unlock()
	if len(forwarded) != 1 || forwarded[0].Get("webhook-id") != "evt_0123" || forwarded[0].Get(verify.HeaderTwentySignature) == "" {
		t.Errorf("forwarded headers: %v", forwarded)
	}
}

func TestRedeliveryIsMarked(t *testing.T) {
	t.Parallel()
	out := &syncBuffer{}
	h, err := listen.New(listen.Config{Secret: secret, Out: out})
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, signed(t, "http://listen/", secret, nil))
		if rec.Code != 200 {
			t.Fatalf("answer %d", rec.Code)
		}
	}
	if n := strings.Count(out.String(), "redelivery"); n != 1 {
		t.Errorf("%d redelivery notes, want 1:\n%s", n, out)
	}
}

func TestNeedsAValidSecret(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"", "whsec_!!!"} {
		if _, err := listen.New(listen.Config{Secret: s}); err == nil {
			t.Errorf("secret %q accepted", s)
		}
	}
}
