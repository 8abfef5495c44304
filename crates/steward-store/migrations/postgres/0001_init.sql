-- Customer data. Personal values live only inside `fields`, sealed per field by the vault.
-- Every personal table carries customer_id so it can be distributed by customer.
CREATE TABLE customers (
    id          UUID PRIMARY KEY,
    residency   TEXT NOT NULL,
    status      TEXT NOT NULL,
    fields      BYTEA NOT NULL,
    -- The customer's blind-index keys, so that an update or an erasure removes exactly
    -- those entries without an index on customer_id in the (large, random) index tables.
    index_keys  BYTEA NOT NULL,
    version     BIGINT NOT NULL,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);

CREATE TABLE customer_tags (
    tag         TEXT NOT NULL,
    customer_id UUID NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    PRIMARY KEY (tag, customer_id)
);
CREATE INDEX customer_tags_customer ON customer_tags(customer_id);

-- Keyed digests of normalised searchable values. A field customers are matched by (email)
-- belongs to one customer only; other searchable fields (phone) may be shared.
CREATE TABLE unique_index (
    field       TEXT NOT NULL,
    digest      BYTEA NOT NULL,
    customer_id UUID NOT NULL,
    PRIMARY KEY (field, digest)
);

CREATE TABLE blind_index (
    field       TEXT NOT NULL,
    digest      BYTEA NOT NULL,
    customer_id UUID NOT NULL,
    PRIMARY KEY (field, digest, customer_id)
);

CREATE TABLE interactions (
    id          UUID PRIMARY KEY,
    customer_id UUID NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    kind        TEXT NOT NULL,
    occurred_at BIGINT NOT NULL,
    sealed      BYTEA NOT NULL,
    created_at  BIGINT NOT NULL
);
CREATE INDEX interactions_timeline ON interactions(customer_id, occurred_at, id);

CREATE TABLE tombstones (
    customer_id UUID PRIMARY KEY,
    erased_at   BIGINT NOT NULL
);

CREATE TABLE audit_log (
    seq         BIGINT PRIMARY KEY,
    at          BIGINT NOT NULL,
    actor       TEXT NOT NULL,
    role        TEXT NOT NULL,
    action      TEXT NOT NULL,
    purpose     TEXT,
    targets     TEXT NOT NULL,
    fields      TEXT NOT NULL,
    detail      TEXT,
    prev_hash   BYTEA NOT NULL,
    hash        BYTEA NOT NULL
);

-- One row, locked by every appender, so that instances sharing the database extend one chain.
CREATE TABLE audit_head (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    seq         BIGINT NOT NULL,
    hash        BYTEA NOT NULL
);
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, decode(repeat('00', 32), 'hex'));

CREATE TABLE audit_checkpoints (
    seq         BIGINT PRIMARY KEY,
    head        BYTEA NOT NULL,
    signature   BYTEA NOT NULL,
    at          BIGINT NOT NULL
);

CREATE TABLE users (
    id            UUID PRIMARY KEY,
    email         TEXT NOT NULL UNIQUE,
    role          TEXT NOT NULL,
    purposes      TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    disabled      BOOLEAN NOT NULL DEFAULT FALSE,
    created_at    BIGINT NOT NULL
);

CREATE TABLE api_tokens (
    id          UUID PRIMARY KEY,
    token_hash  BYTEA NOT NULL UNIQUE,
    name        TEXT NOT NULL,
    role        TEXT NOT NULL,
    purposes    TEXT NOT NULL,
    created_by  TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT,
    revoked_at  BIGINT
);

CREATE TABLE import_jobs (
    fingerprint TEXT PRIMARY KEY,
    byte_offset BIGINT NOT NULL,
    line        BIGINT NOT NULL,
    imported    BIGINT NOT NULL,
    rejected    BIGINT NOT NULL,
    reject_len  BIGINT NOT NULL,
    finished    BOOLEAN NOT NULL,
    updated_at  BIGINT NOT NULL
);
