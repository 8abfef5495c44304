-- A campaign that is sending holds a lease, moved on with each page it commits. A lease that
-- runs out means the instance sending it stopped (it died, or its request was cut off): the
-- scheduler claims the campaign again and resumes it, and the outbox's one message per
-- recipient and campaign keeps anyone from a second copy. Campaigns sending when this was
-- added have no lease to wait for and are resumed at once.
ALTER TABLE campaigns ADD COLUMN lease_until INTEGER;
UPDATE campaigns SET lease_until = 0 WHERE state = 'sending';
CREATE INDEX campaigns_stalled ON campaigns(lease_until) WHERE state = 'sending';
