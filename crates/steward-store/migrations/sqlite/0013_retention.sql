-- Retention: the rules (copied from the catalog at first start, changed through the API),
-- legal holds that stop them, the sweeper's runs, and one row per record a rule acted on,
-- written in the transaction that acts, so two sweepers never act on one record. Ids, dates
-- and rule keys only, never a personal value.
CREATE TABLE retention_rules (
    key        TEXT PRIMARY KEY,
    rule       TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE legal_holds (
    id          BLOB PRIMARY KEY,
    customer_id BLOB,
    category    TEXT,
    reason      TEXT NOT NULL,
    owner       TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    ends_at     INTEGER,
    released_at INTEGER
) WITHOUT ROWID;

CREATE TABLE retention_runs (
    id           BLOB PRIMARY KEY,
    dry_run      INTEGER NOT NULL,
    state        TEXT NOT NULL,
    started_by   TEXT NOT NULL,
    started_at   INTEGER NOT NULL,
    heartbeat_at INTEGER NOT NULL,
    finished_at  INTEGER,
    report       TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX retention_runs_started ON retention_runs(started_at);

CREATE TABLE retention_actions (
    rule_key      TEXT NOT NULL,
    record_id     BLOB NOT NULL,
    run_id        BLOB NOT NULL,
    customer_id   BLOB,
    anchor_at     INTEGER NOT NULL,
    due_at        INTEGER NOT NULL,
    done_at       INTEGER NOT NULL,
    PRIMARY KEY (rule_key, record_id)
) WITHOUT ROWID;
CREATE INDEX retention_actions_run ON retention_actions(run_id);
CREATE INDEX interactions_occurred ON interactions(occurred_at);
