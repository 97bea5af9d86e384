package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// FullScreenshot(100) is a PNG; lower qualities are JPEG.

// chromiumPath is where Debian's chromium package puts the browser.
const chromiumPath = "/usr/bin/chromium"

// screenshotDir is where the browser test leaves a PNG of each page, for
// a reviewer to look at: $HERALD_SCREENSHOTS (.ci/run sets it to
// artifacts/ui-screenshots), else a folder under the system's temp dir.
func screenshotDir(t *testing.T) string {
	dir := os.Getenv("HERALD_SCREENSHOTS")
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "herald-ui-screenshots")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshots of every page: %s", dir)
	return dir
}

// TestUIInBrowser drives the web UI in Debian's headless Chromium, as a
// user would: sign in, create a webhook to a loopback receiver, see a
// delivery of a person created through the API appear in the log (which
// refreshes itself), retry it, open it, send a test event, rotate the
// secret, make an API key, and delete the webhook.
func TestUIInBrowser(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath(chromiumPath); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is not installed; .ci/run installs Debian's chromium", chromiumPath)
		}
		t.Skipf("SKIPPED LOUDLY: %s is not installed (apt-get install chromium), so the web UI is not tested in a browser", chromiumPath)
	}
	shots := screenshotDir(t)
	p := startHerald(t, filepath.Join(t.TempDir(), "herald.db"))
	rc := newReceiver(t, nil)

	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(chromiumPath), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1280, 1000))
	defer cancelAlloc()
	var consoleErrors []string
	browser, cancelBrowser := chromedp.NewContext(alloc, chromedp.WithBrowserOption(chromedp.WithConsolef(func(format string, args ...any) {
		consoleErrors = append(consoleErrors, fmt.Sprintf(format, args...))
	})))
	defer cancelBrowser()
	// The first run starts the browser and must not carry a timeout.
	if err := chromedp.Do(browser, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	ctx, cancel := context.WithTimeout(browser, 2*time.Minute)
	defer cancel()

	step := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, actions...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	shot := func(name string) {
		t.Helper()
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatalf("screenshot %s: %v", name, err)
		}
		if err := os.WriteFile(filepath.Join(shots, name+".png"), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	textOf := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("text of %s: %v", sel, err)
		}
		return s
	}
	// waitText waits until the element's text holds want. It checks again
	// and again rather than reload, so it sees what htmx's refresh of the
	// log brings, and it rides over the page changing under it after a
	// form is sent.
	waitText := func(sel, want string) {
		t.Helper()
		js := fmt.Sprintf(`(() => { const el = document.querySelector(%q); return !!el && el.innerText.includes(%q); })()`, sel, want)
		deadline := time.Now().Add(20 * time.Second)
		for {
			ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](js))
			if err == nil && ok {
				return
			}
			if time.Now().After(deadline) {
				got, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("body")))
				t.Fatalf("waiting for %q in %s: %v\npage text:\n%s", want, sel, err, got)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}

	// Every page needs a session: the UI sends us to sign in.
	step("open the UI", chromedp.Navigate(p.URL+"/"), chromedp.WaitVisible(chromedp.CSS("#apiKey")))
	shot("01-sign-in")
	step("sign in with a wrong key",
		chromedp.SendKeys(chromedp.CSS("#apiKey"), "hk_wrong"), chromedp.Click(chromedp.CSS("form button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS("#apiKey-error")))
	if got := textOf("#apiKey-error"); !strings.Contains(got, "not valid") {
		t.Errorf("wrong key: %q", got)
	}
	step("sign in",
		chromedp.SendKeys(chromedp.CSS("#apiKey"), p.APIKey), chromedp.Click(chromedp.CSS("form button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS(".card.empty")))
	shot("02-webhooks-empty")
	if ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`typeof htmx === "object"`)); err != nil || !ok {
		t.Errorf("htmx is not loaded from the embedded assets: %v", err)
	}

	// Create: a refused URL first, then a person-only webhook.
	step("open the create form",
		chromedp.Click(chromedp.CSS(`a[href="/ui/webhooks/new"]`)), chromedp.WaitVisible(chromedp.CSS("#targetUrl")))
	step("save a URL Herald refuses",
		chromedp.SendKeys(chromedp.CSS("#targetUrl"), "ftp://files.example.com/in"),
		chromedp.Click(chromedp.CSS(`button[value=save]`)), chromedp.WaitVisible(chromedp.CSS("#form-error")))
	if got := textOf("#form-error"); !strings.Contains(got, "must start with http:// or https://") {
		t.Errorf("refused URL: %q", got)
	}
	shot("03-create-webhook-error")
	step("fill in the form",
		chromedp.SetValue(chromedp.CSS("#targetUrl"), rc.URL+"/crm"),
		chromedp.SendKeys(chromedp.CSS("#description"), "CRM sync"),
		chromedp.Click(chromedp.CSS(`button[value=add-row]`)),
		chromedp.WaitVisible(chromedp.CSS(`table.filter tbody tr:nth-child(2)`)),
		chromedp.SetValue(chromedp.CSS(`table.filter tbody tr:nth-child(1) select[name=object]`), "person"),
		chromedp.SetValue(chromedp.CSS(`table.filter tbody tr:nth-child(2) select[name=object]`), "company"),
		chromedp.SetValue(chromedp.CSS(`table.filter tbody tr:nth-child(2) select[name=action]`), "deleted"),
		chromedp.SendKeys(chromedp.CSS("#headers"), "X-Api-Key: crm-key"))
	shot("04-create-webhook")
	step("save", chromedp.Click(chromedp.CSS(`button[value=save]`)))
	waitText(".flash", "Webhook created")
	_, out := call(t, "GET", p.URL+"/rest/webhooks", p.APIKey, "")
	hooks := dig(out, "data", "webhooks").([]any)
	if len(hooks) != 1 || fmt.Sprint(hooks[0].(map[string]any)["operations"]) != "[company.deleted person.*]" {
		t.Fatalf("webhooks after the form: %v", hooks)
	}
	hook := hooks[0].(map[string]any)
	hookURL := p.URL + "/ui/webhooks/" + hook["id"].(string)

	// A person made through the API shows up in the log by itself.
	if code, out := call(t, "POST", p.URL+"/rest/people", p.APIKey, `{"name":{"firstName":"Ada","lastName":"Lovelace"}}`); code != 201 {
		t.Fatalf("create person: %d %v", code, out)
	}
	waitText("#activity", "person.created")
	waitText("#activity figcaption", "1 delivered")
	if got := rc.requests()[0].Header.Get("X-Api-Key"); got != "crm-key" {
		t.Errorf("the header set in the form was not sent: %q", got)
	}
	shot("05-webhook-with-delivery")

	// Retry it from the log: sent a second time.
	step("retry", chromedp.Click(chromedp.CSS(`#activity form[action$="/retry"] button`)))
	waitText(".flash", "Delivery queued")
	waitFor(t, "the retried delivery", 15*time.Second, func() bool { return len(rc.requests()) == 2 })
	first, second := rc.requests()[0], rc.requests()[1]
	if first.Header.Get("webhook-id") != second.Header.Get("webhook-id") {
		t.Errorf("the retry carries another event id: %s, %s", first.Header.Get("webhook-id"), second.Header.Get("webhook-id"))
	}

	// The delivery's page: body, headers, both attempts.
	step("open the delivery", chromedp.Click(chromedp.CSS(`#activity a[href^="/ui/deliveries/"]`)), chromedp.WaitVisible(chromedp.CSS("pre.body")))
	waitText("main", "webhook-signature")
	if body := textOf("pre.body"); !strings.Contains(body, `"firstName": "Ada"`) {
		t.Errorf("delivery body: %s", body)
	}
	shot("06-delivery")

	// Test event, from the webhook's page.
	step("send a test event", chromedp.Navigate(hookURL), chromedp.Click(chromedp.CSS(`form[action$="/test"] button`)))
	waitText(".flash", "Test event sent: delivered, HTTP 200")

	// Rotate the secret.
	oldSecret := hook["secret"].(string)
	step("rotate the secret", chromedp.Click(chromedp.CSS(`form[action$="/rotate-secret"] button`)))
	waitText(".flash", "Secret rotated")
	step("show the secret", chromedp.Click(chromedp.CSS("details.secret summary")), chromedp.WaitVisible(chromedp.CSS("#secret")))
	_, out = call(t, "GET", p.URL+"/rest/webhooks/"+hook["id"].(string), p.APIKey, "")
	newSecret := dig(out, "data", "webhook", "secret").(string)
	if newSecret == oldSecret || textOf("#secret") != newSecret {
		t.Errorf("secret after rotation: page %q, API %q, before %q", textOf("#secret"), newSecret, oldSecret)
	}
	shot("07-webhook-rotated")

	// Recover what failed in the last hour (the form's preset time).
	step("recover failed", chromedp.Click(chromedp.CSS(`form.replay button[formaction$="/recover"]`)))
	waitText(".flash", "Failed deliveries queued to be sent again")
	shot("07b-webhook-recovered")

	// Retry every delivered one from the log's status tab.
	step("retry all delivered", chromedp.Navigate(hookURL+"?status=delivered"), chromedp.WaitVisible(chromedp.CSS(`#activity form[action$="/retry"] button`)),
		chromedp.Click(chromedp.CSS(`#activity .heading form[action$="/retry"] button`)))
	waitText(".flash", "deliveries queued to be sent again, each record's in order")
	shot("07c-webhook-retried-all")

	// API keys: a new one is shown once.
	step("API keys", chromedp.Click(chromedp.CSS(`header nav a[href="/ui/api-keys"]`)), chromedp.WaitVisible(chromedp.CSS("#name")),
		chromedp.SendKeys(chromedp.CSS("#name"), "billing sync"), chromedp.Click(chromedp.CSS(`form[action="/ui/api-keys"] button`)),
		chromedp.WaitVisible(chromedp.CSS("#new-key")))
	if key := textOf("#new-key"); !strings.HasPrefix(key, "hk_") {
		t.Errorf("new key: %q", key)
	} else if code, _ := call(t, "GET", p.URL+"/rest/people", key, ""); code != 200 {
		t.Errorf("the key made in the UI does not work: %d", code)
	}
	shot("08-api-keys")

	// Delete, after confirming.
	step("delete", chromedp.Navigate(hookURL), chromedp.Click(chromedp.CSS(`a[href$="/delete"]`)), chromedp.WaitVisible(chromedp.CSS("button.danger")))
	shot("09-delete-confirm")
	step("confirm", chromedp.Click(chromedp.CSS("button.danger")))
	waitText(".flash", "Webhook deleted")
	shot("10-webhooks-after-delete")
	if _, out := call(t, "GET", p.URL+"/rest/webhooks", p.APIKey, ""); len(dig(out, "data", "webhooks").([]any)) != 0 {
		t.Error("the webhook is still there")
	}
	// A webhook sent only what matters: a field that changes and a condition.
	step("create a filtered webhook", chromedp.Navigate(p.URL+"/ui/webhooks/new"), chromedp.WaitVisible(chromedp.CSS("#targetUrl")),
		chromedp.SetValue(chromedp.CSS("#targetUrl"), rc.URL+"/deals"),
		chromedp.SetValue(chromedp.CSS(`table.filter tbody tr:nth-child(1) select[name=object]`), "opportunity"),
		chromedp.SetValue(chromedp.CSS(`table.filter tbody tr:nth-child(1) select[name=action]`), "updated"),
		chromedp.SendKeys(chromedp.CSS("#fields"), "stage"),
		chromedp.SendKeys(chromedp.CSS("#condition"), "stage[eq]:CUSTOMER"),
		chromedp.SendKeys(chromedp.CSS("#throttleRate"), "20"))
	shot("11-create-filtered-webhook")
	step("save it", chromedp.Click(chromedp.CSS(`button[value=save]`)))
	waitText(".flash", "Webhook created")
	waitText("main", "Filtered out")
	waitText("main", "20 requests a second")
	shot("12-filtered-webhook")
	// Herald's own events are among the choices.
	step("subscribe to operational events", chromedp.Navigate(p.URL+"/ui/webhooks/new"), chromedp.WaitVisible(chromedp.CSS("#targetUrl")),
		chromedp.SetValue(chromedp.CSS("#targetUrl"), rc.URL+"/ops"),
		chromedp.SetValue(chromedp.CSS(`table.filter tbody tr:nth-child(1) select[name=object]`), "delivery"),
		chromedp.SetValue(chromedp.CSS(`table.filter tbody tr:nth-child(1) select[name=action]`), "exhausted"))
	shot("13-create-operational-webhook")
	step("save it", chromedp.Click(chromedp.CSS(`button[value=save]`)))
	waitText(".flash", "Webhook created")
	waitText("main", "delivery.exhausted")
	// The event catalog: every type with its example and schema.
	step("open the event types", chromedp.Click(chromedp.CSS(`nav a[href="/ui/event-types"]`)), chromedp.WaitVisible(chromedp.CSS(`tr[id="person.updated"]`)),
		chromedp.Click(chromedp.CSS(`tr[id="person.updated"] details summary`)))
	waitText(`tr[id="person.updated"]`, "previousData")
	shot("14-event-types")
	for _, msg := range consoleErrors {
		// A CSP violation or a script error would show here.
		t.Errorf("browser console: %s", msg)
	}
}
