package sqlstore

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/heraldhq/herald"
)

// EnsureWorkspace returns the workspace called name, creating it if
// needed; processes starting at once agree on one workspace.
func (db *DB) EnsureWorkspace(ctx context.Context, name string) (*herald.Workspace, bool, error) {
	ws := &herald.Workspace{ID: uuid.NewString(), Name: name, CreatedAt: herald.Now()}
	res, err := db.exec(ctx, `INSERT INTO workspaces (id, name, created_at) VALUES (?, ?, ?) ON CONFLICT (name) DO NOTHING`,
		ws.ID, ws.Name, ms(ws.CreatedAt))
	if err != nil {
		return nil, false, fmt.Errorf("ensure workspace %q: %w", name, err)
	}
	if n, _ := res.RowsAffected(); n == 1 {
		return ws, true, nil
	}
	ws, err = findWorkspace(ctx, db.write, name)
	if err != nil {
		return nil, false, fmt.Errorf("ensure workspace %q: %w", name, err)
	}
	return ws, false, nil
}

// FindWorkspace returns the workspace called name.
func (db *DB) FindWorkspace(ctx context.Context, name string) (*herald.Workspace, error) {
	return findWorkspace(ctx, db.read, name)
}

func findWorkspace(ctx context.Context, q conn, name string) (*herald.Workspace, error) {
	var ws herald.Workspace
	var created int64
	err := q.QueryRowContext(ctx, `SELECT id, name, created_at FROM workspaces WHERE name = ?`, name).Scan(&ws.ID, &ws.Name, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("workspace " + name)
	}
	if err != nil {
		return nil, fmt.Errorf("find workspace: %w", err)
	}
	ws.CreatedAt = fromMS(created)
	return &ws, nil
}

// CreateAPIKey stores a new key.
func (db *DB) CreateAPIKey(ctx context.Context, k *herald.APIKey) error {
	_, err := db.exec(ctx, `INSERT INTO api_keys (id, workspace_id, name, hash, prefix, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
		k.ID, k.WorkspaceID, k.Name, k.Hash, k.Prefix, ms(k.CreatedAt))
	if err != nil {
		return fmt.Errorf("create api key: %w", err)
	}
	return nil
}

const apiKeyColumns = `id, workspace_id, name, hash, prefix, created_at, revoked_at`

func scanAPIKey(s scanner) (*herald.APIKey, error) {
	var k herald.APIKey
	var created int64
	var revoked sql.NullInt64
	if err := s.Scan(&k.ID, &k.WorkspaceID, &k.Name, &k.Hash, &k.Prefix, &created, &revoked); err != nil {
		return nil, err
	}
	k.CreatedAt, k.RevokedAt = fromMS(created), fromNullMS(revoked)
	return &k, nil
}

// FindAPIKey returns the unrevoked key with this hash.
func (db *DB) FindAPIKey(ctx context.Context, hash string) (*herald.APIKey, error) {
	k, err := scanAPIKey(db.read.QueryRowContext(ctx, `SELECT `+apiKeyColumns+` FROM api_keys WHERE hash = ? AND revoked_at IS NULL`, hash))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("api key")
	}
	if err != nil {
		return nil, fmt.Errorf("find api key: %w", err)
	}
	return k, nil
}

// ListAPIKeys returns a workspace's keys, revoked ones included, newest first.
func (db *DB) ListAPIKeys(ctx context.Context, workspaceID string) ([]*herald.APIKey, error) {
	keys, err := queryAll(ctx, db.read, scanAPIKey, `SELECT `+apiKeyColumns+` FROM api_keys WHERE workspace_id = ? ORDER BY created_at DESC, id`, workspaceID)
	if err != nil {
		return nil, fmt.Errorf("list api keys: %w", err)
	}
	return keys, nil
}

// RevokeAPIKey revokes a key of the workspace.
func (db *DB) RevokeAPIKey(ctx context.Context, workspaceID, id string, at time.Time) error {
	res, err := db.exec(ctx, `UPDATE api_keys SET revoked_at = ? WHERE id = ? AND workspace_id = ? AND revoked_at IS NULL`, ms(at), id, workspaceID)
	if err != nil {
		return fmt.Errorf("revoke api key: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return notFound("api key")
	}
	return nil
}

// CreateSession stores a UI session and sweeps the expired ones: sign-ins
// are rare, so this keeps the table small without a background job.
func (db *DB) CreateSession(ctx context.Context, s *herald.Session) error {
	return db.inTx(ctx, func(tx conn) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE expires_at < ?`, ms(s.CreatedAt)); err != nil {
			return fmt.Errorf("sweep sessions: %w", err)
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO sessions (hash, api_key_id, workspace_id, created_at, expires_at) VALUES (?, ?, ?, ?, ?)`,
			s.Hash, s.APIKeyID, s.WorkspaceID, ms(s.CreatedAt), ms(s.ExpiresAt))
		if err != nil {
			return fmt.Errorf("create session: %w", err)
		}
		return nil
	})
}

// FindSession returns the unrevoked key of an unexpired session.
func (db *DB) FindSession(ctx context.Context, hash string, now time.Time) (*herald.APIKey, error) {
	k, err := scanAPIKey(db.read.QueryRowContext(ctx, `SELECT k.id, k.workspace_id, k.name, k.hash, k.prefix, k.created_at, k.revoked_at FROM sessions s JOIN api_keys k ON k.id = s.api_key_id
		WHERE s.hash = ? AND s.expires_at > ? AND k.revoked_at IS NULL`, hash, ms(now)))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("session")
	}
	if err != nil {
		return nil, fmt.Errorf("find session: %w", err)
	}
	return k, nil
}

// DeleteSession ends a session.
func (db *DB) DeleteSession(ctx context.Context, hash string) error {
	if _, err := db.exec(ctx, `DELETE FROM sessions WHERE hash = ?`, hash); err != nil {
		return fmt.Errorf("delete session: %w", err)
	}
	return nil
}

// Secret returns the installation's secret called name, size random
// bytes made on first use. Processes that start together agree: the first
// insert wins, and every one reads it back.
func (db *DB) Secret(ctx context.Context, name string, size int) ([]byte, error) {
	b := make([]byte, size)
	_, _ = rand.Read(b)
	if _, err := db.exec(ctx, `INSERT INTO secrets (name, value) VALUES (?, ?) ON CONFLICT (name) DO NOTHING`, name, hex.EncodeToString(b)); err != nil {
		return nil, fmt.Errorf("secret %s: %w", name, err)
	}
	var v string
	if err := db.write.QueryRowContext(ctx, `SELECT value FROM secrets WHERE name = ?`, name).Scan(&v); err != nil {
		return nil, fmt.Errorf("secret %s: %w", name, err)
	}
	key, err := hex.DecodeString(v)
	if err != nil || len(key) != size {
		return nil, fmt.Errorf("secret %s: stored value is not %d hex-encoded bytes", name, size)
	}
	return key, nil
}
