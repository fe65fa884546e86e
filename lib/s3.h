/* s3: a small S3 client; libcurl moves the bytes, lib/sigv4 signs them. */
#ifndef RAG_S3_H
#define RAG_S3_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "error.h"
#include "sigv4.h"

/*
 * Every request is signed with AWS Signature Version 4 by lib/sigv4 (not
 * by libcurl, whose 7.88 signer is wrong for S3), with the body's SHA-256
 * signed too.  Bodies stream from file descriptors with pread(), so
 * nothing is ever loaded whole into memory, and a retry re-reads the same
 * range.  A struct rag_s3 is one connection cache: use it from one thread
 * at a time (make one per thread).  Works with AWS, MinIO and Swift's
 * s3api (tests/s3/README lists how they differ).  libcurl honours the
 * usual proxy variables (https_proxy, no_proxy...).
 *
 * Errors.  Every function returns 0, or -1 with err set to one sentence
 * that names the object ("s3://bucket/key: ..."), S3's error code and
 * what to do; secrets never appear in it.  err->code is
 *   RAG_EXIT_REFUSED (77)   credentials refused: SignatureDoesNotMatch,
 *                           InvalidAccessKeyId, AccessDenied, ExpiredToken
 *                           and the like;
 *   RAG_EXIT_TEMPFAIL (75)  still failing after the retries: 5xx, SlowDown,
 *                           RequestTimeout, 429, connection refused, DNS
 *                           failures, timeouts;
 *   RAG_EXIT_FATAL (3)      the setup is wrong: NoSuchBucket, a wrong
 *                           region or clock, TLS verification failed, a
 *                           bad endpoint;
 *   RAG_EXIT_FAILED (1)     this object failed: NoSuchKey, NoSuchUpload,
 *                           BadDigest (the file changed), EntityTooSmall,
 *                           InvalidPart, a local read or write error.
 *
 * Retries.  Transient failures (the TEMPFAIL list) are retried up to
 * max_retries times with exponential backoff and jitter (a wait of 0.1 to
 * 0.2 s, doubling up to 10 to 20 s), or after the server's Retry-After
 * when that is longer (60 s at most).
 * Requests that may not be repeated blindly (CreateMultipartUpload) are
 * retried only when the request cannot have been processed: connection
 * refused, a DNS failure, 503 or 429.  Every attempt is signed afresh.
 */

/*
 * Addressing: path style is http://host/bucket/key (MinIO, Swift, most
 * S3-compatible servers), virtual-hosted is http://bucket.host/key (AWS).
 * AUTO means path style when an endpoint is given and virtual-hosted for
 * AWS's own endpoint (but path style for bucket names with a dot, which
 * AWS's TLS certificate does not cover).
 */
enum rag_s3_addressing {
	RAG_S3_AUTO = 0,
	RAG_S3_PATH_STYLE,
	RAG_S3_VIRTUAL_HOSTED
};

/*
 * Borrowed by rag_s3_new(), which copies what it keeps.  A zeroed struct
 * plus credentials is a working AWS configuration.
 *
 * endpoint          "http://127.0.0.1:9000", "https://minio.example:9000";
 *                   NULL or "" for AWS: https://s3.<region>.amazonaws.com.
 *                   scheme://host[:port] only, no path, no user:password@.
 * region            NULL or "" means "us-east-1" (MinIO's default too)
 * access_key_id, secret_access_key   required
 * session_token     NULL or "" when there is none (sent and signed as
 *                   x-amz-security-token)
 * addressing        see enum rag_s3_addressing
 * insecure_tls      true to skip TLS certificate and host checks (a
 *                   self-signed MinIO); verification is on by default
 * sse               NULL, "AES256" or "aws:kms": x-amz-server-side-
 *                   encryption on every PUT and CreateMultipartUpload
 * sse_kms_key_id    with "aws:kms": the key; NULL for the account default
 * timeout_seconds   connect timeout, and how long a transfer may make no
 *                   progress before it is abandoned (and retried); 0 means
 *                   30.  No limit on a transfer that keeps moving.
 * max_retries       retries after a transient failure; 0 means 4, a
 *                   negative value none
 * page_size         keys, parts or uploads asked for per listing page,
 *                   1 to 1000; 0 means 1000 (tests use small pages)
 */
struct rag_s3_config {
	const char *endpoint;
	const char *region;
	const char *access_key_id;
	const char *secret_access_key;
	const char *session_token;
	enum rag_s3_addressing addressing;
	bool insecure_tls;
	const char *sse;
	const char *sse_kms_key_id;
	long timeout_seconds;
	int max_retries;
	int page_size;
};

struct rag_s3;

/*
 * Fills c's endpoint, region, access_key_id, secret_access_key and
 * session_token from the settings (lib/config: flags, environment, config
 * file): AWS_ENDPOINT_URL_S3, else AWS_ENDPOINT_URL; AWS_REGION;
 * AWS_ACCESS_KEY_ID; AWS_SECRET_ACCESS_KEY; AWS_SESSION_TOKEN.  Other
 * fields are left alone.  The strings belong to lib/config.
 */
void rag_s3_config_from_settings(struct rag_s3_config *c);

/*
 * Returns a client, or NULL with err set (RAG_EXIT_FATAL) for missing
 * credentials, a malformed endpoint or an unknown sse.  No I/O happens
 * here: a wrong endpoint or key shows at the first request.
 */
struct rag_s3 *rag_s3_new(const struct rag_s3_config *c, struct rag_error *err);
void rag_s3_free(struct rag_s3 *s);

/* Counters since rag_s3_new(), for logs and benchmarks. */
struct rag_s3_stats {
	uint64_t requests;       /* attempts sent, retries included */
	uint64_t retries;        /* attempts that were retries */
	uint64_t connections;    /* new connections (the rest reused one) */
	uint64_t bytes_sent;     /* request bodies */
	uint64_t bytes_received; /* response bodies */
};
void rag_s3_stats(const struct rag_s3 *s, struct rag_s3_stats *out);

/*
 * ETags.  Every ETag this module returns is S3's value without the
 * surrounding double quotes: "9bb58f26192e4ba00f01e2e7b136bbd8", or
 * "<hex>-<parts>" for a multipart object.  Callers own it (free()).
 */

/*
 * Creates the bucket in the configured region.  A bucket that exists and
 * is ours already is success.  BucketAlreadyExists (someone else's) is
 * RAG_EXIT_FATAL.
 */
int rag_s3_create_bucket(struct rag_s3 *s, const char *bucket,
                         struct rag_error *err);

/*
 * PutObject: uploads len bytes of fd from offset (read with pread(), the
 * fd's offset is not used or moved) as one object.  sha256_hex is the
 * lowercase hex SHA-256 of those bytes, signed so the server refuses a
 * body that differs (BadDigest, RAG_EXIT_FAILED: the file changed); NULL
 * hashes the range first (one extra read).  S3 allows 5 GiB at most in
 * one PUT: use multipart above that.  *etag, when etag is not NULL, gets
 * the new object's ETag.
 */
int rag_s3_put(struct rag_s3 *s, const char *bucket, const char *key, int fd,
               off_t offset, uint64_t len, const char *sha256_hex, char **etag,
               struct rag_error *err);

/* PutObject from memory; as rag_s3_put(). */
int rag_s3_put_mem(struct rag_s3 *s, const char *bucket, const char *key,
                   const void *data, size_t len, char **etag,
                   struct rag_error *err);

/*
 * HeadObject.  A missing key is not an error: *exists = false (and size
 * 0, etag NULL); nor is a missing bucket, which a HEAD cannot tell
 * apart.  Otherwise *exists = true, *size the object's size and *etag
 * its ETag.  size and etag may be NULL.
 */
int rag_s3_head(struct rag_s3 *s, const char *bucket, const char *key,
                bool *exists, uint64_t *size, char **etag,
                struct rag_error *err);

/*
 * GetObject: writes bytes first..last (inclusive) of the object to fd,
 * sequentially with write() (a pipe is fine).  last = UINT64_MAX means to
 * the end; first = 0 and last = UINT64_MAX is the whole object.  A
 * transfer cut short is resumed from where it stopped (with If-Match on
 * the ETag, so the bytes all come from the same version), so fd sees
 * each byte once.  A missing key is RAG_EXIT_FAILED ("NoSuchKey"), a
 * first beyond the end RAG_EXIT_FAILED ("InvalidRange").  *written, when
 * not NULL, gets the number of bytes written to fd, also on failure.
 */
int rag_s3_get(struct rag_s3 *s, const char *bucket, const char *key,
               uint64_t first, uint64_t last, int fd, uint64_t *written,
               struct rag_error *err);

/* DeleteObject.  Deleting a key that is not there is success (as in S3). */
int rag_s3_delete(struct rag_s3 *s, const char *bucket, const char *key,
                  struct rag_error *err);

/*
 * CopyObject: the server copies bucket/src_key to bucket/dst_key without
 * the bytes passing through here (SSE applies to the copy as to a PUT).
 * S3 copies up to 5 GiB this way; use rag_s3_mpu_upload_part_copy above
 * that.  *etag, when etag is not NULL, gets the copy's ETag.  A missing
 * source is RAG_EXIT_FAILED (NoSuchKey).
 */
int rag_s3_copy(struct rag_s3 *s, const char *bucket, const char *src_key,
                const char *dst_key, char **etag, struct rag_error *err);

/* An object in a listing; the strings live until the callback returns. */
struct rag_s3_object {
	const char *key;
	uint64_t size;
	const char *etag;     /* unquoted */
	time_t last_modified; /* 0 if the server gave none */
};

/*
 * ListObjectsV2: calls fn for each object whose key starts with prefix
 * (NULL or "" for all), in key order, following continuation tokens page
 * by page.  fn returns 0 to go on; any other value stops the listing and
 * is returned as is (err untouched).  Returns 0 after the last object.
 */
int rag_s3_list(struct rag_s3 *s, const char *bucket, const char *prefix,
                int (*fn)(const struct rag_s3_object *o, void *arg), void *arg,
                struct rag_error *err);

/*
 * Multipart upload.  Parts are numbered 1 to 10000; every part but the
 * last must be at least 5 MiB (RAG_S3_MIN_PART), which S3 checks only at
 * completion (EntityTooSmall).  Unfinished uploads keep their parts (and
 * cost storage) until completed or aborted.
 */
#define RAG_S3_MIN_PART  ((uint64_t)5 << 20)
#define RAG_S3_MAX_PART  ((uint64_t)5 << 30)
#define RAG_S3_MAX_PARTS 10000

/* CreateMultipartUpload: *upload_id (caller frees) names the new upload. */
int rag_s3_mpu_create(struct rag_s3 *s, const char *bucket, const char *key,
                      char **upload_id, struct rag_error *err);

/*
 * UploadPart: as rag_s3_put() for the part numbered part_number.  *etag
 * (caller frees) is the part's ETag, needed to complete the upload.
 */
int rag_s3_mpu_upload_part(struct rag_s3 *s, const char *bucket,
                           const char *key, const char *upload_id,
                           int part_number, int fd, off_t offset, uint64_t len,
                           const char *sha256_hex, char **etag,
                           struct rag_error *err);

/*
 * One part to upload in parallel.  In: number, fd, offset, len,
 * sha256_hex (NULL: hashed first).  Out: etag (caller frees; NULL when
 * the part did not succeed) and status (0, or the exit code the part
 * failed with; -1 when it was never sent).
 */
struct rag_s3_part_upload {
	int number;
	int fd;
	off_t offset;
	uint64_t len;
	const char *sha256_hex;
	char *etag;
	int status;
};

/*
 * Uploads the n parts with up to max_in_flight requests at once (curl
 * multi, one connection each), retrying each part on its own as above.
 * Parts are read with pread(), so one fd can serve them all.
 * After the first part that fails for good, no new part is started; the
 * ones in flight finish.  Returns 0 when every part has its etag, or -1
 * with err describing the first failure; parts that succeeded keep their
 * etag, so calling again with only the others resumes.  max_in_flight < 1
 * means 1.
 */
int rag_s3_mpu_upload_parts(struct rag_s3 *s, const char *bucket,
                            const char *key, const char *upload_id,
                            struct rag_s3_part_upload *parts, size_t n,
                            int max_in_flight, struct rag_error *err);

/*
 * UploadPartCopy: bytes first..last (inclusive, at most 5 GiB) of the
 * object bucket/src_key become part part_number of the upload, copied by
 * the server.  *etag (caller frees) is the part's ETag.
 */
int rag_s3_mpu_upload_part_copy(struct rag_s3 *s, const char *bucket,
                                const char *key, const char *upload_id,
                                int part_number, const char *src_key,
                                uint64_t first, uint64_t last, char **etag,
                                struct rag_error *err);

/* A part to complete an upload with: its number and ETag (quoted or not). */
struct rag_s3_part {
	int number;
	const char *etag;
};

/*
 * CompleteMultipartUpload with the n parts, in increasing number order.
 * *etag (caller frees, may be NULL) gets the object's ETag.  S3 may
 * answer 200 with an error inside: that is reported as an error.  A
 * retry that finds the upload gone checks whether the object is there
 * with an ETag for n parts, and then counts as success.
 */
int rag_s3_mpu_complete(struct rag_s3 *s, const char *bucket, const char *key,
                        const char *upload_id, const struct rag_s3_part *parts,
                        size_t n, char **etag, struct rag_error *err);

/* AbortMultipartUpload: the parts are deleted.  NoSuchUpload is an error. */
int rag_s3_mpu_abort(struct rag_s3 *s, const char *bucket, const char *key,
                     const char *upload_id, struct rag_error *err);

/* A part of an unfinished upload; etag lives until the callback returns. */
struct rag_s3_part_info {
	int number;
	uint64_t size;
	const char *etag; /* unquoted */
};

/* ListParts: fn for each uploaded part, by number; stops as rag_s3_list(). */
int rag_s3_mpu_list_parts(struct rag_s3 *s, const char *bucket, const char *key,
                          const char *upload_id,
                          int (*fn)(const struct rag_s3_part_info *p,
                                    void *arg),
                          void *arg, struct rag_error *err);

/* An unfinished upload; the strings live until the callback returns. */
struct rag_s3_upload {
	const char *key;
	const char *upload_id;
	time_t initiated; /* 0 if the server gave none */
};

/*
 * ListMultipartUploads: fn for each unfinished upload whose key starts
 * with prefix (NULL or "" for all); stops as rag_s3_list().
 */
int rag_s3_mpu_list_uploads(struct rag_s3 *s, const char *bucket,
                            const char *prefix,
                            int (*fn)(const struct rag_s3_upload *u, void *arg),
                            void *arg, struct rag_error *err);

/*
 * Returns a presigned URL (caller frees) that lets whoever holds it send
 * method ("GET", "PUT", "HEAD" or "DELETE") to bucket/key until now +
 * expires_seconds (1 to 604800), with no credentials.  query holds extra
 * parameters, decoded: { "partNumber", "3" } and { "uploadId", id } make
 * a presigned UploadPart (with "PUT"); { "response-content-disposition",
 * ... } works for GET.  No I/O.  The URL signs only the host header and
 * an unsigned payload, so the SSE setting does not apply to a presigned
 * PUT (the bucket's default encryption does).  Returns NULL with err set
 * (RAG_EXIT_FAILED) for a bad method or expiry.
 */
char *rag_s3_presign(struct rag_s3 *s, const char *method, const char *bucket,
                     const char *key, const struct rag_sigv4_pair *query,
                     size_t nquery, long expires_seconds, time_t now,
                     struct rag_error *err);

#endif
