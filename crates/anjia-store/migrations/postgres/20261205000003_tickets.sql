-- Privacy requests and complaints (issue 5 item 6; PRIVACY.md PRV-28) and the suppression of court
-- listings after an accepted objection by a person named in them (PRV-37), PostgreSQL flavour. Same
-- tables, columns and constraints as the SQLite flavour. Every column is classified in
-- data/privacy/inventory.toml.

-- One ticket per request not served at once. The requester is a subject: the account filing it, or
-- (an objection by a person named in a court listing, without an account) a visitor subject made
-- for the ticket, whose data key seals the details and the contact number. Deleting the subject
-- (account cancellation, erasure) deletes its tickets.
CREATE TABLE privacy_requests (
    id                  BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    subject_id          TEXT NOT NULL REFERENCES subjects (id) ON DELETE CASCADE,
    -- The account to answer in the message centre; NULL for a request filed without one.
    account_id          TEXT REFERENCES accounts (id) ON DELETE CASCADE,
    kind                TEXT NOT NULL
                        CHECK (kind IN ('access', 'correction', 'deletion', 'objection', 'complaint')),
    -- The lot an objection is about (a posting id; its asset is what a suppression covers).
    posting_id          BIGINT REFERENCES postings (id) ON DELETE SET NULL,
    -- FieldCipher ciphertexts under the subject's data key.
    details_ciphertext  BYTEA NOT NULL,
    contact_ciphertext  BYTEA,
    -- SHA-256 (hex) of the receipt code given to a requester without an account (status look-up).
    receipt_hash        TEXT UNIQUE CHECK (length(receipt_hash) = 64),
    received_at         TIMESTAMPTZ NOT NULL,
    -- Asia/Shanghai calendar date: min(30 days, 15 working days) after the received date.
    due_on              DATE NOT NULL,
    status              TEXT NOT NULL CHECK (status IN ('open', 'answered', 'refused')),
    -- The answer or the reason for a refusal (staff text shown to the requester).
    outcome             TEXT CHECK (length(outcome) BETWEEN 1 AND 2000),
    -- For an answered objection: what was done to the lot.
    listing_action      TEXT CHECK (listing_action IN ('suppress', 'mask')),
    closed_at           TIMESTAMPTZ,
    closed_by           TEXT,
    overdue_alerted_at  TIMESTAMPTZ,
    CONSTRAINT privacy_requests_closed CHECK (
        (status = 'open') = (closed_at IS NULL)
        AND (status = 'open') = (outcome IS NULL)
        AND (status = 'open') = (closed_by IS NULL)),
    CONSTRAINT privacy_requests_requester CHECK (account_id IS NOT NULL OR receipt_hash IS NOT NULL),
    CONSTRAINT privacy_requests_action CHECK (listing_action IS NULL OR status = 'answered')
);
CREATE INDEX privacy_requests_subject ON privacy_requests (subject_id, id);
CREATE INDEX privacy_requests_account ON privacy_requests (account_id, id);
CREATE INDEX privacy_requests_open ON privacy_requests (due_on) WHERE status = 'open';

-- Court listings withdrawn from every surface ('suppress': the lot pages answer 410, the lot leaves
-- search, the API and the index) or shown without the parts that could name a person ('mask'),
-- per asset (all rounds and platforms of the property), after an accepted objection.
CREATE TABLE listing_suppressions (
    asset_id    BIGINT PRIMARY KEY REFERENCES assets (id) ON DELETE CASCADE,
    mode        TEXT NOT NULL CHECK (mode IN ('suppress', 'mask')),
    request_id  BIGINT REFERENCES privacy_requests (id) ON DELETE SET NULL,
    created_at  TIMESTAMPTZ NOT NULL
);
