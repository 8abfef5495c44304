-- When a session was last used, for the console's idle time-out.
ALTER TABLE api_tokens ADD COLUMN last_used_at BIGINT;
