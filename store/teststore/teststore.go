// Package teststore gives tests real stores to run against: a fresh
// SQLite file, and a fresh database on the PostgreSQL server pgtest
// starts, with a workspace and an API key in it. Tests of every package
// that touches the store use it, so that each runs on both engines the
// same way.
//
// A package whose tests use PostgreSQL calls Main from its TestMain, to
// stop the server when its tests end.
package teststore

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/heraldhq/herald"
	"github.com/heraldhq/herald/store/postgres"
	"github.com/heraldhq/herald/store/postgres/pgtest"
	"github.com/heraldhq/herald/store/sqlite"
	"github.com/heraldhq/herald/webhook"
)

// Main runs the tests and stops the PostgreSQL server they started.
func Main(m *testing.M) int { return pgtest.Main(m) }

// Engine opens a fresh, empty store of one engine, closed when t ends.
type Engine struct {
	Name string
	Open func(t testing.TB) herald.Store
}

// Engines are every engine Herald runs on.
var Engines = []Engine{
	{"SQLite", SQLite},
	{"PostgreSQL", PostgreSQL},
}

// SQLite opens a store in a new SQLite file.
func SQLite(t testing.TB) herald.Store {
	t.Helper()
	s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "herald.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// PostgreSQL opens a store in a new PostgreSQL database.
func PostgreSQL(t testing.TB) herald.Store {
	t.Helper()
	s, err := postgres.Open(context.Background(), pgtest.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// Each runs test as a parallel subtest on each engine.
func Each(t *testing.T, test func(t *testing.T, s herald.Store)) {
	t.Helper()
	for _, e := range Engines {
		t.Run(e.Name, func(t *testing.T) {
			t.Parallel()
			test(t, e.Open(t))
		})
	}
}

// Workspace is a workspace made for one test, with an API key of it.
type Workspace struct {
	*herald.Workspace
	Key *herald.APIKey
	// Secret is Key's secret, as a client sends it.
	Secret string
}

// NewWorkspace makes a workspace called name in s, with an API key.
func NewWorkspace(t testing.TB, s herald.Store, name string) *Workspace {
	t.Helper()
	ctx := context.Background()
	ws, _, err := s.EnsureWorkspace(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	secret, key := herald.NewAPIKey(ws.ID, "default", time.Now())
	if err := s.CreateAPIKey(ctx, key); err != nil {
		t.Fatal(err)
	}
	return &Workspace{Workspace: ws, Key: key, Secret: secret}
}

// NewWebhook makes an active webhook of the workspace to url, sent every
// event in Herald's payload format.
func NewWebhook(t testing.TB, s herald.Store, workspaceID, url string) *herald.Webhook {
	t.Helper()
	now := herald.Now()
	hook := &herald.Webhook{ID: uuid.NewString(), WorkspaceID: workspaceID, TargetURL: url, Operations: []string{"*.*"},
		Secret: webhook.NewSecret(), Status: herald.WebhookActive, PayloadFormat: herald.PayloadHerald, CreatedAt: now, UpdatedAt: now}
	if err := s.CreateWebhook(context.Background(), hook); err != nil {
		t.Fatal(err)
	}
	return hook
}
