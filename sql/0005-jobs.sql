-- 0005-jobs: rag-run's durable state.  A job is one stage of one piece of
-- work: uploading a path, or parsing, chunking, embedding or indexing one
-- page-range shard of a document.  Its idempotency key is the SHA-256 of
-- the stage, its input and the pipeline's configuration, so the same work
-- asked for twice is one row.  Workers take jobs with FOR UPDATE SKIP
-- LOCKED under a lease that expires; what fails for good becomes a dead
-- letter, once.  Every row carries tenant_id.

-- One row per rag-run process: who it is (the lease owner's name), when
-- it was last seen, how it ended.
CREATE TABLE runs (
	run_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	tenant_id bigint NOT NULL REFERENCES tenants,
	request_id text NOT NULL UNIQUE,
	command text NOT NULL,
	owner text NOT NULL,
	started_at timestamptz NOT NULL DEFAULT now(),
	heartbeat_at timestamptz NOT NULL DEFAULT now(),
	finished_at timestamptz,
	exit_status int,
	summary jsonb
);
CREATE INDEX runs_active ON runs (tenant_id) WHERE finished_at IS NULL;

-- status: queued (never tried, or given back), running (leased until
-- lease_expires_at), retry (failed for a reason that may pass: waits for
-- next_attempt_at), done, dead (failed for good: see dead_letters).
-- root_id is the job a run was asked for (an upload, or a record given on
-- standard input) that this one descends from; a root is its own.
CREATE TABLE jobs (
	job_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	tenant_id bigint NOT NULL REFERENCES tenants,
	idem_key text NOT NULL CHECK (idem_key ~ '^[0-9a-f]{64}$'),
	root_id bigint,
	parent_id bigint,
	stage text NOT NULL
		CHECK (stage IN ('upload', 'parse', 'chunk', 'embed', 'index')),
	collection text,
	doc_id text,
	source text,
	shard_first int,
	shard_last int,
	status text NOT NULL DEFAULT 'queued'
		CHECK (status IN ('queued', 'running', 'retry', 'done', 'dead')),
	attempts int NOT NULL DEFAULT 0 CHECK (attempts >= 0),
	next_attempt_at timestamptz NOT NULL DEFAULT now(),
	lease_owner text,
	lease_expires_at timestamptz,
	last_error text,
	request_id text,
	records_out int,
	pages int,
	chunks int,
	seconds float8 NOT NULL DEFAULT 0,
	created_at timestamptz NOT NULL DEFAULT now(),
	started_at timestamptz,
	finished_at timestamptz,
	UNIQUE (tenant_id, idem_key)
);
CREATE INDEX jobs_root ON jobs (root_id);
CREATE INDEX jobs_doc ON jobs (tenant_id, collection, doc_id);
-- The claim walks this index in order: later stages first, so documents
-- finish (and their intermediate records go) before new ones start.
CREATE INDEX jobs_runnable ON jobs (tenant_id,
	(CASE stage WHEN 'index' THEN 0 WHEN 'embed' THEN 1 WHEN 'chunk' THEN 2
	 WHEN 'parse' THEN 3 ELSE 4 END), job_id)
	WHERE status IN ('queued', 'retry');
CREATE INDEX jobs_running ON jobs (tenant_id, lease_expires_at)
	WHERE status = 'running';

CREATE FUNCTION jobs_set_root() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
	NEW.root_id := coalesce(NEW.root_id, NEW.job_id);
	RETURN NEW;
END
$fn$;
CREATE TRIGGER jobs_set_root BEFORE INSERT ON jobs
	FOR EACH ROW EXECUTE FUNCTION jobs_set_root();

-- The records a job's stage reads (JSON Lines), kept apart from the job's
-- row, which changes often.  Dropped once a chunk, embed or index job is
-- done: the next stage has its own.
CREATE TABLE job_inputs (
	job_id bigint PRIMARY KEY REFERENCES jobs ON DELETE CASCADE,
	tenant_id bigint NOT NULL,
	records text NOT NULL
);

-- A job that failed for good (job_id's status is dead), or one record of a
-- job that went on without it (a page that cannot be read).  retried_at is
-- set when rag-run retry puts the job back in the queue; a letter outlives
-- its job when retry replaces the job (job_id becomes NULL).
CREATE TABLE dead_letters (
	dead_letter_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	tenant_id bigint NOT NULL REFERENCES tenants,
	job_id bigint REFERENCES jobs ON DELETE SET NULL,
	stage text NOT NULL,
	doc_id text,
	source text,
	error text NOT NULL,
	record jsonb,
	attempts int NOT NULL,
	request_id text,
	created_at timestamptz NOT NULL DEFAULT now(),
	retried_at timestamptz
);
CREATE INDEX dead_letters_job ON dead_letters (job_id);
CREATE INDEX dead_letters_open ON dead_letters (tenant_id)
	WHERE retried_at IS NULL;
