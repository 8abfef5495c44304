-- The chain's head, signed in the commit that moved it, replaces the checkpoints signed every
-- thousand entries: a head kept apart from the log names the log's true length.
CREATE TABLE audit_head (
    id        INTEGER PRIMARY KEY CHECK (id = 1),
    seq       INTEGER NOT NULL,
    hash      BLOB NOT NULL,
    at        INTEGER NOT NULL,
    signature BLOB
);
INSERT INTO audit_head (id, seq, hash, at)
SELECT 1,
       COALESCE((SELECT seq FROM audit_log ORDER BY seq DESC LIMIT 1), 0),
       COALESCE((SELECT hash FROM audit_log ORDER BY seq DESC LIMIT 1), zeroblob(32)),
       COALESCE((SELECT at FROM audit_log ORDER BY seq DESC LIMIT 1), 0);
DROP TABLE audit_checkpoints;
