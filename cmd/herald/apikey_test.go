package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/heraldhq/herald"
)

func TestAPIKeyCommand(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := filepath.Join(t.TempDir(), "herald.db")
	apikeyCmd := func(args ...string) (string, string, error) {
		var out, errOut bytes.Buffer
		err := run(ctx, append([]string{"apikey"}, append(args, "--database", db)...), func(string) string { return "" }, &out, &errOut)
		return out.String(), errOut.String(), err
	}
	var help bytes.Buffer
	if err := run(ctx, []string{"apikey", "--help"}, func(string) string { return "" }, &help, &help); err != nil || !strings.Contains(help.String(), "herald apikey create") {
		t.Fatalf("apikey --help: %v\n%s", err, help.String())
	}

	if _, _, err := apikeyCmd("create", "--workspace", "defualt"); err == nil || !strings.Contains(err.Error(), "--create-workspace") {
		t.Fatalf("a key for a workspace that does not exist: %v", err)
	}
	store, err := openStore(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	if _, err := store.FindWorkspace(ctx, "defualt"); herald.ErrorCode(err) != herald.ENOTFOUND {
		t.Fatalf("a typo made a workspace: %v", err)
	}
	if out, _, err := apikeyCmd("create", "--workspace", "ops", "--create-workspace", "--name", "deploys"); err != nil || !strings.HasPrefix(out, herald.APIKeyPrefix) {
		t.Fatalf("create with --create-workspace: %q, %v", out, err)
	}
	if _, _, err := apikeyCmd("create", "--workspace", "ops", "--name", "red\x1b[31m"); err == nil || !strings.Contains(err.Error(), "control") {
		t.Fatalf("a name with a terminal escape: %v", err)
	}
	// A name stored before names were checked is printed escaped.
	ws, err := store.FindWorkspace(ctx, "ops")
	if err != nil {
		t.Fatal(err)
	}
	_, old := herald.NewAPIKey(ws.ID, "old\x1b]0;pwned\x07", time.Now())
	if err := store.CreateAPIKey(ctx, old); err != nil {
		t.Fatal(err)
	}
	out, _, err := apikeyCmd("list", "--workspace", "ops")
	if err != nil {
		t.Fatal(err)
	}
	if strings.ContainsAny(out, "\x1b\x07") || !strings.Contains(out, `"old\x1b]0;pwned\a"`) || !strings.Contains(out, "deploys") {
		t.Fatalf("list printed:\n%q", out)
	}
}

func TestParsePublicURL(t *testing.T) {
	t.Parallel()
	for raw, ok := range map[string]bool{
		"": true, "https://crm.example.com": true, "https://crm.example.com/": true, "http://10.0.0.5:3000": true,
		"crm.example.com": false, "ftp://crm.example.com": false, "https://crm.example.com/herald": false,
		"https://user:pw@crm.example.com": false, "https://crm.example.com?x=1": false,
	} {
		if _, err := parsePublicURL(raw); (err == nil) != ok {
			t.Errorf("parsePublicURL(%q) = %v, want ok=%v", raw, err, ok)
		}
	}
}
