-- Schema version 2: items say when they were created and when a value of them last changed
-- (naive UTC, as the original service wrote them; rows from before get the migration's
-- time); an email is unique as pydantic normalises it (domain in lower case), no longer
-- regardless of case.
ALTER TABLE items ADD COLUMN created_at TEXT NOT NULL DEFAULT '';
ALTER TABLE items ADD COLUMN updated_at TEXT NOT NULL DEFAULT '';
UPDATE items SET created_at = strftime('%Y-%m-%dT%H:%M:%f', 'now'), updated_at = strftime('%Y-%m-%dT%H:%M:%f', 'now');
UPDATE people SET email_key = substr(email, 1, instr(email, '@')) || lower(substr(email, instr(email, '@') + 1));
