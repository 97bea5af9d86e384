package webhook_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/heraldhq/herald"
	"github.com/heraldhq/herald/verify"
	"github.com/heraldhq/herald/webhook"
)

func TestMatchOperations(t *testing.T) {
	t.Parallel()
	tests := []struct {
		ops   []string
		event string
		want  bool
	}{
		{[]string{"*.*"}, "person.created", true},
		{[]string{"person.created"}, "person.created", true},
		{[]string{"person.created"}, "person.updated", false},
		{[]string{"*.updated"}, "company.updated", true},
		{[]string{"*.updated"}, "company.created", false},
		{[]string{"person.*"}, "person.destroyed", true},
		{[]string{"person.*"}, "company.created", false},
		{[]string{"company.created", "note.*"}, "note.deleted", true},
		{nil, "person.created", false},
		{[]string{"*.*"}, "malformed", false},
		{[]string{"*.created"}, "metadata.object.created", true},
		{[]string{"metadata.object.*"}, "metadata.object.deleted", true},
		{[]string{"metadata.*"}, "metadata.object.deleted", false},
		{[]string{"object.created"}, "metadata.object.created", false},
		{[]string{"pet.*"}, "pet.created", true},
		// Herald's own events go only where their object is named.
		{[]string{"*.*"}, "webhook.disabled", false},
		{[]string{"*.disabled"}, "webhook.disabled", false},
		{[]string{"webhook.*"}, "webhook.disabled", true},
		{[]string{"delivery.exhausted"}, "delivery.exhausted", true},
		{[]string{"*.*", "webhook.enabled"}, "webhook.enabled", true},
	}
	for _, tc := range tests {
		if got := herald.MatchOperations(tc.ops, tc.event); got != tc.want {
			t.Errorf("MatchOperations(%v, %s) = %v", tc.ops, tc.event, got)
		}
	}
}

func TestSecretsAndURLs(t *testing.T) {
	t.Parallel()
	s := webhook.NewSecret()
	if err := webhook.CheckSecret(s); err != nil || s == webhook.NewSecret() {
		t.Fatalf("NewSecret %q: %v", s, err)
	}
	for _, bad := range []string{"", "hunter2", "whsec_", "whsec_!!!", "whsec_c2hvcnQ="} {
		if webhook.CheckSecret(bad) == nil {
			t.Errorf("CheckSecret(%q) accepted", bad)
		}
	}
	for _, good := range []string{"https://example.com/hook", "http://127.0.0.1:8080/x?y=1"} {
		if _, err := webhook.CheckURL(good); err != nil {
			t.Errorf("CheckURL(%q): %v", good, err)
		}
	}
	for _, bad := range []string{"", "example.com", "ftp://example.com", "https://", "https://exa mple.com", "javascript:alert(1)"} {
		if _, err := webhook.CheckURL(bad); err == nil {
			t.Errorf("CheckURL(%q) accepted", bad)
		}
	}
}

func TestBodiesAndHeaders(t *testing.T) {
	t.Parallel()
	ev := &herald.Event{
		ID: "evt_1", WorkspaceID: "0190c0de-0000-7000-8000-000000000001", Name: "person.updated", Object: "person", ObjectPlural: "people",
		RecordID: "r1", Data: json.RawMessage(`{"id":"r1","city":"Paris"}`), UpdatedFields: []string{"city"},
		PreviousData: json.RawMessage(`{"city":"London"}`), Timestamp: time.Date(2025, 2, 10, 15, 30, 50, 123e6, time.UTC),
	}
	w := &herald.Webhook{ID: "wh1", TargetURL: "https://example.com/h?a=1&b=2", Secret: webhook.NewSecret()}
	got := string(webhook.AppendBody(nil, ev, w))
	want := `{"id":"evt_1","event":"person.updated","timestamp":"2025-02-10T15:30:50.123Z","data":{"id":"r1","city":"Paris"},` +
		`"updatedFields":["city"],"previousData":{"city":"London"},"objectMetadata":{"nameSingular":"person","namePlural":"people"},` +
		`"workspaceId":"0190c0de-0000-7000-8000-000000000001","webhookId":"wh1"}`
	if got != want {
		t.Errorf("body\n%s\nwant\n%s", got, want)
	}

	w.PayloadFormat = herald.PayloadTwenty
	var twenty map[string]any
	if err := json.Unmarshal(webhook.AppendBody(nil, ev, w), &twenty); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"targetUrl", "eventName", "objectMetadata", "workspaceId", "webhookId", "eventDate", "record", "updatedFields"} {
		if _, ok := twenty[k]; !ok {
			t.Errorf("Twenty body lacks %s: %v", k, twenty)
		}
	}
	if twenty["targetUrl"] != w.TargetURL || twenty["eventName"] != "person.updated" {
		t.Errorf("Twenty body %v", twenty)
	}

	// Two live secrets: two Standard signatures, each verifying alone.
	old := webhook.NewSecret()
	h := http.Header{}
	body := []byte(got)
	if err := webhook.SetHeaders(h, "1.2.3", ev, []string{w.Secret, old}, time.Now(), body); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{w.Secret, old} {
		if err := verify.Standard(s, h, body, 0); err != nil {
			t.Errorf("Standard with one of two live secrets: %v", err)
		}
	}
	if verify.Twenty(w.Secret, h, body) != nil || verify.Twenty(old, h, body) == nil {
		t.Error("the Twenty signature must use the current secret only")
	}
	if h.Get("User-Agent") != "Herald-Webhooks/1.2.3" {
		t.Errorf("User-Agent %q", h.Get("User-Agent"))
	}
}

// TestBodyEscapesStrings: the fast path for plain strings and the encoder
// for the rest both give JSON that decodes to the same values.
func TestBodyEscapesStrings(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"person.created", `quote " and \ backslash`, "tab\tnew\nline", "<b>&amp;</b>", "héllo ✓", "\x00\x1f", ""} {
		ev := &herald.Event{ID: s, Name: s, Object: s, ObjectPlural: s, WorkspaceID: s, Data: []byte(`{}`), Timestamp: time.Now()}
		body := webhook.AppendBody(nil, ev, &herald.Webhook{ID: s, TargetURL: s})
		var got struct {
			ID, Event, WorkspaceID, WebhookID string
			ObjectMetadata                    struct{ NameSingular, NamePlural string }
		}
		if err := json.Unmarshal(body, &got); err != nil {
			t.Fatalf("%q: body is not JSON: %v\n%s", s, err, body)
		}
		if got.ID != s || got.Event != s || got.WorkspaceID != s || got.WebhookID != s || got.ObjectMetadata.NamePlural != s {
			t.Errorf("%q came back as %+v", s, got)
		}
	}
}

func FuzzCheckURL(f *testing.F) {
	for _, s := range []string{"https://hooks.example.com/herald", "http://[::1]:8080/x?y=1", "ftp://x", "https://", "https://a b/", "http://h/%zz", "https://user:pw@h.example/"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		u, err := webhook.CheckURL(raw)
		if err != nil {
			if e, ok := err.(*herald.Error); !ok || e.Code != herald.EINVALID || e.Field != "targetUrl" {
				t.Fatalf("error %v, want EINVALID on targetUrl", err)
			}
			return
		}
		// A saved target can always be sent to.
		if u.Scheme != "http" && u.Scheme != "https" || u.Hostname() == "" {
			t.Fatalf("accepted %q: scheme %q host %q", raw, u.Scheme, u.Hostname())
		}
		if _, err := http.NewRequest(http.MethodPost, raw, nil); err != nil {
			t.Fatalf("accepted %q, which no request can be made to: %v", raw, err)
		}
	})
}

func TestCheckSecret(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		secret string
		ok     bool
	}{
		{webhook.NewSecret(), true},
		{"3f4e9a1c2b7d8e6f0a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f", true}, // Twenty's form
		{"correct horse battery staple", true},
		{"sixteen chars!!!", true},
		{"ünïcödé-secret-16", true},
		{"fifteen chars!!", false},
		{"hunter2", false},
		{"whsec_!!!!!!!!!!!!!!!!!!!!", false},       // the prefix says base64 follows
		{"whsec_" + "c2hvcnQ=" + "AAAAAAAA", false}, // not base64 as a whole
		{"whsec_" + "MTIzNDU2Nzg5MDEyMzQ1", false},  // 15 bytes of key
		{"whsec_MTIzNDU2Nzg5MDEyMzQ1Ng==", true},    // 16 bytes of key
		{strings.Repeat("k", webhook.MaxSecretLength+1), false},
	} {
		if err := webhook.CheckSecret(tc.secret); (err == nil) != tc.ok {
			t.Errorf("CheckSecret(%q) = %v, want ok=%v", tc.secret, err, tc.ok)
		}
	}
}
