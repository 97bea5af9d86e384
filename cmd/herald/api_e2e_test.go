package main

import (
	"net"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

func TestAuthScopingAndBadInputWriteNothing(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, db string, engineArgs ...string) {
		p := startHerald(t, db, engineArgs...)
		rc := newReceiver(t, nil)
		_, out := call(t, "POST", p.URL+"/rest/webhooks", p.APIKey, `{"targetUrl":"`+rc.URL+`"}`)
		hookID := dig(out, "data", "createWebhook", "id").(string)
		_, out = call(t, "POST", p.URL+"/rest/people", p.APIKey, `{"name":{"firstName":"Mine"}}`)
		personID := dig(out, "data", "createPerson", "id").(string)

		// A key of another workspace, made by the CLI while the server runs.
		cli, err := exec.Command(heraldBin, "apikey", "create", "--workspace", "other", "--create-workspace", "--database", db).Output()
		if err != nil {
			t.Fatalf("apikey create: %v", err)
		}
		otherKey := strings.TrimSpace(string(cli))

		statusTests := []struct {
			name, method, path, key, body string
			status                        int
			code, field                   string
		}{
			{"no key", "GET", "/rest/people", "", "", 401, "UNAUTHENTICATED", ""},
			{"a wrong key", "GET", "/rest/people", "hk_wrong", "", 401, "UNAUTHENTICATED", ""},
			{"another workspace's record", "GET", "/rest/people/" + personID, otherKey, "", 404, "NOT_FOUND", ""},
			{"updating another workspace's record", "PATCH", "/rest/people/" + personID, otherKey, `{"city":"x"}`, 404, "NOT_FOUND", ""},
			{"deleting another workspace's record", "DELETE", "/rest/people/" + personID + "?soft_delete=false", otherKey, "", 404, "NOT_FOUND", ""},
			{"another workspace's webhook", "GET", "/rest/webhooks/" + hookID, otherKey, "", 404, "NOT_FOUND", ""},
			{"deleting another workspace's webhook", "DELETE", "/rest/webhooks/" + hookID, otherKey, "", 404, "NOT_FOUND", ""},
			{"another workspace's deliveries", "GET", "/rest/webhooks/" + hookID + "/deliveries", otherKey, "", 404, "NOT_FOUND", ""},
			{"malformed JSON", "POST", "/rest/people", p.APIKey, `{"firstName":`, 400, "INVALID_ARGUMENT", ""},
			{"a JSON array for one record", "POST", "/rest/people", p.APIKey, `[{"name":{"firstName":"x"}}]`, 400, "INVALID_ARGUMENT", ""},
			{"a wrong type", "POST", "/rest/people", p.APIKey, `{"name":{"firstName":42}}`, 400, "INVALID_ARGUMENT", "name.firstName"},
			{"an unknown field", "POST", "/rest/people", p.APIKey, `{"name":{"firstName":"x"},"shoeSize":44}`, 400, "INVALID_ARGUMENT", "shoeSize"},
			{"a bad email", "POST", "/rest/people", p.APIKey, `{"emails":{"primaryEmail":"not-an-email"}}`, 400, "INVALID_ARGUMENT", "emails.primaryEmail"},
			{"a read-only field", "POST", "/rest/people", p.APIKey, `{"createdAt":"2020-01-01T00:00:00Z"}`, 400, "INVALID_ARGUMENT", "createdAt"},
			{"a batch with one bad record", "POST", "/rest/batch/people", p.APIKey, `[{"name":{"firstName":"ok"}},{"name":{"firstName":false}}]`, 400, "INVALID_ARGUMENT", "[1].name.firstName"},
			{"a taken id", "POST", "/rest/people", p.APIKey, `{"id":"` + personID + `"}`, 409, "CONFLICT", "id"},
			{"a body over 1 MiB", "POST", "/rest/people", p.APIKey, `{"name":{"firstName":"` + strings.Repeat("a", 1<<20) + `"}}`, 413, "PAYLOAD_TOO_LARGE", ""},
			{"an unknown object", "GET", "/rest/spaceships", p.APIKey, "", 404, "NOT_FOUND", ""},
			{"a bad filter", "GET", "/rest/people?filter=name.firstName[near]:x", p.APIKey, "", 400, "INVALID_ARGUMENT", "filter"},
			{"a filter on an unknown field", "GET", "/rest/people?filter=shoeSize[eq]:1", p.APIKey, "", 400, "INVALID_ARGUMENT", "filter"},
			{"a bad cursor", "GET", "/rest/people?starting_after=nope", p.APIKey, "", 400, "INVALID_ARGUMENT", "starting_after"},
			{"a webhook without URL", "POST", "/rest/webhooks", p.APIKey, `{"description":"x"}`, 400, "INVALID_ARGUMENT", "targetUrl"},
			{"a webhook to ftp", "POST", "/rest/webhooks", p.APIKey, `{"targetUrl":"ftp://example.com"}`, 400, "INVALID_ARGUMENT", "targetUrl"},
			{"a webhook with a wrong type", "POST", "/rest/webhooks", p.APIKey, `{"targetUrl":"https://example.com","operations":"*.*"}`, 400, "INVALID_ARGUMENT", "operations"},
			{"a webhook with a bad operation", "POST", "/rest/webhooks", p.APIKey, `{"targetUrl":"https://example.com","operations":["person"]}`, 400, "INVALID_ARGUMENT", "operations"},
			{"a webhook with an unknown field", "POST", "/rest/webhooks", p.APIKey, `{"targetUrl":"https://example.com","url":"x"}`, 400, "INVALID_ARGUMENT", "url"},
			{"a webhook with a weak secret", "POST", "/rest/webhooks", p.APIKey, `{"targetUrl":"https://example.com","secret":"hunter2"}`, 400, "INVALID_ARGUMENT", "secret"},
			{"an unknown delivery", "GET", "/rest/deliveries/dlv_999999", p.APIKey, "", 404, "NOT_FOUND", ""},
			{"an unknown route", "GET", "/nowhere", p.APIKey, "", 404, "NOT_FOUND", ""},
		}
		for _, tc := range statusTests {
			t.Run(tc.name, func(t *testing.T) {
				status, out := call(t, tc.method, p.URL+tc.path, tc.key, tc.body)
				// Twenty's shape, read as messages[0], with Herald's code kept.
				messages, _ := dig(out, "messages").([]any)
				name, _ := dig(out, "error").(string)
				if status != tc.status || dig(out, "statusCode") != float64(tc.status) || !strings.HasSuffix(name, "Exception") ||
					len(messages) != 1 || messages[0] == "" || dig(out, "code") != tc.code {
					t.Fatalf("%s %s: %d %v; want %d %s in Twenty's error shape", tc.method, tc.path, status, out, tc.status, tc.code)
				}
				if tc.field != "" && dig(out, "field") != tc.field {
					t.Fatalf("error field %v, want %s", dig(out, "field"), tc.field)
				}
			})
		}

		// Nothing above was written: one person, and one event for it.
		_, out = call(t, "GET", p.URL+"/rest/people", p.APIKey, "")
		if dig(out, "totalCount") != 1.0 {
			t.Errorf("people after bad requests: %v", dig(out, "totalCount"))
		}
		_, out = call(t, "GET", p.URL+"/rest/webhooks/"+hookID+"/deliveries", p.APIKey, "")
		if ds := dig(out, "data", "deliveries").([]any); len(ds) != 1 {
			t.Errorf("%d deliveries after bad requests, want 1", len(ds))
		}
		_, out = call(t, "GET", p.URL+"/rest/people", otherKey, "")
		if dig(out, "totalCount") != 0.0 {
			t.Errorf("the other workspace sees %v people", dig(out, "totalCount"))
		}
		_, out = call(t, "GET", p.URL+"/rest/webhooks", otherKey, "")
		if hooks := dig(out, "data", "webhooks").([]any); len(hooks) != 0 {
			t.Errorf("the other workspace sees %d webhooks", len(hooks))
		}
	})
}

// TestFirstKeyIsShownAfterAFailedFirstStart: a first start whose port is
// taken fails before it makes anything; the next start shows the key, and
// a start after that says how to get one.
func TestFirstKeyIsShownAfterAFailedFirstStart(t *testing.T) {
	t.Parallel()
	db := filepath.Join(t.TempDir(), "herald.db")
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	out, err := exec.Command(heraldBin, "serve", "--addr", busy.Addr().String(), "--database", db).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "listen on") || strings.Contains(string(out), "API key") {
		t.Fatalf("a start on a busy port: %v\n%s", err, out)
	}
	p := startHerald(t, db)
	if p.APIKey == "" {
		t.Fatal("the start after a failed first one showed no key")
	}
	if code, _ := call(t, "GET", p.URL+"/rest/people", p.APIKey, ""); code != 200 {
		t.Fatalf("the key shown: %d", code)
	}
	p.stop()
	again := startHerald(t, db)
	if again.APIKey != "" || !strings.Contains(again.stdout(), "herald apikey create") {
		t.Fatalf("a later start: key %q, printed:\n%s", again.APIKey, again.stdout())
	}
}

// TestDeliveryIDsRevealNothing: delivery ids are the same across restarts,
// show no sequence, and an id of the older decimal form still resolves.
func TestDeliveryIDsRevealNothing(t *testing.T) {
	t.Parallel()
	db := filepath.Join(t.TempDir(), "herald.db")
	p := startHerald(t, db)
	rc := newReceiver(t, nil)
	hookID, _ := createWebhook(t, p, p.APIKey, `{"targetUrl":"`+rc.URL+`"}`)
	createPeople(t, p, p.APIKey, "A", "B", "C")
	list := func(p *proc) []string {
		_, out := call(t, "GET", p.URL+"/rest/webhooks/"+hookID+"/deliveries", p.APIKey, "")
		var ids []string
		for _, d := range dig(out, "data", "deliveries").([]any) {
			ids = append(ids, dig(d, "id").(string))
		}
		return ids
	}
	ids := list(p)
	if len(ids) != 3 {
		t.Fatalf("deliveries %v", ids)
	}
	opaque := regexp.MustCompile(`^dlv_[a-z2-7]{13}$`)
	for _, id := range ids {
		if !opaque.MatchString(id) {
			t.Fatalf("delivery id %q is not opaque", id)
		}
	}
	// The first delivery of this database, by its older id.
	code, out := call(t, "GET", p.URL+"/rest/deliveries/dlv_1", p.APIKey, "")
	if code != 200 || !slices.Contains(ids, dig(out, "data", "delivery", "id").(string)) {
		t.Fatalf("dlv_1: %d %v", code, out)
	}
	p.stop()
	again := startHerald(t, db)
	again.APIKey = p.APIKey
	if got := list(again); !slices.Equal(got, ids) {
		t.Fatalf("ids after a restart %v, before %v", got, ids)
	}
}
