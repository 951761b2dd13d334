-- Whether an operator confirmed that a signing key's public half is in the
-- verifier's dashboard (MoEngage has no JWKS URL: a person pastes each key),
-- when, and who. NULL until confirmed; keys from before this migration read
-- as never confirmed, so the operator confirms the ones that are registered.
ALTER TABLE signing_keys
    ADD COLUMN registered_at timestamptz,
    ADD COLUMN registered_by text;
