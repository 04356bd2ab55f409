-- anjia accounts schema (issue 3; docs/ACCOUNTS-DESIGN.md §B), PostgreSQL flavour. Same tables,
-- columns and constraints as the SQLite flavour; times are timestamptz, ciphertexts BYTEA in the
-- FieldCipher format (as search_history.query_ciphertext). Keyed hashes (BlindIndex HMAC-SHA256)
-- and token hashes (SHA-256) are 64 lowercase hex characters; the length checks catch a plaintext
-- written by mistake. Every column is classified in data/privacy/inventory.toml.

-- An account is a subject (kind 'account'): deleting the subject deletes the account and, by
-- cascade, the account's own data. An active account has a phone number; cancelling clears it, so
-- the number is free for a new account (PRV-22). UNIQUE allows many NULLs (cancelled accounts).
CREATE TABLE accounts (
    id                 TEXT PRIMARY KEY REFERENCES subjects (id) ON DELETE CASCADE,
    phone_index        TEXT UNIQUE CHECK (length(phone_index) = 64),
    phone_ciphertext   BYTEA,
    nickname           TEXT,
    avatar_file        TEXT,
    -- Argon2id PHC string.
    password_hash      TEXT,
    password_failures  BIGINT NOT NULL DEFAULT 0 CHECK (password_failures >= 0),
    locked_until       TIMESTAMPTZ,
    status             TEXT NOT NULL CHECK (status IN ('active', 'cancelled')),
    created_at         TIMESTAMPTZ NOT NULL,
    updated_at         TIMESTAMPTZ NOT NULL,
    CONSTRAINT accounts_phone_complete CHECK ((phone_index IS NULL) = (phone_ciphertext IS NULL)),
    CONSTRAINT accounts_active_has_phone CHECK ((status = 'active') = (phone_index IS NOT NULL))
);

-- One row per SMS code sent. No key to accounts: codes go to numbers that have no account yet.
-- The code itself is never stored, only its keyed hash.
CREATE TABLE sms_codes (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    phone_index  TEXT NOT NULL CHECK (length(phone_index) = 64),
    purpose      TEXT NOT NULL
                 CHECK (purpose IN ('sign_in', 'recover', 'step_up', 'change_phone', 'guardian')),
    code_hash    TEXT NOT NULL CHECK (length(code_hash) = 64),
    ip_index     TEXT NOT NULL CHECK (length(ip_index) = 64),
    created_at   TIMESTAMPTZ NOT NULL,
    expires_at   TIMESTAMPTZ NOT NULL,
    attempts     BIGINT NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    consumed_at  TIMESTAMPTZ,
    CONSTRAINT sms_codes_expiry_after_creation CHECK (expires_at > created_at)
);
CREATE INDEX sms_codes_phone ON sms_codes (phone_index, created_at);
CREATE INDEX sms_codes_ip ON sms_codes (ip_index, created_at);
CREATE INDEX sms_codes_time ON sms_codes (created_at);

-- The development SMS gateway's "phone": the messages it would have sent, under the number's keyed
-- hash (never the number).
CREATE TABLE sms_outbox (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    phone_index  TEXT NOT NULL CHECK (length(phone_index) = 64),
    body         TEXT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL
);
CREATE INDEX sms_outbox_phone ON sms_outbox (phone_index, id);
CREATE INDEX sms_outbox_time ON sms_outbox (created_at);

-- Signed-in sessions; the id is the SHA-256 (hex) of the token, never the token.
CREATE TABLE sessions (
    id             TEXT PRIMARY KEY CHECK (length(id) = 64),
    account_id     TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    kind           TEXT NOT NULL CHECK (kind IN ('web', 'app')),
    created_at     TIMESTAMPTZ NOT NULL,
    expires_at     TIMESTAMPTZ NOT NULL,
    last_seen_at   TIMESTAMPTZ NOT NULL,
    revoked_at     TIMESTAMPTZ,
    device_model   TEXT,
    os             TEXT,
    app_version    TEXT,
    network_type   TEXT,
    ip_ciphertext  BYTEA,
    CONSTRAINT sessions_expiry_after_creation CHECK (expires_at > created_at)
);
CREATE INDEX sessions_account ON sessions (account_id);
CREATE INDEX sessions_expires ON sessions (expires_at);

-- OAuth 2.0 authorisation requests in flight (PKCE); the id is the SHA-256 (hex) of the state.
-- A 'link' request belongs to a signed-in account.
CREATE TABLE oauth_states (
    id                   TEXT PRIMARY KEY CHECK (length(id) = 64),
    provider             TEXT NOT NULL,
    code_verifier        TEXT NOT NULL,
    intent               TEXT NOT NULL CHECK (intent IN ('login', 'link')),
    account_id           TEXT REFERENCES accounts (id) ON DELETE CASCADE,
    created_at           TIMESTAMPTZ NOT NULL,
    expires_at           TIMESTAMPTZ NOT NULL,
    consumed_at          TIMESTAMPTZ,
    provider_user_index  TEXT CHECK (length(provider_user_index) = 64),
    nickname             TEXT,
    CONSTRAINT oauth_states_link_has_account CHECK (intent <> 'link' OR account_id IS NOT NULL),
    CONSTRAINT oauth_states_expiry_after_creation CHECK (expires_at > created_at)
);
CREATE INDEX oauth_states_expires ON oauth_states (expires_at);

-- Linked third-party logins: one link per provider per account, one account per provider user.
CREATE TABLE oauth_links (
    account_id           TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    provider             TEXT NOT NULL,
    provider_user_index  TEXT NOT NULL CHECK (length(provider_user_index) = 64),
    linked_at            TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (account_id, provider),
    CONSTRAINT oauth_links_provider_user UNIQUE (provider, provider_user_index)
);

-- Result of real-name verification (PRV-12: only the result, the masked number and a keyed hash;
-- the birth date, sealed, is kept for the age rules of PRV-15 — never the name or the number). Only a verified document holds a document_index:
-- one document verifies one account, and a failed attempt with someone else's number does not
-- block its owner.
CREATE TABLE identity_verifications (
    account_id             TEXT PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
    document_type          TEXT NOT NULL,
    status                 TEXT NOT NULL CHECK (status IN ('verified', 'mismatch')),
    number_masked          TEXT NOT NULL,
    document_index         TEXT UNIQUE CHECK (length(document_index) = 64),
    birth_date_ciphertext  BYTEA,
    provider               TEXT NOT NULL,
    verified_at            TIMESTAMPTZ NOT NULL,
    CONSTRAINT identity_verifications_index_only_verified
        CHECK (status = 'verified' OR document_index IS NULL)
);

-- A guardian's consent for a minor's account (PRV-15).
CREATE TABLE guardian_consents (
    account_id                 TEXT PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
    guardian_name_ciphertext   BYTEA NOT NULL,
    guardian_phone_ciphertext  BYTEA NOT NULL,
    relationship               TEXT NOT NULL,
    recorded_at                TIMESTAMPTZ NOT NULL
);
