/* rag.h: librag, the library under the rag-* tools.  Include what you use. */
#ifndef RAG_H
#define RAG_H

/*
 * The modules, lowest first; each depends only on modules above it.
 *
 *   error    struct rag_error and the exit statuses every tool shares
 *   exits    what each tool's exit statuses mean (--help, man pages)
 *   mem      allocation that aborts on exhaustion
 *   clock    the monotonic clock, sleeps, retry delays with jitter
 *   buf      growable NUL-terminated byte strings
 *   utf8     UTF-8 decoding and validation
 *   words    words for matching: normal forms, stop words, Porter stems
 *   usage    what a billable call used, for the ledger (a struct only)
 *   hash     SHA-256 of memory, streams and files; lowercase hex
 *   ratelimit token buckets for requests and tokens per minute (pure)
 *   child    a program run as a child process: fed, watched, limited
 *   metrics  Prometheus text exposition, written atomically
 *   log      messages for people (stderr), human or JSON, and progress
 *   opt      common options, strict number parsing, usage errors
 *   columns  a table for people, in aligned columns
 *   config   flags > environment > config file > defaults
 *   setting  numbers and durations from settings, range-checked
 *   record   JSON Lines records in and out
 *   stream   the record loop shared by the filter tools
 *   cluster  the embedded PostgreSQL cluster under $RAG_HOME/pg, and the
 *            PgBouncer in front of it
 *   migrate  the schema (sql/NNNN-*.sql, built in) applied once each
 *   db       connections, retries, SQLSTATE to exit status, COPY
 *   db_report  rag-db's status objects and upkeep tables
 *   catalog  tenants, collections, documents
 *   audit    the append-only audit log: deletions, limit changes, reads
 *   cost     the cost ledger (cost_events), prices, the report
 *   budget   a tenant's monthly budget and the holds of paid calls in
 *            flight, under a lock in PostgreSQL
 *   throttle a tenant's rate limits (qps, rpm, tpm), token buckets in
 *            PostgreSQL
 *   embed_cache  vectors already paid for, by tenant, model and text
 *   sigv4    AWS Signature Version 4 (pure functions)
 *   s3       a small S3 client on libcurl, signed with sigv4
 *   uploads  multipart upload state in PostgreSQL (resume, --gc)
 *   fetch    http(s) bodies read as streams, on libcurl
 *   http     many requests in flight on libcurl's multi interface:
 *            timeouts, retries with backoff, Retry-After, rate limits,
 *            bodies heard as they stream in, a gate before each attempt
 *   guard    a tenant's rate limits and budget as the gate of http's
 *            paid requests, and a question's qps
 *   unpack   the files inside zip and tar archives, on libarchive
 *   store    the object store, content-addressed, over a table per
 *            backend: file:// (store_file) and s3:// (store_s3),
 *            multipart, resume, presigned uploads
 *   text     text clean-up: NFC, control characters, hyphenation
 *   bidi     right-to-left lines from visual to logical order (FriBidi)
 *   heading  heading lines told by size and weight; heading paths
 *   pdf      MuPDF: open, page text, labels, metadata, limits
 *            (pdf_impl.h: its guard, meta, rules, tables, draw files)
 *   furniture  running headers and footers across pages, stripped
 *   chunk    token-aware splitting with overlap and page provenance
 *            (page groups, chunk ids and seq that shards agree on)
 *   embed    embedding providers: embed_local (the offline default),
 *            embed_openai and embed_jina on embed_remote (batching,
 *            limits, retries, checks of the answers)
 *   index    chunks, BM25 postings and totals into PostgreSQL
 *   hnsw     a collection's HNSW ef_search: shown, measured, set by hand
 *   retrieve hybrid retrieval: HNSW + BM25 fused by weighted RRF
 *   snippet  the part of a hit's text a person reads, its words in bold
 *   rerank   a second look at the best candidates: rerank_local (the
 *            offline default, over term positions), rerank_jina,
 *            rerank_cohere and rerank_tei on rerank_remote (requests,
 *            limits, retries, checks of the answers, usage)
 *   chat     a chat model behind OpenAI's chat completions API, whole
 *            or streamed (server-sent events), usage per answer
 *   answer   a cited answer from hits: extractive, or a chat model's
 *   ground   Self-RAG-lite: does each sentence rest on what it cites?
 *   convo    conversations and messages; follow-ups made whole
 *   qcache   a question's records cached until its collection changes
 *   ask      the question half in one call: history, retrieval, rerank,
 *            answer, check, conversation, cache, ledger
 *   forget   a document or a tenant deleted from everywhere rag keeps
 *            it: rows, derived caches, jobs, the object store
 *   retention  how long a tenant keeps what; rag-db gc applies it
 *   jobs     rag-run's job table: keys, leases, retries, dead letters;
 *            the stage table (names, tools, order, timeouts)
 *   inputs   what ingest takes turned into jobs: files, folders (the
 *            walk rag-upload shares), archives, document records
 *   runner   rag-run's engine: claims jobs, runs each stage as a child,
 *            judges and records it (runner_report: summary, metrics)
 *   tool     the tools' shared start (config, the database, the
 *            reranker, chat model and prompt they name), which prints
 *            and exits
 *
 * Ownership: arguments are borrowed; returned pointers belong to the
 * caller; a function that takes ownership says _take.  Objects on the
 * heap have _new/_free (_free(NULL) is fine), objects on the stack
 * _init/_release.  The library returns errors in a struct rag_error; only
 * log, opt and stream (the tools' side) print or exit.
 */

#endif
