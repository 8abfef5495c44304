-- The audit entries that name each record by id, so that a customer's access history reads
-- their own entries instead of scanning the whole log. Only ids are listed here; other
-- targets (consent:..., mail:...) are still found by scanning.
CREATE TABLE audit_targets (
    target UUID NOT NULL,
    seq    BIGINT NOT NULL,
    PRIMARY KEY (target, seq)
);

INSERT INTO audit_targets (target, seq)
    SELECT t::uuid, a.seq
    FROM audit_log a, jsonb_array_elements_text(a.targets::jsonb) t
    WHERE t ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
ON CONFLICT DO NOTHING;
