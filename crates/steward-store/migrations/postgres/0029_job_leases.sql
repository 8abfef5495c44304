-- Which instance may run a job that must not run on two at once (the consent expiry, the
-- retention sweeper, the recompute...). A lease is taken when it has expired or is already
-- the taker's; each take grows the fence, so a holder that stalled and lost its lease can
-- tell, and renew no more. Times are microseconds.
CREATE TABLE job_leases (
    job        TEXT PRIMARY KEY,
    holder     TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    fence      BIGINT NOT NULL DEFAULT 0
);
