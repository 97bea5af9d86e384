-- +goose Up
-- The lane index holds only what a claim may take: pending and unleased.
-- Besides skipping in-flight rows, this keeps it out of the claim's
-- per-record order check, which must see leased rows too: with statistics
-- taken when little was pending, PostgreSQL used to answer that check from
-- this index, reading the webhook's whole queue for every candidate.
-- Now only deliveries_order can serve it.
DROP INDEX deliveries_lane;
CREATE INDEX deliveries_lane ON deliveries (webhook_id, next_attempt_at, id) WHERE status = 'pending' AND lease_owner IS NULL;

-- +goose Down
DROP INDEX deliveries_lane;
CREATE INDEX deliveries_lane ON deliveries (webhook_id, next_attempt_at, id) WHERE status = 'pending';
