-- anjia key vault (issue 4), SQLite flavour: a database of its own, never the main one, so that
-- backups of the main database hold no data key (PRV-13, PRV-26). Opened with
-- PRAGMA secure_delete = ON: deleted key bytes are overwritten in the file.

-- Wrapped data keys: "ajk1" | kek_version u32 BE | nonce | AES-256-GCM(dek), AAD "<subject>|<kind>".
CREATE TABLE subject_keys (
    subject_id   TEXT NOT NULL,
    kind         TEXT NOT NULL CHECK (kind IN ('data', 'legal_hold')),
    dek_version  INTEGER NOT NULL CHECK (dek_version >= 0),
    kek_version  INTEGER NOT NULL CHECK (kek_version >= 0),
    wrapped      BLOB NOT NULL,
    created_at   TEXT NOT NULL,
    PRIMARY KEY (subject_id, kind, dek_version)
);

-- Which keys were destroyed, and when; no key material.
CREATE TABLE shredded_keys (
    subject_id   TEXT NOT NULL,
    kind         TEXT NOT NULL CHECK (kind IN ('data', 'legal_hold')),
    shredded_at  TEXT NOT NULL,
    PRIMARY KEY (subject_id, kind)
);
