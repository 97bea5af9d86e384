-- +goose Up
-- A webhook may be sent at most throttle_rate requests a second (0: no
-- limit). throttle_next is when its next request may go, in microseconds
-- since the epoch: each claim takes the slots from there, so the rate
-- holds across every delivering process.
ALTER TABLE webhooks ADD COLUMN throttle_rate INTEGER NOT NULL DEFAULT 0;
ALTER TABLE webhooks ADD COLUMN throttle_next BIGINT NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE webhooks DROP COLUMN throttle_next;
ALTER TABLE webhooks DROP COLUMN throttle_rate;
