-- anjia key vault (issue 4), PostgreSQL flavour: a database of its own, never the main one, so
-- that backups of the main database hold no data key (PRV-13, PRV-26).

-- Wrapped data keys: "ajk1" | kek_version u32 BE | nonce | AES-256-GCM(dek), AAD "<subject>|<kind>".
CREATE TABLE subject_keys (
    subject_id   TEXT NOT NULL,
    kind         TEXT NOT NULL CHECK (kind IN ('data', 'legal_hold')),
    dek_version  BIGINT NOT NULL CHECK (dek_version >= 0),
    kek_version  BIGINT NOT NULL CHECK (kek_version >= 0),
    wrapped      BYTEA NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (subject_id, kind, dek_version)
);

-- Which keys were destroyed, and when; no key material.
CREATE TABLE shredded_keys (
    subject_id   TEXT NOT NULL,
    kind         TEXT NOT NULL CHECK (kind IN ('data', 'legal_hold')),
    shredded_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (subject_id, kind)
);
