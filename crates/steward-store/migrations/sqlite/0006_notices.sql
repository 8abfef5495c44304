-- Versioned privacy notices. A published version is never changed again; a change is a new
-- version.
CREATE TABLE notices (
    id           BLOB PRIMARY KEY,
    version      TEXT NOT NULL UNIQUE,
    language     TEXT NOT NULL,
    effective_at INTEGER NOT NULL,
    material     INTEGER NOT NULL,
    body         TEXT NOT NULL,
    summaries    TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    published_at INTEGER
) WITHOUT ROWID;
