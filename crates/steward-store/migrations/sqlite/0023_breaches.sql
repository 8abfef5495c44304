-- The breach register (Art. 33(5)): every breach, notifiable or not. A breach is kept as
-- written and checked again when read; `checklist` holds the response plan's steps as they
-- were when it opened, and `scope` what the audit log said of who was affected. Phases are
-- appended as the facts come in and never changed, which triggers enforce. The affected
-- customers are kept by id only; the alerts to the response team and the notices to
-- customers each once, by their key.
CREATE TABLE breaches (
    id         BLOB PRIMARY KEY,
    breach     TEXT NOT NULL,
    checklist  TEXT NOT NULL,
    scope      TEXT,
    opened_by  TEXT NOT NULL,
    version    INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE breach_phases (
    id          BLOB PRIMARY KEY,
    breach_id   BLOB NOT NULL REFERENCES breaches(id),
    phase       TEXT NOT NULL,
    recorded_by TEXT NOT NULL,
    recorded_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX breach_phases_breach ON breach_phases(breach_id, recorded_at);
CREATE TRIGGER breach_phases_never_change BEFORE UPDATE ON breach_phases
BEGIN
    SELECT RAISE(ABORT, 'breach phases are appended, never changed');
END;
CREATE TRIGGER breach_phases_never_go BEFORE DELETE ON breach_phases
BEGIN
    SELECT RAISE(ABORT, 'breach phases are appended, never removed');
END;

CREATE TABLE breach_affected (
    breach_id   BLOB NOT NULL REFERENCES breaches(id),
    customer_id BLOB NOT NULL,
    PRIMARY KEY (breach_id, customer_id)
) WITHOUT ROWID;

CREATE TABLE breach_alerts (
    breach_id BLOB NOT NULL REFERENCES breaches(id),
    milestone TEXT NOT NULL,
    sent_at   INTEGER NOT NULL,
    PRIMARY KEY (breach_id, milestone)
) WITHOUT ROWID;

CREATE TABLE breach_notices (
    breach_id   BLOB NOT NULL REFERENCES breaches(id),
    customer_id BLOB NOT NULL,
    message_id  BLOB NOT NULL,
    queued_at   INTEGER NOT NULL,
    PRIMARY KEY (breach_id, customer_id)
) WITHOUT ROWID;
CREATE INDEX breach_notices_customer ON breach_notices(customer_id);
