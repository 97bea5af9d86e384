package verify_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/heraldhq/herald/verify"
)

type vectors struct {
	Twenty []struct {
		Secret, Timestamp, Body, Signature string
	}
	Standard []struct {
		Secret, ID, Body, Signature string
		Timestamp                   int64
	}
}

func loadVectors(t *testing.T) vectors {
	t.Helper()
	b, err := os.ReadFile("../testdata/signatures.json")
	if err != nil {
		t.Fatal(err)
	}
	var v vectors
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	if len(v.Twenty) == 0 || len(v.Standard) == 0 {
		t.Fatal("no vectors loaded")
	}
	return v
}

func TestTwentyVectors(t *testing.T) {
	t.Parallel()
	for i, tc := range loadVectors(t).Twenty {
		t.Run(strconv.Itoa(i), func(t *testing.T) {
			if got := verify.SignTwenty(tc.Secret, tc.Timestamp, []byte(tc.Body)); got != tc.Signature {
				t.Fatalf("SignTwenty = %s, want %s", got, tc.Signature)
			}
			ms, _ := strconv.ParseInt(tc.Timestamp, 10, 64)
			v := verify.Verifier{Now: func() time.Time { return time.UnixMilli(ms).Add(time.Minute) }}
			h := http.Header{}
			h.Set(verify.HeaderTwentyTimestamp, tc.Timestamp)
			h.Set(verify.HeaderTwentySignature, tc.Signature)
			if err := v.Twenty(tc.Secret, h, []byte(tc.Body)); err != nil {
				t.Fatalf("Twenty: %v", err)
			}
			if err := v.Twenty(tc.Secret, h, []byte(tc.Body+" ")); !errors.Is(err, verify.ErrNoMatch) {
				t.Fatalf("Twenty with changed body = %v, want ErrNoMatch", err)
			}
			if err := v.Twenty(tc.Secret+"x", h, []byte(tc.Body)); !errors.Is(err, verify.ErrNoMatch) {
				t.Fatalf("Twenty with other secret = %v, want ErrNoMatch", err)
			}
		})
	}
}

func TestStandardVectors(t *testing.T) {
	t.Parallel()
	for i, tc := range loadVectors(t).Standard {
		t.Run(strconv.Itoa(i), func(t *testing.T) {
			got, err := verify.SignStandard(tc.Secret, tc.ID, tc.Timestamp, []byte(tc.Body))
			if err != nil || got != tc.Signature {
				t.Fatalf("SignStandard = %s, %v; want %s", got, err, tc.Signature)
			}
			v := verify.Verifier{Now: func() time.Time { return time.Unix(tc.Timestamp, 0) }}
			h := http.Header{}
			h.Set(verify.HeaderStandardID, tc.ID)
			h.Set(verify.HeaderStandardTimestamp, strconv.FormatInt(tc.Timestamp, 10))
			// A second, unrelated signature first: any match is enough.
			h.Set(verify.HeaderStandardSignature, "v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA= "+tc.Signature)
			if err := v.Standard(tc.Secret, h, []byte(tc.Body)); err != nil {
				t.Fatalf("Standard: %v", err)
			}
			if err := v.Standard(tc.Secret, h, []byte(tc.Body+"x")); !errors.Is(err, verify.ErrNoMatch) {
				t.Fatalf("Standard with changed body = %v, want ErrNoMatch", err)
			}
		})
	}
}

func TestTolerance(t *testing.T) {
	t.Parallel()
	const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	body := []byte(`{"a":1}`)
	sent := time.Unix(1_700_000_000, 0)
	sig, err := verify.SignStandard(secret, "evt_1", sent.Unix(), body)
	if err != nil {
		t.Fatal(err)
	}
	h := http.Header{}
	h.Set("webhook-id", "evt_1")
	h.Set("webhook-timestamp", strconv.FormatInt(sent.Unix(), 10))
	h.Set("webhook-signature", sig)
	tw := http.Header{}
	ms := strconv.FormatInt(sent.UnixMilli(), 10)
	tw.Set(verify.HeaderTwentyTimestamp, ms)
	tw.Set(verify.HeaderTwentySignature, verify.SignTwenty(secret, ms, body))

	tests := []struct {
		name string
		now  time.Time
		tol  time.Duration
		want error
	}{
		{"within the default tolerance", sent.Add(4 * time.Minute), 0, nil},
		{"older than the default tolerance", sent.Add(6 * time.Minute), 0, verify.ErrTimestampTooOld},
		{"from the future", sent.Add(-6 * time.Minute), 0, verify.ErrTimestampTooNew},
		{"older than a custom tolerance", sent.Add(2 * time.Second), time.Second, verify.ErrTimestampTooOld},
		{"any age when the check is off", sent.Add(100 * time.Hour), -1, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v := verify.Verifier{Now: func() time.Time { return tc.now }, Tolerance: tc.tol}
			if err := v.Standard(secret, h, body); !errors.Is(err, tc.want) {
				t.Errorf("Standard = %v, want %v", err, tc.want)
			}
			if err := v.Twenty(secret, tw, body); !errors.Is(err, tc.want) {
				t.Errorf("Twenty = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestMissingHeaders(t *testing.T) {
	t.Parallel()
	if err := verify.Twenty("s", http.Header{}, nil); !errors.Is(err, verify.ErrMissingHeader) {
		t.Errorf("Twenty = %v", err)
	}
	if err := verify.Standard("whsec_AAAA", http.Header{}, nil, 0); !errors.Is(err, verify.ErrMissingHeader) {
		t.Errorf("Standard = %v", err)
	}
}

func TestEdgesOfTheChecks(t *testing.T) {
	t.Parallel()
	body := []byte(`{"id":"evt_1"}`)
	old := time.Now().Add(-time.Hour)
	twenty := http.Header{}
	ts := strconv.FormatInt(time.Now().UnixMilli(), 10)
	twenty.Set(verify.HeaderTwentyTimestamp, ts)
	twenty.Set(verify.HeaderTwentySignature, verify.SignTwenty("", ts, body))
	standard := http.Header{}
	secret := "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	sig, err := verify.SignStandard(secret, "evt_1", old.Unix(), body)
	if err != nil {
		t.Fatal(err)
	}
	standard.Set(verify.HeaderStandardID, "evt_1")
	standard.Set(verify.HeaderStandardTimestamp, strconv.FormatInt(old.Unix(), 10))
	standard.Set(verify.HeaderStandardSignature, sig)
	tests := []struct {
		name string
		err  error
		want error
	}{
		{"a signature made with an empty key is refused", verify.Twenty("", twenty, body), verify.ErrEmptySecret},
		{"an empty Standard Webhooks secret is refused", verify.Standard("", standard, body, 0), verify.ErrEmptySecret},
		{"a negative tolerance is the default, not no check", verify.Standard(secret, standard, body, -time.Second), verify.ErrTimestampTooOld},
		{"a zero tolerance is the default", verify.Standard(secret, standard, body, 0), verify.ErrTimestampTooOld},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if !errors.Is(tc.err, tc.want) {
				t.Fatalf("got %v, want %v", tc.err, tc.want)
			}
		})
	}
	// A Verifier may still turn the check off, on purpose.
	if err := (verify.Verifier{Tolerance: -1}).Standard(secret, standard, body); err != nil {
		t.Fatalf("Verifier with the check off: %v", err)
	}
}

// FuzzVerify: whatever the headers, verification never panics, and it
// passes only for the signature the secret makes.
func FuzzVerify(f *testing.F) {
	const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	now := time.Now()
	body := `{"id":"evt_1"}`
	sig, _ := verify.SignStandard(secret, "evt_1", now.Unix(), []byte(body))
	f.Add(secret, "evt_1", strconv.FormatInt(now.Unix(), 10), sig, body)
	f.Add(secret, "evt_1", strconv.FormatInt(now.Unix(), 10), "v1,"+strings.Repeat("A", 44)+" "+sig, body)
	f.Add("plain-string-secret", "", "", "", "")
	f.Add("whsec_!!!", "x", "-1", "v1,", "{}")
	f.Fuzz(func(t *testing.T, secret, id, ts, sigs, body string) {
		h := http.Header{}
		h.Set(verify.HeaderStandardID, id)
		h.Set(verify.HeaderStandardTimestamp, ts)
		h.Set(verify.HeaderStandardSignature, sigs)
		h.Set(verify.HeaderTwentyTimestamp, ts)
		h.Set(verify.HeaderTwentySignature, sigs)
		v := verify.Verifier{Now: func() time.Time { return now }}
		if err := v.Standard(secret, h, []byte(body)); err == nil {
			sec, _ := strconv.ParseInt(ts, 10, 64)
			want, err := verify.SignStandard(secret, id, sec, []byte(body))
			if err != nil || !slices.Contains(strings.Fields(sigs), want) {
				t.Fatalf("Standard passed without the secret's signature %q among %q", want, sigs)
			}
		}
		if err := v.Twenty(secret, h, []byte(body)); err == nil {
			if want := verify.SignTwenty(secret, ts, []byte(body)); !strings.EqualFold(strings.TrimSpace(sigs), want) || secret == "" {
				t.Fatalf("Twenty passed without the secret's signature %q (got %q)", want, sigs)
			}
		}
	})
}

// TestSecretsWithoutPrefix: a secret that does not start with whsec_ (as
// Twenty's 64 hex characters) keys both schemes with its own bytes. The
// signatures were computed with Python's hmac.
func TestSecretsWithoutPrefix(t *testing.T) {
	t.Parallel()
	const secret = "3f4e9a1c2b7d8e6f0a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f"
	body := []byte(`{"id":"evt_01J"}`)
	sig, err := verify.SignStandard(secret, "evt_01J", 1739201450, body)
	if err != nil || sig != "v1,85seDHP+DTH5GByD6ImxHqjUyHV947HCyQ4ub1G1Ph0=" {
		t.Fatalf("SignStandard = %q, %v", sig, err)
	}
	if got := verify.SignTwenty(secret, "1739201450123", body); got != "873f96582786f6fdb1e3c2662935399075a621851ab9c0b7925653aba20ad729" {
		t.Fatalf("SignTwenty = %s", got)
	}
	h := http.Header{}
	h.Set(verify.HeaderStandardID, "evt_01J")
	h.Set(verify.HeaderStandardTimestamp, "1739201450")
	h.Set(verify.HeaderStandardSignature, sig)
	v := verify.Verifier{Now: func() time.Time { return time.Unix(1739201450, 0) }}
	if err := v.Standard(secret, h, body); err != nil {
		t.Fatal(err)
	}
	if _, err := verify.StandardKey("whsec_not base64!"); !errors.Is(err, verify.ErrInvalidSecret) {
		t.Fatalf("a whsec_ secret that is not base64: %v", err)
	}
}
