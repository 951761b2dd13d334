-- Master keys wrapped by a KMS (TOKENSVC_MASTER_KEY_URL): the data key
-- that seals the private signing keys, encrypted by the KMS key, which
-- alone can unwrap it. id is the data key's non-secret master key id, the
-- one every sealed private key names; kms_url_hint names the KMS key
-- without its secrets. A master-key rotation retires the row it moved
-- away from; a retired row is kept so that a replica still given the old
-- KMS key as TOKENSVC_MASTER_KEY_URL_PREVIOUS can open keys until it
-- restarts. One KMS key wraps one master key in use: replicas starting
-- together each generate one, the first stored wins and the others read it.
CREATE TABLE master_keys (
    id           text PRIMARY KEY,
    wrapped      bytea NOT NULL,
    kms_url_hint text NOT NULL,
    created_at   timestamptz NOT NULL,
    retired_at   timestamptz
);
CREATE UNIQUE INDEX master_keys_one_in_use_per_kms_key ON master_keys (kms_url_hint) WHERE retired_at IS NULL;
