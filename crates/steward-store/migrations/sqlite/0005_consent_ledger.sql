-- The consent ledger: append-only events per customer and purpose, and the state each
-- purpose is in now, kept in the same transaction so reads never replay the ledger. Evidence
-- holds hashes only, never a raw address or agent string.
CREATE TABLE consent_events (
    id             BLOB PRIMARY KEY,
    customer_id    BLOB NOT NULL,
    purpose        TEXT NOT NULL,
    state          TEXT NOT NULL,
    notice_version TEXT,
    method         TEXT NOT NULL,
    evidence       TEXT,
    at             INTEGER NOT NULL,
    expires_at     INTEGER
) WITHOUT ROWID;
CREATE INDEX consent_events_customer ON consent_events(customer_id, at);

CREATE TABLE consent_current (
    customer_id    BLOB NOT NULL,
    purpose        TEXT NOT NULL,
    id             BLOB NOT NULL,
    state          TEXT NOT NULL,
    notice_version TEXT,
    method         TEXT NOT NULL,
    evidence       TEXT,
    at             INTEGER NOT NULL,
    expires_at     INTEGER,
    PRIMARY KEY (customer_id, purpose)
) WITHOUT ROWID;
CREATE INDEX consent_current_purpose ON consent_current(purpose, state, customer_id);
