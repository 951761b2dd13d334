-- API keys that age: an optional expiry, after which the key is refused as
-- a revoked one is, and the latest use some replica has written (each
-- replica writes its own at most once a minute per key, keeping the
-- later of the stored time and its own).
ALTER TABLE api_keys
    ADD COLUMN expires_at   timestamptz,
    ADD COLUMN last_used_at timestamptz;

-- An audit entry's detail: what the action was given beyond its target,
-- such as an API key's expiry at its creation. Older entries have none.
ALTER TABLE audit_log ADD COLUMN detail text NOT NULL DEFAULT '';
