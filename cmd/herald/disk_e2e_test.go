package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// smallDisk mounts a tmpfs of size bytes for the test, or skips loudly
// where the machine does not let the test mount one.
func smallDisk(t *testing.T, size int) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "disk")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", fmt.Sprintf("size=%d", size), "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("\n\n*** SKIPPING: cannot mount a small filesystem for the full-disk test (needs root): %v %s\n\n", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("umount", "-l", dir).Run() })
	return dir
}

// fill writes a file until the filesystem is full.
func fill(t *testing.T, path string) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil && !errors.Is(err, syscall.ENOSPC) {
		t.Fatal(err)
	}
	if f == nil {
		return
	}
	defer f.Close()
	block := make([]byte, 64<<10)
	for {
		if _, err := f.Write(block); err != nil {
			if errors.Is(err, syscall.ENOSPC) {
				break
			}
			t.Fatal(err)
		}
	}
	// What is left is less than a block: take it too.
	for {
		if _, err := f.Write(block[:512]); err != nil {
			return
		}
	}
}

// TestFullDiskLosesNothing fills the disk under a running SQLite Herald:
// writes are refused with 507 and a clear message, /readyz says why, and
// once space is freed every acknowledged change is delivered with no
// restart.
func TestFullDiskLosesNothing(t *testing.T) {
	t.Parallel()
	disk := smallDisk(t, 24<<20)
	p := startHerald(t, filepath.Join(disk, "herald.db"), "--lease", "3s")
	var mu sync.Mutex
	received := map[string]int{}
	// The first deliveries are answered only once the disk is full, so
	// that recording their outcomes fails.
	answer := make(chan struct{})
	var answering sync.Once
	srv := hookServer(t, func(ev event, w http.ResponseWriter, _ *http.Request) {
		<-answer
		mu.Lock()
		received[ev.Data.ID]++
		mu.Unlock()
	})
	// Before the receiver closes, which waits for its requests.
	t.Cleanup(func() { answering.Do(func() { close(answer) }) })
	hookID, _ := createWebhook(t, p, p.APIKey, `{"targetUrl":"`+srv.URL+`","operations":["person.created"]}`)
	committed := createPeople(t, p, p.APIKey, "Before1", "Before2", "Before3")

	fill(t, filepath.Join(disk, "filler"))
	refused := 0
	for i := 0; i < 2000 && refused == 0; i++ { // the database's free pages and WAL room go first
		req, _ := http.NewRequest("POST", p.URL+"/rest/people", strings.NewReader(fmt.Sprintf(`{"name":{"firstName":"Full%d"},"jobTitle":"%s"}`, i, strings.Repeat("x", 2000))))
		req.Header.Set("Authorization", "Bearer "+p.APIKey)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		switch resp.StatusCode {
		case 201:
			committed = append(committed, dig(decode(t, body), "data", "createPerson", "id").(string))
		case 507:
			refused++
			if !strings.Contains(string(body), "no space left") || resp.Header.Get("Retry-After") == "" {
				t.Fatalf("a write refused for lack of space: %s, Retry-After %q", body, resp.Header.Get("Retry-After"))
			}
		default:
			t.Fatalf("a write on a full disk: %d %s", resp.StatusCode, body)
		}
	}
	if refused == 0 {
		t.Fatal("the disk never filled")
	}
	if code, body := get(t, p.URL+"/readyz"); code != 503 || !strings.Contains(body, "storage full") {
		t.Fatalf("/readyz on a full disk: %d %s", code, body)
	}
	answering.Do(func() { close(answer) })
	waitFor(t, "the first deliveries answered", 10*time.Second, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(received) >= 3
	})
	// Their outcomes usually fail to be written now, and are retried (a
	// small write may still fit where SQLite reuses its WAL's space).
	time.Sleep(time.Second)
	failedOutcomes := strings.Contains(p.logs.String(), "cannot record attempts")

	if err := os.Remove(filepath.Join(disk, "filler")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "/readyz once space is freed", 10*time.Second, func() bool { code, _ := get(t, p.URL+"/readyz"); return code == 200 })
	committed = append(committed, createPeople(t, p, p.APIKey, "After")...)
	missing := func() int {
		mu.Lock()
		defer mu.Unlock()
		n := 0
		for _, id := range committed {
			if received[id] == 0 {
				n++
			}
		}
		return n
	}
	waitFor(t, "every acknowledged change delivered", 60*time.Second, func() bool { return missing() == 0 })
	waitFor(t, "no delivery pending", 30*time.Second, func() bool {
		code, out := call(t, "GET", p.URL+"/rest/webhooks/"+hookID+"/deliveries?status=pending&limit=10", p.APIKey, "")
		return code == 200 && len(dig(out, "data", "deliveries").([]any)) == 0
	})
	t.Logf("%d changes acknowledged, %d writes refused with 507, outcomes refused too: %v; all delivered after the disk was freed", len(committed), refused, failedOutcomes)
}

// get fetches url without a key and returns its status and body.
func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func decode(t *testing.T, body []byte) map[string]any {
	t.Helper()
	var v map[string]any
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatalf("%s: %v", body, err)
	}
	return v
}
