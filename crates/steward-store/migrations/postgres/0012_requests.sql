-- Data-subject requests and their legal deadlines. The subject is kept as a keyed hash (a
-- pseudonym) beside the customer id; erasing the customer clears the id, so the record of
-- the request outlives the person without pointing back at them. Reasons are sent to the
-- requester and hold no personal values. A correction that waits for staff review keeps the
-- proposed value sealed with the customer's key, until the request closes.
CREATE TABLE requests (
    id               UUID PRIMARY KEY,
    kind             TEXT NOT NULL,
    channel          TEXT NOT NULL,
    state            TEXT NOT NULL,
    jurisdiction     TEXT NOT NULL,
    customer_id      UUID,
    subject          BYTEA NOT NULL,
    purpose          TEXT,
    received_at      BIGINT NOT NULL,
    acknowledge_by   BIGINT,
    acknowledged_at  BIGINT,
    due_at           BIGINT NOT NULL,
    verified_at      BIGINT,
    closed_at        BIGINT,
    extension_reason TEXT,
    denial_reason    TEXT,
    updated_at       BIGINT NOT NULL,
    proposal         BYTEA
);
CREATE INDEX requests_received ON requests(received_at);
CREATE INDEX requests_open_due ON requests(due_at) WHERE state NOT IN ('completed', 'denied');
CREATE INDEX requests_subject ON requests(subject, kind);
CREATE INDEX requests_customer ON requests(customer_id) WHERE customer_id IS NOT NULL;

-- Keyed hashes of the addresses of people erased at their request, so that a later import
-- or form does not quietly bring them back.
CREATE TABLE suppressions (
    digest     BYTEA PRIMARY KEY,
    created_at BIGINT NOT NULL
);

-- GDPR Art. 19: each erasure, rectification and restriction, kept for telling the
-- recipients the data was disclosed to. Field names only, never values.
CREATE TABLE recipient_updates (
    id          UUID PRIMARY KEY,
    customer_id UUID NOT NULL,
    kind        TEXT NOT NULL,
    fields      TEXT NOT NULL,
    at          BIGINT NOT NULL,
    notified_at BIGINT
);
CREATE INDEX recipient_updates_pending ON recipient_updates(at) WHERE notified_at IS NULL;
CREATE INDEX recipient_updates_customer ON recipient_updates(customer_id);
