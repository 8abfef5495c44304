-- What stays of a customer's consent events once they are erased: enough to show that a
-- consent was given, under which notice and how, and to check a receipt the person kept
-- (the SHA-256 of the receipt as it was signed), but no customer id and no evidence. The
-- subject is the request desk's pseudonym for the customer, so a later request from the same
-- person can still be matched to their proofs. Kept for the `consent-proofs` retention rule,
-- counted from `erased_at`.
CREATE TABLE consent_proofs (
    event_id       UUID PRIMARY KEY,
    subject        BYTEA NOT NULL,
    purpose        TEXT NOT NULL,
    state          TEXT NOT NULL,
    method         TEXT NOT NULL,
    notice_version TEXT,
    at             BIGINT NOT NULL,
    expires_at     BIGINT,
    receipt_hash   BYTEA NOT NULL,
    erased_at      BIGINT NOT NULL
);
CREATE INDEX consent_proofs_subject ON consent_proofs(subject);
CREATE INDEX consent_proofs_erased ON consent_proofs(erased_at);
