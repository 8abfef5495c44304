-- Privacy portal sign-in: one-time codes mailed to a customer's address and bound to it (the
-- address is kept only as its keyed hash), short-lived and with an attempt count; and the
-- sessions they open. Only hashes of codes and session tokens are stored.
CREATE TABLE portal_codes (
    id          UUID PRIMARY KEY,
    customer_id UUID NOT NULL,
    address     BYTEA NOT NULL,
    code_hash   BYTEA NOT NULL,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    attempts    BIGINT NOT NULL,
    used_at     BIGINT
);
CREATE INDEX portal_codes_address ON portal_codes(address, created_at);
CREATE INDEX portal_codes_customer ON portal_codes(customer_id);

CREATE TABLE portal_sessions (
    token_hash   BYTEA PRIMARY KEY,
    customer_id  UUID NOT NULL,
    created_at   BIGINT NOT NULL,
    last_used_at BIGINT NOT NULL,
    ended_at     BIGINT
);
CREATE INDEX portal_sessions_customer ON portal_sessions(customer_id);
