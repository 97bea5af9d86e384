-- +goose Up
-- A webhook may send only the updates that change some fields, and only
-- the events whose record passes a condition (Twenty's filter syntax);
-- filtered_events counts what it left out.
ALTER TABLE webhooks ADD COLUMN fields TEXT NOT NULL DEFAULT '[]';
ALTER TABLE webhooks ADD COLUMN condition TEXT NOT NULL DEFAULT '';
ALTER TABLE webhooks ADD COLUMN filtered_events BIGINT NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE webhooks DROP COLUMN filtered_events;
ALTER TABLE webhooks DROP COLUMN condition;
ALTER TABLE webhooks DROP COLUMN fields;
