-- anjia initial schema, PostgreSQL flavour.
-- Times are timestamptz (UTC instants). Dates are DATE (Asia/Shanghai calendar dates).
-- Money is BIGINT fen (1 yuan = 100 fen). Areas are DOUBLE PRECISION m².

-- One asset (标的物) is offered in one or more postings (rounds × platforms).
-- link_key = normalised address || '|' || normalised seller name ('' when the seller is unknown);
-- postings with an empty normalised address get a key of their own ('posting:<platform>:<id>').
CREATE TABLE assets (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    link_key    TEXT NOT NULL UNIQUE,
    created_at  TIMESTAMPTZ NOT NULL
);

CREATE TABLE import_runs (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    file         TEXT NOT NULL,
    importer     TEXT NOT NULL,
    started_at   TIMESTAMPTZ NOT NULL,
    finished_at  TIMESTAMPTZ,
    records_read BIGINT NOT NULL DEFAULT 0,
    inserted     BIGINT NOT NULL DEFAULT 0,
    updated      BIGINT NOT NULL DEFAULT 0,
    unchanged    BIGINT NOT NULL DEFAULT 0,
    -- JSON object: rejection reason code -> count.
    rejected     JSONB NOT NULL DEFAULT '{}'
);

CREATE TABLE import_rejections (
    id        BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    run_id    BIGINT NOT NULL REFERENCES import_runs (id) ON DELETE CASCADE,
    location  TEXT NOT NULL,
    reason    TEXT NOT NULL,
    detail    TEXT NOT NULL
);
CREATE INDEX import_rejections_run ON import_rejections (run_id);

CREATE TABLE postings (
    id                        BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    asset_id                  BIGINT NOT NULL REFERENCES assets (id),
    platform                  TEXT NOT NULL,
    kind                      TEXT NOT NULL,
    source_item_id            TEXT NOT NULL,
    source_url                TEXT,
    fetched_at                TIMESTAMPTZ NOT NULL,
    importer                  TEXT NOT NULL,
    title                     TEXT NOT NULL,
    address                   TEXT NOT NULL,
    community                 TEXT,
    round                     TEXT NOT NULL,
    stored_status             TEXT,
    property_type             TEXT NOT NULL,
    province                  INTEGER,
    city                      INTEGER,
    district                  INTEGER,
    building_area_m2          DOUBLE PRECISION,
    start_price_fen           BIGINT,
    start_price_low_fen       BIGINT,
    start_price_high_fen      BIGINT,
    start_price_precision     TEXT,
    start_price_method        TEXT,
    appraised_value_fen       BIGINT,
    appraised_value_low_fen   BIGINT,
    appraised_value_high_fen  BIGINT,
    appraised_value_precision TEXT,
    appraised_value_method    TEXT,
    appraisal_basis           TEXT,
    deposit_fen               BIGINT,
    bid_increment_fen         BIGINT,
    current_price_fen         BIGINT,
    auction_start             TIMESTAMPTZ,
    auction_end               TIMESTAMPTZ,
    listed_on                 DATE,
    seller_name               TEXT,
    seller_kind               TEXT NOT NULL,
    applicant_count           BIGINT,
    viewer_count              BIGINT,
    bid_count                 BIGINT,
    supports_loan             BOOLEAN,
    bankruptcy                BOOLEAN NOT NULL,
    -- SHA-256 (hex) of the posting's content, raw record included, fetched_at excluded.
    content_hash              TEXT NOT NULL,
    created_at                TIMESTAMPTZ NOT NULL,
    updated_at                TIMESTAMPTZ NOT NULL,
    CONSTRAINT postings_source_unique UNIQUE (platform, source_item_id),
    CONSTRAINT postings_start_price_band CHECK (
        start_price_fen IS NULL OR (
            start_price_precision IS NOT NULL
            AND 0 <= start_price_low_fen
            AND start_price_low_fen <= start_price_fen
            AND start_price_fen <= start_price_high_fen)),
    CONSTRAINT postings_appraised_value_band CHECK (
        appraised_value_fen IS NULL OR (
            appraised_value_precision IS NOT NULL
            AND 0 <= appraised_value_low_fen
            AND appraised_value_low_fen <= appraised_value_fen
            AND appraised_value_fen <= appraised_value_high_fen)),
    CONSTRAINT postings_money_not_negative CHECK (
        coalesce(deposit_fen, 0) >= 0
        AND coalesce(bid_increment_fen, 0) >= 0
        AND coalesce(current_price_fen, 0) >= 0)
);
CREATE INDEX postings_asset ON postings (asset_id);
CREATE INDEX postings_auction_start ON postings (auction_start);

-- The unmodified source record of every version of a posting that an import stored (history:
-- a new row when a posting is inserted or changed; none when it was unchanged). The newest row
-- (highest id) is the current one.
CREATE TABLE posting_provenance (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    posting_id      BIGINT NOT NULL REFERENCES postings (id) ON DELETE CASCADE,
    import_run_id   BIGINT NOT NULL REFERENCES import_runs (id),
    platform        TEXT NOT NULL,
    source_item_id  TEXT NOT NULL,
    source_url      TEXT,
    fetched_at      TIMESTAMPTZ NOT NULL,
    importer        TEXT NOT NULL,
    raw             JSONB NOT NULL
);
CREATE INDEX posting_provenance_posting ON posting_provenance (posting_id, id);
