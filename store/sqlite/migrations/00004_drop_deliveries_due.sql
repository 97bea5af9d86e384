-- +goose Up
-- Every delivery insert and completion paid for this index. Its readers
-- now go through deliveries_lane instead: the engine's next-due probe asks
-- each webhook's lane (few webhooks, each an indexed seek), and the queue
-- statistics read the lane index, which holds the same pending rows.
DROP INDEX deliveries_due;

-- +goose Down
CREATE INDEX deliveries_due ON deliveries (next_attempt_at, id) WHERE status = 'pending';
