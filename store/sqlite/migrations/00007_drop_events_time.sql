-- +goose Up
-- Every event paid for this index, and a single-record write an extra
-- page in its commit. Its one reader, retention, now seeks
-- events_workspace_time workspace by workspace.
DROP INDEX events_time;

-- +goose Down
CREATE INDEX events_time ON events (occurred_at);
