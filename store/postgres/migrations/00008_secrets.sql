-- +goose Up
-- Secrets of this installation, made by Herald on first use (the key
-- that turns delivery numbers into ids that reveal nothing).
CREATE TABLE secrets (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- +goose Down
DROP TABLE secrets;
