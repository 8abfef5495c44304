-- Second factor and failed sign-in tracking for staff accounts. The TOTP secret is sealed by
-- the vault; the counters drive the growing delay and the lock-out.
ALTER TABLE users ADD COLUMN totp_secret BYTEA;
ALTER TABLE users ADD COLUMN failed_logins BIGINT NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN locked_until BIGINT;
