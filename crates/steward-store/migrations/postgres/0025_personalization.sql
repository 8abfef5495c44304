-- Personalization the customer controls (issue 20). The chosen level is a choice, kept in
-- clear like a consent's state; no row means off. Every table that concerns a customer keeps
-- `customer_id`, so erasure empties it.
CREATE TABLE personalization_levels (
    customer_id      UUID PRIMARY KEY,
    level            TEXT NOT NULL CHECK (level IN ('off', 'basic', 'full')),
    -- The profiling consent that `full` rests on.
    consent_event_id UUID,
    reason           TEXT NOT NULL,
    changed_at       BIGINT NOT NULL
);
-- Recompute batches read the customers at one level in id order.
CREATE INDEX personalization_levels_level ON personalization_levels(level, customer_id);

CREATE TABLE personalization_level_events (
    id               UUID PRIMARY KEY,
    customer_id      UUID NOT NULL,
    level            TEXT NOT NULL,
    previous         TEXT NOT NULL,
    reason           TEXT NOT NULL,
    actor            TEXT NOT NULL,
    consent_event_id UUID,
    at               BIGINT NOT NULL
);
CREATE INDEX personalization_level_events_customer ON personalization_level_events(customer_id, at);

-- An attribute's value is sealed with the customer's data key. Every boolean rule writes its
-- row, true or false, so that a row's presence says nothing; no digest of a value is kept,
-- since with few distinct values equal digests would reveal the groups.
CREATE TABLE profile_attributes (
    customer_id   UUID NOT NULL,
    key           TEXT NOT NULL,
    source        TEXT NOT NULL CHECK (source IN ('declared', 'observed', 'inferred')),
    min_level     TEXT NOT NULL CHECK (min_level IN ('basic', 'full')),
    value         BYTEA NOT NULL,
    derived_from  TEXT NOT NULL,
    rule_key      TEXT,
    rule_version  BIGINT,
    computed_at   BIGINT NOT NULL,
    expires_at    BIGINT,
    PRIMARY KEY (customer_id, key)
);
CREATE INDEX profile_attributes_key ON profile_attributes(key, customer_id);
CREATE INDEX profile_attributes_expiry ON profile_attributes(expires_at) WHERE expires_at IS NOT NULL;

-- Attributes the customer deleted and does not want derived again.
CREATE TABLE profile_suppressions (
    customer_id UUID NOT NULL,
    key         TEXT NOT NULL,
    at          BIGINT NOT NULL,
    PRIMARY KEY (customer_id, key)
);

-- Offers hold no personal data.
CREATE TABLE offers (
    key         TEXT PRIMARY KEY,
    title       TEXT NOT NULL,
    category    TEXT,
    tags        TEXT NOT NULL,
    eligibility TEXT NOT NULL,
    priority    BIGINT NOT NULL,
    origin      TEXT NOT NULL CHECK (origin IN ('catalog', 'api')),
    created_by  TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    retired_at  BIGINT
);

CREATE TABLE personalization_runs (
    id           UUID PRIMARY KEY,
    started_at   BIGINT NOT NULL,
    heartbeat_at BIGINT NOT NULL,
    finished_at  BIGINT,
    cursor       UUID,
    customers    BIGINT NOT NULL,
    attributes   BIGINT NOT NULL,
    state        TEXT NOT NULL CHECK (state IN ('running', 'finished', 'failed'))
);
CREATE INDEX personalization_runs_started ON personalization_runs(started_at);
