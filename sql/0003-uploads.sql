-- 0003-uploads: the state of unfinished multipart uploads to an S3 store,
-- so that rag-upload resumes an interrupted upload instead of starting
-- over, "rag-upload --complete" finishes a presigned one, and "rag-upload
-- --gc" finds the abandoned ones.  A row lives from CreateMultipartUpload
-- to Complete or Abort; the server's ListParts stays the truth about
-- which parts it holds.  Every row carries tenant_id.

CREATE TABLE uploads (
	upload_key bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	tenant_id bigint NOT NULL REFERENCES tenants,
	collection_id bigint NOT NULL REFERENCES collections ON DELETE CASCADE,
	bucket text NOT NULL,
	object_key text NOT NULL,	-- the S3 key, store prefix included
	upload_id text NOT NULL,
	-- file: a seekable file hashed first, sent under its content key;
	-- stream: bytes read once (URL, pipe, archive member), sent under a
	--   staging key and copied to the content key once hashed;
	-- presigned: parts sent by another program through presigned URLs.
	kind text NOT NULL CHECK (kind IN ('file', 'stream', 'presigned')),
	source text NOT NULL,		-- the name the user gave it
	identity text,			-- what says a stream is the same again
	sha256 text CHECK (sha256 ~ '^[0-9a-f]{64}$'),	-- NULL until known
	bytes bigint CHECK (bytes >= 0),		-- NULL until known
	part_size bigint NOT NULL CHECK (part_size > 0),
	expires_at timestamptz,		-- presigned: when the URLs expire
	created_at timestamptz NOT NULL DEFAULT now(),
	updated_at timestamptz NOT NULL DEFAULT now(),	-- the last part sent
	UNIQUE (bucket, upload_id)
);
CREATE INDEX uploads_object ON uploads (bucket, object_key);
CREATE INDEX uploads_identity ON uploads (bucket, identity)
	WHERE identity IS NOT NULL;
CREATE INDEX uploads_updated ON uploads (updated_at);

-- The parts rag-upload has sent, with the SHA-256 it signed each with:
-- a resumed stream upload keeps a part only when the bytes read again
-- hash the same.
CREATE TABLE upload_parts (
	upload_key bigint NOT NULL REFERENCES uploads ON DELETE CASCADE,
	tenant_id bigint NOT NULL REFERENCES tenants,
	part_number int NOT NULL CHECK (part_number BETWEEN 1 AND 10000),
	bytes bigint NOT NULL CHECK (bytes >= 0),
	sha256 text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
	etag text NOT NULL,
	sent_at timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (upload_key, part_number)
);
