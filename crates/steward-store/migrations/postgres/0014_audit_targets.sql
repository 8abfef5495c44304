-- The audit entries that name each record by id, so that a customer's access history reads
-- their own entries instead of scanning the whole log. A background pass lists entries in
-- bulk after they are written, keeping the cost off every audited request; entries past
-- `audit_targets_upto` are found by scanning meanwhile. Other targets (consent:...,
-- mail:...) are always found by scanning.
CREATE TABLE audit_targets (
    target UUID NOT NULL,
    seq    BIGINT NOT NULL,
    PRIMARY KEY (target, seq)
);

CREATE TABLE audit_targets_upto (
    id  INTEGER PRIMARY KEY CHECK (id = 1),
    seq BIGINT NOT NULL
);
INSERT INTO audit_targets_upto (id, seq) VALUES (1, 0);
