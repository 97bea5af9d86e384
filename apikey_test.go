package herald_test

import (
	"strings"
	"testing"

	"github.com/heraldhq/herald"
)

func TestCheckKeyName(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, want, err string
	}{
		{"a plain name, trimmed", "  billing sync ", "billing sync", ""},
		{"any script", "Zahlungen 支払い", "Zahlungen 支払い", ""},
		{"empty", "  ", "", "required"},
		{"too long", strings.Repeat("k", herald.MaxKeyNameLength+1), "", "longer than"},
		{"a terminal escape", "ops\x1b[2J", "", "control"},
		{"a newline inside", "ops\nkey", "", "control"},
		{"an invisible format character", "ops\u202ekey", "", "control"},
		{"invalid UTF-8", "ops\xff", "", "UTF-8"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := herald.CheckKeyName(tc.in)
			if tc.err != "" {
				if e, ok := err.(*herald.Error); !ok || e.Field != "name" || !strings.Contains(e.Message, tc.err) {
					t.Fatalf("error %v, want one on name saying %q", err, tc.err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("CheckKeyName = %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}
