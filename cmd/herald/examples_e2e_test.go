package main

import (
	"bufio"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/heraldhq/herald"
	"github.com/heraldhq/herald/webhook"
)

// repoRoot is where README.md and examples/ are, from this package.
const repoRoot = "../.."

var readmeFileRe = regexp.MustCompile("(?s)<!-- file: (\\S+) -->\\s*```[a-z]*\\n(.*?)```")

// TestREADMEExamplesAreTheTestedFiles: the receiver code the README shows
// is, byte for byte, the code TestReceiverExamples runs.
func TestREADMEExamplesAreTheTestedFiles(t *testing.T) {
	t.Parallel()
	readme, err := os.ReadFile(filepath.Join(repoRoot, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	shown := map[string]bool{}
	for _, m := range readmeFileRe.FindAllStringSubmatch(string(readme), -1) {
		file, block := m[1], m[2]
		shown[file] = true
		src, err := os.ReadFile(filepath.Join(repoRoot, file))
		if err != nil {
			t.Errorf("README shows %s, which does not exist: %v", file, err)
			continue
		}
		if string(src) != block {
			t.Errorf("README's copy of %s differs from the file; paste the file into the README again", file)
		}
	}
	for _, ex := range receiverExamples {
		if !shown[ex.file] {
			t.Errorf("README does not show %s", ex.file)
		}
	}
}

var receiverExamples = []struct {
	name, file, tool string
}{
	{"go", "examples/receive/go/main.go", "go"},
	{"node", "examples/receive/node/receiver.mjs", "node"},
	{"python", "examples/receive/python/receiver.py", "python3"},
}

// TestReceiverExamples runs each README receiver against real deliveries
// and a forged request.
func TestReceiverExamples(t *testing.T) {
	t.Parallel()
	p := startHerald(t, filepath.Join(t.TempDir(), "herald.db"))
	for _, ex := range receiverExamples {
		t.Run(ex.name, func(t *testing.T) {
			t.Parallel()
			tool, err := exec.LookPath(ex.tool)
			if err != nil {
				if os.Getenv("CI") == "true" {
					t.Fatalf("%s is not installed; .ci/run installs it", ex.tool)
				}
				t.Skipf("SKIPPED LOUDLY: %s is not installed, so the %s example is not tested", ex.tool, ex.name)
			}
			args := []string{filepath.Join(repoRoot, ex.file)}
			if ex.name == "go" {
				bin := filepath.Join(t.TempDir(), "receiver")
				build := exec.Command(tool, "build", "-o", bin, "./examples/receive/go")
				build.Dir = repoRoot
				if out, err := build.CombinedOutput(); err != nil {
					t.Fatalf("build the Go example: %v\n%s", err, out)
				}
				tool, args = bin, nil
			}
			// Both forms of secret: Standard Webhooks' whsec_ and base64, and
			// any other string, as Twenty's 64 hex characters.
			raw := make([]byte, 32)
			_, _ = rand.Read(raw)
			secrets := map[string]string{"whsec": "whsec_" + base64.StdEncoding.EncodeToString(raw), "twenty": hex.EncodeToString(raw)}
			for kind, secret := range secrets {
				t.Run(kind, func(t *testing.T) {
					cmd := exec.Command(tool, args...)
					cmd.Env = append(os.Environ(), "SECRET="+secret, "PORT=0")
					stdout, err := cmd.StdoutPipe()
					if err != nil {
						t.Fatal(err)
					}
					logs := &lockedBuffer{}
					cmd.Stderr = logs
					if err := cmd.Start(); err != nil {
						t.Fatal(err)
					}
					t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
					lines := make(chan string, 100)
					go func() {
						sc := bufio.NewScanner(stdout)
						for sc.Scan() {
							lines <- sc.Text()
						}
						close(lines)
					}()
					url := ""
					select {
					case l := <-lines:
						url, _ = strings.CutPrefix(l, "listening on ")
					case <-time.After(60 * time.Second):
					}
					if !strings.HasPrefix(url, "http://127.0.0.1:") {
						t.Fatalf("the %s example did not start: %q\n%s", ex.name, url, logs)
					}

					// A forged request is refused.
					ev := &herald.Event{ID: "evt_forged", Name: "person.created", Data: []byte(`{}`), Timestamp: time.Now()}
					body := webhook.AppendBody(nil, ev, &herald.Webhook{ID: "x"})
					req, _ := http.NewRequest("POST", url, strings.NewReader(string(body)))
					_ = webhook.SetHeaders(req.Header, "test", ev, []string{"whsec_" + base64.StdEncoding.EncodeToString([]byte("not the secret"))}, time.Now(), body)
					resp, err := http.DefaultClient.Do(req)
					if err != nil {
						t.Fatal(err)
					}
					resp.Body.Close()
					if resp.StatusCode != 401 {
						t.Errorf("forged request: %d, want 401", resp.StatusCode)
					}

					// Real deliveries are verified and acknowledged.
					id, _ := createWebhook(t, p, p.APIKey, `{"targetUrl":"`+url+`","secret":"`+secret+`","operations":["person.created"]}`)
					ids := createPeople(t, p, p.APIKey, "Ada "+ex.name)
					if len(ids) != 1 {
						t.Fatal("no person created")
					}
					deadline := time.After(30 * time.Second)
					for {
						select {
						case l, ok := <-lines:
							if !ok {
								t.Fatalf("the %s example exited:\n%s", ex.name, logs)
							}
							if strings.HasPrefix(l, "verified person.created evt_") {
								waitFor(t, "the delivery to be recorded as delivered", 10*time.Second, func() bool {
									_, out := call(t, "GET", p.URL+"/rest/webhooks/"+id+"/deliveries?status=delivered", p.APIKey, "")
									return len(dig(out, "data", "deliveries").([]any)) > 0
								})
								return
							}
						case <-deadline:
							t.Fatalf("the %s example verified nothing in 30s:\n%s", ex.name, logs)
						}
					}
				})
			}
		})
	}
}
