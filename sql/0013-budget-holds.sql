-- 0013-budget-holds: a paid call's hold counts while the session that
-- took it lasts, also behind a connection pooler.
--
-- sql/0008 counted a hold while its backend lived.  Behind PgBouncer (the
-- embedded cluster's, or one in front of a server of your own) a backend
-- outlives its client: a process killed in the middle of a paid call
-- left its estimate held until the lease ran out, an hour, and the next
-- client of that backend kept it alive.  Now a hold is also a
-- session-level advisory lock (7452914, id modulo 2^31), which ends with
-- the session: when the backend dies, or when its client leaves
-- PgBouncer (DISCARD ALL lets go of advisory locks).  A hold counts while
-- its lock is held by the backend that took it; rag_budget_release()
-- (lib/budget.c) lets go of the lock with the row.

-- Whether the session that took hold p_id on backend p_pid still has it.
CREATE FUNCTION rag_budget_hold_alive(p_id bigint, p_pid int)
RETURNS boolean LANGUAGE sql STABLE AS $fn$
	SELECT EXISTS (SELECT FROM pg_locks l
		WHERE l.locktype = 'advisory' AND l.pid = p_pid
		  AND l.classid = 7452914
		  AND l.objid = (p_id % 2147483648)::int::oid
		  AND l.objsubid = 2 AND l.granted)
$fn$;

CREATE OR REPLACE FUNCTION rag_budget_reserve(p_tenant bigint, p_model text,
    p_in float8, p_out float8, p_units float8, p_lease float8)
RETURNS TABLE (reservation_id bigint, budget_usd numeric, spent_usd numeric,
	       held_usd numeric, estimate_usd numeric, month text,
	       alert boolean)
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $fn$
DECLARE
	v_budget numeric;
	v_id bigint;
BEGIN
	IF p_tenant IS DISTINCT FROM rag_tenant_id() THEN
		RAISE EXCEPTION 'tenant % is not the session''s (rag.tenant)',
		    p_tenant USING ERRCODE = 'insufficient_privilege';
	END IF;
	SELECT b.usd_per_month INTO v_budget FROM budgets b
	 WHERE b.tenant_id = p_tenant FOR UPDATE;
	IF NOT FOUND THEN
		RETURN;
	END IF;
	DELETE FROM budget_reservations r
	 WHERE r.tenant_id = p_tenant
	   AND (r.expires_at <= now() OR
		NOT rag_budget_hold_alive(r.reservation_id, r.backend_pid));
	spent_usd := rag_budget_spent(p_tenant);
	SELECT coalesce(sum(r.usd), 0) INTO held_usd
	  FROM budget_reservations r WHERE r.tenant_id = p_tenant;
	estimate_usd := rag_budget_estimate(p_tenant, p_model, p_in, p_out,
	    p_units);
	IF spent_usd + held_usd + estimate_usd <= v_budget THEN
		INSERT INTO budget_reservations AS r (tenant_id, model, usd,
		    expires_at)
		VALUES (p_tenant, p_model, estimate_usd,
		    now() + make_interval(secs => p_lease))
		RETURNING r.reservation_id INTO v_id;
		PERFORM pg_advisory_lock(7452914, (v_id % 2147483648)::int);
	END IF;
	reservation_id := v_id;
	budget_usd := v_budget;
	month := to_char(rag_budget_month_start() AT TIME ZONE 'UTC',
	    'YYYY-MM');
	alert := EXISTS (SELECT 1 FROM rag_budget_alert(p_tenant));
	RETURN NEXT;
END
$fn$;
