-- The vendor register and data-sharing agreements. A vendor is kept as written and checked
-- again when read; its reviews are appended, never changed, so the history of who vouched for
-- a vendor and when stays whole. An agreement is kept as checked when it was made, so a vendor
-- that changed since is judged against the contract it signed. These are the operator's
-- business records: no customer's personal value is in them. `version` counts changes, for
-- edits that must not overwrite one made meanwhile.
CREATE TABLE vendors (
    id         UUID PRIMARY KEY,
    parent_id  UUID REFERENCES vendors(id),
    vendor     TEXT NOT NULL,
    version    BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX vendors_parent ON vendors(parent_id) WHERE parent_id IS NOT NULL;

CREATE TABLE vendor_reviews (
    id          UUID PRIMARY KEY,
    vendor_id   UUID NOT NULL REFERENCES vendors(id),
    review      TEXT NOT NULL,
    recorded_at BIGINT NOT NULL
);
CREATE INDEX vendor_reviews_vendor ON vendor_reviews(vendor_id, recorded_at);

CREATE TABLE agreements (
    id         UUID PRIMARY KEY,
    vendor_id  UUID NOT NULL REFERENCES vendors(id),
    agreement  TEXT NOT NULL,
    version    BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX agreements_vendor ON agreements(vendor_id);
