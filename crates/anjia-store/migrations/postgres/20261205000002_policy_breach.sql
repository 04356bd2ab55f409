-- Issue 5, items 5 and 7: policy versions published at run time, the notices of a coming policy
-- version (PRV-09), and personal-information breach incidents with their notices (PRV-38,
-- 个人信息保护法 第五十七条). Every column is classified in data/privacy/inventory.toml.

-- A policy version published with `anjia policy publish` (not compiled in): its whole TOML text,
-- so that every process builds the same policy document. The version's hash and dates are in
-- policy_versions. No personal information.
CREATE TABLE policy_sources (
    version       TEXT PRIMARY KEY REFERENCES policy_versions (version),
    source_toml   TEXT NOT NULL CHECK (length(source_toml) BETWEEN 1 AND 1000000),
    published_by  TEXT NOT NULL CHECK (length(published_by) BETWEEN 1 AND 100),
    stored_at     TIMESTAMPTZ NOT NULL
);

-- One row per account told of a policy version before it takes effect: proof of the notice
-- period (the compliance check compares notified_at with the version's effective_at).
CREATE TABLE policy_notices (
    version      TEXT NOT NULL REFERENCES policy_versions (version),
    account_id   TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    message_id   BIGINT REFERENCES messages (id) ON DELETE SET NULL,
    channels     TEXT NOT NULL,
    notified_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (version, account_id)
);
CREATE INDEX policy_notices_account ON policy_notices (account_id);

-- A personal-information security incident recorded by staff, with the content the law asks a
-- notice to carry (PIPL Art. 57). The texts are the operator's words about the incident; they
-- must not name a person (the CLI and the service refuse phone numbers and ID numbers in them).
CREATE TABLE breach_incidents (
    id                 BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    title              TEXT NOT NULL CHECK (length(title) BETWEEN 1 AND 100),
    what_happened      TEXT NOT NULL CHECK (length(what_happened) BETWEEN 1 AND 4000),
    started_at         TIMESTAMPTZ NOT NULL,
    ended_at           TIMESTAMPTZ NOT NULL,
    categories         TEXT NOT NULL,
    cause              TEXT NOT NULL CHECK (length(cause) BETWEEN 1 AND 4000),
    possible_harm      TEXT NOT NULL CHECK (length(possible_harm) BETWEEN 1 AND 4000),
    remedies           TEXT NOT NULL CHECK (length(remedies) BETWEEN 1 AND 4000),
    user_actions       TEXT NOT NULL CHECK (length(user_actions) BETWEEN 1 AND 4000),
    contact            TEXT NOT NULL CHECK (length(contact) BETWEEN 1 AND 500),
    public_notice      BOOLEAN NOT NULL,
    recorded_by        TEXT NOT NULL,
    recorded_at        TIMESTAMPTZ NOT NULL,
    notified_at        TIMESTAMPTZ,
    affected_accounts  BIGINT CHECK (affected_accounts >= 0),
    CONSTRAINT breach_window CHECK (ended_at >= started_at)
);

-- One row per account told of an incident (the message-centre notice it received).
CREATE TABLE breach_notices (
    incident_id  BIGINT NOT NULL REFERENCES breach_incidents (id),
    account_id   TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    message_id   BIGINT REFERENCES messages (id) ON DELETE SET NULL,
    channels     TEXT NOT NULL,
    notified_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (incident_id, account_id)
);
CREATE INDEX breach_notices_account ON breach_notices (account_id);
