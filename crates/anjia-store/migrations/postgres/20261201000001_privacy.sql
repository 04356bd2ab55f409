-- anjia privacy schema (issue 4), PostgreSQL flavour. Same tables and columns as the SQLite
-- flavour (analytics_events lives in the schema `analytics`); times are timestamptz.
-- Every column is classified in data/privacy/inventory.toml (PI entry or [[not_pi]]); the schema
-- test in crates/anjia-store/tests fails on an unclassified one.

-- Rejects every UPDATE, DELETE and TRUNCATE of an append-only table.
CREATE FUNCTION anjia_reject_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only', TG_TABLE_NAME USING ERRCODE = 'raise_exception';
END
$$;

-- Whoever PI is about: a random 128-bit id (32 lowercase hex), nothing else.
CREATE TABLE subjects (
    id          TEXT PRIMARY KEY CHECK (length(id) = 32),
    kind        TEXT NOT NULL CHECK (kind IN ('visitor', 'account')),
    created_at  TIMESTAMPTZ NOT NULL
);

CREATE TABLE policy_versions (
    version       TEXT PRIMARY KEY,
    effective_at  TIMESTAMPTZ NOT NULL,
    -- SHA-256 (lowercase hex) of the policy text of this version.
    text_sha256   TEXT NOT NULL,
    published_at  TIMESTAMPTZ NOT NULL
);

-- Append-only consent history (PRV-06): the triggers below reject UPDATE, DELETE and TRUNCATE.
CREATE TABLE consent_records (
    id                 BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    subject_pseudonym  TEXT NOT NULL,
    policy_version     TEXT NOT NULL REFERENCES policy_versions (version),
    policy_sha256      TEXT NOT NULL,
    purpose            TEXT NOT NULL,
    action             TEXT NOT NULL CHECK (action IN ('grant', 'withdraw')),
    surface            TEXT NOT NULL,
    recorded_at        TIMESTAMPTZ NOT NULL
);
CREATE INDEX consent_records_subject ON consent_records (subject_pseudonym, id);
CREATE TRIGGER consent_records_append_only BEFORE UPDATE OR DELETE ON consent_records
    FOR EACH ROW EXECUTE FUNCTION anjia_reject_change();
CREATE TRIGGER consent_records_no_truncate BEFORE TRUNCATE ON consent_records
    FOR EACH STATEMENT EXECUTE FUNCTION anjia_reject_change();

-- Hash-chained audit log (PRV-32). `details` is the exact JSON text that was hashed (TEXT, not
-- JSONB, which would re-serialise it and break the chain). The triggers are defence in depth;
-- tamper evidence is the hash chain and the signed checkpoints.
CREATE TABLE audit_log (
    seq                BIGINT PRIMARY KEY CHECK (seq >= 0),
    at                 TIMESTAMPTZ NOT NULL,
    kind               TEXT NOT NULL,
    actor              TEXT NOT NULL,
    subject_pseudonym  TEXT,
    purpose            TEXT,
    details            TEXT NOT NULL,
    prev_hash          TEXT NOT NULL,
    hash               TEXT NOT NULL
);
CREATE INDEX audit_log_subject ON audit_log (subject_pseudonym, seq);
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION anjia_reject_change();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION anjia_reject_change();

CREATE TABLE audit_checkpoints (
    seq        BIGINT PRIMARY KEY CHECK (seq >= 0),
    hash       TEXT NOT NULL,
    signature  TEXT NOT NULL,
    key_id     TEXT NOT NULL,
    at         TIMESTAMPTZ NOT NULL
);
CREATE TRIGGER audit_checkpoints_append_only BEFORE UPDATE OR DELETE ON audit_checkpoints
    FOR EACH ROW EXECUTE FUNCTION anjia_reject_change();
CREATE TRIGGER audit_checkpoints_no_truncate BEFORE TRUNCATE ON audit_checkpoints
    FOR EACH STATEMENT EXECUTE FUNCTION anjia_reject_change();

-- One row per provision of PI to a third party (PRV-35); `fields` is a JSON array of inventory ids
-- (TEXT, as in SQLite).
CREATE TABLE third_party_provisions (
    id                 BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    subject_pseudonym  TEXT NOT NULL,
    recipient          TEXT NOT NULL,
    purpose            TEXT NOT NULL,
    fields             TEXT NOT NULL,
    provided_at        TIMESTAMPTZ NOT NULL
);
CREATE INDEX third_party_provisions_subject ON third_party_provisions (subject_pseudonym, id);

CREATE TABLE staff_members (
    id           TEXT PRIMARY KEY,
    username     TEXT NOT NULL UNIQUE,
    role         TEXT NOT NULL CHECK (role IN ('admin', 'customer_service', 'moderator', 'auditor')),
    created_at   TIMESTAMPTZ NOT NULL,
    disabled_at  TIMESTAMPTZ
);

-- Two-person rule for bulk exports (PRV-31): nobody approves their own request.
CREATE TABLE bulk_export_requests (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    requested_by  TEXT NOT NULL REFERENCES staff_members (id),
    purpose       TEXT NOT NULL,
    scope         TEXT NOT NULL,
    requested_at  TIMESTAMPTZ NOT NULL,
    approved_by   TEXT REFERENCES staff_members (id),
    approved_at   TIMESTAMPTZ,
    CONSTRAINT bulk_export_not_self_approved CHECK (approved_by IS NULL OR approved_by <> requested_by),
    CONSTRAINT bulk_export_approval_complete CHECK ((approved_by IS NULL) = (approved_at IS NULL))
);

-- Search history linked to a subject (PRV-18): the query is AES-256-GCM ciphertext under the
-- subject's data key (kept in the key vault), so shredding the key makes every copy unreadable.
CREATE TABLE search_history (
    id                BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    subject_id        TEXT NOT NULL REFERENCES subjects (id) ON DELETE CASCADE,
    query_ciphertext  BYTEA NOT NULL,
    searched_at       TIMESTAMPTZ NOT NULL
);
CREATE INDEX search_history_subject ON search_history (subject_id, searched_at);
CREATE INDEX search_history_time ON search_history (searched_at);

-- De-identified analytics (PRV-19): a schema of its own, no identity column, no join key, hour
-- granularity. Grant analysts USAGE on this schema only.
CREATE SCHEMA analytics;
CREATE TABLE analytics.analytics_events (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    hour_bucket  TIMESTAMPTZ NOT NULL,
    kind         TEXT NOT NULL,
    -- JSON object of categorical, de-identified attributes: name -> string value.
    attributes   JSONB NOT NULL
);
CREATE INDEX analytics_events_kind_hour ON analytics.analytics_events (kind, hour_bucket);
