-- +goose Up
-- Every delivery paid for this index: an entry when it was written and
-- another when it was completed (a completion changes indexed columns, so
-- it writes a new row version into every index). Its readers (a webhook's
-- delivery log, newest first; deleting a webhook's deliveries) now go
-- through UNIQUE (webhook_id, event_seq), the log ordered by event.
DROP INDEX deliveries_webhook;

-- +goose Down
CREATE INDEX deliveries_webhook ON deliveries (webhook_id, id);
