-- Webhook delivery to vendors. A vendor's endpoint is an HTTPS URL and a signing secret kept
-- sealed under the installation's webhook key (never in the clear). A delivery is one message
-- to send, of a kind (`share.page`: one page of a share's customers), that says only what it
-- is about (`subject_id`, `reference`): its body is built at each attempt from what is kept
-- sealed elsewhere, so the outbox holds no personal value and an erasure before delivery is
-- honoured. Senders lease rows as the mail outbox does. Every attempt is recorded.
CREATE TABLE webhook_endpoints (
    vendor_id  UUID PRIMARY KEY REFERENCES vendors(id),
    url        TEXT NOT NULL,
    secret     BYTEA NOT NULL,
    set_by     TEXT NOT NULL,
    set_at     BIGINT NOT NULL
);

CREATE TABLE webhook_deliveries (
    id              UUID PRIMARY KEY,
    vendor_id       UUID NOT NULL REFERENCES vendors(id),
    kind            TEXT NOT NULL,
    subject_id      UUID NOT NULL,
    reference       TEXT NOT NULL,
    state           TEXT NOT NULL,
    attempts        BIGINT NOT NULL,
    next_attempt_at BIGINT NOT NULL,
    lease_until     BIGINT,
    created_at      BIGINT NOT NULL,
    settled_at      BIGINT
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries(state, next_attempt_at);
CREATE INDEX webhook_deliveries_subject ON webhook_deliveries(subject_id);

CREATE TABLE webhook_attempts (
    delivery_id UUID NOT NULL REFERENCES webhook_deliveries(id),
    attempt     BIGINT NOT NULL,
    at          BIGINT NOT NULL,
    outcome     TEXT NOT NULL,
    status      BIGINT,
    error       TEXT,
    micros      BIGINT NOT NULL,
    retry_at    BIGINT,
    PRIMARY KEY (delivery_id, attempt)
);
