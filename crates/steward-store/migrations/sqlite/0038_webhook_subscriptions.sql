-- Webhooks for integrations: a subscription names an HTTPS URL, the events it wants (a
-- comma-separated subset of customer.created, customer.updated, customer.erased,
-- consent.changed, request.completed) and a signing secret sealed under the installation's
-- webhook key; optionally a vendor and a purpose under which values may be sent.
CREATE TABLE webhook_subscriptions (
    id         BLOB PRIMARY KEY,
    name       TEXT NOT NULL,
    url        TEXT NOT NULL,
    events     TEXT NOT NULL,
    secret     BLOB NOT NULL,
    active     INTEGER NOT NULL,
    vendor_id  BLOB REFERENCES vendors(id),
    purpose    TEXT,
    created_by TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
) WITHOUT ROWID;
-- The one read a change that could emit an event makes.
CREATE INDEX webhook_subscriptions_active ON webhook_subscriptions(active);

-- An event's delivery goes to a subscription, not a vendor: the outbox's vendor becomes
-- optional and a delivery names one or the other. SQLite changes a column's constraint only
-- by rebuilding the table; the attempts, which refer to it, are rebuilt with it, children
-- dropped first so no foreign key is ever left dangling.
CREATE TABLE webhook_deliveries_new (
    id              BLOB PRIMARY KEY,
    vendor_id       BLOB REFERENCES vendors(id),
    subscription_id BLOB,
    kind            TEXT NOT NULL,
    subject_id      BLOB NOT NULL,
    reference       TEXT NOT NULL,
    state           TEXT NOT NULL,
    attempts        INTEGER NOT NULL,
    next_attempt_at INTEGER NOT NULL,
    lease_until     INTEGER,
    created_at      INTEGER NOT NULL,
    settled_at      INTEGER,
    CHECK ((vendor_id IS NULL) <> (subscription_id IS NULL))
) WITHOUT ROWID;
INSERT INTO webhook_deliveries_new (id, vendor_id, kind, subject_id, reference, state, attempts,
                                    next_attempt_at, lease_until, created_at, settled_at)
    SELECT id, vendor_id, kind, subject_id, reference, state, attempts, next_attempt_at,
           lease_until, created_at, settled_at
    FROM webhook_deliveries;
CREATE TABLE webhook_attempts_new (
    delivery_id BLOB NOT NULL REFERENCES webhook_deliveries_new(id),
    attempt     INTEGER NOT NULL,
    at          INTEGER NOT NULL,
    outcome     TEXT NOT NULL,
    status      INTEGER,
    error       TEXT,
    micros      INTEGER NOT NULL,
    retry_at    INTEGER,
    PRIMARY KEY (delivery_id, attempt)
) WITHOUT ROWID;
INSERT INTO webhook_attempts_new SELECT delivery_id, attempt, at, outcome, status, error, micros,
                                        retry_at
    FROM webhook_attempts;
DROP TABLE webhook_attempts;
DROP TABLE webhook_deliveries;
ALTER TABLE webhook_deliveries_new RENAME TO webhook_deliveries;
ALTER TABLE webhook_attempts_new RENAME TO webhook_attempts;
CREATE INDEX webhook_deliveries_due ON webhook_deliveries(state, next_attempt_at);
CREATE INDEX webhook_deliveries_subject ON webhook_deliveries(subject_id);
CREATE UNIQUE INDEX webhook_deliveries_one_per_notice ON webhook_deliveries(subject_id)
    WHERE kind = 'recipient.notice';
CREATE INDEX webhook_deliveries_subscription ON webhook_deliveries(subscription_id, created_at)
    WHERE subscription_id IS NOT NULL;
