package ui_test

import (
	"context"
	"encoding/json"
	"fmt"
	stdhtml "html"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/heraldhq/herald"
	"github.com/heraldhq/herald/delivery"
	"github.com/heraldhq/herald/httpapi"
	"github.com/heraldhq/herald/netguard"
	"github.com/heraldhq/herald/service"
	"github.com/heraldhq/herald/store/teststore"
	"github.com/heraldhq/herald/ui"
)

// env is a Herald as serve wires it: API, UI and delivery engine on a
// real SQLite file, plus a loopback receiver that answers status.
type env struct {
	t        *testing.T
	url      string
	key      string
	store    herald.Store
	receiver string

	mu       sync.Mutex
	received []string
	status   int
}

func newEnv(t *testing.T) *env {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	store := teststore.SQLite(t)
	e := &env{t: t, key: teststore.NewWorkspace(t, store, "default").Secret, store: store, status: 200}
	rc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		e.mu.Lock()
		e.received = append(e.received, string(b))
		status := e.status
		e.mu.Unlock()
		w.WriteHeader(status)
	}))
	t.Cleanup(rc.Close)
	e.receiver = rc.URL

	engine := delivery.New(store, delivery.Config{Schedule: []time.Duration{time.Hour}, Timeout: 5 * time.Second, PollInterval: 50 * time.Millisecond})
	done := make(chan struct{})
	go func() { defer close(done); _ = engine.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })

	// The SSRF guard as serve has it, letting through only the receiver.
	// Names resolve as a DNS that knows none would have them: never
	// through this machine's resolver.
	guard := netguard.New(netguard.Options{Resolver: noNames{}})
	services := service.New(service.Config{Store: store, Deliverer: engine, CheckTarget: func(ctx context.Context, u string) (string, error) {
		if strings.HasPrefix(u, rc.URL) {
			return "", nil
		}
		return guard.CheckURL(ctx, u)
	}})
	api := httpapi.New(httpapi.Config{Services: services, Store: store})
	web, err := ui.New(ui.Config{Services: services, Sessions: store, Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle(ui.Prefix+"/", web)
	mux.Handle("/", api)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	e.url = srv.URL
	return e
}

// browser is a client with a cookie jar that sends the headers a browser
// sends with a same-origin form, and does not follow redirects.
type browser struct {
	e      *env
	client *http.Client
}

func (e *env) browser() *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{e: e, client: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

type page struct {
	status   int
	body     string
	location string
	header   http.Header
}

func (b *browser) do(method, path string, form url.Values, headers ...string) page {
	b.e.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, b.e.url+path, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	req.Header.Set("Origin", b.e.url)
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := b.client.Do(req)
	if err != nil {
		b.e.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return page{status: resp.StatusCode, body: string(raw), location: resp.Header.Get("Location"), header: resp.Header}
}

func (b *browser) get(path string) page { b.e.t.Helper(); return b.do("GET", path, nil) }

func (b *browser) post(path string, form url.Values) page {
	b.e.t.Helper()
	return b.do("POST", path, form)
}

// follow posts a form and loads the page it redirects to.
func (b *browser) follow(path string, form url.Values) page {
	b.e.t.Helper()
	p := b.post(path, form)
	if p.status != http.StatusSeeOther {
		b.e.t.Fatalf("POST %s: %d, want a redirect\n%s", path, p.status, text(p.body))
	}
	return b.get(p.location)
}

func (b *browser) signIn() {
	b.e.t.Helper()
	if p := b.post("/ui/sign-in", url.Values{"apiKey": {b.e.key}}); p.status != http.StatusSeeOther {
		b.e.t.Fatalf("sign in: %d\n%s", p.status, text(p.body))
	}
}

// api calls the REST API with the env's key.
func (e *env) api(method, path, body string) answer {
	e.t.Helper()
	req, _ := http.NewRequest(method, e.url+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+e.key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out answer
	_ = json.NewDecoder(resp.Body).Decode(&out)
	if resp.StatusCode >= 300 {
		e.t.Fatalf("%s %s: %d %v", method, path, resp.StatusCode, out)
	}
	return out
}

func (e *env) webhooks() []any {
	e.t.Helper()
	return e.api("GET", "/rest/webhooks", "").data()["webhooks"].([]any)
}

var (
	tags   = regexp.MustCompile(`<[^>]*>`)
	spaces = regexp.MustCompile(`\s+`)
)

// text is a page's visible text, roughly: tags out, spaces squeezed.
func text(html string) string {
	return strings.TrimSpace(spaces.ReplaceAllString(stdhtml.UnescapeString(tags.ReplaceAllString(html, " ")), " "))
}

func wantText(t *testing.T, p page, want ...string) {
	t.Helper()
	got := text(p.body)
	for _, w := range want {
		if !strings.Contains(got, w) {
			t.Errorf("page (%d) lacks %q:\n%s", p.status, w, got)
		}
	}
}

func waitFor(t *testing.T, what string, f func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !f() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestPagesNeedASession(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	for _, path := range []string{"/ui/", "/ui/webhooks", "/ui/webhooks/new", "/ui/api-keys", "/ui/deliveries/dlv_1", "/ui/no-such-page"} {
		p := b.get(path)
		if p.status != http.StatusSeeOther || !strings.HasPrefix(p.location, "/ui/sign-in?next=") {
			t.Errorf("GET %s without a session: %d to %q, want a redirect to sign-in", path, p.status, p.location)
		}
	}
	if p := b.post("/ui/webhooks/new", url.Values{"targetUrl": {e.receiver}}); p.status != http.StatusSeeOther || len(e.webhooks()) != 0 {
		t.Errorf("POST without a session: %d, %d webhooks", p.status, len(e.webhooks()))
	}
	// htmx's polling is told to reload the whole page instead.
	if p := b.do("GET", "/ui/webhooks/x/activity", nil, "HX-Request", "true"); p.status != 401 || p.header.Get("HX-Redirect") != "/ui/sign-in" {
		t.Errorf("htmx request without a session: %d, HX-Redirect %q", p.status, p.header.Get("HX-Redirect"))
	}
	// A bad cookie is no session either.
	u, _ := url.Parse(e.url + "/ui/")
	b.client.Jar.SetCookies(u, []*http.Cookie{{Name: "herald_session", Value: "forged"}})
	if p := b.get("/ui/webhooks"); p.status != http.StatusSeeOther {
		t.Errorf("forged cookie: %d", p.status)
	}
}

func TestSignIn(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	if p := b.get("/ui/sign-in?next=/ui/api-keys"); p.status != 200 || !strings.Contains(p.body, `value="/ui/api-keys"`) {
		t.Fatalf("sign-in page: %d", p.status)
	}
	for _, c := range []struct{ key, want string }{
		{"", "Paste an API key"},
		{"letmein", "Herald's keys start with hk_"},
		{e.key + "x", "not valid, or it was revoked"},
	} {
		p := b.post("/ui/sign-in", url.Values{"apiKey": {c.key}})
		if p.status != http.StatusUnauthorized {
			t.Errorf("sign in with %q: %d", c.key, p.status)
		}
		wantText(t, p, c.want)
	}
	p := b.post("/ui/sign-in", url.Values{"apiKey": {" " + e.key + " "}, "next": {"/ui/api-keys"}})
	if p.status != http.StatusSeeOther || p.location != "/ui/api-keys" {
		t.Fatalf("sign in: %d to %q", p.status, p.location)
	}
	c := p.header.Get("Set-Cookie")
	for _, attr := range []string{"herald_session=", "Path=/ui", "HttpOnly", "SameSite=Lax"} {
		if !strings.Contains(c, attr) {
			t.Errorf("session cookie %q lacks %s", c, attr)
		}
	}
	if strings.Contains(c, e.key) {
		t.Error("the cookie holds the API key itself")
	}
	// next may only lead inside the UI.
	for _, next := range []string{"https://evil.example/", "//evil.example/ui/", "/rest/people"} {
		if p := b.post("/ui/sign-in", url.Values{"apiKey": {e.key}, "next": {next}}); p.location != "/ui/webhooks" {
			t.Errorf("next=%q led to %q", next, p.location)
		}
	}
	wantText(t, b.get("/ui/webhooks"), "No webhooks yet", "default · hk_")

	// Signing out ends the session for good, even if the cookie is kept.
	jarCookies := b.client.Jar.Cookies(mustURL(e.url + "/ui/"))
	if p := b.post("/ui/sign-out", url.Values{}); p.status != http.StatusSeeOther {
		t.Fatalf("sign out: %d", p.status)
	}
	b.client.Jar.SetCookies(mustURL(e.url+"/ui/"), jarCookies)
	if p := b.get("/ui/webhooks"); p.status != http.StatusSeeOther {
		t.Errorf("old cookie after sign-out: %d", p.status)
	}
}

func mustURL(s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		panic(err)
	}
	return u
}

func TestCrossSiteFormsAreRefused(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	b.signIn()
	for _, h := range [][]string{
		{"Sec-Fetch-Site", "cross-site", "Origin", "https://evil.example"},
		{"Sec-Fetch-Site", "", "Origin", "https://evil.example"},
	} {
		p := b.do("POST", "/ui/webhooks/new", url.Values{"targetUrl": {e.receiver}, "object": {"*"}, "action": {"*"}, "intent": {"save"}}, h...)
		if p.status != http.StatusForbidden {
			t.Errorf("cross-site form %v: %d", h, p.status)
		}
		wantText(t, p, "sent from another site")
	}
	if n := len(e.webhooks()); n != 0 {
		t.Fatalf("a cross-site form created %d webhooks", n)
	}
}

func TestWebhookFormErrors(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	b.signIn()
	cases := []struct {
		name string
		form url.Values
		want string
	}{
		{"not a URL", url.Values{"targetUrl": {"not a url"}, "object": {"*"}, "action": {"*"}}, "targetUrl"},
		{"ftp", url.Values{"targetUrl": {"ftp://example.com/x"}, "object": {"*"}, "action": {"*"}}, "http or https"},
		{"private address", url.Values{"targetUrl": {"http://10.1.2.3/hook"}, "object": {"*"}, "action": {"*"}}, "targetUrl refused: 10.1.2.3 is a private address"},
		{"loopback", url.Values{"targetUrl": {"http://127.0.0.2:9/hook"}, "object": {"*"}, "action": {"*"}}, "targetUrl refused"},
		{"no filter", url.Values{"targetUrl": {e.receiver}}, "Add at least one event filter row"},
		{"bad object name", url.Values{"targetUrl": {e.receiver}, "object": {"no such!"}, "action": {"created"}}, "no such!"},
		{"long description", url.Values{"targetUrl": {e.receiver}, "object": {"*"}, "action": {"*"}, "description": {strings.Repeat("d", 1025)}}, "description is longer than 1024 bytes"},
		{"bad payload format", url.Values{"targetUrl": {e.receiver}, "object": {"*"}, "action": {"*"}, "payloadFormat": {"xml"}}, "payloadFormat must be"},
		{"a header line without a colon", url.Values{"targetUrl": {e.receiver}, "object": {"*"}, "action": {"*"}, "headers": {"X-Api-Key k"}}, "Line 1 of the headers"},
		{"a signature header", url.Values{"targetUrl": {e.receiver}, "object": {"*"}, "action": {"*"}, "headers": {"webhook-id: x"}}, "Herald's signature headers"},
		{"fields of any object", url.Values{"targetUrl": {e.receiver}, "object": {"*"}, "action": {"*"}, "fields": {"stage"}}, "needs operations of one object"},
		{"a bad condition", url.Values{"targetUrl": {e.receiver}, "object": {"opportunity"}, "action": {"updated"}, "condition": {"stage[near]:x"}}, "invalid condition"},
		{"a rate that is not a number", url.Values{"targetUrl": {e.receiver}, "object": {"*"}, "action": {"*"}, "throttleRate": {"fast"}}, "The rate limit must be a whole number"},
		{"a rate too high", url.Values{"targetUrl": {e.receiver}, "object": {"*"}, "action": {"*"}, "throttleRate": {"20000"}}, "throttleRate must be a whole number"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.form.Set("intent", "save")
			p := b.post("/ui/webhooks/new", c.form)
			if p.status != http.StatusUnprocessableEntity {
				t.Fatalf("%d, want 422 with the form again", p.status)
			}
			wantText(t, p, c.want)
			// What was typed comes back.
			if u := c.form.Get("targetUrl"); u != "" && !strings.Contains(p.body, `value="`+u+`"`) {
				t.Errorf("the form lost the URL %q", u)
			}
		})
	}
	if n := len(e.webhooks()); n != 0 {
		t.Fatalf("refused forms created %d webhooks", n)
	}
}

func TestFilterRows(t *testing.T) {
	e := newEnv(t)
	e.api("POST", "/rest/metadata/objects", `{"nameSingular":"pet","namePlural":"pets","fields":[{"name":"kind","type":"text"}]}`)
	e.api("POST", "/rest/events", `{"event":"invoice.paid","data":{}}`)
	b := e.browser()
	b.signIn()
	p := b.get("/ui/webhooks/new")
	// Custom objects and events are choices, next to the standard ones.
	for _, opt := range []string{`<option value="pet"`, `<option value="invoice"`, `<option value="person"`, `<option value="paid"`, `<option value="destroyed"`} {
		if !strings.Contains(p.body, opt) {
			t.Errorf("the filter lacks %s", opt)
		}
	}
	form := url.Values{"targetUrl": {e.receiver}, "object": {"person", "pet"}, "action": {"created", "*"}, "intent": {"add-row"}}
	p = b.post("/ui/webhooks/new", form)
	if n := strings.Count(p.body, `name="object"`); p.status != 200 || n != 3 {
		t.Fatalf("add a row: %d with %d rows, want 3", p.status, n)
	}
	form.Set("intent", "remove-row-0")
	p = b.post("/ui/webhooks/new", form)
	if n := strings.Count(p.body, `name="object"`); n != 1 || !strings.Contains(p.body, `<option value="pet" selected>`) {
		t.Fatalf("remove the first row: %d rows left", n)
	}
	form.Set("intent", "save")
	form["object"], form["action"] = []string{"person", "pet", "person"}, []string{"created", "*", "created"}
	if p := b.follow("/ui/webhooks/new", form); p.status != 200 {
		t.Fatalf("save: %d", p.status)
	}
	ops := e.webhooks()[0].(map[string]any)["operations"]
	if fmt.Sprint(ops) != "[person.created pet.*]" {
		t.Fatalf("operations = %v, want person.created and pet.* once each", ops)
	}
}

// TestEventTypesPage shows every event type of the workspace, custom
// objects' and events' included, with an example and a schema in each
// payload format.
func TestEventTypesPage(t *testing.T) {
	e := newEnv(t)
	e.api("POST", "/rest/metadata/objects", `{"nameSingular":"pet","namePlural":"pets","fields":[{"name":"kind","type":"text"}]}`)
	e.api("POST", "/rest/events", `{"event":"invoice.paid","data":{}}`)
	b := e.browser()
	b.signIn()
	p := b.get("/ui/event-types")
	wantText(t, p, "Event types", "person.created", "pet.updated", "invoice.paid", "metadata.object.created", "webhook.test",
		"webhook.disabled", "delivery.exhausted", "herald: example", "twenty: schema", "updatedFields", "previousData")
	if !strings.Contains(p.body, `aria-current="page">Event types`) {
		t.Error("the nav does not mark the event types page")
	}
	// The examples are the bodies Herald writes: a person's carries its
	// composite fields whole.
	if !strings.Contains(p.body, `&#34;primaryEmail&#34;: &#34;ada@example.com&#34;`) {
		t.Error("the person example lacks its emails")
	}
}

// TestWebhookLifecycle goes through every page of a webhook the way a
// user would: create, see a delivery, open it, retry, test, replay,
// rotate, edit, disable, delete.
func TestWebhookLifecycle(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	b.signIn()
	p := b.follow("/ui/webhooks/new", url.Values{"targetUrl": {e.receiver + "/hook"}, "description": {"CRM sync"}, "object": {"person"}, "action": {"*"},
		"headers": {"X-Api-Key: k1\r\n\r\nauthorization: Bearer t"}, "intent": {"save"}})
	wantText(t, p, "Webhook created", e.receiver+"/hook", "CRM sync", "No deliveries", "Authorization X-Api-Key (values hidden)")
	if strings.Contains(p.body, "Bearer t") {
		t.Error("the webhook page shows a header's value")
	}
	hooks := e.webhooks()
	if len(hooks) != 1 {
		t.Fatalf("%d webhooks", len(hooks))
	}
	hook := hooks[0].(map[string]any)
	id, secret := hook["id"].(string), hook["secret"].(string)
	if !strings.Contains(text(p.body), secret) {
		t.Error("the webhook page does not show the secret")
	}
	wantText(t, b.get("/ui/webhooks"), e.receiver+"/hook", "CRM sync", "person (any action)", "active", "no attempts")

	ada := e.api("POST", "/rest/people", `{"name":{"firstName":"Ada"}}`)["data"].(map[string]any)["createPerson"].(map[string]any)["id"].(string)
	e.api("POST", "/rest/companies", `{"name":"Not for this webhook"}`)
	waitFor(t, "the delivery", func() bool {
		return strings.Contains(b.get("/ui/webhooks/"+id).body, `<span class="badge badge-delivered">delivered</span>`)
	})
	p = b.get("/ui/webhooks/" + id)
	wantText(t, p, "person.created", "delivered", "200", "1 delivered 0 failed")
	if strings.Contains(p.body, "company.created") {
		t.Error("a company event is in the log of a person-only webhook")
	}
	if !strings.Contains(p.body, `hx-trigger="every 3s"`) {
		t.Error("the log does not refresh itself")
	}
	// The chart has a scale: one attempt at its top.
	if !regexp.MustCompile(`<line class="grid"[^>]*y1="0"[^>]*></line><text class="axis"[^>]*>1</text>`).MatchString(p.body) {
		t.Error("the chart has no scale line for its tallest bar")
	}
	wantText(t, b.get("/ui/webhooks"), "100% of 1")
	act := b.do("GET", "/ui/webhooks/"+id+"/activity", nil, "HX-Request", "true")
	if act.status != 200 || strings.Contains(act.body, "<html") || !strings.Contains(act.body, "person.created") {
		t.Errorf("the activity fragment: %d, whole page %v", act.status, strings.Contains(act.body, "<html"))
	}

	dlv := regexp.MustCompile(`/ui/deliveries/(dlv_[a-z2-7]{13})`).FindStringSubmatch(p.body)[1]
	p = b.get("/ui/deliveries/" + dlv)
	wantText(t, p, "Delivery "+dlv, "person.created", "webhook-signature", "v1,", "X-Twenty-Webhook-Signature", "Herald-Webhooks/test", `"firstName": "Ada"`, "delivered")

	// Retry: sent once more.
	e.mu.Lock()
	e.status = 503
	before := len(e.received)
	e.mu.Unlock()
	p = b.follow("/ui/deliveries/"+dlv+"/retry", url.Values{"from": {"delivery"}})
	wantText(t, p, "Delivery queued")
	waitFor(t, "the retry", func() bool { e.mu.Lock(); defer e.mu.Unlock(); return len(e.received) > before })
	waitFor(t, "the failed attempt in the log", func() bool {
		return strings.Contains(text(b.get("/ui/deliveries/"+dlv).body), "503")
	})
	// A change of the same person now waits behind the failing delivery.
	e.api("PATCH", "/rest/people/"+ada, `{"city":"Paris"}`)
	wantText(t, b.get("/ui/webhooks/"+id), "person.updated", "after the record's earlier delivery")
	waiting := regexp.MustCompile(`/ui/deliveries/(dlv_[a-z2-7]{13})`).FindStringSubmatch(b.get("/ui/webhooks/" + id).body)[1]
	wantText(t, b.get("/ui/deliveries/"+waiting), "person.updated", "waiting for an earlier delivery of this record")

	// Test event: the outcome is on the page, with a link to it.
	p = b.follow("/ui/webhooks/"+id+"/test", url.Values{})
	wantText(t, p, "Test event sent: failed, HTTP 503", "Open delivery dlv_")
	e.mu.Lock()
	e.status = 200
	e.mu.Unlock()
	// The log filters by status.
	failed := text(b.get("/ui/webhooks/" + id + "?status=failed").body)
	if !strings.Contains(failed, "webhook.test") || strings.Contains(failed, "person.created") {
		t.Errorf("failed deliveries only: %s", failed)
	}

	// Recover since an hour ago: the failed test send alone.
	p = b.follow("/ui/webhooks/"+id+"/recover", url.Values{"since": {time.Now().UTC().Add(-time.Hour).Format("2006-01-02T15:04")}})
	wantText(t, p, "Failed deliveries queued to be sent again: 1;")

	// Replay since an hour ago: the person event again.
	p = b.follow("/ui/webhooks/"+id+"/replay", url.Values{"since": {time.Now().UTC().Add(-time.Hour).Format("2006-01-02T15:04")}})
	wantText(t, p, "deliveries queued to be sent again")
	if p := b.post("/ui/webhooks/"+id+"/replay", url.Values{"since": {"yesterday"}}); p.status != 400 {
		t.Errorf("replay since a bad time: %d", p.status)
	}

	// The failed filter offers to retry all of them; pending has no such button.
	waitFor(t, "the recovered test send to be delivered", func() bool {
		return strings.Contains(b.get("/ui/webhooks/"+id+"?status=delivered").body, "webhook.test")
	})
	if !strings.Contains(b.get("/ui/webhooks/"+id+"?status=delivered").body, "Retry all delivered") ||
		strings.Contains(b.get("/ui/webhooks/"+id+"?status=pending").body, "Retry all") {
		t.Error("the retry-all button is not where it should be")
	}
	e.mu.Lock()
	before = len(e.received)
	e.mu.Unlock()
	p = b.follow("/ui/webhooks/"+id+"/retry", url.Values{"status": {"delivered"}})
	if !regexp.MustCompile(`[1-9]\d* deliveries queued to be sent again, each record's in order`).MatchString(text(p.body)) {
		t.Errorf("after retry all delivered: %s", text(p.body))
	}
	if p := b.post("/ui/webhooks/"+id+"/retry", url.Values{"status": {"pending"}}); p.status != 400 {
		t.Errorf("retry all pending: %d, want 400", p.status)
	}
	waitFor(t, "the bulk retry's attempts", func() bool { e.mu.Lock(); defer e.mu.Unlock(); return len(e.received) > before })

	// Rotate: a new secret, the old one still signing.
	p = b.follow("/ui/webhooks/"+id+"/rotate-secret", url.Values{})
	wantText(t, p, "Secret rotated", "The previous secret also signs until")
	if newSecret := e.webhooks()[0].(map[string]any)["secret"].(string); newSecret == secret || !strings.Contains(text(p.body), newSecret) {
		t.Error("rotation did not show a new secret")
	}

	// Edit keeps what it does not change.
	p = b.get("/ui/webhooks/" + id + "/edit")
	if !strings.Contains(p.body, `value="CRM sync"`) || !strings.Contains(p.body, `<option value="person" selected>`) ||
		!strings.Contains(p.body, "Authorization: ********\nX-Api-Key: ********") {
		t.Error("the edit form is not filled in")
	}
	// Masked values given back keep the headers; a new value changes one.
	b.follow("/ui/webhooks/"+id+"/edit", url.Values{"targetUrl": {e.receiver + "/hook"}, "object": {"person"}, "action": {"*"},
		"headers": {"Authorization: ********\nX-Api-Key: k2"}, "intent": {"save"}})
	ws, err := e.store.FindWorkspace(context.Background(), "default")
	if err != nil {
		t.Fatal(err)
	}
	if got, err := e.store.FindWebhook(context.Background(), ws.ID, id); err != nil || got.Headers["Authorization"] != "Bearer t" || got.Headers["X-Api-Key"] != "k2" {
		t.Errorf("headers after an edit: %v, %v", got, err)
	}
	p = b.follow("/ui/webhooks/"+id+"/edit", url.Values{"targetUrl": {e.receiver + "/v2"}, "description": {"CRM sync v2"}, "object": {"*"}, "action": {"created"}, "payloadFormat": {"twenty"}, "intent": {"save"}})
	wantText(t, p, "Webhook saved", e.receiver+"/v2", "*.created", "twenty")

	// Disable and enable.
	wantText(t, b.follow("/ui/webhooks/"+id+"/status", url.Values{"status": {"disabled"}}), "Webhook disabled", "disabled through the API")
	wantText(t, b.follow("/ui/webhooks/"+id+"/status", url.Values{"status": {"active"}}), "Webhook enabled")

	// Delete asks first.
	wantText(t, b.get("/ui/webhooks/"+id+"/delete"), "Delete the webhook to "+e.receiver+"/v2?", "cannot be undone")
	wantText(t, b.follow("/ui/webhooks/"+id+"/delete", url.Values{}), "Webhook deleted", "No webhooks yet")
	p = b.get("/ui/webhooks/" + id)
	if p.status != 404 {
		t.Errorf("deleted webhook page: %d", p.status)
	}
	wantText(t, p, "not found")
}

func TestAPIKeysPage(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	b.signIn()
	p := b.post("/ui/api-keys", url.Values{"name": {"  "}})
	if p.status != http.StatusUnprocessableEntity {
		t.Errorf("a key without a name: %d", p.status)
	}
	wantText(t, p, "name is required")
	p = b.post("/ui/api-keys", url.Values{"name": {"billing sync"}})
	if p.status != http.StatusCreated {
		t.Fatalf("create key: %d", p.status)
	}
	wantText(t, p, "Key “billing sync” created", "shown only this once")
	newKey := regexp.MustCompile(`hk_[A-Za-z0-9_-]{40,}`).FindString(p.body)
	if newKey == "" {
		t.Fatal("the new key is not on the page")
	}
	// It works, and the list shows only its prefix from now on.
	req, _ := http.NewRequest("GET", e.url+"/rest/people", nil)
	req.Header.Set("Authorization", "Bearer "+newKey)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 200 {
		t.Fatalf("the new key does not work: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}
	p = b.get("/ui/api-keys")
	if strings.Contains(p.body, newKey) {
		t.Error("the key is shown again")
	}
	wantText(t, p, "billing sync", "default", "this session")

	// The session's own key cannot be revoked from it.
	var ownID, otherID string
	for _, k := range e.api("GET", "/rest/api-keys", "").data()["apiKeys"].([]any) {
		k := k.(map[string]any)
		if k["name"] == "default" {
			ownID = k["id"].(string)
		} else {
			otherID = k["id"].(string)
		}
	}
	wantText(t, b.get("/ui/api-keys/"+ownID+"/revoke"), "You are signed in with this key")
	if p := b.post("/ui/api-keys/"+ownID+"/revoke", url.Values{}); p.status != http.StatusConflict {
		t.Errorf("revoke own key: %d", p.status)
	}

	// A session opened with the other key ends when it is revoked.
	other := e.browser()
	if p := other.post("/ui/sign-in", url.Values{"apiKey": {newKey}}); p.status != http.StatusSeeOther {
		t.Fatal("sign in with the new key")
	}
	wantText(t, b.get("/ui/api-keys/"+otherID+"/revoke"), "Revoke the API key “billing sync”")
	wantText(t, b.follow("/ui/api-keys/"+otherID+"/revoke", url.Values{}), "API key revoked", "revoked")
	if p := other.get("/ui/webhooks"); p.status != http.StatusSeeOther {
		t.Errorf("a session of a revoked key: %d", p.status)
	}
}

func TestStaticAndHeaders(t *testing.T) {
	e := newEnv(t)
	b := e.browser()
	for _, path := range []string{"/ui/static/htmx.min.js", "/ui/static/style.css", "/ui/static/ui.js"} {
		p := b.get(path)
		if p.status != 200 || len(p.body) < 100 || !strings.Contains(p.header.Get("Cache-Control"), "max-age") {
			t.Errorf("%s: %d, %d bytes, Cache-Control %q", path, p.status, len(p.body), p.header.Get("Cache-Control"))
		}
	}
	p := b.get("/ui/sign-in")
	if csp := p.header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") || !strings.Contains(csp, "frame-ancestors 'none'") {
		t.Errorf("Content-Security-Policy %q", csp)
	}
	if p.header.Get("X-Content-Type-Options") != "nosniff" {
		t.Error("no nosniff")
	}
}

// answer is a decoded API answer.
type answer map[string]any

func (a answer) data() map[string]any { return a["data"].(map[string]any) }

func TestFormsAreCappedBeforeTheyAreRead(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	big := strings.Repeat("x", 1<<20)
	multipart := "--b\r\nContent-Disposition: form-data; name=\"apiKey\"; filename=\"k\"\r\n\r\n" + big + "\r\n--b--\r\n"
	tests := []struct {
		name, path, contentType, body string
		status                        int
	}{
		{"a multipart sign-in is refused unread", "/ui/sign-in", "multipart/form-data; boundary=b", multipart, 415},
		{"a huge sign-in form is refused", "/ui/sign-in", "application/x-www-form-urlencoded", "apiKey=" + big, 413},
		{"a sign-in just past its limit is refused", "/ui/sign-in", "application/x-www-form-urlencoded", "apiKey=" + strings.Repeat("k", 4<<10), 413},
		{"a huge form after sign-in is refused", "/ui/webhooks", "application/x-www-form-urlencoded", "targetUrl=" + big, 413},
		{"a usual sign-in is read", "/ui/sign-in", "application/x-www-form-urlencoded", "apiKey=wrong", 401},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest("POST", e.url+tc.path, strings.NewReader(tc.body))
			req.Header.Set("Content-Type", tc.contentType)
			req.Header.Set("Sec-Fetch-Site", "same-origin")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, tc.status)
			}
		})
	}
}

// noNames is a resolver that knows no name, as a DNS before a new host's
// records are published would answer.
type noNames struct{}

func (noNames) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	return nil, &net.DNSError{Err: "no such host", Name: host, Server: "10.9.8.7:53", IsNotFound: true}
}

func TestAWebhookWhoseNameDoesNotResolveYetIsSavedWithAWarning(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := e.browser()
	b.signIn()
	p := b.post("/ui/webhooks/new", url.Values{"targetUrl": {"https://not-yet.example.com/hook"}, "object": {"*"}, "action": {"*"}, "intent": {"save"}})
	if p.status != http.StatusSeeOther {
		t.Fatalf("save: %d %s", p.status, text(p.body))
	}
	shown := b.get(p.location)
	wantText(t, shown, "Webhook created, but note: the host not-yet.example.com does not resolve now (no such host)")
	if strings.Contains(shown.body, "10.9.8.7") {
		t.Fatal("the page shows the resolver's address")
	}
}

// TestBehindATLSProxy: with an https public URL, the session cookie is
// Secure though the request reached Herald over plain HTTP, and forms
// sent from the public origin pass the cross-origin check.
func TestBehindATLSProxy(t *testing.T) {
	t.Parallel()
	store := teststore.SQLite(t)
	secret := teststore.NewWorkspace(t, store, "default").Secret
	for _, tc := range []struct {
		public string
		secure bool
	}{{"https://crm.example.com", true}, {"http://crm.example.com", false}, {"", false}} {
		t.Run("public URL "+tc.public, func(t *testing.T) {
			var public *url.URL
			if tc.public != "" {
				public, _ = url.Parse(tc.public)
			}
			web, err := ui.New(ui.Config{Services: service.New(service.Config{Store: store}), Sessions: store, PublicURL: public})
			if err != nil {
				t.Fatal(err)
			}
			req := httptest.NewRequest("POST", "http://10.0.0.5:3000/ui/sign-in", strings.NewReader(url.Values{"apiKey": {secret}}.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			if tc.public != "" {
				// The browser's origin is the public one; the proxy sent its own Host.
				req.Header.Set("Origin", tc.public)
			}
			rec := httptest.NewRecorder()
			web.ServeHTTP(rec, req)
			if rec.Code != http.StatusSeeOther {
				t.Fatalf("sign-in: %d %s", rec.Code, text(rec.Body.String()))
			}
			cookies := rec.Result().Cookies()
			if len(cookies) != 1 || cookies[0].Secure != tc.secure {
				t.Fatalf("cookies %v, want one with Secure=%v", cookies, tc.secure)
			}
		})
	}
}

// TestAFailingWebhookIsFlagged: an active webhook whose attempts all fail
// is marked failing, with when it began and the last error, in the list
// and on its page, not only shown with its green "active" badge.
func TestAFailingWebhookIsFlagged(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.mu.Lock()
	e.status = 503
	e.mu.Unlock()
	b := e.browser()
	b.signIn()
	if p := b.post("/ui/webhooks/new", url.Values{"targetUrl": {e.receiver}, "object": {"*"}, "action": {"*"}, "intent": {"save"}}); p.status != http.StatusSeeOther {
		t.Fatalf("save: %d", p.status)
	}
	e.api("POST", "/rest/people", `{"name":{"firstName":"Ada"}}`)
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(b.get("/ui/webhooks").body, "failing since") {
		if time.Now().After(deadline) {
			t.Fatalf("the list does not flag the failing webhook:\n%s", text(b.get("/ui/webhooks").body))
		}
		time.Sleep(50 * time.Millisecond)
	}
	list := b.get("/ui/webhooks")
	if !strings.Contains(list.body, `title="HTTP 503 Service Unavailable"`) {
		t.Errorf("the list's flag does not give the last error:\n%s", list.body)
	}
	id := regexp.MustCompile(`/ui/webhooks/([0-9a-f-]{36})`).FindStringSubmatch(list.body)[1]
	wantText(t, b.get("/ui/webhooks/"+id), "failing since", "Every attempt has failed since", "the last: HTTP 503 Service Unavailable")
}
