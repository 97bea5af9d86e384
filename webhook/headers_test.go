package webhook_test

import (
	"strings"
	"testing"

	"github.com/heraldhq/herald"
	"github.com/heraldhq/herald/webhook"
)

func TestCheckHeaders(t *testing.T) {
	t.Parallel()
	current := map[string]string{"Authorization": "Bearer old"}
	for _, tc := range []struct {
		name  string
		in    map[string]string
		field string // the field refused; "" when accepted
		want  map[string]string
	}{
		{"canonical names", map[string]string{"x-api-key": "k1", " authorization ": "Bearer t"}, "", map[string]string{"X-Api-Key": "k1", "Authorization": "Bearer t"}},
		{"the mask keeps the current value", map[string]string{"authorization": webhook.MaskedHeader}, "", map[string]string{"Authorization": "Bearer old"}},
		{"the mask of a new header", map[string]string{"X-New": webhook.MaskedHeader}, "headers.X-New", nil},
		{"hop-by-hop", map[string]string{"Connection": "close"}, "headers.Connection", nil},
		{"framing", map[string]string{"Content-Length": "1"}, "headers.Content-Length", nil},
		{"Herald's own", map[string]string{"User-Agent": "x"}, "headers.User-Agent", nil},
		{"a signature header", map[string]string{"webhook-signature": "v1,x"}, "headers.webhook-signature", nil},
		{"Twenty's signature", map[string]string{"X-Twenty-Webhook-Signature": "x"}, "headers.X-Twenty-Webhook-Signature", nil},
		{"not a token", map[string]string{"X Api": "k"}, "headers.X Api", nil},
		{"CR LF in a value", map[string]string{"X-Api-Key": "k\r\nX-Injected: 1"}, "headers.X-Api-Key", nil},
		{"a control character", map[string]string{"X-Api-Key": "k\x00"}, "headers.X-Api-Key", nil},
		{"a long value", map[string]string{"X-Api-Key": strings.Repeat("k", webhook.MaxHeaderValueBytes+1)}, "headers.X-Api-Key", nil},
		{"the same name twice", map[string]string{"x-a": "1", "X-A": "2"}, "", nil},
		{"too many", func() map[string]string {
			m := map[string]string{}
			for i := range webhook.MaxHeaders + 1 {
				m["X-H"+strings.Repeat("a", i)] = "v"
			}
			return m
		}(), "headers", nil},
		{"none", map[string]string{}, "", map[string]string{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := webhook.CheckHeaders(tc.in, current)
			if tc.name == "the same name twice" {
				if e, ok := err.(*herald.Error); !ok || !strings.Contains(e.Message, "given twice") {
					t.Fatalf("error %v, want one saying the name is given twice", err)
				}
				return
			}
			if tc.field != "" {
				if e, ok := err.(*herald.Error); !ok || e.Field != tc.field {
					t.Fatalf("error %v, want one on %s", err, tc.field)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
			for k, v := range tc.want {
				if got[k] != v {
					t.Fatalf("got %v, want %v", got, tc.want)
				}
			}
		})
	}
	if m := webhook.Masked(map[string]string{"Authorization": "secret"}); m["Authorization"] != webhook.MaskedHeader {
		t.Fatalf("masked: %v", m)
	}
}
