-- The audit log: who changed what, written in the same transaction as the
-- change. Kept TOKENSVC_AUDIT_RETENTION, then deleted oldest first.
CREATE TABLE audit_log (
    id         text PRIMARY KEY,
    at         timestamptz NOT NULL,
    actor_kind text NOT NULL CHECK (actor_kind IN ('api_key', 'scheduler', 'offline')),
    actor_id   text NOT NULL DEFAULT '',
    actor_name text NOT NULL DEFAULT '',
    action     text NOT NULL,
    target     text NOT NULL,
    outcome    text NOT NULL,
    request_id text NOT NULL DEFAULT ''
);
CREATE INDEX audit_log_at ON audit_log (at, id);

-- The outbox: events to notify, written in the same transaction as the
-- change they report, delivered at least once. A sender claims an event by
-- moving next_attempt_at past its lease, so that other replicas skip it.
CREATE TABLE outbox (
    seq                bigserial NOT NULL UNIQUE,
    id                 text PRIMARY KEY,
    type               text NOT NULL,
    created_at         timestamptz NOT NULL,
    message            text NOT NULL,
    key_kid            text,
    key_state          text,
    key_dashboard      text,
    key_publish_until  timestamptz,
    attempts           integer NOT NULL DEFAULT 0,
    next_attempt_at    timestamptz NOT NULL,
    delivered_at       timestamptz,
    abandoned          boolean NOT NULL DEFAULT false,
    last_error         text NOT NULL DEFAULT ''
);
CREATE INDEX outbox_due ON outbox (next_attempt_at) WHERE delivered_at IS NULL AND NOT abandoned;
CREATE INDEX outbox_created ON outbox (created_at);
