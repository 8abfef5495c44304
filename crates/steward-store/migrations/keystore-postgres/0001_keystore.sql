-- The key store shared by several instances: its own database, apart from the data.
CREATE TABLE data_keys (
    customer_id UUID PRIMARY KEY,
    kek_version BIGINT NOT NULL,
    wrapped     BYTEA NOT NULL
);
CREATE INDEX data_keys_kek_version ON data_keys (kek_version);
CREATE TABLE pending_keys (
    batch       UUID PRIMARY KEY,
    job         TEXT NOT NULL,
    customers   BYTEA NOT NULL
);
CREATE TABLE secrets (
    name        TEXT PRIMARY KEY,
    kek_version BIGINT NOT NULL,
    wrapped     BYTEA NOT NULL
);
CREATE TABLE kek_versions (
    version            BIGINT PRIMARY KEY,
    created_at         BIGINT NOT NULL,
    retired_at         BIGINT,
    compromised_at     BIGINT,
    compromised_reason TEXT
);
CREATE TABLE audit_witness (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    seq         BIGINT NOT NULL,
    head        BYTEA NOT NULL,
    at          BIGINT NOT NULL,
    signature   BYTEA NOT NULL
);
