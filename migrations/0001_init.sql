-- Signing keys. The private half is stored only sealed under the master key
-- (AES-256-GCM, kid bound as associated data); it is set to NULL when the
-- key expires or is revoked, and the row stays for audit.
CREATE TABLE signing_keys (
    kid                text PRIMARY KEY,
    alg                text NOT NULL CHECK (alg IN ('RS256', 'RS512')),
    bits               integer NOT NULL CHECK (bits >= 2048),
    state              text NOT NULL CHECK (state IN ('pending', 'active', 'retired', 'expired', 'revoked')),
    public_key         bytea NOT NULL,
    sealed_private_key bytea,
    created_at         timestamptz NOT NULL,
    activated_at       timestamptz,
    retired_at         timestamptz,
    publish_until      timestamptz,
    expired_at         timestamptz,
    revoked_at         timestamptz
);

-- The database, not only the code, guarantees at most one active key, so two
-- replicas racing can never both make one.
CREATE UNIQUE INDEX signing_keys_one_active ON signing_keys (state) WHERE state = 'active';

-- API keys: only the SHA-256 of the secret is stored.
CREATE TABLE api_keys (
    id         text PRIMARY KEY,
    name       text NOT NULL,
    scope      text NOT NULL CHECK (scope IN ('issue', 'admin')),
    hash       bytea NOT NULL UNIQUE,
    hint       text NOT NULL,
    created_at timestamptz NOT NULL,
    revoked_at timestamptz
);
