-- Privacy portal sign-in: one-time codes mailed to a customer's address and bound to it (the
-- address is kept only as its keyed hash), short-lived and with an attempt count; and the
-- sessions they open. Only hashes of codes and session tokens are stored.
CREATE TABLE portal_codes (
    id          BLOB PRIMARY KEY,
    customer_id BLOB NOT NULL,
    address     BLOB NOT NULL,
    code_hash   BLOB NOT NULL,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    attempts    INTEGER NOT NULL,
    used_at     INTEGER
) WITHOUT ROWID;
CREATE INDEX portal_codes_address ON portal_codes(address, created_at);
CREATE INDEX portal_codes_customer ON portal_codes(customer_id);

CREATE TABLE portal_sessions (
    token_hash   BLOB PRIMARY KEY,
    customer_id  BLOB NOT NULL,
    created_at   INTEGER NOT NULL,
    last_used_at INTEGER NOT NULL,
    ended_at     INTEGER
) WITHOUT ROWID;
CREATE INDEX portal_sessions_customer ON portal_sessions(customer_id);
