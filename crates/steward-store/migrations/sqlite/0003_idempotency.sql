-- Replays of POST requests sent with an Idempotency-Key. The key is stored only as a hash
-- scoped to the caller; the first response is sealed with the customer's data key, so it is
-- shredded with the customer and never readable without the key store.
CREATE TABLE idempotency_keys (
    key_hash    BLOB PRIMARY KEY,
    fingerprint BLOB NOT NULL,
    customer_id BLOB NOT NULL,
    response    BLOB NOT NULL,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX idempotency_keys_customer ON idempotency_keys(customer_id);
CREATE INDEX idempotency_keys_expiry ON idempotency_keys(expires_at);
