-- Failed sign-ins per address typed and source, kept in the database so that every instance
-- sharing it slows the same source down. The key is a SHA-256 digest of the two, never the
-- address or the client's IP itself. The source's wait is worked out from the count and the
-- last failure, so the delay schedule stays in one place (steward-core's login rules).
CREATE TABLE login_throttle (
    key      BLOB PRIMARY KEY,
    failures INTEGER NOT NULL,
    last_at  INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX login_throttle_last ON login_throttle(last_at);
