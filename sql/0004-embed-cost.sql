-- 0004-embed-cost: the embedding cache, the price list and the cost ledger.
-- Every row carries tenant_id; a price row without one is the price for
-- every tenant that has none of its own.

-- A vector already paid for: (tenant, model, dimensions, SHA-256 of the
-- exact text) to the float32 vector, little-endian, 4 * dimensions bytes.
-- rag-embed looks texts up here before it calls a provider, so embedding
-- the same text again costs nothing.  Per tenant: one tenant's texts never
-- answer another's.
CREATE TABLE embed_cache (
	tenant_id bigint NOT NULL REFERENCES tenants ON DELETE CASCADE,
	model text NOT NULL CHECK (model <> ''),
	dimensions int NOT NULL CHECK (dimensions BETWEEN 1 AND 16000),
	sha256 bytea NOT NULL CHECK (length(sha256) = 32),
	embedding bytea NOT NULL CHECK (length(embedding) = 4 * dimensions),
	created_at timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (tenant_id, model, dimensions, sha256)
);

-- What a million input tokens cost, in US dollars, from valid_from on.  A
-- new price is a new row, so the ledger's past stays as it was charged.
-- The rows below are the providers' list prices when this was written;
-- change them with rag-cost --set-price.
CREATE TABLE prices (
	price_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	tenant_id bigint REFERENCES tenants ON DELETE CASCADE,
	model text NOT NULL CHECK (model LIKE '%/%'),
	usd_per_mtok numeric NOT NULL CHECK (usd_per_mtok >= 0),
	valid_from timestamptz NOT NULL DEFAULT now(),
	created_at timestamptz NOT NULL DEFAULT now(),
	UNIQUE NULLS NOT DISTINCT (tenant_id, model, valid_from)
);
INSERT INTO prices (tenant_id, model, usd_per_mtok, valid_from) VALUES
	(NULL, 'openai/text-embedding-3-small', 0.02, '-infinity'),
	(NULL, 'openai/text-embedding-3-large', 0.13, '-infinity'),
	(NULL, 'openai/text-embedding-ada-002', 0.10, '-infinity'),
	(NULL, 'jina/jina-embeddings-v4', 0.05, '-infinity'),
	(NULL, 'jina/jina-embeddings-v3', 0.05, '-infinity'),
	(NULL, 'jina/jina-embeddings-v2-base-en', 0.05, '-infinity'),
	(NULL, 'jina/jina-embeddings-v2-base-de', 0.05, '-infinity'),
	(NULL, 'jina/jina-embeddings-v2-base-es', 0.05, '-infinity'),
	(NULL, 'jina/jina-embeddings-v2-base-zh', 0.05, '-infinity'),
	(NULL, 'jina/jina-embeddings-v2-base-code', 0.05, '-infinity'),
	(NULL, 'local/hash-v1', 0, '-infinity');

-- The price of a model for a tenant at a time: the tenant's own price
-- first, then everyone's; NULL when the model has none.
CREATE FUNCTION rag_price(p_tenant bigint, p_model text, p_at timestamptz)
RETURNS numeric LANGUAGE sql STABLE AS $fn$
	SELECT usd_per_mtok FROM prices
	 WHERE model = p_model AND valid_from <= p_at
	   AND (tenant_id = p_tenant OR tenant_id IS NULL)
	 ORDER BY tenant_id IS NULL, valid_from DESC
	 LIMIT 1
$fn$;

-- The ledger: one row per billable call to a provider.  input_tokens is
-- the provider's own count (the response's usage) unless
-- tokens_estimated says the answer could not be read and rag's estimate
-- stands in.  The price in force is filled in on insert and kept, so a
-- later price change does not rewrite what was charged; a model without
-- a price keeps NULLs there and is reported as unpriced.
CREATE TABLE cost_events (
	event_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	at timestamptz NOT NULL DEFAULT now(),
	tenant_id bigint NOT NULL REFERENCES tenants,
	stage text NOT NULL CHECK (stage <> ''),
	provider text NOT NULL CHECK (provider <> ''),
	model text NOT NULL CHECK (model <> ''),
	input_tokens bigint NOT NULL CHECK (input_tokens >= 0),
	tokens_estimated boolean NOT NULL DEFAULT false,
	texts int NOT NULL DEFAULT 0 CHECK (texts >= 0),
	usd_per_mtok numeric,
	cost_usd numeric,
	request_id text,
	provider_request_id text,
	elapsed_ms int
);
CREATE INDEX cost_events_at ON cost_events (at);
CREATE INDEX cost_events_tenant_at ON cost_events (tenant_id, at);

CREATE FUNCTION rag_cost_event_price() RETURNS trigger
LANGUAGE plpgsql AS $fn$
BEGIN
	IF NEW.usd_per_mtok IS NULL THEN
		NEW.usd_per_mtok := rag_price(NEW.tenant_id, NEW.model, NEW.at);
	END IF;
	IF NEW.cost_usd IS NULL AND NEW.usd_per_mtok IS NOT NULL THEN
		NEW.cost_usd := NEW.input_tokens * NEW.usd_per_mtok / 1000000;
	END IF;
	RETURN NEW;
END
$fn$;

CREATE TRIGGER cost_events_price BEFORE INSERT ON cost_events
	FOR EACH ROW EXECUTE FUNCTION rag_cost_event_price();
