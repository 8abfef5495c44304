-- Customer data. Personal values live only inside `fields`, sealed per field by the vault.
-- A rowid table: its rows are large, which WITHOUT ROWID tables handle poorly; ids are
-- time-ordered (UUIDv7), so the unique index on them grows at its end.
CREATE TABLE customers (
    id          BLOB NOT NULL UNIQUE,
    residency   TEXT NOT NULL,
    status      TEXT NOT NULL,
    fields      BLOB NOT NULL,
    -- The customer's blind-index keys, so that an update or an erasure removes exactly
    -- those entries without an index on customer_id in the (large, random) index tables.
    index_keys  BLOB NOT NULL,
    version     INTEGER NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);

CREATE TABLE customer_tags (
    tag         TEXT NOT NULL,
    customer_id BLOB NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    PRIMARY KEY (tag, customer_id)
) WITHOUT ROWID;
CREATE INDEX customer_tags_customer ON customer_tags(customer_id);

-- Keyed digests of normalised searchable values. A field customers are matched by (email)
-- belongs to one customer only; other searchable fields (phone) may be shared.
CREATE TABLE unique_index (
    field       TEXT NOT NULL,
    digest      BLOB NOT NULL,
    customer_id BLOB NOT NULL,
    PRIMARY KEY (field, digest)
) WITHOUT ROWID;

CREATE TABLE blind_index (
    field       TEXT NOT NULL,
    digest      BLOB NOT NULL,
    customer_id BLOB NOT NULL,
    PRIMARY KEY (field, digest, customer_id)
) WITHOUT ROWID;

CREATE TABLE interactions (
    id          BLOB PRIMARY KEY,
    customer_id BLOB NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    kind        TEXT NOT NULL,
    occurred_at INTEGER NOT NULL,
    sealed      BLOB NOT NULL,
    created_at  INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX interactions_timeline ON interactions(customer_id, occurred_at, id);

-- What remains of an erased customer: that they existed and when they were erased.
CREATE TABLE tombstones (
    customer_id BLOB PRIMARY KEY,
    erased_at   INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE audit_log (
    seq         INTEGER PRIMARY KEY,
    at          INTEGER NOT NULL,
    actor       TEXT NOT NULL,
    role        TEXT NOT NULL,
    action      TEXT NOT NULL,
    purpose     TEXT,
    targets     TEXT NOT NULL,
    fields      TEXT NOT NULL,
    detail      TEXT,
    prev_hash   BLOB NOT NULL,
    hash        BLOB NOT NULL
);

CREATE TABLE audit_checkpoints (
    seq         INTEGER PRIMARY KEY,
    head        BLOB NOT NULL,
    signature   BLOB NOT NULL,
    at          INTEGER NOT NULL
);

CREATE TABLE users (
    id            BLOB PRIMARY KEY,
    email         TEXT NOT NULL UNIQUE,
    role          TEXT NOT NULL,
    purposes      TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    disabled      INTEGER NOT NULL DEFAULT 0,
    created_at    INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE api_tokens (
    id          BLOB PRIMARY KEY,
    token_hash  BLOB NOT NULL UNIQUE,
    name        TEXT NOT NULL,
    role        TEXT NOT NULL,
    purposes    TEXT NOT NULL,
    created_by  TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER,
    revoked_at  INTEGER
) WITHOUT ROWID;

CREATE TABLE import_jobs (
    fingerprint TEXT PRIMARY KEY,
    byte_offset INTEGER NOT NULL,
    line        INTEGER NOT NULL,
    imported    INTEGER NOT NULL,
    rejected    INTEGER NOT NULL,
    reject_len  INTEGER NOT NULL,
    finished    INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
) WITHOUT ROWID;
