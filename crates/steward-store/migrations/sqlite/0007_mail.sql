-- Outgoing email. Each message is sealed with its customer's data key, so erasing the
-- customer shreds their mail too; the sender claims due messages with a lease, so two
-- instances never send one message twice at the same time.
CREATE TABLE outbox (
    id              BLOB PRIMARY KEY,
    customer_id     BLOB NOT NULL,
    kind            TEXT NOT NULL,
    campaign_id     BLOB,
    sealed          BLOB NOT NULL,
    state           TEXT NOT NULL,
    attempts        INTEGER NOT NULL,
    next_attempt_at INTEGER NOT NULL,
    lease_until     INTEGER,
    created_at      INTEGER NOT NULL,
    sent_at         INTEGER,
    last_error      TEXT
) WITHOUT ROWID;
CREATE INDEX outbox_due ON outbox(next_attempt_at) WHERE state = 'pending';
CREATE INDEX outbox_customer ON outbox(customer_id);
CREATE INDEX outbox_campaign ON outbox(campaign_id, state) WHERE campaign_id IS NOT NULL;

-- One row per attempt to hand a message to the mail server: when, and what came of it
-- (a status code or an error kind, never an address), and when it is tried again.
CREATE TABLE mail_deliveries (
    message_id BLOB NOT NULL,
    attempt    INTEGER NOT NULL,
    at         INTEGER NOT NULL,
    outcome    TEXT NOT NULL,
    detail     TEXT,
    retry_at   INTEGER,
    PRIMARY KEY (message_id, attempt)
) WITHOUT ROWID;

-- Links sent by email that act for a customer: a single-use confirmation of a consent
-- (double opt-in) or a one-click unsubscribe. Only a hash of the token is kept.
CREATE TABLE mail_links (
    token_hash     BLOB PRIMARY KEY,
    kind           TEXT NOT NULL,
    customer_id    BLOB NOT NULL,
    purpose        TEXT NOT NULL,
    notice_version TEXT,
    method         TEXT NOT NULL,
    campaign_id    BLOB,
    created_at     INTEGER NOT NULL,
    expires_at     INTEGER NOT NULL,
    used_at        INTEGER
) WITHOUT ROWID;
CREATE INDEX mail_links_customer ON mail_links(customer_id);
CREATE INDEX mail_links_campaign ON mail_links(campaign_id) WHERE campaign_id IS NOT NULL;
