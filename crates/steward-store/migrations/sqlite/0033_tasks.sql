-- Staff are shown by a name of their choosing, not by their account's id; existing accounts
-- start with the part of their address before the @.
ALTER TABLE users ADD COLUMN display_name TEXT NOT NULL DEFAULT '';
UPDATE users SET display_name = substr(email, 1, instr(email, '@') - 1);

-- Tasks and reminders on a customer. The title is personal free text, sealed under the
-- customer's key like an interaction's; the due date, the owner and who closed it are not.
-- No cascade: an erasure deletes them itself, and fails rather than leave one behind.
CREATE TABLE tasks (
    id          BLOB PRIMARY KEY,
    customer_id BLOB NOT NULL REFERENCES customers(id),
    sealed      BLOB NOT NULL,
    due_on      TEXT,
    owner_id    BLOB NOT NULL,
    created_by  TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    done_at     INTEGER,
    done_by     TEXT
) WITHOUT ROWID;
CREATE INDEX tasks_customer ON tasks (customer_id, created_at, id);
-- "My tasks": an owner's open tasks by due date, read from the index alone.
CREATE INDEX tasks_open_by_owner ON tasks (owner_id, due_on, created_at) WHERE done_at IS NULL;
