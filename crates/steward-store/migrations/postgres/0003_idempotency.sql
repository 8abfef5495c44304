-- Replays of POST requests sent with an Idempotency-Key. The key is stored only as a hash
-- scoped to the caller; the first response is sealed with the customer's data key, so it is
-- shredded with the customer and never readable without the key store.
CREATE TABLE idempotency_keys (
    key_hash    BYTEA PRIMARY KEY,
    fingerprint BYTEA NOT NULL,
    customer_id UUID NOT NULL,
    response    BYTEA NOT NULL,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL
);
CREATE INDEX idempotency_keys_customer ON idempotency_keys(customer_id);
CREATE INDEX idempotency_keys_expiry ON idempotency_keys(expires_at);
