-- anjia saved searches, change events, notifications, outbox and message centre (issue 7;
-- docs/ALERTS-DESIGN.md "Storage"), PostgreSQL flavour. Same tables, columns and constraints as the
-- SQLite flavour; times are timestamptz, JSON is JSONB, ciphertexts BYTEA in the FieldCipher
-- format. Everything a user owns goes with the account (ON DELETE CASCADE): account
-- cancellation (issue 5) deletes the account row. Every column is classified in
-- data/privacy/inventory.toml.

-- A saved search (选房条件): criteria are a SearchRequest without sort/page/per_page (a JSON
-- object); channels are a canonical comma list that always starts with in_app. At most 100 per
-- account (enforced by anjia-store, MAX_SAVED_SEARCHES_PER_ACCOUNT).
CREATE TABLE saved_searches (
    id                 BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id         TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    name               TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 40),
    criteria           JSONB NOT NULL CHECK (jsonb_typeof(criteria) = 'object'),
    channels           TEXT NOT NULL
                       CHECK (channels IN ('in_app', 'in_app,sms', 'in_app,email', 'in_app,sms,email')),
    frequency          TEXT NOT NULL CHECK (frequency IN ('instant', 'daily')),
    active             BOOLEAN NOT NULL,
    -- Random value signed into the unsubscribe token; a new nonce invalidates old links.
    unsubscribe_nonce  TEXT NOT NULL CHECK (length(unsubscribe_nonce) BETWEEN 16 AND 64),
    created_at         TIMESTAMPTZ NOT NULL,
    updated_at         TIMESTAMPTZ NOT NULL
);
CREATE INDEX saved_searches_account ON saved_searches (account_id, id);
CREATE INDEX saved_searches_active ON saved_searches (id) WHERE active;

-- Lots a user follows (关注); at most 500 per account (anjia-store, MAX_FOLLOWS_PER_ACCOUNT).
CREATE TABLE follows (
    account_id  TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    posting_id  BIGINT NOT NULL REFERENCES postings (id) ON DELETE CASCADE,
    created_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (account_id, posting_id)
);
CREATE INDEX follows_posting ON follows (posting_id);

-- Lots an account viewed (PI, 180 days like search_history; kept only with consent
-- search_history). One row per account and lot: a new view moves viewed_at forward.
CREATE TABLE browsing_history (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id  TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    posting_id  BIGINT NOT NULL REFERENCES postings (id) ON DELETE CASCADE,
    viewed_at   TIMESTAMPTZ NOT NULL,
    CONSTRAINT browsing_history_once UNIQUE (account_id, posting_id)
);
CREATE INDEX browsing_history_account ON browsing_history (account_id, viewed_at);
CREATE INDEX browsing_history_time ON browsing_history (viewed_at);
CREATE INDEX browsing_history_posting ON browsing_history (posting_id);

-- Changes of lots, each stored once (dedupe_key UNIQUE), written by the import's transaction and
-- by the starting-soon scan; matched_at is set when the matcher has produced the notifications.
CREATE TABLE lot_events (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    posting_id  BIGINT NOT NULL REFERENCES postings (id) ON DELETE CASCADE,
    asset_id    BIGINT NOT NULL REFERENCES assets (id) ON DELETE CASCADE,
    kind        TEXT NOT NULL
                CHECK (kind IN ('new_lot', 'next_round', 'price_changed', 'status_changed', 'starting_soon')),
    detail      JSONB NOT NULL CHECK (jsonb_typeof(detail) = 'object'),
    dedupe_key  TEXT NOT NULL CHECK (length(dedupe_key) BETWEEN 1 AND 200),
    created_at  TIMESTAMPTZ NOT NULL,
    matched_at  TIMESTAMPTZ,
    CONSTRAINT lot_events_dedupe UNIQUE (dedupe_key)
);
CREATE INDEX lot_events_pending ON lot_events (id) WHERE matched_at IS NULL;
CREATE INDEX lot_events_posting ON lot_events (posting_id);
CREATE INDEX lot_events_time ON lot_events (created_at);

-- At most one notification per account and event; several saved searches of one account that
-- match one event share it (the explanation names them all).
CREATE TABLE notifications (
    id               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id       TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    event_id         BIGINT NOT NULL REFERENCES lot_events (id) ON DELETE CASCADE,
    posting_id       BIGINT NOT NULL REFERENCES postings (id) ON DELETE CASCADE,
    kind             TEXT NOT NULL
                     CHECK (kind IN ('new_lot', 'next_round', 'price_changed', 'status_changed', 'starting_soon')),
    saved_search_id  BIGINT REFERENCES saved_searches (id) ON DELETE SET NULL,
    explanation      TEXT NOT NULL CHECK (length(explanation) BETWEEN 1 AND 500),
    personalised     BOOLEAN NOT NULL,
    created_at       TIMESTAMPTZ NOT NULL,
    CONSTRAINT notifications_once UNIQUE (account_id, event_id)
);
CREATE INDEX notifications_event ON notifications (event_id);
CREATE INDEX notifications_saved_search ON notifications (saved_search_id);
CREATE INDEX notifications_time ON notifications (created_at);

-- The message centre. Delete is a real DELETE. An alert message belongs to one notification
-- (notification_id UNIQUE: a repeated delivery attempt finds it written).
CREATE TABLE messages (
    id               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id       TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    category         TEXT NOT NULL
                     CHECK (category IN ('alert', 'system', 'policy', 'breach', 'transaction')),
    title            TEXT NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
    body             TEXT NOT NULL CHECK (length(body) <= 10000),
    link             TEXT CHECK (length(link) BETWEEN 1 AND 2000),
    notification_id  BIGINT REFERENCES notifications (id) ON DELETE SET NULL,
    created_at       TIMESTAMPTZ NOT NULL,
    read_at          TIMESTAMPTZ,
    CONSTRAINT messages_notification UNIQUE (notification_id)
);
CREATE INDEX messages_account ON messages (account_id, id);
CREATE INDEX messages_unread ON messages (account_id) WHERE read_at IS NULL;

-- One row per (notification, channel) or (system message, channel): the outbox. last_error is a
-- reason id (e.g. no-consent, daily-cap), never a message that could carry PI.
CREATE TABLE deliveries (
    id               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    notification_id  BIGINT REFERENCES notifications (id) ON DELETE CASCADE,
    message_id       BIGINT REFERENCES messages (id) ON DELETE SET NULL,
    account_id       TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    channel          TEXT NOT NULL CHECK (channel IN ('in_app', 'sms', 'email')),
    status           TEXT NOT NULL CHECK (status IN ('pending', 'sent', 'failed', 'suppressed')),
    attempts         BIGINT NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at  TIMESTAMPTZ NOT NULL,
    last_error       TEXT CHECK (length(last_error) BETWEEN 1 AND 64
                                 AND last_error ~ '^[a-z0-9_-]+$'),
    digest           BOOLEAN NOT NULL,
    created_at       TIMESTAMPTZ NOT NULL,
    sent_at          TIMESTAMPTZ,
    CONSTRAINT deliveries_notification_channel UNIQUE (notification_id, channel),
    CONSTRAINT deliveries_message_channel UNIQUE (message_id, channel),
    CONSTRAINT deliveries_sent_at CHECK ((status = 'sent') = (sent_at IS NOT NULL)),
    CONSTRAINT deliveries_in_app_not_digest CHECK (channel <> 'in_app' OR NOT digest)
);
CREATE INDEX deliveries_due ON deliveries (digest, next_attempt_at) WHERE status = 'pending';
CREATE INDEX deliveries_sent ON deliveries (account_id, channel, sent_at) WHERE status = 'sent';
CREATE INDEX deliveries_account ON deliveries (account_id);
CREATE INDEX deliveries_message ON deliveries (message_id);
CREATE INDEX deliveries_time ON deliveries (created_at);

-- Per-account delivery settings; no row means the defaults. Quiet hours are minutes of the day in
-- Asia/Shanghai (start = end: none); the e-mail address is sealed with the account's data key.
CREATE TABLE notification_settings (
    account_id          TEXT PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
    quiet_start_minute  BIGINT NOT NULL DEFAULT 1320 CHECK (quiet_start_minute BETWEEN 0 AND 1439),
    quiet_end_minute    BIGINT NOT NULL DEFAULT 480 CHECK (quiet_end_minute BETWEEN 0 AND 1439),
    daily_cap           BIGINT NOT NULL DEFAULT 20 CHECK (daily_cap BETWEEN 0 AND 100),
    email_ciphertext    BYTEA,
    updated_at          TIMESTAMPTZ NOT NULL
);

-- The development e-mail gateway's "mailbox": what it would have sent, under the address's keyed
-- hash (never the address).
CREATE TABLE email_outbox (
    id               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    recipient_index  TEXT NOT NULL CHECK (length(recipient_index) = 64),
    subject          TEXT NOT NULL,
    body             TEXT NOT NULL,
    delivery_id      BIGINT REFERENCES deliveries (id) ON DELETE SET NULL,
    created_at       TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX email_outbox_delivery ON email_outbox (delivery_id);
CREATE INDEX email_outbox_recipient ON email_outbox (recipient_index, id);
CREATE INDEX email_outbox_time ON email_outbox (created_at);

-- Alert SMS carry their delivery id: a repeated attempt after a crash finds the message written.
ALTER TABLE sms_outbox ADD COLUMN delivery_id BIGINT REFERENCES deliveries (id) ON DELETE SET NULL;
CREATE UNIQUE INDEX sms_outbox_delivery ON sms_outbox (delivery_id);
