package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/heraldhq/herald"
	"github.com/heraldhq/herald/catalog"
)

// receivedBodies keeps every request body the end-to-end tests' receivers get,
// and the event catalogs they are checked against once the tests end
// (TestMain): with Ajv, a JSON Schema validator in JavaScript, so that the
// catalog's schemas are held to what Herald really sends by a reader that
// shares none of its code.
var receivedBodies = &bodyLog{seen: map[string]bool{}, catalogs: map[string]map[string]catalog.Entry{}}

// standardCatalog has every event type of a workspace without custom
// objects or events; its schemas do not depend on the workspace.
var standardCatalog = catalog.Build("00000000-0000-4000-8000-000000000000", herald.StandardObjects(), nil)

type bodyLog struct {
	mu     sync.Mutex
	seen   map[string]bool
	bodies []loggedBody
	// catalogs are those of workspaces with custom objects or events, by
	// workspace id and event type: each fetch adds to what earlier ones
	// found (two receivers may fetch at once, the older answer last).
	catalogs map[string]map[string]catalog.Entry
	// procs are the Herald processes each test started: where a custom
	// event type's catalog is fetched from.
	procs map[*testing.T][]*proc
}

type loggedBody struct {
	Source string `json:"source"`
	Body   string `json:"body"`
}

// started notes a process a test started.
func (l *bodyLog) started(t *testing.T, p *proc) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.procs == nil {
		l.procs = map[*testing.T][]*proc{}
	}
	l.procs[t] = append(l.procs[t], p)
}

// add keeps a body a receiver of t got. One of a custom event type has its
// workspace's catalog fetched now, while the process that sent it runs.
func (l *bodyLog) add(t *testing.T, body []byte) {
	var head struct{ Event, EventName, WorkspaceID string }
	_ = json.Unmarshal(body, &head)
	name := head.Event + head.EventName
	l.mu.Lock()
	if l.seen[string(body)] { // a retry sends the same bytes
		l.mu.Unlock()
		return
	}
	l.seen[string(body)] = true
	l.bodies = append(l.bodies, loggedBody{Source: t.Name(), Body: string(body)})
	_, known := catalog.Find(standardCatalog, name)
	if !known {
		_, known = l.catalogs[head.WorkspaceID][name]
	}
	procs := l.procs[t]
	l.mu.Unlock()
	if known {
		return
	}
	for _, p := range procs {
		if entries, err := p.catalog(); err == nil && len(entries) > 0 {
			var ex struct{ WorkspaceID string }
			_ = json.Unmarshal(entries[0].Examples[herald.PayloadHerald], &ex)
			l.mu.Lock()
			if l.catalogs[ex.WorkspaceID] == nil {
				l.catalogs[ex.WorkspaceID] = map[string]catalog.Entry{}
			}
			for _, e := range entries {
				l.catalogs[ex.WorkspaceID][e.Name] = e
			}
			l.mu.Unlock()
		}
	}
}

// everyTypeCatalog is the catalog of a workspace with a custom object of
// every field type and one with only a relation (whose update example
// changes nothing): their examples are checked against their schemas too.
func everyTypeCatalog() []catalog.Entry {
	every := &herald.Object{NameSingular: "every", NamePlural: "everies", Custom: true}
	for _, t := range herald.FieldTypes {
		f := herald.Field{Name: "f" + strings.ToLower(strings.ReplaceAll(string(t), "_", "")), Type: t}
		switch t {
		case herald.FieldSelect, herald.FieldMultiSelect:
			f.Options = []string{"A", "B"}
		case herald.FieldRelation:
			f.Target = "person"
		}
		every.Fields = append(every.Fields, f)
	}
	tag := &herald.Object{NameSingular: "tag", NamePlural: "tags", Custom: true,
		Fields: []herald.Field{{Name: "ownerId", Type: herald.FieldRelation, Target: "person"}}}
	return catalog.Build("00000000-0000-4000-8000-000000000001", append(herald.StandardObjects(), every, tag), []string{"invoice.paid"})
}

// catalog is the event catalog of p's first workspace.
func (p *proc) catalog() ([]catalog.Entry, error) {
	if p.APIKey == "" {
		return nil, errors.New("no API key")
	}
	req, _ := http.NewRequest("GET", p.URL+"/rest/webhooks/event-types?include=catalog", nil)
	req.Header.Set("Authorization", "Bearer "+p.APIKey)
	client := &http.Client{Timeout: 10 * time.Second}
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var out struct {
		Data struct{ Catalog []catalog.Entry }
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return nil, err
	}
	return out.Data.Catalog, nil
}

// check validates every body kept against its schema with Ajv, whose
// package (pinned by testdata/schemacheck/package-lock.json) npm installs
// into the user's cache once.
func (l *bodyLog) check() error {
	node, errNode := exec.LookPath("node")
	npm, errNpm := exec.LookPath("npm")
	if errNode != nil || errNpm != nil {
		if os.Getenv("CI") == "true" {
			return errors.New("Node.js and npm are required in CI to check the bodies against their schemas")
		}
		fmt.Fprintln(os.Stderr, "\n*** SKIPPING the schema check of received bodies: no node or npm")
		return nil
	}
	dir, err := schemaCheckDir(npm)
	if err != nil {
		return err
	}
	l.mu.Lock()
	catalogs := [][]catalog.Entry{standardCatalog, everyTypeCatalog()}
	for _, byName := range l.catalogs {
		catalogs = append(catalogs, slices.Collect(maps.Values(byName)))
	}
	input, err := json.Marshal(map[string]any{"catalogs": catalogs, "bodies": append([]loggedBody{}, l.bodies...)})
	l.mu.Unlock()
	if err != nil {
		return err
	}
	file := filepath.Join(binDir, "bodies.json")
	if err := os.WriteFile(file, input, 0o644); err != nil {
		return err
	}
	out, err := exec.Command(node, filepath.Join(dir, "check.mjs"), file).CombinedOutput()
	fmt.Fprintf(os.Stderr, "schema check (Ajv): %s", out)
	if err != nil {
		return fmt.Errorf("bodies the end-to-end tests received do not match their schemas: %v", err)
	}
	return nil
}

// schemaCheckDir is testdata/schemacheck with its packages installed, in
// a cache directory named for its lockfile.
func schemaCheckDir(npm string) (string, error) {
	files := map[string][]byte{}
	for _, name := range []string{"package.json", "package-lock.json", "check.mjs"} {
		data, err := os.ReadFile(filepath.Join("testdata/schemacheck", name))
		if err != nil {
			return "", err
		}
		files[name] = data
	}
	sum := sha256.Sum256(files["package-lock.json"])
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	dir := filepath.Join(cache, "herald-schemacheck-"+hex.EncodeToString(sum[:6]))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			return "", err
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "ajv", "package.json")); err == nil {
		return dir, nil
	}
	cmd := exec.Command(npm, "ci", "--no-audit", "--no-fund", "--loglevel", "error")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("npm ci in %s: %v\n%s", dir, err, out)
	}
	return dir, nil
}
