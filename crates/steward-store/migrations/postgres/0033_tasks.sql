-- Staff are shown by a name of their choosing, not by their account's id; existing accounts
-- start with the part of their address before the @.
ALTER TABLE users ADD COLUMN display_name TEXT NOT NULL DEFAULT '';
UPDATE users SET display_name = split_part(email, '@', 1);

-- Tasks and reminders on a customer. The title is personal free text, sealed under the
-- customer's key like an interaction's; the due date, the owner and who closed it are not.
-- No cascade: an erasure deletes them itself, and fails rather than leave one behind.
CREATE TABLE tasks (
    id          UUID PRIMARY KEY,
    customer_id UUID NOT NULL REFERENCES customers(id),
    sealed      BYTEA NOT NULL,
    due_on      TEXT,
    owner_id    UUID NOT NULL,
    created_by  TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    done_at     BIGINT,
    done_by     TEXT
);
CREATE INDEX tasks_customer ON tasks (customer_id, created_at, id);
-- "My tasks": an owner's open tasks by due date, read from the index alone.
CREATE INDEX tasks_open_by_owner ON tasks (owner_id, due_on, created_at) WHERE done_at IS NULL;
