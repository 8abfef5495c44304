-- The audit entries that name each record by id, so that a customer's access history reads
-- their own entries instead of scanning the whole log. Only ids are listed here; other
-- targets (consent:..., mail:...) are still found by scanning.
CREATE TABLE audit_targets (
    target BLOB NOT NULL,
    seq    INTEGER NOT NULL,
    PRIMARY KEY (target, seq)
) WITHOUT ROWID;

INSERT OR IGNORE INTO audit_targets (target, seq)
    SELECT unhex(j.value, '-'), a.seq
    FROM audit_log a, json_each(a.targets) j
    WHERE j.type = 'text'
      AND length(j.value) = 36
      AND substr(j.value, 9, 1) = '-' AND substr(j.value, 14, 1) = '-'
      AND substr(j.value, 19, 1) = '-' AND substr(j.value, 24, 1) = '-'
      AND length(unhex(j.value, '-')) = 16;
