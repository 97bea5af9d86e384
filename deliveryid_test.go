package herald_test

import (
	"crypto/rand"
	"testing"

	"github.com/heraldhq/herald"
)

func TestDeliveryIDs(t *testing.T) {
	t.Parallel()
	key := make([]byte, herald.DeliveryIDKeySize)
	_, _ = rand.Read(key)
	ids, err := herald.NewDeliveryIDs(key)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	increasing := 0
	prev := ""
	for n := int64(1); n <= 2000; n++ {
		id := ids.Format(n)
		if len(id) != len("dlv_")+13 || seen[id] {
			t.Fatalf("id %q of %d: wrong length or seen before", id, n)
		}
		seen[id] = true
		if got, ok := ids.Parse(id); !ok || got != n {
			t.Fatalf("Parse(Format(%d)) = %d, %v", n, got, ok)
		}
		if id > prev {
			increasing++
		}
		prev = id
	}
	// Consecutive numbers give ids in no order: about half rise.
	if increasing < 800 || increasing > 1200 {
		t.Fatalf("%d of 2000 consecutive ids rose: they show the sequence", increasing)
	}
	// (DES ignores the low bit of each key byte.)
	other, _ := herald.NewDeliveryIDs(append([]byte{key[0] ^ 2}, key[1:]...))
	if other.Format(1) == ids.Format(1) {
		t.Fatal("another key made the same id")
	}
	for _, tc := range []struct {
		id   string
		want int64
		ok   bool
	}{
		{"dlv_1", 1, true}, {"dlv_123456", 123456, true}, // the older form still resolves
		{"dlv_0", 0, false}, {"dlv_-4", 0, false}, {"dlv_", 0, false}, {"1", 0, false}, {"dlv_abc", 0, false},
		{"dlv_AAAAAAAAAAAAA", 0, false}, {"dlv_aaaaaaaaaaaa!", 0, false},
	} {
		if got, ok := ids.Parse(tc.id); ok != tc.ok || got != tc.want {
			t.Errorf("Parse(%q) = %d, %v; want %d, %v", tc.id, got, ok, tc.want, tc.ok)
		}
	}
	// One spelling per id: the last character's spare bit must be clear.
	id := ids.Format(42)
	last := id[len(id)-1]
	const alphabet = "abcdefghijklmnopqrstuvwxyz234567"
	for i := 0; i < len(alphabet); i++ {
		if c := alphabet[i]; c != last {
			if n, ok := ids.Parse(id[:len(id)-1] + string(c)); ok && n == 42 {
				t.Fatalf("%q also parses as 42", id[:len(id)-1]+string(c))
			}
		}
	}
}
