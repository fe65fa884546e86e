/* s3_impl: what the files of lib/s3 share; not part of the library's API. */
#ifndef RAG_S3_IMPL_H
#define RAG_S3_IMPL_H

/*
 * lib/s3 is one module in six files, each with one job:
 *   s3.c            the client (configuration, endpoint, lifetime), the
 *                   names checked before any request, presigned URLs
 *   s3_xml.c        a tolerant reader of S3's XML answers
 *   s3_request.c    a request signed and sent, with its retries
 *   s3_verdict.c    what an answer means: success, retry, or which error
 *   s3_object.c     buckets and objects, and the one pagination loop of
 *                   the three listings
 *   s3_multipart.c  multipart uploads, parts in parallel (curl multi)
 * Only these files include this header (and tests/fuzz/fuzz_s3_xml.c,
 * which reads answers as they do).  Names are prefixed s3_ because they
 * are visible to the whole library.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include <curl/curl.h>

#include "buf.h"
#include "s3.h"

#define MAX_QUERY   8
#define MAX_HEADERS 8
#define BODY_CAP    ((size_t)32 << 20) /* XML answers and error bodies */

struct rag_s3 {
	CURL *curl;     /* one handle: its connection cache is reused */
	CURLM *multi;   /* for rag_s3_mpu_upload_parts, made on demand */
	char *scheme;   /* "http" or "https" */
	char *host;     /* "127.0.0.1:9000", as sent in Host */
	char *endpoint; /* scheme://host, for messages */
	bool aws;       /* AWS's own endpoint: virtual-hosted by default */
	enum rag_s3_addressing addressing;
	bool insecure_tls;
	char *region, *access_key_id, *secret, *token;
	char *sse, *sse_kms_key_id;
	long timeout;
	int retries;
	int page_size;
	char key_date[9]; /* the UTC day key was derived for */
	unsigned char key[RAG_SIGV4_KEY_LEN];
	uint64_t rng;
	struct rag_s3_stats stats;
};

/* How far a failed request may be repeated. */
enum retry_policy {
	RETRY_IDEMPOTENT = 0, /* any transient failure */
	RETRY_UNSENT          /* only when the server cannot have acted */
};

/* One request, as the caller wants it; every attempt is built from it. */
struct req {
	const char *method;
	const char *bucket;
	const char *key; /* NULL: the bucket itself */
	struct rag_sigv4_pair query[MAX_QUERY];
	size_t nquery;
	struct rag_sigv4_pair hdr[MAX_HEADERS]; /* signed, beyond host */
	size_t nhdr;
	const char *content_type; /* sent unsigned; "" removes curl's */
	const char *mem;          /* body from memory, or */
	int fd;                   /* body from fd (-1: none) at off */
	off_t off;
	uint64_t len;
	const char *payload_hash; /* NULL: the empty body */
	int out_fd;               /* >= 0: a 2xx body goes there */
	bool ranged;              /* GET with first/last below */
	uint64_t first, last;
	char range[64];
	char if_match[160];
	bool ok_404;       /* a 404 is an answer, not an error */
	bool error_in_200; /* a 200 may carry an <Error> (Complete) */
	bool resumed;      /* If-Match added */
	enum retry_policy policy;
};

/* One request's response and transfer state (the last attempt's). */
struct xfer {
	struct rag_s3 *s;
	struct req *rq;
	CURL *easy; /* the handle of the last attempt */
	struct curl_slist *headers;
	char *url;
	uint64_t sent; /* body bytes handed to curl this attempt */
	long status;
	struct rag_buf body; /* the response body unless streamed */
	bool body_too_big;
	uint64_t written;  /* bytes written to out_fd, all attempts */
	char *etag;        /* unquoted */
	char *object_etag; /* the first GET answer's, for If-Match */
	bool have_length;
	uint64_t length;  /* Content-Length */
	long retry_after; /* seconds, 0 if none */
	char request_id[80];
	int read_errno; /* -1: the file ended early */
	int write_errno;
	bool bad_range;  /* 200 to a ranged GET */
	char s3code[64]; /* the S3 error code of a failure */
	int attempts;
	char errbuf[CURL_ERROR_SIZE];
};

/* Verdicts on one attempt. */
enum { DONE_OK = 0, DONE_RETRY = 1, DONE_FAIL = -1 };

/* ---- s3.c: small helpers ------------------------------------------- */

bool s3_has_text(const char *s);
/* Strips surrounding double quotes and blanks; caller frees. */
char *s3_unquote_etag(const char *v);
/* "s3://bucket/key" of rq, in b (reset first); returns b->data. */
const char *s3_target(const struct req *rq, struct rag_buf *b);
/* Bucket and key as S3 takes them; -1 with err otherwise. */
int s3_check_names(const char *bucket, const char *key, bool need_key,
                   struct rag_error *err);

/* ---- s3_xml.c: a tolerant reader for S3's XML ---------------------- */

/*
 * S3's answers are flat, well-formed documents in which an element name
 * means one thing, so finding "<Name>...</Name>" by text is enough.  No
 * DTDs, no CDATA, no namespaces prefixes on the elements we read.
 */
struct span {
	const char *p, *end;
};

struct span s3_span_of(const struct rag_buf *b);
/* Finds the next <name> in [*from, end); *from moves past its end. */
bool s3_xml_find(const char **from, const char *end, const char *name,
                 struct span *in);
/* The decoded text of the first <name> in sp, or NULL (caller frees). */
char *s3_xml_text(struct span sp, const char *name);
/* Whether the document's root element is <name>. */
bool s3_xml_root_is(const struct rag_buf *b, const char *name);
bool s3_xml_true(struct span sp, const char *name);
uint64_t s3_xml_u64(struct span sp, const char *name);
/* "2009-10-12T17:50:30.000Z" to a time_t; 0 when absent or malformed. */
time_t s3_xml_time(struct span sp, const char *name);
void s3_xml_escape(struct rag_buf *b, const char *s);

/* ---- s3_request.c: requests, sent and retried ---------------------- */

void s3_req_init(struct req *rq, const char *method, const char *bucket,
                 const char *key);
/* The name and value are borrowed until the request is done. */
void s3_req_query(struct req *rq, const char *name, const char *value);
void s3_req_header(struct req *rq, const char *name, const char *value);
bool s3_req_has_header(const struct req *rq, const char *name);
/* The server-side encryption headers, when the client has them. */
void s3_req_sse(struct rag_s3 *s, struct req *rq);

void s3_xfer_init(struct xfer *x, struct rag_s3 *s, struct req *rq);
void s3_xfer_release(struct xfer *x);
/*
 * Signs rq as of now and sets easy up to send it, with x receiving the
 * answer.  The body is rewound: a retry sends it all again.
 */
int s3_xfer_setup(struct xfer *x, CURL *easy, struct rag_error *err);
/* The host and path for a bucket and key, by the addressing style. */
void s3_locate(struct rag_s3 *s, const char *bucket, const char *key,
               struct rag_buf *host, struct rag_buf *path);
/* Sends rq on s's handle, retrying transient failures.  0 or -1. */
int s3_perform(struct rag_s3 *s, struct xfer *x, struct rag_error *err);
/* s3_perform(), then checks that the answer's root element is root. */
int s3_perform_doc(struct rag_s3 *s, struct req *rq, struct xfer *x,
                   const char *root, struct rag_error *err);
/* The wait before retry number attempt (from 0), in milliseconds. */
int64_t s3_backoff_ms(struct rag_s3 *s, int attempt, long retry_after);

/* ---- s3_verdict.c: what an answer means ---------------------------- */

/* Judges the attempt just finished with cc: DONE_OK, _RETRY or _FAIL. */
int s3_xfer_verdict(struct xfer *x, CURLcode cc, struct rag_error *err);
/* Sets err from an HTTP error answer; returns DONE_RETRY or DONE_FAIL. */
int s3_http_error(struct xfer *x, struct rag_error *err);

/* ---- s3_object.c: shared with multipart ---------------------------- */

/* Hashes len bytes of fd from offset, for callers who gave no hash. */
int s3_hash_range(int fd, off_t offset, uint64_t len, char out[65],
                  const char *what, struct rag_error *err);
/* A PUT of a file range: PutObject, or UploadPart when rq has its query. */
int s3_put_range(struct rag_s3 *s, struct req *rq, int fd, off_t offset,
                 uint64_t len, const char *sha256_hex, char **etag,
                 struct rag_error *err);
/* "/bucket/key", encoded, as x-amz-copy-source wants it. */
void s3_copy_source(struct rag_buf *b, const char *bucket, const char *key);
/* Sends a copy request and reads the ETag from its answer's root. */
int s3_copy_request(struct rag_s3 *s, struct req *rq, const char *src_key,
                    const char *root, char **etag, struct rag_error *err);

/*
 * A listing, page by page: ListObjectsV2, ListParts and
 * ListMultipartUploads differ only in these fields.  The query is
 * kind=kind_value, max=page size, prefix (when given) and the markers
 * the previous page named (param=the text of its element next).  The
 * listing goes on while the page says IsTruncated; the first marker
 * must then be there.
 */
struct s3_listing {
	const char *bucket;
	const char *key; /* NULL: the bucket's listings */
	const char *kind, *kind_value;
	const char *max;
	const char *prefix; /* NULL or "": none */
	const char *root;   /* the answer's root element */
	const char *item;   /* one entry's element */
	struct {
		const char *param, *next;
	} marker[2]; /* param NULL: unused */
	/* Called for each entry; not 0 stops the listing (returned). */
	int (*each)(struct span item, void *arg);
	void *arg;
};

int s3_list_pages(struct rag_s3 *s, const struct s3_listing *l,
                  struct rag_error *err);

#endif
