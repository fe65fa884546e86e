/*
 * s3_object: buckets and objects (PUT, GET, HEAD, DELETE, copy), and the
 * one pagination loop that the three listings share.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "hash.h"
#include "mem.h"
#include "s3.h"
#include "s3_impl.h"

/* ---- objects --------------------------------------------------------- */

int
rag_s3_create_bucket(struct rag_s3 *s, const char *bucket,
                     struct rag_error *err)
{
	struct req rq;
	struct xfer x;
	char hash[65];
	char *body = NULL;
	int rc = -1;

	if (s3_check_names(bucket, NULL, false, err) < 0)
		return -1;
	s3_req_init(&rq, "PUT", bucket, NULL);
	/* us-east-1 is the default; AWS refuses it named explicitly. */
	if (strcmp(s->region, "us-east-1") != 0)
		body = rag_xasprintf(
		    "<CreateBucketConfiguration xmlns=\""
		    "http://s3.amazonaws.com/doc/2006-03-01/\"><Location"
		    "Constraint>%s</LocationConstraint></CreateBucket"
		    "Configuration>",
		    s->region);
	if (body != NULL) {
		rq.mem = body;
		rq.len = strlen(body);
		if (rag_hash_sha256_hex(body, rq.len, hash) < 0)
			goto out;
		rq.payload_hash = hash;
		rq.content_type = "application/xml";
	}
	s3_xfer_init(&x, s, &rq);
	if (s3_perform(s, &x, err) == 0) {
		rc = 0;
	} else if (strcmp(x.s3code, "BucketAlreadyOwnedByYou") == 0) {
		rag_error_clear(err);
		rc = 0;
	}
	s3_xfer_release(&x);
out:
	free(body);
	return rc;
}

/* Hashes len bytes of fd from offset, for callers who gave no hash. */
int
s3_hash_range(int fd, off_t offset, uint64_t len, char out[65],
              const char *what, struct rag_error *err)
{
	struct rag_hash *h = rag_hash_new();
	size_t cap = 1 << 16;
	char *buf = rag_xmalloc(cap);
	uint64_t done = 0;
	int rc = -1;

	while (done < len) {
		size_t want = len - done < cap ? (size_t)(len - done) : cap;
		ssize_t r = pread(fd, buf, want, offset + (off_t)done);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			rag_error_set(
			    err, RAG_EXIT_FAILED,
			    "%s: cannot read the data to upload: %s", what,
			    r < 0 ? strerror(errno)
			          : "the file is shorter than expected");
			goto out;
		}
		rag_hash_update(h, buf, (size_t)r);
		done += (uint64_t)r;
	}
	rag_hash_final_hex(h, out);
	rc = 0;
out:
	free(buf);
	rag_hash_free(h);
	return rc;
}

/* A PUT of a file range: PutObject, or UploadPart when rq has its query. */
int
s3_put_range(struct rag_s3 *s, struct req *rq, int fd, off_t offset,
             uint64_t len, const char *sha256_hex, char **etag,
             struct rag_error *err)
{
	struct rag_buf t = RAG_BUF_INIT;
	struct xfer x;
	char hash[65];
	int rc = -1;

	if (etag != NULL)
		*etag = NULL;
	s3_target(rq, &t);
	if (len > RAG_S3_MAX_PART) {
		rag_error_set(err, RAG_EXIT_FAILED,
		              "%s: %llu bytes is more "
		              "than S3's 5 GiB per request: upload it in parts",
		              t.data, (unsigned long long)len);
		goto out;
	}
	if (sha256_hex == NULL) {
		if (s3_hash_range(fd, offset, len, hash, t.data, err) < 0)
			goto out;
		sha256_hex = hash;
	} else if (!rag_hash_is_sha256_hex(sha256_hex, strlen(sha256_hex))) {
		rag_error_set(err, RAG_EXIT_FAILED,
		              "%s: '%s' is not a "
		              "lowercase hex SHA-256",
		              t.data, sha256_hex);
		goto out;
	}
	rq->fd = fd;
	rq->off = offset;
	rq->len = len;
	rq->payload_hash = sha256_hex;
	s3_xfer_init(&x, s, rq);
	rc = s3_perform(s, &x, err);
	if (rc == 0 && etag != NULL && x.etag != NULL)
		*etag = rag_xstrdup(x.etag);
	s3_xfer_release(&x);
out:
	rag_buf_release(&t);
	return rc;
}

int
rag_s3_put(struct rag_s3 *s, const char *bucket, const char *key, int fd,
           off_t offset, uint64_t len, const char *sha256_hex, char **etag,
           struct rag_error *err)
{
	struct req rq;

	if (etag != NULL)
		*etag = NULL;
	if (s3_check_names(bucket, key, true, err) < 0)
		return -1;
	s3_req_init(&rq, "PUT", bucket, key);
	s3_req_sse(s, &rq);
	return s3_put_range(s, &rq, fd, offset, len, sha256_hex, etag, err);
}

int
rag_s3_put_mem(struct rag_s3 *s, const char *bucket, const char *key,
               const void *data, size_t len, char **etag, struct rag_error *err)
{
	struct req rq;
	struct xfer x;
	char hash[65];
	int rc;

	if (etag != NULL)
		*etag = NULL;
	if (s3_check_names(bucket, key, true, err) < 0)
		return -1;
	if (rag_hash_sha256_hex(data, len, hash) < 0)
		return rag_error_set(
		    err, RAG_EXIT_FATAL,
		    "cannot compute a SHA-256 (libcrypto failed)");
	s3_req_init(&rq, "PUT", bucket, key);
	s3_req_sse(s, &rq);
	rq.mem = len > 0 ? data : "";
	rq.len = len;
	rq.payload_hash = hash;
	s3_xfer_init(&x, s, &rq);
	rc = s3_perform(s, &x, err);
	if (rc == 0 && etag != NULL && x.etag != NULL)
		*etag = rag_xstrdup(x.etag);
	s3_xfer_release(&x);
	return rc;
}

int
rag_s3_head(struct rag_s3 *s, const char *bucket, const char *key, bool *exists,
            uint64_t *size, char **etag, struct rag_error *err)
{
	struct req rq;
	struct xfer x;
	int rc;

	*exists = false;
	if (size != NULL)
		*size = 0;
	if (etag != NULL)
		*etag = NULL;
	if (s3_check_names(bucket, key, true, err) < 0)
		return -1;
	s3_req_init(&rq, "HEAD", bucket, key);
	rq.ok_404 = true;
	s3_xfer_init(&x, s, &rq);
	rc = s3_perform(s, &x, err);
	if (rc == 0 && x.status != 404) {
		*exists = true;
		if (size != NULL)
			*size = x.length;
		if (etag != NULL && x.etag != NULL)
			*etag = rag_xstrdup(x.etag);
	}
	s3_xfer_release(&x);
	return rc;
}

int
rag_s3_get(struct rag_s3 *s, const char *bucket, const char *key,
           uint64_t first, uint64_t last, int fd, uint64_t *written,
           struct rag_error *err)
{
	struct req rq;
	struct xfer x;
	int rc;

	if (written != NULL)
		*written = 0;
	if (s3_check_names(bucket, key, true, err) < 0)
		return -1;
	if (last < first)
		return rag_error_set(
		    err, RAG_EXIT_FAILED,
		    "s3://%s/%s: the byte range %llu-%llu is empty", bucket,
		    key, (unsigned long long)first, (unsigned long long)last);
	s3_req_init(&rq, "GET", bucket, key);
	rq.out_fd = fd;
	if (first != 0 || last != UINT64_MAX) {
		rq.ranged = true;
		rq.first = first;
		rq.last = last;
		if (last == UINT64_MAX)
			snprintf(rq.range, sizeof(rq.range), "bytes=%llu-",
			         (unsigned long long)first);
		else
			snprintf(rq.range, sizeof(rq.range), "bytes=%llu-%llu",
			         (unsigned long long)first,
			         (unsigned long long)last);
		s3_req_header(&rq, "range", rq.range);
	}
	s3_xfer_init(&x, s, &rq);
	rc = s3_perform(s, &x, err);
	if (written != NULL)
		*written = x.written;
	s3_xfer_release(&x);
	return rc;
}

int
rag_s3_delete(struct rag_s3 *s, const char *bucket, const char *key,
              struct rag_error *err)
{
	struct req rq;
	struct xfer x;
	int rc;

	if (s3_check_names(bucket, key, true, err) < 0)
		return -1;
	s3_req_init(&rq, "DELETE", bucket, key);
	rq.ok_404 = true;
	s3_xfer_init(&x, s, &rq);
	rc = s3_perform(s, &x, err);
	if (rc == 0 && x.status == 404) {
		/* Gone already is what was asked, but not a missing bucket. */
		char *code = s3_xml_root_is(&x.body, "Error")
		                 ? s3_xml_text(s3_span_of(&x.body), "Code")
		                 : NULL;

		if (code != NULL && strcmp(code, "NoSuchKey") != 0) {
			s3_http_error(&x, err);
			rc = -1;
		}
		free(code);
	}
	s3_xfer_release(&x);
	return rc;
}

/* ---- listings ------------------------------------------------------- */

static int
truncated_without_marker(struct req *rq, struct rag_error *err)
{
	struct rag_buf t = RAG_BUF_INIT;

	rag_error_set(err, RAG_EXIT_FAILED,
	              "%s: the server says the listing "
	              "goes on but gives no marker to continue from",
	              s3_target(rq, &t));
	rag_buf_release(&t);
	return -1;
}

/*
 * The one pagination loop of the listings: a page is asked for with the
 * markers the previous one gave, its entries are handed to l->each, and
 * the loop ends on the page that does not say IsTruncated.
 */
int
s3_list_pages(struct rag_s3 *s, const struct s3_listing *l,
              struct rag_error *err)
{
	char max[16], *marker[2] = {NULL, NULL};
	bool more = true;
	int rc = 0;

	snprintf(max, sizeof(max), "%d", s->page_size);
	while (more && rc == 0) {
		struct req rq;
		struct xfer x;
		struct span sp, in;
		const char *from;

		s3_req_init(&rq, "GET", l->bucket, l->key);
		s3_req_query(&rq, l->kind, l->kind_value);
		s3_req_query(&rq, l->max, max);
		if (s3_has_text(l->prefix))
			s3_req_query(&rq, "prefix", l->prefix);
		for (int i = 0; i < 2; i++)
			if (l->marker[i].param != NULL && marker[i] != NULL)
				s3_req_query(&rq, l->marker[i].param,
				             marker[i]);
		s3_xfer_init(&x, s, &rq);
		if (s3_perform_doc(s, &rq, &x, l->root, err) < 0) {
			s3_xfer_release(&x);
			rc = -1;
			break;
		}
		sp = s3_span_of(&x.body);
		from = sp.p;
		while (rc == 0 && s3_xml_find(&from, sp.end, l->item, &in))
			rc = l->each(in, l->arg);
		more = s3_xml_true(sp, "IsTruncated");
		for (int i = 0; i < 2; i++) {
			free(marker[i]);
			marker[i] = more && l->marker[i].param != NULL
			                ? s3_xml_text(sp, l->marker[i].next)
			                : NULL;
		}
		if (rc == 0 && more && !s3_has_text(marker[0]))
			rc = truncated_without_marker(&rq, err);
		s3_xfer_release(&x);
	}
	free(marker[0]);
	free(marker[1]);
	return rc;
}

struct list_objects {
	int (*fn)(const struct rag_s3_object *o, void *arg);
	void *arg;
};

static int
each_object(struct span in, void *arg)
{
	struct list_objects *lo = arg;
	char *k = s3_xml_text(in, "Key");
	char *e = s3_xml_text(in, "ETag");
	char *ue = e != NULL ? s3_unquote_etag(e) : NULL;
	struct rag_s3_object o = {
	    k != NULL ? k : "",
	    s3_xml_u64(in, "Size"),
	    ue != NULL ? ue : "",
	    s3_xml_time(in, "LastModified"),
	};
	int rc = lo->fn(&o, lo->arg);

	free(k);
	free(e);
	free(ue);
	return rc;
}

int
rag_s3_list(struct rag_s3 *s, const char *bucket, const char *prefix,
            int (*fn)(const struct rag_s3_object *o, void *arg), void *arg,
            struct rag_error *err)
{
	struct list_objects lo = {fn, arg};
	struct s3_listing l = {
	    .bucket = bucket,
	    .kind = "list-type",
	    .kind_value = "2",
	    .max = "max-keys",
	    .prefix = prefix,
	    .root = "ListBucketResult",
	    .item = "Contents",
	    .marker = {{"continuation-token", "NextContinuationToken"}},
	    .each = each_object,
	    .arg = &lo,
	};

	if (s3_check_names(bucket, NULL, false, err) < 0)
		return -1;
	return s3_list_pages(s, &l, err);
}

/* ---- copies --------------------------------------------------------- */

/* "/bucket/key", encoded, as x-amz-copy-source wants it. */
void
s3_copy_source(struct rag_buf *b, const char *bucket, const char *key)
{
	rag_buf_addc(b, '/');
	rag_sigv4_uri_encode(b, bucket, strlen(bucket), 1);
	rag_buf_addc(b, '/');
	rag_sigv4_uri_encode(b, key, strlen(key), 0);
}

/* Sends a copy request and reads the ETag from its answer's root. */
int
s3_copy_request(struct rag_s3 *s, struct req *rq, const char *src_key,
                const char *root, char **etag, struct rag_error *err)
{
	struct xfer x;
	int rc;

	rq->mem = "";
	rq->len = 0;
	rq->error_in_200 = true; /* a copy can fail after its 200 is sent */
	s3_xfer_init(&x, s, rq);
	rc = s3_perform_doc(s, rq, &x, root, err);
	if (rc < 0 && strcmp(x.s3code, "NoSuchKey") == 0)
		rag_error_set(err, RAG_EXIT_FAILED,
		              "s3://%s/%s: NoSuchKey: the object to copy is "
		              "not there",
		              rq->bucket, src_key);
	if (rc == 0 && etag != NULL) {
		char *e = s3_xml_text(s3_span_of(&x.body), "ETag");

		*etag = e != NULL ? s3_unquote_etag(e) : NULL;
		free(e);
	}
	s3_xfer_release(&x);
	return rc;
}

int
rag_s3_copy(struct rag_s3 *s, const char *bucket, const char *src_key,
            const char *dst_key, char **etag, struct rag_error *err)
{
	struct rag_buf src = RAG_BUF_INIT;
	struct req rq;
	int rc;

	if (etag != NULL)
		*etag = NULL;
	if (s3_check_names(bucket, src_key, true, err) < 0 ||
	    s3_check_names(bucket, dst_key, true, err) < 0)
		return -1;
	s3_copy_source(&src, bucket, src_key);
	s3_req_init(&rq, "PUT", bucket, dst_key);
	s3_req_header(&rq, "x-amz-copy-source", src.data);
	s3_req_sse(s, &rq);
	rc = s3_copy_request(s, &rq, src_key, "CopyObjectResult", etag, err);
	rag_buf_release(&src);
	return rc;
}
