package main

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// reserializingReceiver is a receiver as Twenty's docs write one: it
// verifies X-Twenty-Webhook-Signature over JSON.stringify of the parsed
// body, not over the bytes received, and also checks that the two agree.
const reserializingReceiver = `const http = require("http"), crypto = require("crypto");
http.createServer((req, res) => {
  let raw = "";
  req.setEncoding("utf8");
  req.on("data", (c) => (raw += c));
  req.on("end", () => {
    const body = JSON.stringify(JSON.parse(raw));
    const ts = req.headers["x-twenty-webhook-timestamp"];
    const want = crypto.createHmac("sha256", process.env.SECRET).update(ts + ":" + body).digest("hex");
    const ok = want === req.headers["x-twenty-webhook-signature"] && body === raw;
    if (!ok) console.error("MISMATCH " + raw);
    res.writeHead(ok ? 200 : 401);
    res.end(ok ? "verified" : "signature over JSON.stringify does not match");
  });
}).listen(0, "127.0.0.1", function () { console.log("PORT " + this.address().port); });
`

// TestReceiversThatReserializeVerify: every body Herald sends is what
// JSON.stringify(JSON.parse(body)) gives back, in both payload formats, so
// a Node receiver written as Twenty's docs write it verifies every
// delivery: text with & < > and U+2028, numbers JavaScript prints its own
// way, objects with array-index keys, a test event to a URL with a query.
func TestReceiversThatReserializeVerify(t *testing.T) {
	t.Parallel()
	node, err := exec.LookPath("node")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("Node.js is required in CI")
		}
		t.Skip("\n\n*** SKIPPING: no node for the re-serialising receiver\n\n")
	}
	const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	script := filepath.Join(t.TempDir(), "receiver.cjs")
	if err := os.WriteFile(script, []byte(reserializingReceiver), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(node, script)
	cmd.Env = append(os.Environ(), "SECRET="+secret)
	stdout, _ := cmd.StdoutPipe()
	errs := &lockedBuffer{}
	cmd.Stderr = errs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "PORT ") {
		t.Fatalf("receiver: %q %v %s", line, err, errs)
	}
	url := "http://127.0.0.1:" + strings.TrimSpace(strings.TrimPrefix(line, "PORT ")) + "/hook?a=1&b=<2>"

	p := startHerald(t, t.TempDir()+"/herald.db")
	var hooks []string
	for _, format := range []string{"herald", "twenty"} {
		id, _ := createWebhook(t, p, p.APIKey, `{"targetUrl":"`+url+`","secret":"`+secret+`","payloadFormat":"`+format+`","description":"Tom & Jerry"}`)
		hooks = append(hooks, id)
	}
	code, out := call(t, "POST", p.URL+"/rest/people", p.APIKey, `{"name":{"firstName":"Tom & Jerry <b>","lastName":"line\u2028para\u2029end"},"jobTitle":"\u0026 \u003c \u003e \u0001"}`)
	if code != 201 {
		t.Fatalf("create: %d %v", code, out)
	}
	id := dig(out, "data", "createPerson", "id").(string)
	if code, out := call(t, "PATCH", p.URL+"/rest/people/"+id, p.APIKey, `{"jobTitle":"Q&A <lead>"}`); code != 200 {
		t.Fatalf("update: %d %v", code, out)
	}
	if code, out := call(t, "POST", p.URL+"/rest/events", p.APIKey,
		`{"event":"invoice.paid","data":{"amount":1.0,"big":1e21,"small":1.5e-7,"neg":-0,"huge":1e400,"b":1,"2":"two","1":"one","note":"a&b"}}`); code != 201 {
		t.Fatalf("publish: %d %v", code, out)
	}
	for _, hook := range hooks {
		if code, out := call(t, "POST", p.URL+"/rest/webhooks/"+hook+"/test", p.APIKey, ""); code != 200 || !strings.Contains(strings.ToLower(dig(out, "data", "testWebhook", "status").(string)), "delivered") {
			t.Fatalf("test send: %d %v\n%s", code, out, errs)
		}
	}
	for _, hook := range hooks {
		waitFor(t, "every delivery verified", 20*time.Second, func() bool {
			_, out := call(t, "GET", p.URL+"/rest/webhooks/"+hook+"/deliveries", p.APIKey, "")
			ds := dig(out, "data", "deliveries").([]any)
			for _, d := range ds {
				if dig(d, "status") != "delivered" || dig(d, "attemptCount").(float64) != 1 {
					if dig(d, "status") != "pending" {
						t.Fatalf("delivery %v: %s", d, errs)
					}
					return false
				}
			}
			return len(ds) == 4 // created, updated, invoice.paid, webhook.test
		})
	}
}
