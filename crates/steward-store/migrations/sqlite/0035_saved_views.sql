-- Views of the customer list that a staff member saved under a name: the filters and sort of
-- the list (tags, status, residency, dates), never a searched name, email or phone.
CREATE TABLE saved_views (
    id         BLOB PRIMARY KEY,
    owner      TEXT NOT NULL,
    name       TEXT NOT NULL,
    filter     TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    UNIQUE (owner, name)
) WITHOUT ROWID;
