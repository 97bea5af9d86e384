-- +goose Up
-- A pending delivery queued behind an earlier pending delivery of the same
-- record (to the same webhook) now waits with no next_attempt_at, and is
-- scheduled when that one leaves pending. Claims used to skip such rows by
-- checking each candidate, which read the whole backlog of a record that
-- kept changing during an outage, once per delivery.
UPDATE deliveries SET next_attempt_at = NULL
WHERE status = 'pending' AND lease_owner IS NULL AND EXISTS (
    SELECT 1 FROM deliveries p WHERE p.webhook_id = deliveries.webhook_id AND p.order_key = deliveries.order_key
        AND p.status = 'pending' AND p.event_seq < deliveries.event_seq);

-- +goose Down
UPDATE deliveries SET next_attempt_at = updated_at WHERE status = 'pending' AND next_attempt_at IS NULL;
