-- +goose Up
-- Custom objects of a workspace. Their records live in the records table
-- like standard ones; fields is the JSON list of herald.Field.
CREATE TABLE objects (
    id             TEXT PRIMARY KEY,
    workspace_id   TEXT NOT NULL REFERENCES workspaces (id),
    name_singular  TEXT NOT NULL,
    name_plural    TEXT NOT NULL,
    label_singular TEXT NOT NULL,
    label_plural   TEXT NOT NULL,
    description    TEXT NOT NULL,
    fields         TEXT NOT NULL,
    created_at     BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL,
    UNIQUE (workspace_id, name_singular),
    UNIQUE (workspace_id, name_plural)
);

-- Names of the custom events a workspace has published, for
-- GET /rest/webhooks/event-types (events themselves are pruned).
CREATE TABLE event_types (
    workspace_id  TEXT NOT NULL,
    name          TEXT NOT NULL,
    first_seen_at BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, name)
);

-- +goose Down
DROP TABLE event_types;
DROP TABLE objects;
