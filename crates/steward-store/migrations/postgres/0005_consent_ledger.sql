-- The consent ledger: append-only events per customer and purpose, and the state each
-- purpose is in now, kept in the same transaction so reads never replay the ledger. Evidence
-- holds hashes only, never a raw address or agent string.
CREATE TABLE consent_events (
    id             UUID PRIMARY KEY,
    customer_id    UUID NOT NULL,
    purpose        TEXT NOT NULL,
    state          TEXT NOT NULL,
    notice_version TEXT,
    method         TEXT NOT NULL,
    evidence       TEXT,
    at             BIGINT NOT NULL,
    expires_at     BIGINT
);
CREATE INDEX consent_events_customer ON consent_events(customer_id, at);

CREATE TABLE consent_current (
    customer_id    UUID NOT NULL,
    purpose        TEXT NOT NULL,
    id             UUID NOT NULL,
    state          TEXT NOT NULL,
    notice_version TEXT,
    method         TEXT NOT NULL,
    evidence       TEXT,
    at             BIGINT NOT NULL,
    expires_at     BIGINT,
    PRIMARY KEY (customer_id, purpose)
);
CREATE INDEX consent_current_purpose ON consent_current(purpose, state, customer_id);
