-- Login sessions: an app refreshes its token with the session's refresh
-- token instead of a new login, and logout ends the session for real.
CREATE TABLE sessions (
    id            text PRIMARY KEY,
    user_id       text NOT NULL,
    created_at    timestamptz NOT NULL,
    last_used_at  timestamptz NOT NULL,
    expires_at    timestamptz NOT NULL,
    revoked_at    timestamptz,
    revoke_reason text NOT NULL DEFAULT ''
);
CREATE INDEX sessions_user ON sessions (user_id, created_at);

-- Every refresh token a session was given, by SHA-256: the current one has
-- no rotated_at. Keeping the rotated ones is what lets a replayed token be
-- recognised as reuse, which ends the session.
CREATE TABLE refresh_tokens (
    hash       bytea PRIMARY KEY,
    session_id text NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    issued_at  timestamptz NOT NULL,
    rotated_at timestamptz
);
CREATE INDEX refresh_tokens_session ON refresh_tokens (session_id);
