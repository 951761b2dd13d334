-- Console sessions: the operator console's sign-ins, each an admin API key
-- exchanged for a cookie. Only the SHA-256 of the cookie's secret is
-- stored. A session ends an hour after its last use or twelve hours after
-- sign-in; the hourly purge deletes those, by the two time indexes. API
-- keys are never deleted (a revoked one stays for the audit log), so the
-- reference needs no ON DELETE action: it refuses a session for a key that
-- does not exist.
CREATE TABLE console_sessions (
    id         text PRIMARY KEY,
    hash       bytea NOT NULL UNIQUE,
    key_id     text NOT NULL REFERENCES api_keys (id),
    csrf       text NOT NULL,
    created_at timestamptz NOT NULL,
    seen_at    timestamptz NOT NULL
);
CREATE INDEX console_sessions_seen ON console_sessions (seen_at);
CREATE INDEX console_sessions_created ON console_sessions (created_at);
