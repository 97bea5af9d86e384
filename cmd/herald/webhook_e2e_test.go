package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/heraldhq/herald/verify"
)

// createWebhook creates a webhook from a JSON body and returns its id and
// secret.
func createWebhook(t *testing.T, p *proc, key, body string) (id, secret string) {
	t.Helper()
	code, out := call(t, "POST", p.URL+"/rest/webhooks", key, body)
	if code != 201 {
		t.Fatalf("create webhook %s: %d %v", body, code, out)
	}
	return dig(out, "data", "createWebhook", "id").(string), dig(out, "data", "createWebhook", "secret").(string)
}

func getWebhook(t *testing.T, p *proc, key, id string) map[string]any {
	t.Helper()
	code, out := call(t, "GET", p.URL+"/rest/webhooks/"+id, key, "")
	if code != 200 {
		t.Fatalf("get webhook: %d %v", code, out)
	}
	return dig(out, "data", "webhook").(map[string]any)
}

func TestPrivateTargetsAreRefusedUnlessAllowed(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, db string, engineArgs ...string) {
		open := startHerald(t, db, engineArgs...)
		key := open.APIKey
		rc := newReceiver(t, nil)
		// Made while private targets were allowed...
		hookID, _ := createWebhook(t, open, key, `{"targetUrl":"`+rc.URL+`"}`)
		open.stop()

		// ...and sent after a restart without the flag: refused at dial time.
		p := startHerald(t, db, append(engineArgs, "--allow-private-targets=false")...)
		for _, target := range []string{rc.URL, "http://[::1]:9/", "http://localhost:8080/", "http://169.254.169.254/latest", "http://2130706433/"} {
			code, out := call(t, "POST", p.URL+"/rest/webhooks", key, `{"targetUrl":"`+target+`"}`)
			if code != 400 || !strings.Contains(strings.ToLower(dig(out, "messages").([]any)[0].(string)), "targeturl refused") ||
				!strings.Contains(dig(out, "messages").([]any)[0].(string), "--allow-private-targets") {
				t.Errorf("create webhook to %s: %d %v; want 400 naming --allow-private-targets", target, code, out)
			}
		}
		code, out := call(t, "PATCH", p.URL+"/rest/webhooks/"+hookID, key, `{"targetUrl":"http://127.0.0.1:1/"}`)
		if code != 400 {
			t.Errorf("update to a loopback URL: %d %v", code, out)
		}

		call(t, "POST", p.URL+"/rest/people", key, `{"name":{"firstName":"Guarded"}}`)
		var d map[string]any
		waitFor(t, "a refused attempt", 20*time.Second, func() bool {
			_, out := call(t, "GET", p.URL+"/rest/webhooks/"+hookID+"/deliveries", key, "")
			ds, _ := dig(out, "data", "deliveries").([]any)
			if len(ds) == 1 && dig(ds[0], "attemptCount").(float64) >= 1 {
				d = ds[0].(map[string]any)
				return true
			}
			return false
		})
		if msg, _ := d["lastError"].(string); !strings.Contains(msg, "loopback address") || !strings.Contains(msg, "--allow-private-targets") {
			t.Errorf("refused attempt's error %q does not explain itself", msg)
		}
		if n := len(rc.requests()); n != 0 {
			t.Fatalf("the loopback receiver got %d requests from a guarded server", n)
		}

		// A bad environment value is an error, not a silent default.
		cmd := exec.Command(heraldBin, "serve", "--database", filepath.Join(t.TempDir(), "y.db"), "--addr", "127.0.0.1:0")
		cmd.Env = append(cmd.Environ(), "HERALD_ALLOW_PRIVATE_TARGETS=perhaps")
		msg, err := cmd.CombinedOutput()
		if err == nil || !strings.Contains(string(msg), "HERALD_ALLOW_PRIVATE_TARGETS") {
			t.Fatalf("a bad HERALD_ALLOW_PRIVATE_TARGETS: err %v, output %q", err, msg)
		}
	})
}

func TestGoneDisablesAndReplayCatchesUp(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, db string, engineArgs ...string) {
		p := startHerald(t, db, engineArgs...)
		var gone atomic.Bool
		gone.Store(true)
		rc := newReceiver(t, func(int, *http.Request) int {
			if gone.Load() {
				return http.StatusGone
			}
			return 200
		})
		hookID, _ := createWebhook(t, p, p.APIKey, `{"targetUrl":"`+rc.URL+`","operations":["person.created"]}`)
		call(t, "POST", p.URL+"/rest/people", p.APIKey, `{"name":{"firstName":"First"}}`)
		var hook map[string]any
		waitFor(t, "the webhook to be disabled", 20*time.Second, func() bool {
			hook = getWebhook(t, p, p.APIKey, hookID)
			return hook["status"] == "disabled"
		})
		if hook["disabledReason"] != "the endpoint answered 410 Gone" || hook["disabledAt"] == nil {
			t.Fatalf("disabled webhook: %v", hook)
		}
		if h := hook["health"].(map[string]any); h["attempts"] != 1.0 || h["successRate"] != 0.0 || h["lastError"] != "HTTP 410 Gone" {
			t.Fatalf("health after a 410: %v", h)
		}
		if n := len(rc.requests()); n != 1 {
			t.Fatalf("a 410 was retried: %d requests", n)
		}

		// Events while disabled are kept as skipped, not sent.
		for _, name := range []string{"Second", "Third"} {
			call(t, "POST", p.URL+"/rest/people", p.APIKey, `{"name":{"firstName":"`+name+`"}}`)
		}
		_, out := call(t, "GET", p.URL+"/rest/webhooks/"+hookID+"/deliveries?status=skipped", p.APIKey, "")
		if ds := dig(out, "data", "deliveries").([]any); len(ds) != 2 {
			t.Fatalf("%d skipped deliveries, want 2", len(ds))
		}

		// The receiver is back: re-enable, then replay since the disable.
		gone.Store(false)
		if code, out := call(t, "PATCH", p.URL+"/rest/webhooks/"+hookID, p.APIKey, `{"status":"active"}`); code != 200 {
			t.Fatalf("re-enable: %d %v", code, out)
		}
		for _, bad := range []string{``, `{"since":"yesterday"}`, `{"since":"2025-01-01T00:00:00Z","x":1}`} {
			if code, _ := call(t, "POST", p.URL+"/rest/webhooks/"+hookID+"/replay", p.APIKey, bad); code != 400 {
				t.Errorf("replay with %q: %d, want 400", bad, code)
			}
		}
		code, out := call(t, "POST", p.URL+"/rest/webhooks/"+hookID+"/replay", p.APIKey, `{"since":"`+hook["disabledAt"].(string)+`"}`)
		if code != 200 || dig(out, "data", "replayWebhook", "replayed") != 2.0 {
			t.Fatalf("replay: %d %v", code, out)
		}
		waitFor(t, "the skipped events to be delivered", 20*time.Second, func() bool { return len(rc.requests()) == 3 })
		for _, r := range rc.requests()[1:] {
			if !strings.Contains(string(r.Body), `"Second"`) && !strings.Contains(string(r.Body), `"Third"`) {
				t.Errorf("replayed an unexpected event: %s", r.Body)
			}
		}
		if code, _ := call(t, "POST", p.URL+"/rest/webhooks/no-such-id/replay", p.APIKey, `{"since":"2025-01-01T00:00:00Z"}`); code != 404 {
			t.Errorf("replay of an unknown webhook: %d", code)
		}
	})
}

func TestRotatedSecretsOverlapThenExpire(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, db string, engineArgs ...string) {
		const overlap = 3 * time.Second
		p := startHerald(t, db, append(engineArgs, "--secret-overlap", overlap.String())...)
		rc := newReceiver(t, nil)
		hookID, oldSecret := createWebhook(t, p, p.APIKey, `{"targetUrl":"`+rc.URL+`"}`)
		sendTest := func() received {
			t.Helper()
			n := len(rc.requests())
			if code, out := call(t, "POST", p.URL+"/rest/webhooks/"+hookID+"/test", p.APIKey, ""); code != 200 {
				t.Fatalf("test event: %d %v", code, out)
			}
			return rc.requests()[n]
		}

		code, out := call(t, "POST", p.URL+"/rest/webhooks/"+hookID+"/rotate-secret", p.APIKey, "")
		rotated := dig(out, "data", "rotateWebhookSecret")
		newSecret, _ := dig(rotated, "secret").(string)
		if code != 200 || newSecret == oldSecret || !strings.HasPrefix(newSecret, "whsec_") || dig(rotated, "previousSecretExpiresAt") == nil {
			t.Fatalf("rotate: %d %v", code, out)
		}
		rotatedAt := time.Now()
		during := sendTest()
		if time.Since(rotatedAt) > overlap/2 {
			t.Skip("the machine is too slow to send inside the overlap window")
		}
		if n := len(strings.Fields(during.Header.Get("webhook-signature"))); n != 2 {
			t.Errorf("during the overlap webhook-signature has %d signatures, want 2", n)
		}
		for name, secret := range map[string]string{"old": oldSecret, "new": newSecret} {
			if err := verify.Standard(secret, during.Header, during.Body, 0); err != nil {
				t.Errorf("during the overlap the %s secret does not verify: %v", name, err)
			}
		}
		if err := verify.Twenty(newSecret, during.Header, during.Body); err != nil {
			t.Errorf("the Twenty signature is not made with the new secret: %v", err)
		}

		time.Sleep(time.Until(rotatedAt.Add(overlap + 200*time.Millisecond)))
		after := sendTest()
		if err := verify.Standard(newSecret, after.Header, after.Body, 0); err != nil {
			t.Errorf("after the overlap the new secret does not verify: %v", err)
		}
		if err := verify.Standard(oldSecret, after.Header, after.Body, 0); err == nil {
			t.Error("after the overlap the old secret still verifies")
		}
		if n := len(strings.Fields(after.Header.Get("webhook-signature"))); n != 1 {
			t.Errorf("after the overlap webhook-signature has %d signatures", n)
		}
		if h := getWebhook(t, p, p.APIKey, hookID); h["previousSecretExpiresAt"] != nil {
			t.Errorf("previousSecretExpiresAt still shown after the overlap: %v", h["previousSecretExpiresAt"])
		}

		// A chosen secret is checked.
		if code, _ := call(t, "POST", p.URL+"/rest/webhooks/"+hookID+"/rotate-secret", p.APIKey, `{"secret":"short"}`); code != 400 {
			t.Errorf("rotate to a bad secret: %d", code)
		}
	})
}

// TestTwentySecretsKeepWorking: a secret of any form Twenty accepts (its
// server makes 64 hex characters) is taken as it is, and both schemes
// sign with it, as a receiver moved from Twenty checks them; a rotation
// to another such secret signs with both while they overlap.
func TestTwentySecretsKeepWorking(t *testing.T) {
	t.Parallel()
	p := startHerald(t, t.TempDir()+"/herald.db")
	rc := newReceiver(t, nil)
	const secret = "3f4e9a1c2b7d8e6f0a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f"
	id, got := createWebhook(t, p, p.APIKey, `{"targetUrl":"`+rc.URL+`","secret":"`+secret+`"}`)
	if got != secret {
		t.Fatalf("the webhook keeps secret %q, want the one given", got)
	}
	createPeople(t, p, p.APIKey, "Ada")
	waitFor(t, "the delivery", 10*time.Second, func() bool { return len(rc.requests()) == 1 })
	checkRequest(t, rc.requests()[0], secret)

	const next = "a secret of words, as some people pick"
	if code, out := call(t, "POST", p.URL+"/rest/webhooks/"+id+"/rotate-secret", p.APIKey, `{"secret":"`+next+`"}`); code != 200 {
		t.Fatalf("rotate: %d %v", code, out)
	}
	createPeople(t, p, p.APIKey, "Grace")
	waitFor(t, "the next delivery", 10*time.Second, func() bool { return len(rc.requests()) == 2 })
	checkRequest(t, rc.requests()[1], next)
	if err := verify.Standard(secret, rc.requests()[1].Header, rc.requests()[1].Body, 0); err != nil {
		t.Errorf("while they overlap, the previous secret signs too: %v", err)
	}
	if code, out := call(t, "POST", p.URL+"/rest/webhooks", p.APIKey, `{"targetUrl":"`+rc.URL+`","secret":"too short"}`); code != 400 || dig(out, "field") != "secret" {
		t.Fatalf("a short secret: %d %v", code, out)
	}
}

// TestRecoverSendsOnlyFailed: a recovery sends again the deliveries that
// ended failed since a time, and none that succeeded.
func TestRecoverSendsOnlyFailed(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, db string, engineArgs ...string) {
		p := startHerald(t, db, engineArgs...)
		var healthy atomic.Bool
		failing := newReceiver(t, func(_ int, r *http.Request) int {
			if healthy.Load() {
				return 200
			}
			return 500
		})
		hookID, _ := createWebhook(t, p, p.APIKey, `{"targetUrl":"`+failing.URL+`","operations":["person.created"]}`)
		start := time.Now().UTC().Add(-time.Minute).Format(time.RFC3339)
		for _, name := range []string{"Bad1", "Bad2"} {
			call(t, "POST", p.URL+"/rest/people", p.APIKey, `{"name":{"firstName":"`+name+`"}}`)
		}
		with := func(status string) int {
			_, out := call(t, "GET", p.URL+"/rest/webhooks/"+hookID+"/deliveries?status="+status, p.APIKey, "")
			return len(dig(out, "data", "deliveries").([]any))
		}
		waitFor(t, "both deliveries to end failed", 30*time.Second, func() bool { return with("failed") == 2 })
		// The receiver is back; one more event succeeds on its first try.
		healthy.Store(true)
		call(t, "POST", p.URL+"/rest/people", p.APIKey, `{"name":{"firstName":"Good"}}`)
		waitFor(t, "the good event", 20*time.Second, func() bool {
			for _, r := range failing.requests() {
				if strings.Contains(string(r.Body), `"Good"`) {
					return true
				}
			}
			return false
		})
		if code, _ := call(t, "POST", p.URL+"/rest/webhooks/"+hookID+"/recover", p.APIKey, `{"since":"yesterday"}`); code != 400 {
			t.Errorf("recover since a bad time: %d, want 400", code)
		}
		code, out := call(t, "POST", p.URL+"/rest/webhooks/"+hookID+"/recover", p.APIKey, `{"since":"`+start+`"}`)
		if code != 200 || dig(out, "data", "recoverWebhook", "recovered") != 2.0 {
			t.Fatalf("recover: %d %v", code, out)
		}
		waitFor(t, "the failed deliveries to be delivered", 20*time.Second, func() bool { return with("delivered") == 3 })
		count := map[string]int{}
		for _, r := range failing.requests() {
			for _, name := range []string{"Bad1", "Bad2", "Good"} {
				if strings.Contains(string(r.Body), `"`+name+`"`) {
					count[name]++
				}
			}
		}
		// Four attempts each before the recovery (the retry schedule has
		// three waits), one after; the good event once.
		if count["Good"] != 1 || count["Bad1"] != 5 || count["Bad2"] != 5 {
			t.Fatalf("requests per event: %v, want Bad1 and Bad2 5 (4 failed, 1 recovered) and Good 1", count)
		}
		if code, _ := call(t, "POST", p.URL+"/rest/webhooks/no-such-id/recover", p.APIKey, `{"since":"`+start+`"}`); code != 404 {
			t.Errorf("recover of an unknown webhook: %d", code)
		}

		// A bulk retry takes what the log's filters select.
		for _, bad := range []string{`{"status":"pending"}`, `{"status":"lost"}`, `{"state":"failed"}`} {
			if code, out := call(t, "POST", p.URL+"/rest/webhooks/"+hookID+"/deliveries/retry", p.APIKey, bad); code != 400 {
				t.Errorf("bulk retry %s: %d %v, want 400", bad, code, out)
			} else if bad != `{"state":"failed"}` && dig(out, "field") != "status" {
				t.Errorf("bulk retry %s: %v, want the field status named", bad, out)
			}
		}
		code, out = call(t, "POST", p.URL+"/rest/webhooks/"+hookID+"/deliveries/retry", p.APIKey, `{"status":"delivered","event":"person.created"}`)
		if code != 200 || dig(out, "data", "retryDeliveries", "retried") != 3.0 {
			t.Fatalf("bulk retry: %d %v", code, out)
		}
		waitFor(t, "the bulk retry", 20*time.Second, func() bool { return len(failing.requests()) == 14 })
		time.Sleep(300 * time.Millisecond) // nothing more comes
		if n := len(failing.requests()); n != 14 {
			t.Fatalf("%d requests, want 11 before the bulk retry and 3 for it", n)
		}
	})
}

// TestCustomHeaders: a webhook's headers go with every request, the API
// shows them masked, and an edit that gives the mask back keeps them.
func TestCustomHeaders(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, db string, engineArgs ...string) {
		p := startHerald(t, db, engineArgs...)
		rc := newReceiver(t, nil)
		code, out := call(t, "POST", p.URL+"/rest/webhooks", p.APIKey, `{"targetUrl":"`+rc.URL+`","headers":{"authorization":"Bearer rcv-token","X-Api-Key":"k1"}}`)
		if code != 201 || dig(out, "data", "createWebhook", "headers", "Authorization") != "********" {
			t.Fatalf("create: %d %v", code, out)
		}
		hookID := dig(out, "data", "createWebhook", "id").(string)
		if code, out := call(t, "PATCH", p.URL+"/rest/webhooks/"+hookID, p.APIKey, `{"headers":{"Authorization":"********","X-Api-Key":"k2","Webhook-Id":"x"}}`); code != 400 || dig(out, "field") != "headers.Webhook-Id" {
			t.Fatalf("a signature header: %d %v", code, out)
		}
		if code, out := call(t, "PATCH", p.URL+"/rest/webhooks/"+hookID, p.APIKey, `{"headers":{"Authorization":"********","X-Api-Key":"k2"}}`); code != 200 {
			t.Fatalf("update: %d %v", code, out)
		}
		call(t, "POST", p.URL+"/rest/people", p.APIKey, `{"name":{"firstName":"Ada"}}`)
		waitFor(t, "the delivery", 20*time.Second, func() bool { return len(rc.requests()) == 1 })
		h := rc.requests()[0].Header
		if h.Get("Authorization") != "Bearer rcv-token" || h.Get("X-Api-Key") != "k2" || h.Get("webhook-signature") == "" {
			t.Fatalf("received headers: %v", h)
		}
		if _, hook := call(t, "GET", p.URL+"/rest/webhooks/"+hookID, p.APIKey, ""); strings.Contains(fmt.Sprint(hook), "rcv-token") {
			t.Fatalf("the API shows a header's value: %v", hook)
		}
	})
}

// TestOnlyWhenItMatters: of 200 updates, the 20 that change the named
// field and leave the record passing the condition are delivered, and the
// webhook counts the 180 others it left out.
func TestOnlyWhenItMatters(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, db string, engineArgs ...string) {
		p := startHerald(t, db, engineArgs...)
		rc := newReceiver(t, nil)
		for _, bad := range []struct{ body, field string }{
			{`{"targetUrl":"` + rc.URL + `","operations":["*.updated"],"fields":["stage"]}`, "fields"},
			{`{"targetUrl":"` + rc.URL + `","operations":["opportunity.updated"],"fields":["colour"]}`, "fields"},
			{`{"targetUrl":"` + rc.URL + `","operations":["opportunity.updated"],"condition":"stage[near]:x"}`, "condition"},
		} {
			if code, out := call(t, "POST", p.URL+"/rest/webhooks", p.APIKey, bad.body); code != 400 || dig(out, "field") != bad.field {
				t.Errorf("%s: %d %v, want 400 on %s", bad.body, code, out, bad.field)
			}
		}
		code, out := call(t, "POST", p.URL+"/rest/webhooks", p.APIKey, `{"targetUrl":"`+rc.URL+`","operations":["opportunity.updated"],`+
			`"fields":["stage","amount"],"condition":"and(stage[eq]:CUSTOMER,amount.amountMicros[gte]:1000000000)"}`)
		if code != 201 {
			t.Fatalf("create: %d %v", code, out)
		}
		hookID := dig(out, "data", "createWebhook", "id").(string)
		ids := make([]string, 10)
		for i := range ids {
			_, out := call(t, "POST", p.URL+"/rest/opportunities", p.APIKey, `{"name":"Deal","amount":{"amountMicros":2000000000,"currencyCode":"EUR"}}`)
			ids[i] = dig(out, "data", "createOpportunity", "id").(string)
		}
		update := func(id, body string) {
			t.Helper()
			if code, out := call(t, "PATCH", p.URL+"/rest/opportunities/"+id, p.APIKey, body); code != 200 {
				t.Fatalf("update: %d %v", code, out)
			}
		}
		for round := range 20 {
			id := ids[round%10]
			update(id, `{"stage":"MEETING"}`)  // the field changes, the condition fails
			update(id, `{"stage":"CUSTOMER"}`) // both hold: delivered
			for k := range 8 {                 // another field: left out
				update(id, fmt.Sprintf(`{"name":"Deal %d-%d"}`, round, k))
			}
		}
		waitFor(t, "the matching updates", 20*time.Second, func() bool { return len(rc.requests()) >= 20 })
		time.Sleep(500 * time.Millisecond) // nothing more comes
		if n := len(rc.requests()); n != 20 {
			t.Fatalf("%d deliveries, want 20", n)
		}
		for _, r := range rc.requests() {
			if !strings.Contains(string(r.Body), `"stage":"CUSTOMER"`) || !strings.Contains(string(r.Body), `"updatedFields":["stage"]`) {
				t.Fatalf("delivered %s", r.Body)
			}
		}
		if hook := getWebhook(t, p, p.APIKey, hookID); hook["filteredEvents"] != 180.0 {
			t.Fatalf("filteredEvents = %v, want 180", hook["filteredEvents"])
		}
	})
}

// TestThrottleNeverDrops: a webhook throttled at 20 requests a second
// gets a burst of 1,000 events (50 people, 19 updates each): it receives
// every one, at 19–22 a second (never more than 110 in any 5 s: the
// turns hold, whatever the jitter of one request), each person's in order.
func TestThrottleNeverDrops(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, db string, engineArgs ...string) {
		const records, updates, rate = 50, 19, 20
		p := startHerald(t, db, engineArgs...)
		var mu sync.Mutex
		var at []time.Time
		version := map[string]int{}
		srv := hookServer(t, func(ev event, w http.ResponseWriter, _ *http.Request) {
			v := 0
			if ev.Data.JobTitle != nil {
				v, _ = strconv.Atoi(strings.TrimPrefix(*ev.Data.JobTitle, "v"))
			}
			mu.Lock()
			defer mu.Unlock()
			at = append(at, time.Now())
			if last, ok := version[ev.Data.ID]; ok && v != last+1 || !ok && ev.Event != "person.created" {
				t.Errorf("record %s: version %d arrived after %d", ev.Data.ID, v, last)
			}
			version[ev.Data.ID] = v
		})
		for _, bad := range []string{`-1`, `10001`, `"fast"`, `2.5`} {
			if code, out := call(t, "POST", p.URL+"/rest/webhooks", p.APIKey, `{"targetUrl":"`+srv.URL+`","throttleRate":`+bad+`}`); code != 400 || dig(out, "field") != "throttleRate" {
				t.Errorf("throttleRate %s: %d %v, want 400 naming throttleRate", bad, code, out)
			}
		}
		id, _ := createWebhook(t, p, p.APIKey, `{"targetUrl":"`+srv.URL+`","operations":["person.*"],"throttleRate":20}`)
		if got := getWebhook(t, p, p.APIKey, id)["throttleRate"]; got != 20.0 {
			t.Fatalf("throttleRate = %v, want 20", got)
		}
		start := time.Now()
		ids := createPeople(t, p, p.APIKey, numbered("T", records)...)
		writeVersions(t, p, ids, updates)
		written := time.Since(start)
		const total = records * (updates + 1)
		received := func() int { mu.Lock(); defer mu.Unlock(); return len(at) }
		waitFor(t, "every event", 2*total/rate*time.Second, func() bool { return received() >= total })
		time.Sleep(300 * time.Millisecond) // nothing more comes
		mu.Lock()
		defer mu.Unlock()
		if len(at) != total {
			t.Fatalf("%d requests, want %d", len(at), total)
		}
		const window = 5 * time.Second
		busiest := 0 // the most requests in any window
		for i, j := 0, 0; i < len(at); i++ {
			for at[i].Sub(at[j]) >= window {
				j++
			}
			busiest = max(busiest, i-j+1)
		}
		got := float64(len(at)-1) / at[len(at)-1].Sub(at[0]).Seconds()
		t.Logf("%d events written in %s, received at %.2f a second, at most %d in %s", total, written.Round(time.Millisecond), got, busiest, window)
		if got < 19 || got > 22 || busiest > 22*5 {
			t.Fatalf("received at %.2f a second, at most %d in %s; want 19–22 a second", got, busiest, window)
		}
		for _, id := range ids {
			if version[id] != updates {
				t.Fatalf("record %s: last version %d, want %d", id, version[id], updates)
			}
		}
	})
}

// TestOperationalEvents: a webhook that subscribes to Herald's own events
// is told, signed, when a delivery runs out of attempts, when a receiver's
// 410 Gone disables its webhook, and when that webhook is enabled again,
// with the delivery id the API shows; the webhooks they are about, and a
// webhook for every object, are told nothing.
func TestOperationalEvents(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, db string, engineArgs ...string) {
		p := startHerald(t, db, append(engineArgs, "--retry-schedule", schedule(2, 20*time.Millisecond))...)
		watch := newReceiver(t, nil)
		everything := newReceiver(t, nil)
		failing := newReceiver(t, func(int, *http.Request) int { return 503 })
		gone := newReceiver(t, func(int, *http.Request) int { return 410 })
		_, secret := createWebhook(t, p, p.APIKey, `{"targetUrl":"`+watch.URL+`","operations":["webhook.*","delivery.exhausted"]}`)
		createWebhook(t, p, p.APIKey, `{"targetUrl":"`+everything.URL+`","operations":["*.*"]}`)
		failingID, _ := createWebhook(t, p, p.APIKey, `{"targetUrl":"`+failing.URL+`","operations":["person.created","delivery.*"]}`)
		goneID, _ := createWebhook(t, p, p.APIKey, `{"targetUrl":"`+gone.URL+`","operations":["company.created","webhook.*"]}`)
		_, types := call(t, "GET", p.URL+"/rest/webhooks/event-types", p.APIKey, "")
		for _, name := range []string{"webhook.disabled", "webhook.enabled", "delivery.exhausted"} {
			if !slices.Contains(dig(types, "data", "eventTypes").([]any), any(name)) {
				t.Errorf("event types %v lack %s", types, name)
			}
		}

		call(t, "POST", p.URL+"/rest/people", p.APIKey, `{"name":{"firstName":"Failing"}}`)
		waitFor(t, "delivery.exhausted", 20*time.Second, func() bool { return len(watch.requests()) >= 1 })
		call(t, "POST", p.URL+"/rest/companies", p.APIKey, `{"name":"Gone"}`)
		waitFor(t, "the 410's events", 20*time.Second, func() bool { return len(watch.requests()) >= 3 })
		if code, out := call(t, "PATCH", p.URL+"/rest/webhooks/"+goneID, p.APIKey, `{"status":"active"}`); code != 200 {
			t.Fatalf("enable: %d %v", code, out)
		}
		waitFor(t, "webhook.enabled", 20*time.Second, func() bool { return len(watch.requests()) >= 4 })
		time.Sleep(300 * time.Millisecond) // nothing more comes

		got := map[string][]map[string]any{}
		for _, r := range watch.requests() {
			body := checkRequest(t, r, secret)
			got[body["event"].(string)] = append(got[body["event"].(string)], body["data"].(map[string]any))
		}
		if len(watch.requests()) != 4 || len(got["delivery.exhausted"]) != 2 || len(got["webhook.disabled"]) != 1 || len(got["webhook.enabled"]) != 1 {
			t.Fatalf("the watcher was told %v, want two delivery.exhausted, webhook.disabled, webhook.enabled", got)
		}
		_, out := call(t, "GET", p.URL+"/rest/webhooks/"+failingID+"/deliveries?status=failed", p.APIKey, "")
		var failed any
		for _, d := range dig(out, "data", "deliveries").([]any) {
			if dig(d, "event") == "person.created" {
				failed = d
			}
		}
		for _, d := range got["delivery.exhausted"] {
			if d["webhookId"] != failingID {
				continue
			}
			if d["id"] != dig(failed, "id") || d["event"] != "person.created" || d["attemptCount"] != 3.0 || d["lastStatusCode"] != 503.0 ||
				d["lastError"] != "HTTP 503 Service Unavailable" || d["status"] != "failed" {
				t.Errorf("delivery.exhausted %v, want the failed delivery %v", d, failed)
			}
		}
		if d := got["webhook.disabled"][0]; d["id"] != goneID || d["status"] != "disabled" || !strings.Contains(d["disabledReason"].(string), "410") {
			t.Errorf("webhook.disabled %v", d)
		}
		if d := got["webhook.enabled"][0]; d["id"] != goneID || d["status"] != "active" {
			t.Errorf("webhook.enabled %v", d)
		}
		// The failing webhook was told of the gone one's failure (and failed
		// that too, which tells nobody), never of its own.
		for _, r := range failing.requests() {
			var body struct{ Data struct{ WebhookID string } }
			_ = json.Unmarshal(r.Body, &body)
			if body.Data.WebhookID == failingID {
				t.Errorf("the failing webhook was told of its own failure: %s", r.Body)
			}
		}
		for _, r := range append(gone.requests(), everything.requests()...) {
			if strings.Contains(string(r.Body), `"event":"webhook.`) {
				t.Errorf("told %s", r.Body)
			}
		}
	})
}
