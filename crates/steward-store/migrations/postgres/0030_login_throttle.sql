-- Failed sign-ins per address typed and source, kept in the database so that every instance
-- sharing it slows the same source down. The key is a keyed digest of the two (the vault's
-- blind index for `sign_in.throttle`), never the address or the client's IP itself, and
-- cannot be confirmed by guessing without the key. The source's wait is worked out from the
-- count and the last failure, so the delay schedule stays in one place (steward-core's login
-- rules).
CREATE TABLE login_throttle (
    key      BYTEA PRIMARY KEY,
    failures BIGINT NOT NULL,
    last_at  BIGINT NOT NULL
);
CREATE INDEX login_throttle_last ON login_throttle(last_at);
