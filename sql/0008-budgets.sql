-- 0008-budgets: a monthly budget per tenant, the paid calls in flight
-- that hold part of it, and per-tenant rate limits.  All of it lives here
-- so that every process on every machine that shares the database keeps
-- to the same budget and the same limits.  lib/budget.c and
-- lib/throttle.c use them; the ledger's triggers keep each month's spend.

-- ---- budgets ------------------------------------------------------------
-- What a tenant may spend in a calendar month (UTC), in the currency of
-- the price table (US dollars).  No row: no budget.  warned_month is the
-- first day of the month whose 80 % warning went out (NULL again when the
-- budget changes), so the warning goes out once a month, from whichever
-- process saw the spend reach it first.  A paid call takes this row's
-- lock before it holds part of the budget: that is what serialises two
-- processes racing for the last of it.
CREATE TABLE budgets (
	tenant_id bigint PRIMARY KEY REFERENCES tenants ON DELETE CASCADE,
	usd_per_month numeric NOT NULL CHECK (usd_per_month >= 0),
	warned_month date,
	updated_at timestamptz NOT NULL DEFAULT now()
);

-- A paid call in flight: its estimated cost, held from before the request
-- is sent until the call's cost event is in the ledger (the process then
-- deletes the row).  A process that dies holds nothing for long: a row
-- whose backend has gone (the process's connection closed with it), or
-- that is past expires_at, no longer counts and is deleted by the next
-- call that looks.
CREATE TABLE budget_reservations (
	reservation_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	tenant_id bigint NOT NULL REFERENCES tenants ON DELETE CASCADE,
	model text NOT NULL,
	usd numeric NOT NULL CHECK (usd >= 0),
	backend_pid int NOT NULL DEFAULT pg_backend_pid(),
	created_at timestamptz NOT NULL DEFAULT now(),
	expires_at timestamptz NOT NULL
);
CREATE INDEX budget_reservations_tenant ON budget_reservations (tenant_id);

-- What each tenant's ledger came to in each month (UTC), kept up to date
-- by the ledger's triggers below: a paid call reads its month's spend
-- from one row instead of adding up the month's calls (300,000 calls
-- take 140 ms to add up; a budget is checked before every call).
CREATE TABLE budget_spend (
	tenant_id bigint NOT NULL REFERENCES tenants ON DELETE CASCADE,
	month date NOT NULL,
	usd numeric NOT NULL DEFAULT 0,
	PRIMARY KEY (tenant_id, month)
);
INSERT INTO budget_spend (tenant_id, month, usd)
SELECT tenant_id, date_trunc('month', at AT TIME ZONE 'UTC')::date,
       coalesce(sum(cost_usd), 0)
  FROM cost_events GROUP BY 1, 2;

-- Adds the cost of the ledger rows a statement wrote (new_rows) and takes
-- away that of the rows it removed or changed (old_rows), per tenant and
-- month: one row each, whatever the number of calls.
CREATE FUNCTION rag_budget_spend_track() RETURNS trigger
LANGUAGE plpgsql AS $fn$
BEGIN
	IF TG_OP IN ('UPDATE', 'DELETE') THEN
		INSERT INTO budget_spend AS s (tenant_id, month, usd)
		SELECT o.tenant_id,
		       date_trunc('month', o.at AT TIME ZONE 'UTC')::date,
		       -coalesce(sum(o.cost_usd), 0)
		  FROM old_rows o GROUP BY 1, 2
		ON CONFLICT (tenant_id, month)
		DO UPDATE SET usd = s.usd + excluded.usd;
	END IF;
	IF TG_OP IN ('INSERT', 'UPDATE') THEN
		INSERT INTO budget_spend AS s (tenant_id, month, usd)
		SELECT n.tenant_id,
		       date_trunc('month', n.at AT TIME ZONE 'UTC')::date,
		       coalesce(sum(n.cost_usd), 0)
		  FROM new_rows n GROUP BY 1, 2
		ON CONFLICT (tenant_id, month)
		DO UPDATE SET usd = s.usd + excluded.usd;
	END IF;
	RETURN NULL;
END
$fn$;
CREATE TRIGGER cost_events_spend_insert AFTER INSERT ON cost_events
	REFERENCING NEW TABLE AS new_rows
	FOR EACH STATEMENT EXECUTE FUNCTION rag_budget_spend_track();
CREATE TRIGGER cost_events_spend_update AFTER UPDATE ON cost_events
	REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
	FOR EACH STATEMENT EXECUTE FUNCTION rag_budget_spend_track();
CREATE TRIGGER cost_events_spend_delete AFTER DELETE ON cost_events
	REFERENCING OLD TABLE AS old_rows
	FOR EACH STATEMENT EXECUTE FUNCTION rag_budget_spend_track();

-- The first instant of the current month, UTC.
CREATE FUNCTION rag_budget_month_start() RETURNS timestamptz
LANGUAGE sql STABLE AS $fn$
	SELECT date_trunc('month', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'
$fn$;

-- What the tenant's ledger says it spent this month.
CREATE FUNCTION rag_budget_spent(p_tenant bigint) RETURNS numeric
LANGUAGE sql STABLE AS $fn$
	SELECT coalesce((SELECT s.usd FROM budget_spend s
			  WHERE s.tenant_id = p_tenant
			    AND s.month = rag_budget_month_start()::date), 0)
$fn$;

-- What a call would cost at the tenant's price for the model now (as the
-- ledger's trigger would charge it): 0 for a model without a price.
CREATE FUNCTION rag_budget_estimate(p_tenant bigint, p_model text,
    p_in float8, p_out float8, p_units float8) RETURNS numeric
LANGUAGE sql STABLE AS $fn$
	SELECT coalesce((
		SELECT (p_in::numeric * pr.usd_per_mtok
			+ p_out::numeric * coalesce(pr.usd_per_mtok_out,
						    pr.usd_per_mtok)) / 1000000
			+ p_units::numeric * coalesce(pr.usd_per_ksearch, 0)
			/ 1000
		  FROM prices pr
		 WHERE pr.model = p_model AND pr.valid_from <= now()
		   AND (pr.tenant_id = p_tenant OR pr.tenant_id IS NULL)
		 ORDER BY pr.tenant_id IS NULL, pr.valid_from DESC
		 LIMIT 1), 0)
$fn$;

-- Marks the month warned when the spend has reached 80 % of a budget and
-- the month was not warned yet: returns the figures when it did (once a
-- month per tenant, whoever asks), nothing otherwise.
CREATE FUNCTION rag_budget_alert(p_tenant bigint)
RETURNS TABLE (budget_usd numeric, spent_usd numeric, month text)
LANGUAGE sql AS $fn$
	UPDATE budgets b SET warned_month = rag_budget_month_start()::date
	 WHERE b.tenant_id = p_tenant AND p_tenant = rag_tenant_id()
	   AND b.warned_month IS DISTINCT FROM rag_budget_month_start()::date
	   AND rag_budget_spent(p_tenant) > 0
	   AND rag_budget_spent(p_tenant) >= 0.8 * b.usd_per_month
	RETURNING b.usd_per_month, rag_budget_spent(p_tenant),
		  to_char(rag_budget_month_start() AT TIME ZONE 'UTC', 'YYYY-MM')
$fn$;

-- Holds a call's estimated cost against the tenant's budget.  Returns no
-- row when the tenant has no budget.  Otherwise one row: reservation_id
-- is the hold, or NULL when the month's spend, what calls in flight hold
-- and this estimate together would pass the budget (nothing is held
-- then); the figures say why; alert is set when this call found the
-- spend past 80 % first (rag_budget_alert).  The budget row's lock makes
-- two callers take turns; each statement after it sees what the one
-- before committed (READ COMMITTED takes a new snapshot per statement).
CREATE FUNCTION rag_budget_reserve(p_tenant bigint, p_model text,
    p_in float8, p_out float8, p_units float8, p_lease float8)
RETURNS TABLE (reservation_id bigint, budget_usd numeric, spent_usd numeric,
	       held_usd numeric, estimate_usd numeric, month text,
	       alert boolean)
LANGUAGE plpgsql AS $fn$
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
	   AND (r.expires_at <= now() OR NOT EXISTS (
		SELECT 1 FROM pg_stat_activity a WHERE a.pid = r.backend_pid));
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
	END IF;
	reservation_id := v_id;
	budget_usd := v_budget;
	month := to_char(rag_budget_month_start() AT TIME ZONE 'UTC',
	    'YYYY-MM');
	alert := EXISTS (SELECT 1 FROM rag_budget_alert(p_tenant));
	RETURN NEXT;
END
$fn$;

-- ---- rate limits ----------------------------------------------------------
-- A tenant's limits, each a token bucket: per_window is the limit as set
-- (qps: questions a second to rag-query and rag-answer; rpm and tpm:
-- requests and tokens a minute to the paid providers, all of them
-- together), capacity and rate (per second) the bucket that keeps to it
-- (throttle.c chooses them), level what the bucket held at updated_at.
-- Time is the database server's clock, one clock for every machine.
CREATE TABLE rate_limits (
	tenant_id bigint NOT NULL REFERENCES tenants ON DELETE CASCADE,
	kind text NOT NULL CHECK (kind IN ('qps', 'rpm', 'tpm')),
	per_window float8 NOT NULL CHECK (per_window > 0),
	capacity float8 NOT NULL CHECK (capacity >= 1),
	rate float8 NOT NULL CHECK (rate > 0),
	level float8 NOT NULL,
	updated_at timestamptz NOT NULL DEFAULT clock_timestamp(),
	PRIMARY KEY (tenant_id, kind)
);

-- What a bucket holds now: what it held, refilled since, up to capacity.
CREATE FUNCTION rag_bucket_level(p_level float8, p_capacity float8,
    p_rate float8, p_since timestamptz) RETURNS float8
LANGUAGE sql VOLATILE AS $fn$
	SELECT least(p_capacity, p_level + p_rate * greatest(0,
	    extract(epoch FROM clock_timestamp() - p_since)::float8))
$fn$;

-- Takes p_costs[i] from the tenant's bucket p_kinds[i], all of them or
-- none.  A bucket gives when it holds the cost, or is full for a cost
-- larger than it: it then goes into debt, so a large request waits for
-- a full bucket and the ones after it wait for the debt.  Each take is
-- one UPDATE ... RETURNING, atomic under the row's lock: two processes
-- never both take what one bucket holds.  Returns no row when all gave
-- (or the tenant has no such limits); else the seconds until the bucket
-- that refused would give, its kind and its limit (the buckets that gave
-- before it get their cost back).
CREATE FUNCTION rag_rate_take(p_tenant bigint, p_kinds text[],
    p_costs float8[])
RETURNS TABLE (wait float8, kind text, per_window float8)
LANGUAGE plpgsql AS $fn$
DECLARE
	i int;
	v_took boolean;
BEGIN
	IF p_tenant IS DISTINCT FROM rag_tenant_id() THEN
		RAISE EXCEPTION 'tenant % is not the session''s (rag.tenant)',
		    p_tenant USING ERRCODE = 'insufficient_privilege';
	END IF;
	FOR i IN 1 .. coalesce(array_length(p_kinds, 1), 0) LOOP
		UPDATE rate_limits l
		   SET level = rag_bucket_level(l.level, l.capacity, l.rate,
				l.updated_at) - p_costs[i],
		       updated_at = clock_timestamp()
		 WHERE l.tenant_id = p_tenant AND l.kind = p_kinds[i]
		   AND rag_bucket_level(l.level, l.capacity, l.rate,
			l.updated_at) >= least(p_costs[i], l.capacity)
		RETURNING true INTO v_took;
		IF v_took IS NULL THEN
			SELECT (least(p_costs[i], l.capacity) -
				rag_bucket_level(l.level, l.capacity, l.rate,
				    l.updated_at)) / l.rate, l.kind,
			       l.per_window
			  INTO wait, kind, per_window
			  FROM rate_limits l
			 WHERE l.tenant_id = p_tenant AND l.kind = p_kinds[i];
			IF FOUND THEN
				UPDATE rate_limits l
				   SET level = least(l.capacity,
					l.level + p_costs[j.j])
				  FROM generate_subscripts(p_kinds, 1) AS j(j)
				 WHERE j.j < i AND l.tenant_id = p_tenant
				   AND l.kind = p_kinds[j.j];
				wait := greatest(wait, 0.001);
				RETURN NEXT;
				RETURN;
			END IF;
		END IF;
		v_took := NULL;
	END LOOP;
END
$fn$;

-- ---- who may change what ---------------------------------------------------
-- A budget, a limit and the month's spend are the owner's to change, not
-- the tenant's: rag_app only reads them (rag_secure_tables() in
-- sql/0007-tenants.sql grants no more to an 'owner-write' table), and the
-- functions that must change them run as the owner, for the session's
-- tenant only.  A session cannot raise its own budget, refill its bucket
-- or lower its spend.
COMMENT ON TABLE budgets IS 'owner-write: set by rag-cost --set-budget';
COMMENT ON TABLE budget_spend IS 'owner-write: kept by the ledger''s triggers';
COMMENT ON TABLE rate_limits IS 'owner-write: set by rag-cost --set-limit, taken from by rag_rate_take()';
ALTER FUNCTION rag_budget_spend_track() SECURITY DEFINER
	SET search_path FROM CURRENT;
ALTER FUNCTION rag_budget_alert(bigint) SECURITY DEFINER
	SET search_path FROM CURRENT;
ALTER FUNCTION rag_budget_reserve(bigint, text, float8, float8, float8,
	float8) SECURITY DEFINER SET search_path FROM CURRENT;
ALTER FUNCTION rag_rate_take(bigint, text[], float8[]) SECURITY DEFINER
	SET search_path FROM CURRENT;
