package main

import (
	"encoding/json"
	"net/http"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/heraldhq/herald/verify"
)

// topKeys returns the keys of a JSON object in the order they appear.
func topKeys(t *testing.T, body []byte) []string {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(string(body)))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		t.Fatalf("body is not an object: %s", body)
	}
	var keys []string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, tok.(string))
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			t.Fatal(err)
		}
	}
	return keys
}

var (
	hexRe  = regexp.MustCompile(`^[0-9a-f]{32}$`)
	uuidRe = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
)

// checkRequest asserts DESIGN.md §5's headers and both signatures.
func checkRequest(t *testing.T, r received, secret string) map[string]any {
	t.Helper()
	h := r.Header
	if ct := h.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}
	if ua := h.Get("User-Agent"); !strings.HasPrefix(ua, "Herald-Webhooks/") {
		t.Errorf("User-Agent %q", ua)
	}
	ms, err := strconv.ParseInt(h.Get("X-Twenty-Webhook-Timestamp"), 10, 64)
	if err != nil || time.Since(time.UnixMilli(ms)).Abs() > time.Minute {
		t.Errorf("X-Twenty-Webhook-Timestamp %q is not milliseconds of now", h.Get("X-Twenty-Webhook-Timestamp"))
	}
	if sec := h.Get("webhook-timestamp"); sec != strconv.FormatInt(ms/1000, 10) {
		t.Errorf("webhook-timestamp %q, want the seconds of %d", sec, ms)
	}
	if n := h.Get("X-Twenty-Webhook-Nonce"); !hexRe.MatchString(n) {
		t.Errorf("X-Twenty-Webhook-Nonce %q is not 32 hex characters", n)
	}
	if err := verify.Twenty(secret, h, r.Body); err != nil {
		t.Errorf("Twenty signature: %v", err)
	}
	if err := verify.Standard(secret, h, r.Body, 0); err != nil {
		t.Errorf("Standard Webhooks signature: %v", err)
	}
	var body map[string]any
	if err := json.Unmarshal(r.Body, &body); err != nil {
		t.Fatalf("body is not JSON: %s", r.Body)
	}
	if id := body["id"].(string); id != h.Get("webhook-id") || !strings.HasPrefix(id, "evt_") {
		t.Errorf("body id %q, webhook-id %q", id, h.Get("webhook-id"))
	}
	if _, err := time.Parse("2006-01-02T15:04:05.000Z", body["timestamp"].(string)); err != nil {
		t.Errorf("timestamp %q is not UTC milliseconds ISO 8601", body["timestamp"])
	}
	if !uuidRe.MatchString(body["workspaceId"].(string)) {
		t.Errorf("workspaceId %v", body["workspaceId"])
	}
	return body
}

func TestRecordLifecycleDeliversFiveSignedRequests(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, db string, engineArgs ...string) {
		p := startHerald(t, db, engineArgs...)
		rc := newReceiver(t, nil)

		code, out := call(t, "POST", p.URL+"/rest/webhooks", p.APIKey, `{"targetUrl":"`+rc.URL+`/hook","description":"e2e"}`)
		if code != 201 {
			t.Fatalf("create webhook: %d %v", code, out)
		}
		secret := dig(out, "data", "createWebhook", "secret").(string)
		hookID := dig(out, "data", "createWebhook", "id").(string)
		if !strings.HasPrefix(secret, "whsec_") || !reflect.DeepEqual(dig(out, "data", "createWebhook", "operations"), []any{"*.*"}) {
			t.Fatalf("webhook defaults: %v", out)
		}

		code, out = call(t, "POST", p.URL+"/rest/people", p.APIKey, `{"name":{"firstName":"Ada","lastName":"Lovelace"},"emails":{"primaryEmail":"ada@example.com"}}`)
		if code != 201 {
			t.Fatalf("create person: %d %v", code, out)
		}
		created := dig(out, "data", "createPerson").(map[string]any)
		id := created["id"].(string)
		steps := []struct{ method, path, body string }{
			{"PATCH", "/rest/people/" + id, `{"jobTitle":"CTO"}`},
			{"DELETE", "/rest/people/" + id, ""},
			{"PATCH", "/rest/restore/people/" + id, ""},
			{"DELETE", "/rest/people/" + id + "?soft_delete=false", ""},
		}
		for _, s := range steps {
			if code, out := call(t, s.method, p.URL+s.path, p.APIKey, s.body); code != 200 {
				t.Fatalf("%s %s: %d %v", s.method, s.path, code, out)
			}
		}

		waitFor(t, "five deliveries", 30*time.Second, func() bool { return len(rc.requests()) >= 5 })
		time.Sleep(200 * time.Millisecond) // anything extra would arrive now
		reqs := rc.requests()
		if len(reqs) != 5 {
			t.Fatalf("%d requests arrived, want 5", len(reqs))
		}
		plain := []string{"id", "event", "timestamp", "data", "objectMetadata", "workspaceId", "webhookId"}
		updated := []string{"id", "event", "timestamp", "data", "updatedFields", "previousData", "objectMetadata", "workspaceId", "webhookId"}
		want := []struct {
			event string
			keys  []string
		}{
			{"person.created", plain}, {"person.updated", updated}, {"person.deleted", plain},
			{"person.restored", plain}, {"person.destroyed", plain},
		}
		seen := map[string]bool{}
		for i, r := range reqs {
			body := checkRequest(t, r, secret)
			if body["event"] != want[i].event {
				t.Fatalf("request %d is %v, want %s (commit order)", i, body["event"], want[i].event)
			}
			if keys := topKeys(t, r.Body); !reflect.DeepEqual(keys, want[i].keys) {
				t.Errorf("%s keys %v, want %v", want[i].event, keys, want[i].keys)
			}
			if body["webhookId"] != hookID || dig(body, "data", "id") != id {
				t.Errorf("%s: webhookId %v data.id %v", want[i].event, body["webhookId"], dig(body, "data", "id"))
			}
			if !reflect.DeepEqual(body["objectMetadata"], map[string]any{"nameSingular": "person", "namePlural": "people"}) {
				t.Errorf("objectMetadata %v", body["objectMetadata"])
			}
			if seen[body["id"].(string)] {
				t.Errorf("event id %v sent for two events", body["id"])
			}
			seen[body["id"].(string)] = true
		}
		first := func(i int) map[string]any { var b map[string]any; _ = json.Unmarshal(reqs[i].Body, &b); return b }
		if !reflect.DeepEqual(first(0)["data"], created) {
			t.Errorf("created data %v\nwant the record as the API returned it %v", first(0)["data"], created)
		}
		upd := first(1)
		if !reflect.DeepEqual(upd["updatedFields"], []any{"jobTitle"}) || !reflect.DeepEqual(upd["previousData"], map[string]any{"jobTitle": nil}) ||
			dig(upd, "data", "jobTitle") != "CTO" {
			t.Errorf("updated: fields %v previous %v data %v", upd["updatedFields"], upd["previousData"], upd["data"])
		}
		if del := first(2); dig(del, "data", "deletedAt") != nil || dig(del, "data", "jobTitle") != "CTO" {
			t.Errorf("deleted data must be the state before deletion: %v", del["data"])
		}
		if res := first(3); dig(res, "data", "deletedAt") != nil {
			t.Errorf("restored data: %v", res["data"])
		}

		// The log shows the five, newest first, delivered in one attempt each.
		_, out = call(t, "GET", p.URL+"/rest/webhooks/"+hookID+"/deliveries", p.APIKey, "")
		ds := dig(out, "data", "deliveries").([]any)
		if len(ds) != 5 || dig(ds[0], "event") != "person.destroyed" {
			t.Fatalf("delivery log: %v", out)
		}
		for _, d := range ds {
			if dig(d, "status") != "delivered" || dig(d, "attemptCount") != 1.0 || dig(d, "lastStatusCode") != 200.0 {
				t.Errorf("delivery %v", d)
			}
		}

		// A test event goes out at once and comes back with its attempt.
		code, out = call(t, "POST", p.URL+"/rest/webhooks/"+hookID+"/test", p.APIKey, "")
		if code != 200 || dig(out, "data", "testWebhook", "status") != "delivered" || dig(out, "data", "testWebhook", "attempt", "statusCode") != 200.0 {
			t.Fatalf("test event: %d %v", code, out)
		}
		last := rc.requests()[5]
		if body := checkRequest(t, last, secret); body["event"] != "webhook.test" {
			t.Errorf("test event body %v", body)
		}
	})
}

func TestFailingReceiverIsRetriedUntilDelivered(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, db string, engineArgs ...string) {
		p := startHerald(t, db, engineArgs...)
		rc := newReceiver(t, func(n int, _ *http.Request) int {
			if n < 2 {
				return 500
			}
			return 200
		})
		_, out := call(t, "POST", p.URL+"/rest/webhooks", p.APIKey, `{"targetUrl":"`+rc.URL+`","operations":["person.created"]}`)
		hookID := dig(out, "data", "createWebhook", "id").(string)
		secret := dig(out, "data", "createWebhook", "secret").(string)
		call(t, "POST", p.URL+"/rest/people", p.APIKey, `{"name":{"firstName":"Retry"}}`)

		var d map[string]any
		waitFor(t, "the delivery to succeed", 30*time.Second, func() bool {
			_, out := call(t, "GET", p.URL+"/rest/webhooks/"+hookID+"/deliveries", p.APIKey, "")
			ds, _ := dig(out, "data", "deliveries").([]any)
			if len(ds) == 1 && dig(ds[0], "status") == "delivered" {
				d = ds[0].(map[string]any)
				return true
			}
			return false
		})
		if d["attemptCount"] != 3.0 {
			t.Fatalf("attemptCount %v, want 3", d["attemptCount"])
		}
		_, out = call(t, "GET", p.URL+"/rest/deliveries/"+d["id"].(string), p.APIKey, "")
		attempts := dig(out, "data", "delivery", "attempts").([]any)
		var codes []any
		for _, a := range attempts {
			codes = append(codes, dig(a, "statusCode"))
		}
		if !reflect.DeepEqual(codes, []any{500.0, 500.0, 200.0}) || dig(attempts[0], "responseBody") != "answer 500" ||
			dig(attempts[0], "error") != "HTTP 500 Internal Server Error" {
			t.Fatalf("attempts %v", attempts)
		}
		reqs := rc.requests()
		for _, r := range reqs {
			checkRequest(t, r, secret)
			if string(r.Body) != string(reqs[0].Body) {
				t.Errorf("a retry changed the body:\n%s\n%s", r.Body, reqs[0].Body)
			}
		}
		// The retry schedule is respected: 100ms then 200ms, ±10%.
		if gap := reqs[1].At.Sub(reqs[0].At); gap < 85*time.Millisecond {
			t.Errorf("second attempt came %s after the first; the schedule says 100ms", gap)
		}
		if gap := reqs[2].At.Sub(reqs[1].At); gap < 170*time.Millisecond {
			t.Errorf("third attempt came %s after the second; the schedule says 200ms", gap)
		}

		// By hand, a delivered delivery can be sent again.
		code, out := call(t, "POST", p.URL+"/rest/deliveries/"+d["id"].(string)+"/retry", p.APIKey, "")
		if code != 202 || dig(out, "data", "retryDelivery", "status") != "pending" {
			t.Fatalf("retry: %d %v", code, out)
		}
		waitFor(t, "the manual retry", 10*time.Second, func() bool { return len(rc.requests()) == 4 })
	})
}

func TestSIGKILLLosesNoEvent(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, db string, engineArgs ...string) {
		p := startHerald(t, db, append(engineArgs, "--endpoint-concurrency", "2")...)
		key := p.APIKey
		rc := newReceiver(t, func(int, *http.Request) int { time.Sleep(10 * time.Millisecond); return 200 })
		call(t, "POST", p.URL+"/rest/webhooks", key, `{"targetUrl":"`+rc.URL+`"}`)

		const batches, perBatch = 5, 60
		for b := 0; b < batches; b++ {
			items := make([]string, perBatch)
			for i := range items {
				items[i] = `{"name":{"firstName":"K` + strconv.Itoa(b*perBatch+i) + `"}}`
			}
			if code, out := call(t, "POST", p.URL+"/rest/batch/people", key, "["+strings.Join(items, ",")+"]"); code != 201 {
				t.Fatalf("batch: %d %v", code, out)
			}
		}
		waitFor(t, "some deliveries before the kill", 20*time.Second, func() bool { return len(rc.requests()) >= 20 })
		p.kill()
		atKill := len(rc.requests())
		if atKill >= batches*perBatch {
			t.Fatalf("all %d deliveries finished before the kill; the test proves nothing", atKill)
		}

		startHerald(t, db, engineArgs...)
		unique := func() map[string]int {
			ids := map[string]int{}
			for _, r := range rc.requests() {
				ids[r.Header.Get("webhook-id")]++
			}
			return ids
		}
		waitFor(t, "every event after the restart", 60*time.Second, func() bool { return len(unique()) >= batches*perBatch })
		ids := unique()
		dups := 0
		for _, n := range ids {
			dups += n - 1
		}
		t.Logf("killed after %d of %d deliveries; after restart: %d events delivered, lost 0, duplicates %d", atKill, batches*perBatch, len(ids), dups)
		if len(ids) != batches*perBatch {
			t.Fatalf("%d distinct events delivered, want %d", len(ids), batches*perBatch)
		}
	})
}
