-- A TOTP code may be used once: remember the last accepted time step per operator.
ALTER TABLE operators ADD COLUMN totp_last_step INTEGER;

-- The journal viewer filters by operator and by kind.
CREATE INDEX journal_actor ON journal (actor, seq);
CREATE INDEX journal_kind ON journal (kind, seq);
