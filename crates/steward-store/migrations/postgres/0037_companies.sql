-- Companies: organisations, not persons, so their fields are kept in clear to be sorted and
-- searched. `name_key` is the name lower-cased, what the list sorts and filters by, compared
-- byte by byte as SQLite compares it, so both engines give the same order.
CREATE TABLE companies (
    id         UUID PRIMARY KEY,
    name       TEXT NOT NULL,
    name_key   TEXT COLLATE "C" NOT NULL,
    domain     TEXT UNIQUE,
    country    TEXT,
    owner_id   UUID,
    version    BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX companies_name ON companies (name_key, id);
CREATE INDEX companies_created ON companies (created_at, id);
CREATE INDEX companies_updated ON companies (updated_at, id);

CREATE TABLE company_tags (
    company_id UUID NOT NULL REFERENCES companies(id),
    tag        TEXT NOT NULL,
    PRIMARY KEY (company_id, tag)
);
CREATE INDEX company_tags_tag ON company_tags (tag, company_id);

-- Which company a customer belongs to: at most one, ids only. No cascade: an erasure and a
-- company's deletion remove memberships themselves, and fail rather than leave one behind.
CREATE TABLE company_members (
    customer_id UUID PRIMARY KEY REFERENCES customers(id),
    company_id  UUID NOT NULL REFERENCES companies(id),
    added_at    BIGINT NOT NULL
);
CREATE INDEX company_members_company ON company_members (company_id, customer_id);
