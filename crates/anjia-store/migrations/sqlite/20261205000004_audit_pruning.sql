-- Security-log retention (PRIVACY.md PRV-21; policy clause retain.logs: at least six months under
-- the Cybersecurity Law Art. 21, at most twelve): the audit log stays append-only except that the
-- retention job may delete entries up to a seq that an `audit_pruned` entry already in the chain
-- names (details.through_seq). The pruning is thus recorded, hashed and checkpointed before
-- anything goes; `anjia_privacy::audit::verify` accepts a log that starts after such a seq only
-- with a signed checkpoint at that seq and the recorded pruning (see docs/PRIVACY-DESIGN.md).
DROP TRIGGER audit_log_no_delete;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
WHEN NOT EXISTS (
    SELECT 1 FROM audit_log AS p
    WHERE p.kind = 'audit_pruned' AND p.seq > OLD.seq
      AND CAST(json_extract(p.details, '$.through_seq') AS INTEGER) >= OLD.seq
)
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
