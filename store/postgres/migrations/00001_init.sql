-- +goose Up
-- The PostgreSQL twin of store/sqlite/migrations: same tables, columns and
-- indexes (a test compares the two), with PostgreSQL's types. Text that is
-- sorted uses COLLATE "C", the byte order SQLite sorts in.

CREATE TABLE workspaces (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL
);

CREATE TABLE api_keys (
    id           TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL REFERENCES workspaces (id),
    name         TEXT NOT NULL,
    hash         TEXT NOT NULL UNIQUE,
    prefix       TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    revoked_at   BIGINT
);
CREATE INDEX api_keys_workspace ON api_keys (workspace_id);

-- Records of every object share one table; user fields live in the JSONB
-- column data, so custom objects need no DDL. Times are fixed-width text
-- (herald.TimeLayout) so that filters compare them with client strings.
CREATE TABLE records (
    workspace_id TEXT NOT NULL,
    object       TEXT NOT NULL,
    id           TEXT COLLATE "C" NOT NULL,
    data         JSONB NOT NULL,
    created_at   TEXT COLLATE "C" NOT NULL,
    updated_at   TEXT COLLATE "C" NOT NULL,
    deleted_at   TEXT COLLATE "C",
    created_by   TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (workspace_id, object, id)
);
CREATE INDEX records_created ON records (workspace_id, object, created_at, id);

CREATE TABLE webhooks (
    id                         TEXT PRIMARY KEY,
    workspace_id               TEXT NOT NULL REFERENCES workspaces (id),
    target_url                 TEXT NOT NULL,
    operations                 TEXT NOT NULL,
    description                TEXT NOT NULL,
    secret                     TEXT NOT NULL,
    previous_secret            TEXT NOT NULL DEFAULT '',
    previous_secret_expires_at BIGINT,
    status                     TEXT NOT NULL,
    payload_format             TEXT NOT NULL,
    disabled_at                BIGINT,
    disabled_reason            TEXT NOT NULL DEFAULT '',
    created_at                 BIGINT NOT NULL,
    updated_at                 BIGINT NOT NULL,
    -- Health: the first failure since the last success (auto-disable
    -- looks at it), and the latest of each outcome.
    failing_since              BIGINT,
    last_success_at            BIGINT,
    last_failure_at            BIGINT,
    last_error                 TEXT NOT NULL DEFAULT ''
);
CREATE INDEX webhooks_failing ON webhooks (failing_since) WHERE status = 'active' AND failing_since IS NOT NULL;
CREATE INDEX webhooks_workspace ON webhooks (workspace_id);

-- The outbox. seq orders events by commit.
CREATE TABLE events (
    seq            BIGSERIAL PRIMARY KEY,
    id             TEXT NOT NULL UNIQUE,
    workspace_id   TEXT NOT NULL,
    name           TEXT NOT NULL,
    object         TEXT NOT NULL,
    object_plural  TEXT NOT NULL,
    record_id      TEXT NOT NULL,
    data           TEXT NOT NULL,
    updated_fields TEXT,
    previous_data  TEXT,
    occurred_at    BIGINT NOT NULL
);
CREATE INDEX events_workspace_time ON events (workspace_id, occurred_at);
CREATE INDEX events_time ON events (occurred_at);

-- One row per (webhook, event): the UNIQUE constraint is what makes
-- fan-out idempotent. Times are Unix milliseconds.
CREATE TABLE deliveries (
    id               BIGSERIAL PRIMARY KEY,
    workspace_id     TEXT NOT NULL,
    webhook_id       TEXT NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    event_seq        BIGINT NOT NULL REFERENCES events (seq),
    order_key        TEXT NOT NULL,
    status           TEXT NOT NULL,
    attempts         BIGINT NOT NULL DEFAULT 0,
    -- attempts when a manual retry or a replay restarted the schedule.
    round_base       BIGINT NOT NULL DEFAULT 0,
    next_attempt_at  BIGINT,
    lease_owner      TEXT,
    lease_until      BIGINT,
    last_status_code BIGINT NOT NULL DEFAULT 0,
    last_error       TEXT NOT NULL DEFAULT '',
    last_latency_us  BIGINT NOT NULL DEFAULT 0,
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL,
    completed_at     BIGINT,
    UNIQUE (webhook_id, event_seq)
);
CREATE INDEX deliveries_due ON deliveries (next_attempt_at, id) WHERE status = 'pending';
-- Lane claims: one webhook's pending deliveries, oldest due first.
CREATE INDEX deliveries_lane ON deliveries (webhook_id, next_attempt_at, id) WHERE status = 'pending';
-- Per-record order: the claim looks for an earlier pending delivery of the
-- same record to the same webhook.
CREATE INDEX deliveries_order ON deliveries (webhook_id, order_key, event_seq) WHERE status = 'pending';
CREATE INDEX deliveries_webhook ON deliveries (webhook_id, id);
CREATE INDEX deliveries_lease ON deliveries (lease_owner) WHERE lease_owner IS NOT NULL;
-- Retention walks finished deliveries by age; event pruning asks whether
-- any delivery still refers to an event.
CREATE INDEX deliveries_completed ON deliveries (completed_at) WHERE status <> 'pending';
CREATE INDEX deliveries_event ON deliveries (event_seq);

CREATE TABLE attempts (
    delivery_id   BIGINT NOT NULL REFERENCES deliveries (id) ON DELETE CASCADE,
    number        BIGINT NOT NULL,
    webhook_id    TEXT NOT NULL,
    started_at    BIGINT NOT NULL,
    status_code   BIGINT NOT NULL,
    latency_us    BIGINT NOT NULL,
    error         TEXT NOT NULL,
    response_body TEXT NOT NULL,
    PRIMARY KEY (delivery_id, number)
);
-- Per-webhook success rates over a recent window.
CREATE INDEX attempts_webhook ON attempts (webhook_id, started_at);

-- +goose Down
DROP TABLE attempts;
DROP TABLE deliveries;
DROP TABLE events;
DROP TABLE webhooks;
DROP TABLE records;
DROP TABLE api_keys;
DROP TABLE workspaces;
