-- Companies: organisations, not persons, so their fields are kept in clear to be sorted and
-- searched. `name_key` is the name lower-cased, what the list sorts and filters by.
CREATE TABLE companies (
    id         BLOB PRIMARY KEY,
    name       TEXT NOT NULL,
    name_key   TEXT NOT NULL,
    domain     TEXT UNIQUE,
    country    TEXT,
    owner_id   BLOB,
    version    INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX companies_name ON companies (name_key, id);
CREATE INDEX companies_created ON companies (created_at, id);
CREATE INDEX companies_updated ON companies (updated_at, id);

CREATE TABLE company_tags (
    company_id BLOB NOT NULL REFERENCES companies(id),
    tag        TEXT NOT NULL,
    PRIMARY KEY (company_id, tag)
) WITHOUT ROWID;
CREATE INDEX company_tags_tag ON company_tags (tag, company_id);

-- Which company a customer belongs to: at most one, ids only. No cascade: an erasure and a
-- company's deletion remove memberships themselves, and fail rather than leave one behind.
CREATE TABLE company_members (
    customer_id BLOB PRIMARY KEY REFERENCES customers(id),
    company_id  BLOB NOT NULL REFERENCES companies(id),
    added_at    INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX company_members_company ON company_members (company_id, customer_id);
