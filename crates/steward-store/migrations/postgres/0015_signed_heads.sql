-- The chain's head, signed in the commit that moved it, replaces the checkpoints signed every
-- thousand entries: a head kept apart from the log names the log's true length.
ALTER TABLE audit_head ADD COLUMN at BIGINT NOT NULL DEFAULT 0, ADD COLUMN signature BYTEA;
UPDATE audit_head SET at = COALESCE((SELECT at FROM audit_log ORDER BY seq DESC LIMIT 1), 0);
DROP TABLE audit_checkpoints;
