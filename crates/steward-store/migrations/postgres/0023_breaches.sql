-- The breach register (Art. 33(5)): every breach, notifiable or not. A breach is kept as
-- written and checked again when read; `checklist` holds the response plan's steps as they
-- were when it opened, and `scope` what the audit log said of who was affected. Phases are
-- appended as the facts come in and never changed, which triggers enforce. The affected
-- customers are kept by id only; the alerts to the response team and the notices to
-- customers each once, by their key.
CREATE TABLE breaches (
    id         UUID PRIMARY KEY,
    breach     TEXT NOT NULL,
    checklist  TEXT NOT NULL,
    scope      TEXT,
    opened_by  TEXT NOT NULL,
    version    BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE breach_phases (
    id          UUID PRIMARY KEY,
    breach_id   UUID NOT NULL REFERENCES breaches(id),
    phase       TEXT NOT NULL,
    recorded_by TEXT NOT NULL,
    recorded_at BIGINT NOT NULL
);
CREATE INDEX breach_phases_breach ON breach_phases(breach_id, recorded_at);
CREATE FUNCTION breach_phases_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'breach phases are appended, never changed or removed';
END;
$$;
CREATE TRIGGER breach_phases_never_change BEFORE UPDATE OR DELETE ON breach_phases
    FOR EACH ROW EXECUTE FUNCTION breach_phases_append_only();

CREATE TABLE breach_affected (
    breach_id   UUID NOT NULL REFERENCES breaches(id),
    customer_id UUID NOT NULL,
    PRIMARY KEY (breach_id, customer_id)
);

CREATE TABLE breach_alerts (
    breach_id UUID NOT NULL REFERENCES breaches(id),
    milestone TEXT NOT NULL,
    sent_at   BIGINT NOT NULL,
    PRIMARY KEY (breach_id, milestone)
);

CREATE TABLE breach_notices (
    breach_id   UUID NOT NULL REFERENCES breaches(id),
    customer_id UUID NOT NULL,
    message_id  UUID NOT NULL,
    queued_at   BIGINT NOT NULL,
    PRIMARY KEY (breach_id, customer_id)
);
CREATE INDEX breach_notices_customer ON breach_notices(customer_id);
