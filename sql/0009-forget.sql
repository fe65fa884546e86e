-- 0009-forget: the audit log, retention, and who started a conversation.
-- Forgetting itself (rag-db forget, rag-index --delete) and retention
-- (rag-db gc) are statements run by lib/forget.c and lib/retention.c;
-- this adds what they and the audit need to keep.

-- ---- the audit log ----------------------------------------------------
-- One row per deletion (a document, a tenant, expired rows), budget or
-- limit change, retention change, and conversation read by someone other
-- than who started it.  The server fills in when and who: actor is
-- session_user (the login), actor_role current_user (rag_app for the
-- tools, the owner for administration); tool and person (RAG_USER or the
-- operating system's user) come from the client.  subject names what was
-- acted on (a doc_id, a tenant, a conversation), details says how much
-- as a JSON object.  Rows never hold the text that was deleted.
CREATE TABLE audit_log (
	audit_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	at timestamptz NOT NULL DEFAULT now(),
	tenant_id bigint NOT NULL REFERENCES tenants,
	actor text NOT NULL DEFAULT session_user,
	actor_role text NOT NULL DEFAULT current_user,
	tool text NOT NULL CHECK (tool <> ''),
	person text,
	action text NOT NULL CHECK (action ~ '^[a-z][a-z_]*\.[a-z][a-z_]*$'),
	subject text NOT NULL,
	details jsonb NOT NULL DEFAULT '{}'
		CHECK (jsonb_typeof(details) = 'object')
);
CREATE INDEX audit_log_tenant_at ON audit_log (tenant_id, at);
-- rag_secure_tables() (0007) reads this comment: rag_app gets SELECT and
-- INSERT only.
COMMENT ON TABLE audit_log IS 'append-only: deletions, budget, limit and '
	'retention changes, conversation reads by another identity; a trigger '
	'refuses UPDATE, DELETE and TRUNCATE (rag-db gc''s audit retention '
	'excepted)';

-- What the client says of when and who is not trusted.
CREATE FUNCTION audit_log_stamp() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
	NEW.at := now();
	NEW.actor := session_user;
	NEW.actor_role := current_user;
	RETURN NEW;
END
$fn$;
CREATE TRIGGER audit_log_stamp BEFORE INSERT ON audit_log
	FOR EACH ROW EXECUTE FUNCTION audit_log_stamp();

-- Append-only, even for the owner: UPDATE, DELETE and TRUNCATE fail.
-- The one exception is retention: rag-db gc sets rag.audit_expire_before
-- for its transaction (set_config(..., true)) and deletes the rows older
-- than that, and only those; the row it adds says how many went.
CREATE FUNCTION audit_log_guard() RETURNS trigger LANGUAGE plpgsql AS $fn$
DECLARE
	cutoff timestamptz := nullif(current_setting('rag.audit_expire_before',
		true), '')::timestamptz;
BEGIN
	IF TG_OP = 'DELETE' AND TG_LEVEL = 'ROW' AND cutoff IS NOT NULL THEN
		IF OLD.at < cutoff THEN
			RETURN OLD;
		END IF;
	END IF;
	RAISE EXCEPTION 'audit_log is append-only: % refused', TG_OP
		USING ERRCODE = '42501',
		HINT = 'audit rows go only by rag-db gc with an audit= retention';
END
$fn$;
CREATE TRIGGER audit_log_guard BEFORE UPDATE OR DELETE ON audit_log
	FOR EACH ROW EXECUTE FUNCTION audit_log_guard();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
	FOR EACH STATEMENT EXECUTE FUNCTION audit_log_guard();

-- ---- retention --------------------------------------------------------
-- How long a tenant keeps its documents (per collection, or for all of
-- its collections), messages, cost events and audit rows; rag-db gc
-- deletes what is older.  No row: kept for ever.  A collection's own
-- documents row wins over the tenant's.
CREATE TABLE retention (
	tenant_id bigint NOT NULL REFERENCES tenants,
	collection_id bigint REFERENCES collections ON DELETE CASCADE,
	kind text NOT NULL
		CHECK (kind IN ('documents', 'messages', 'cost', 'audit')),
	keep interval NOT NULL CHECK (keep > interval '0'),
	set_at timestamptz NOT NULL DEFAULT now(),
	CHECK (collection_id IS NULL OR kind = 'documents'),
	UNIQUE NULLS NOT DISTINCT (tenant_id, collection_id, kind)
);

-- ---- conversations: who started one -----------------------------------
-- RAG_USER, or the operating system's user, of the rag-query that made
-- it; NULL for conversations made before this migration.  A read of the
-- history by anyone else is an audit row.
ALTER TABLE conversations ADD COLUMN created_by text;
