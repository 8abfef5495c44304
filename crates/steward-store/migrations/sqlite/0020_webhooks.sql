-- Webhook delivery to vendors. A vendor's endpoint is an HTTPS URL and a signing secret kept
-- sealed under the installation's webhook key (never in the clear). A delivery is one message
-- to send, of a kind (`share.page`: one page of a share's customers), that says only what it
-- is about (`subject_id`, `reference`): its body is built at each attempt from what is kept
-- sealed elsewhere, so the outbox holds no personal value and an erasure before delivery is
-- honoured. Senders lease rows as the mail outbox does. Every attempt is recorded.
CREATE TABLE webhook_endpoints (
    vendor_id  BLOB PRIMARY KEY REFERENCES vendors(id),
    url        TEXT NOT NULL,
    secret     BLOB NOT NULL,
    set_by     TEXT NOT NULL,
    set_at     INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE webhook_deliveries (
    id              BLOB PRIMARY KEY,
    vendor_id       BLOB NOT NULL REFERENCES vendors(id),
    kind            TEXT NOT NULL,
    subject_id      BLOB NOT NULL,
    reference       TEXT NOT NULL,
    state           TEXT NOT NULL,
    attempts        INTEGER NOT NULL,
    next_attempt_at INTEGER NOT NULL,
    lease_until     INTEGER,
    created_at      INTEGER NOT NULL,
    settled_at      INTEGER
) WITHOUT ROWID;
CREATE INDEX webhook_deliveries_due ON webhook_deliveries(state, next_attempt_at);
CREATE INDEX webhook_deliveries_subject ON webhook_deliveries(subject_id);

CREATE TABLE webhook_attempts (
    delivery_id BLOB NOT NULL REFERENCES webhook_deliveries(id),
    attempt     INTEGER NOT NULL,
    at          INTEGER NOT NULL,
    outcome     TEXT NOT NULL,
    status      INTEGER,
    error       TEXT,
    micros      INTEGER NOT NULL,
    retry_at    INTEGER,
    PRIMARY KEY (delivery_id, attempt)
) WITHOUT ROWID;
