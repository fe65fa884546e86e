-- 0001-init: tenants, collections, documents, chunks and what BM25 needs.
-- Every row carries tenant_id.  Applied once by rag-db migrate (or by any
-- tool on first use), in one transaction.

CREATE EXTENSION IF NOT EXISTS vector;

CREATE TABLE tenants (
	tenant_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	name text NOT NULL UNIQUE CHECK (name <> ''),
	created_at timestamptz NOT NULL DEFAULT now()
);

-- A collection fixes its embedding model and dimensions (set by the first
-- rag-index into it) and keeps the totals BM25 needs: N and avgdl.
CREATE TABLE collections (
	collection_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	tenant_id bigint NOT NULL REFERENCES tenants,
	name text NOT NULL CHECK (name <> ''),
	embed_model text,
	dimensions int CHECK (dimensions BETWEEN 1 AND 16000),
	chunk_count bigint NOT NULL DEFAULT 0,
	term_count bigint NOT NULL DEFAULT 0,
	created_at timestamptz NOT NULL DEFAULT now(),
	UNIQUE (tenant_id, name)
);

CREATE TABLE documents (
	collection_id bigint NOT NULL REFERENCES collections ON DELETE CASCADE,
	doc_id text NOT NULL CHECK (doc_id <> '' AND length(doc_id) <= 200),
	tenant_id bigint NOT NULL REFERENCES tenants,
	source text NOT NULL,
	uri text NOT NULL,
	bytes bigint NOT NULL CHECK (bytes >= 0),
	content_type text NOT NULL DEFAULT 'application/pdf',
	pages int,
	meta jsonb NOT NULL DEFAULT '{}',
	uploaded_at timestamptz NOT NULL DEFAULT now(),
	indexed_at timestamptz,
	PRIMARY KEY (collection_id, doc_id)
);

-- Vectors of any size share one column; each collection gets its own HNSW
-- index on an expression cast, created by rag-index:
--   CREATE INDEX chunks_hnsw_<id> ON chunks USING hnsw
--     ((embedding::vector(<dims>)) vector_cosine_ops) WHERE collection_id = <id>
CREATE TABLE chunks (
	chunk_key bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	collection_id bigint NOT NULL,
	chunk_id text NOT NULL,
	tenant_id bigint NOT NULL REFERENCES tenants,
	doc_id text NOT NULL,
	seq int NOT NULL CHECK (seq >= 0),
	page_start int NOT NULL CHECK (page_start >= 1),
	page_end int NOT NULL CHECK (page_end >= page_start),
	section text,
	text text NOT NULL,
	tokens int NOT NULL,
	tsv tsvector GENERATED ALWAYS AS (to_tsvector('english', text)) STORED,
	model text NOT NULL,
	embedding vector NOT NULL,
	UNIQUE (collection_id, chunk_id),
	FOREIGN KEY (collection_id, doc_id) REFERENCES documents
		ON DELETE CASCADE
);
CREATE INDEX chunks_doc ON chunks (collection_id, doc_id);
-- Serves quoted phrases and -exclusions in questions.
CREATE INDEX chunks_tsv ON chunks USING gin (tsv);

-- BM25 postings: one row per (stemmed term, chunk) with the term's
-- frequency in the chunk and the chunk's length in terms.  Document
-- frequencies are counted from these rows at query time.
CREATE TABLE chunk_terms (
	collection_id bigint NOT NULL,
	term text NOT NULL,
	chunk_key bigint NOT NULL,
	tf int NOT NULL CHECK (tf > 0),
	dl int NOT NULL CHECK (dl > 0),
	tenant_id bigint NOT NULL,
	PRIMARY KEY (collection_id, term, chunk_key)
);
CREATE INDEX chunk_terms_chunk ON chunk_terms (chunk_key);

-- Changes to a collection's BM25 totals (chunk_count, term_count), one row
-- per indexing transaction, so that concurrent indexers never wait on the
-- collection's row; rag-index folds them into collections when it ends,
-- and rag_search adds up the ones not folded yet.
CREATE TABLE collection_deltas (
	collection_id bigint NOT NULL REFERENCES collections ON DELETE CASCADE,
	tenant_id bigint NOT NULL,
	chunks bigint NOT NULL,
	terms bigint NOT NULL
);
CREATE INDEX collection_deltas_collection ON collection_deltas (collection_id);
