-- +goose Up
-- Every delivery paid for this index: a B-tree page in each creation's
-- commit and another in its completion's. Its readers (a webhook's
-- delivery log, newest first; deleting a webhook's deliveries) now go
-- through UNIQUE (webhook_id, event_seq), the log ordered by event.
DROP INDEX deliveries_webhook;

-- +goose Down
CREATE INDEX deliveries_webhook ON deliveries (webhook_id, id);
