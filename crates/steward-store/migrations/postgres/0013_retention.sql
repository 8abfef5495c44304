-- Retention: the rules (copied from the catalog at first start, changed through the API),
-- legal holds that stop them, the sweeper's runs, and one row per record a rule acted on,
-- written in the transaction that acts, so two sweepers never act on one record. Ids, dates
-- and rule keys only, never a personal value.
CREATE TABLE retention_rules (
    key        TEXT PRIMARY KEY,
    rule       TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE legal_holds (
    id          UUID PRIMARY KEY,
    customer_id UUID,
    category    TEXT,
    reason      TEXT NOT NULL,
    owner       TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    ends_at     BIGINT,
    released_at BIGINT
);

CREATE TABLE retention_runs (
    id           UUID PRIMARY KEY,
    dry_run      BOOLEAN NOT NULL,
    state        TEXT NOT NULL,
    started_by   TEXT NOT NULL,
    started_at   BIGINT NOT NULL,
    heartbeat_at BIGINT NOT NULL,
    finished_at  BIGINT,
    report       TEXT NOT NULL
);
CREATE INDEX retention_runs_started ON retention_runs(started_at);

CREATE TABLE retention_actions (
    rule_key      TEXT NOT NULL,
    record_id     UUID NOT NULL,
    run_id        UUID NOT NULL,
    customer_id   UUID,
    anchor_at     BIGINT NOT NULL,
    due_at        BIGINT NOT NULL,
    done_at       BIGINT NOT NULL,
    PRIMARY KEY (rule_key, record_id)
);
CREATE INDEX retention_actions_run ON retention_actions(run_id);
CREATE INDEX interactions_occurred ON interactions(occurred_at);
