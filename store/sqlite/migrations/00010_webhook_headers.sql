-- +goose Up
-- Static headers a webhook sends with every request (Authorization,
-- X-Api-Key…), as a JSON object of name to value.
ALTER TABLE webhooks ADD COLUMN headers TEXT NOT NULL DEFAULT '{}';

-- +goose Down
ALTER TABLE webhooks DROP COLUMN headers;
