package main

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// bodies decodes every request a receiver got, by event name.
func bodies(t *testing.T, rc *receiver) map[string][]map[string]any {
	t.Helper()
	out := map[string][]map[string]any{}
	for _, r := range rc.requests() {
		var b map[string]any
		if err := json.Unmarshal(r.Body, &b); err != nil {
			t.Fatalf("body is not JSON: %s", r.Body)
		}
		name, _ := b["event"].(string)
		if name == "" {
			name, _ = b["eventName"].(string) // Twenty's format
		}
		out[name] = append(out[name], b)
	}
	return out
}

func TestCustomObjectsEventsAndTwentyFormat(t *testing.T) {
	t.Parallel()
	forEachEngine(t, func(t *testing.T, db string, engineArgs ...string) {
		p := startHerald(t, db, engineArgs...)
		key := p.APIKey
		herald, twenty := newReceiver(t, nil), newReceiver(t, nil)
		_, secret := createWebhook(t, p, key, `{"targetUrl":"`+herald.URL+`"}`)
		createWebhook(t, p, key, `{"targetUrl":"`+twenty.URL+`","payloadFormat":"twenty","operations":["pet.*"]}`)

		// Bad definitions are refused with the field at fault.
		for _, tc := range []struct {
			body        string
			code        int
			field, text string
		}{
			{`{"nameSingular":"pet","namePlural":"pets","fields":[{"name":"age","type":"integer"}]}`, 400, "fields[0].type", "not one of"},
			{`{"nameSingular":"person","namePlural":"persons"}`, 400, "nameSingular", "standard object"},
			{`{"nameSingular":"Pet","namePlural":"pets"}`, 400, "nameSingular", "lowerCamelCase"},
			{`{"nameSingular":"pet","namePlural":"pets","fields":[{"name":"kind","type":"select"}]}`, 400, "fields[0].options", "options"},
			{`{"nameSingular":"pet","namePlural":"pets","fields":[{"name":"vetId","type":"relation","relationTarget":"vet"}]}`, 400, "fields[0].relationTarget", "vet"},
			{`{"nameSingular":"pet","namePlural":"pets","colour":"red"}`, 400, "colour", "unknown field"},
		} {
			code, out := call(t, "POST", p.URL+"/rest/metadata/objects", key, tc.body)
			if code != tc.code || dig(out, "field") != tc.field || !strings.Contains(dig(out, "messages").([]any)[0].(string), tc.text) {
				t.Errorf("create %s: %d %v; want %d on %s", tc.body, code, out, tc.code, tc.field)
			}
		}

		code, out := call(t, "POST", p.URL+"/rest/metadata/objects", key, `{"nameSingular":"pet","namePlural":"pets","labelSingular":"Pet",
			"fields":[{"name":"name","type":"text"},{"name":"age","type":"number"},{"name":"vaccinated","type":"boolean"},
			{"name":"born","type":"date-time"},{"name":"vetEmail","type":"email"},{"name":"site","type":"url"},
			{"name":"kind","type":"select","options":["DOG","CAT"],"defaultValue":"DOG"},
			{"name":"ownerId","type":"relation","relationTarget":"person"}]}`)
		if code != 201 {
			t.Fatalf("create pet: %d %v", code, out)
		}
		petObjectID := dig(out, "data", "createOneObject", "id").(string)
		if code, _ := call(t, "POST", p.URL+"/rest/metadata/objects", key, `{"nameSingular":"pet","namePlural":"petz"}`); code != 409 {
			t.Errorf("second pet object: %d, want 409", code)
		}

		code, out = call(t, "POST", p.URL+"/rest/pets", key, `{"name":"Rex","age":3,"vaccinated":true,"born":"2022-05-01","vetEmail":{"primaryEmail":"vet@example.com"},"site":{"primaryLinkUrl":"rex.example"}}`)
		if code != 201 {
			t.Fatalf("create a pet: %d %v", code, out)
		}
		rex := dig(out, "data", "createPet").(map[string]any)
		if rex["kind"] != "DOG" || rex["born"] != "2022-05-01T00:00:00.000Z" {
			t.Errorf("created pet %v", rex)
		}
		if code, out := call(t, "POST", p.URL+"/rest/pets", key, `{"name":"Tom","age":"old"}`); code != 400 || dig(out, "field") != "age" {
			t.Errorf("pet with a text age: %d %v", code, out)
		}
		code, out = call(t, "PATCH", p.URL+"/rest/pets/"+rex["id"].(string), key, `{"age":4}`)
		if code != 200 {
			t.Fatalf("update pet: %d %v", code, out)
		}
		if code, out := call(t, "GET", p.URL+"/rest/pets?filter=age[gte]:4", key, ""); code != 200 || dig(out, "totalCount") != 1.0 {
			t.Errorf("filter pets: %d %v", code, out)
		}

		// A custom event, delivered like a record event.
		code, out = call(t, "POST", p.URL+"/rest/events", key, `{"event":"invoice.paid","data":{"invoiceId":"inv_1","amount":42}}`)
		if code != 201 {
			t.Fatalf("publish event: %d %v", code, out)
		}
		for _, bad := range []string{`{"event":"person.created","data":{}}`, `{"event":"pet.created","data":{}}`, `{"event":"invoice","data":{}}`, `{"event":"invoice.paid","data":[1]}`} {
			if code, out := call(t, "POST", p.URL+"/rest/events", key, bad); code != 400 {
				t.Errorf("publish %s: %d %v, want 400", bad, code, out)
			}
		}

		waitFor(t, "metadata, pet and invoice events", 20*time.Second, func() bool {
			b := bodies(t, herald)
			return len(b["metadata.object.created"]) == 1 && len(b["pet.created"]) == 1 && len(b["pet.updated"]) == 1 && len(b["invoice.paid"]) == 1
		})
		for _, r := range herald.requests() {
			checkRequest(t, r, secret)
		}
		got := bodies(t, herald)
		created := got["pet.created"][0]
		if dig(created, "data", "name") != "Rex" || dig(created, "data", "vaccinated") != true || dig(created, "data", "ownerId") != nil ||
			dig(created, "objectMetadata", "nameSingular") != "pet" || dig(created, "objectMetadata", "namePlural") != "pets" {
			t.Errorf("pet.created body %v", created)
		}
		if meta := got["metadata.object.created"][0]; dig(meta, "data", "nameSingular") != "pet" || len(dig(meta, "data", "fields").([]any)) != 8 {
			t.Errorf("metadata.object.created body %v", meta)
		}
		if inv := got["invoice.paid"][0]; dig(inv, "data", "amount") != 42.0 || dig(inv, "data", "invoiceId") != "inv_1" {
			t.Errorf("invoice.paid body %v", inv)
		}

		// Twenty's format: its exact field set, objectMetadata.id the
		// metadata API's id.
		waitFor(t, "the Twenty-format deliveries", 20*time.Second, func() bool { return len(twenty.requests()) == 2 })
		for i, r := range twenty.requests() {
			want := []string{"targetUrl", "eventName", "objectMetadata", "workspaceId", "webhookId", "eventDate", "record"}
			if i == 1 {
				want = append(want, "updatedFields")
			}
			if keys := topKeys(t, r.Body); !slices.Equal(keys, want) {
				t.Errorf("Twenty body keys %v, want %v", keys, want)
			}
			var b map[string]any
			_ = json.Unmarshal(r.Body, &b)
			if dig(b, "objectMetadata", "id") != petObjectID || dig(b, "record", "name") != "Rex" || b["targetUrl"] != twenty.URL {
				t.Errorf("Twenty body %s", r.Body)
			}
		}

		// Event types list custom objects and published events.
		_, out = call(t, "GET", p.URL+"/rest/webhooks/event-types", key, "")
		types := dig(out, "data", "eventTypes").([]any)
		for _, want := range []string{"pet.created", "pet.destroyed", "invoice.paid", "metadata.object.updated", "person.created", "webhook.test"} {
			if !slices.Contains(types, any(want)) {
				t.Errorf("event types lack %s: %v", want, types)
			}
		}

		// Fields: a type cannot change in place; removing one drops its values.
		code, out = call(t, "PATCH", p.URL+"/rest/metadata/objects/pets", key, `{"fields":[{"name":"name","type":"number"}]}`)
		if code != 422 {
			t.Errorf("change a field's type: %d %v, want 422", code, out)
		}
		code, out = call(t, "PATCH", p.URL+"/rest/metadata/objects/"+petObjectID, key, `{"fields":[{"name":"name","type":"text"},{"name":"age","type":"number"}]}`)
		if code != 200 || len(dig(out, "data", "updateOneObject", "fields").([]any)) != 2 {
			t.Fatalf("drop fields: %d %v", code, out)
		}
		_, out = call(t, "GET", p.URL+"/rest/pets/"+rex["id"].(string), key, "")
		if pet := dig(out, "data", "pet").(map[string]any); pet["vaccinated"] != nil || pet["age"] != 4.0 {
			t.Errorf("after dropping fields: %v", pet)
		}

		// The OpenAPI document shows the workspace's objects to its key.
		_, doc := call(t, "GET", p.URL+"/rest/open-api", key, "")
		if dig(doc, "paths", "/rest/pets") == nil || dig(doc, "components", "schemas", "Pet", "properties", "age") == nil {
			t.Errorf("open-api with a key lacks pets")
		}
		_, doc = call(t, "GET", p.URL+"/rest/open-api", "", "")
		if dig(doc, "paths", "/rest/pets") != nil || dig(doc, "paths", "/rest/people") == nil {
			t.Errorf("open-api without a key: pets shown or people missing")
		}

		// Deleting an object with records needs withRecords.
		if code, out := call(t, "DELETE", p.URL+"/rest/metadata/objects/pet", key, ""); code != 409 {
			t.Errorf("delete pet with records: %d %v, want 409", code, out)
		}
		if code, out := call(t, "DELETE", p.URL+"/rest/metadata/objects/person", key, ""); code != 403 {
			t.Errorf("delete person: %d %v, want 403", code, out)
		}
		if code, out := call(t, "DELETE", p.URL+"/rest/metadata/objects/pet?withRecords=true", key, ""); code != 200 {
			t.Errorf("delete pet with its records: %d %v", code, out)
		}
		if code, _ := call(t, "GET", p.URL+"/rest/pets", key, ""); code != 404 {
			t.Errorf("GET /rest/pets after delete: %d, want 404", code)
		}
		waitFor(t, "metadata.object.deleted", 20*time.Second, func() bool { return len(bodies(t, herald)["metadata.object.deleted"]) == 1 })
	})
}

var sampleRe = regexp.MustCompile(`(?m)^(herald_\w+(?:\{[^}]*\})?) (\S+)$`)

// scrape reads /metrics into series → value.
func scrape(t *testing.T, url string) map[string]float64 {
	t.Helper()
	resp, err := http.Get(url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("GET /metrics: %d %s", resp.StatusCode, raw)
	}
	out := map[string]float64{}
	for _, m := range sampleRe.FindAllStringSubmatch(string(raw), -1) {
		out[m[1]], _ = strconv.ParseFloat(m[2], 64)
	}
	return out
}

func TestMetricsMoveWithDeliveries(t *testing.T) {
	t.Parallel()
	p := startHerald(t, t.TempDir()+"/herald.db")
	ok := newReceiver(t, nil)
	down := newReceiver(t, func(int, *http.Request) int { return 503 })
	createWebhook(t, p, p.APIKey, `{"targetUrl":"`+ok.URL+`"}`)
	downID, _ := createWebhook(t, p, p.APIKey, `{"targetUrl":"`+down.URL+`"}`)
	before := scrape(t, p.URL)
	if before[`herald_deliveries_total{outcome="delivered"}`] != 0 || before["herald_queue_depth"] != 0 {
		t.Fatalf("metrics before any event: %v", before)
	}
	createPeople(t, p, p.APIKey, "Ada", "Grace", "Linus")
	// The counters move as attempts end, the queue once their outcomes
	// are written: a moment later.
	waitFor(t, "3 deliveries, 12 failed attempts and an empty queue", 20*time.Second, func() bool {
		m := scrape(t, p.URL)
		return m[`herald_deliveries_total{outcome="delivered"}`] == 3 && m[`herald_deliveries_total{outcome="failed"}`] == 3 && m["herald_queue_depth"] == 0
	})
	m := scrape(t, p.URL)
	// 4 attempts per failing delivery (3 retries): 3 retrying, 1 failed, each.
	for series, want := range map[string]float64{
		`herald_deliveries_total{outcome="retrying"}`:                           9,
		`herald_webhook_failures_total{code="503",webhook_id="` + downID + `"}`: 12,
		`herald_attempt_duration_seconds_count{result="success"}`:               3,
		`herald_attempt_duration_seconds_count{result="failure"}`:               12,
		`herald_queue_depth`: 0,
	} {
		if m[series] != want {
			t.Errorf("%s = %v, want %v", series, m[series], want)
		}
	}
	if _, ok := m["herald_queue_oldest_pending_age_seconds"]; !ok {
		t.Error("no herald_queue_oldest_pending_age_seconds")
	}
}

func TestListenVerifiesPrintsAndForwards(t *testing.T) {
	t.Parallel()
	p := startHerald(t, t.TempDir()+"/herald.db")
	app := newReceiver(t, func(int, *http.Request) int { return 202 })
	const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	cmd := exec.Command(heraldBin, "listen", "--port", "0", "--forward", app.URL)
	cmd.Env = append(os.Environ(), "HERALD_WEBHOOK_SECRET="+secret)
	out := &lockedBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Signal(os.Interrupt); _ = cmd.Wait() })
	var url string
	waitFor(t, "herald listen to start", 10*time.Second, func() bool {
		m := regexp.MustCompile(`Listening on (http://\S+):`).FindStringSubmatch(out.String())
		if m != nil {
			url = m[1]
		}
		return m != nil
	})
	id, _ := createWebhook(t, p, p.APIKey, `{"targetUrl":"`+url+`","secret":"`+secret+`"}`)
	createPeople(t, p, p.APIKey, "Ada")
	// The event's body is the last of what is printed of it: wait for it.
	waitFor(t, "the event printed and forwarded", 20*time.Second, func() bool {
		return strings.Contains(out.String(), `"firstName": "Ada"`) && len(app.requests()) == 1
	})
	for _, want := range []string{"person.created  evt_", "✓ Twenty and Standard Webhooks signatures verified", "answered 202"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("herald listen printed no %q:\n%s", want, out)
		}
	}
	checkRequest(t, app.requests()[0], secret) // forwarded with its signatures intact
	waitFor(t, "the delivery log to show the application's 202", 10*time.Second, func() bool {
		_, d := call(t, "GET", p.URL+"/rest/webhooks/"+id+"/deliveries?status=delivered", p.APIKey, "")
		ds := dig(d, "data", "deliveries").([]any)
		return len(ds) == 1 && ds[0].(map[string]any)["lastStatusCode"] == 202.0
	})
}
