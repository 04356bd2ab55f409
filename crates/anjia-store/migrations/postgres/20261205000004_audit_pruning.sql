-- Security-log retention (PRIVACY.md PRV-21; policy clause retain.logs: at least six months under
-- the Cybersecurity Law Art. 21, at most twelve): the audit log stays append-only except that the
-- retention job may delete entries up to a seq that an `audit_pruned` entry already in the chain
-- names (details.through_seq). The pruning is thus recorded, hashed and checkpointed before
-- anything goes; `anjia_privacy::audit::verify` accepts a log that starts after such a seq only
-- with a signed checkpoint at that seq and the recorded pruning (see docs/PRIVACY-DESIGN.md).
CREATE FUNCTION anjia_audit_prune_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (
        SELECT 1 FROM audit_log AS p
        WHERE p.kind = 'audit_pruned' AND p.seq > OLD.seq
          AND (p.details::jsonb ->> 'through_seq')::bigint >= OLD.seq
    ) THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'audit_log is append-only' USING ERRCODE = 'raise_exception';
END
$$;
DROP TRIGGER audit_log_append_only ON audit_log;
CREATE TRIGGER audit_log_append_only BEFORE UPDATE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION anjia_reject_change();
CREATE TRIGGER audit_log_prune_only BEFORE DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION anjia_audit_prune_only();
