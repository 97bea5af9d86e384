-- +goose Up
-- Web UI sessions. Only a hash of the cookie's token is kept; a session
-- signs in as one API key and ends with it when the key is revoked.
CREATE TABLE sessions (
    hash         TEXT PRIMARY KEY,
    api_key_id   TEXT NOT NULL REFERENCES api_keys (id),
    workspace_id TEXT NOT NULL REFERENCES workspaces (id),
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL
);
CREATE INDEX sessions_expires ON sessions (expires_at);

-- +goose Down
DROP TABLE sessions;
