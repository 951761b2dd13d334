-- A session has at most one live refresh token (rotated_at IS NULL): a
-- refresh supersedes the session's other live tokens, so that replays of
-- one token within TOKENSVC_SESSION_REUSE_GRACE cannot fork the session
-- into chains that all stay live. Sessions forked before this keep their
-- newest live token; the others are superseded now, so presenting one
-- after the grace is reuse, which ends the session.
UPDATE refresh_tokens t SET rotated_at = now()
WHERE rotated_at IS NULL AND EXISTS (
    SELECT 1 FROM refresh_tokens n
    WHERE n.session_id = t.session_id AND n.rotated_at IS NULL
      AND (n.issued_at, n.hash) > (t.issued_at, t.hash));

CREATE UNIQUE INDEX refresh_tokens_one_live ON refresh_tokens (session_id) WHERE rotated_at IS NULL;
