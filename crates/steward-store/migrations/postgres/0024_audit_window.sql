-- Audit entries by when they were written, and by who wrote them and when, so that the scope
-- of a breach (a time window, perhaps some staff accounts or tokens) reads only the entries
-- of that window instead of the whole log. `at` is stamped when an entry is made, not when it
-- is appended, so it is not strictly in `seq` order and a window is found by time. `seq`
-- closes each index so that both read in (at, seq) order.
CREATE INDEX audit_log_at ON audit_log(at, seq);
CREATE INDEX audit_log_actor_at ON audit_log(actor, at, seq);
