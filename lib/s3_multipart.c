/*
 * s3_multipart: multipart uploads: create, parts one at a time or many
 * in parallel on curl's multi interface, copies of parts, complete,
 * abort, and the listings of parts and of unfinished uploads.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "buf.h"
#include "clock.h"
#include "hash.h"
#include "mem.h"
#include "s3.h"
#include "s3_impl.h"

/* ---- multipart ------------------------------------------------------- */

int
rag_s3_mpu_create(struct rag_s3 *s, const char *bucket, const char *key,
                  char **upload_id, struct rag_error *err)
{
	struct req rq;
	struct xfer x;
	int rc = -1;

	*upload_id = NULL;
	if (s3_check_names(bucket, key, true, err) < 0)
		return -1;
	s3_req_init(&rq, "POST", bucket, key);
	s3_req_query(&rq, "uploads", NULL);
	s3_req_sse(s, &rq);
	rq.mem = "";
	/*
	 * The object's type is set here.  Not curl's form type; and not none
	 * either, or Swift gives the object the type of the Complete request
	 * (application/xml).  This is S3's default for a PUT without a type.
	 */
	rq.content_type = "binary/octet-stream";
	rq.policy = RETRY_UNSENT;
	s3_xfer_init(&x, s, &rq);
	if (s3_perform_doc(s, &rq, &x, "InitiateMultipartUploadResult", err) <
	    0)
		goto out;
	*upload_id = s3_xml_text(s3_span_of(&x.body), "UploadId");
	if (!s3_has_text(*upload_id)) {
		struct rag_buf t = RAG_BUF_INIT;

		free(*upload_id);
		*upload_id = NULL;
		rag_error_set(err, RAG_EXIT_FAILED,
		              "%s: the server's answer "
		              "has no UploadId",
		              s3_target(&rq, &t));
		rag_buf_release(&t);
		goto out;
	}
	rc = 0;
out:
	s3_xfer_release(&x);
	return rc;
}

static int
check_part(const char *bucket, const char *key, const char *upload_id,
           int part_number, struct rag_error *err)
{
	if (s3_check_names(bucket, key, true, err) < 0)
		return -1;
	if (!s3_has_text(upload_id))
		return rag_error_set(err, RAG_EXIT_FAILED,
		                     "s3://%s/%s: no upload id given", bucket,
		                     key);
	if (part_number < 1 || part_number > RAG_S3_MAX_PARTS)
		return rag_error_set(
		    err, RAG_EXIT_FAILED,
		    "s3://%s/%s: part number %d is not between 1 and %d",
		    bucket, key, part_number, RAG_S3_MAX_PARTS);
	return 0;
}

int
rag_s3_mpu_upload_part(struct rag_s3 *s, const char *bucket, const char *key,
                       const char *upload_id, int part_number, int fd,
                       off_t offset, uint64_t len, const char *sha256_hex,
                       char **etag, struct rag_error *err)
{
	struct req rq;
	char num[16];

	*etag = NULL;
	if (check_part(bucket, key, upload_id, part_number, err) < 0)
		return -1;
	snprintf(num, sizeof(num), "%d", part_number);
	s3_req_init(&rq, "PUT", bucket, key);
	s3_req_query(&rq, "partNumber", num);
	s3_req_query(&rq, "uploadId", upload_id);
	return s3_put_range(s, &rq, fd, offset, len, sha256_hex, etag, err);
}

/* One slot of rag_s3_mpu_upload_parts: a handle and the part it carries. */
struct slot {
	CURL *easy;
	struct req rq;
	struct xfer x;
	char num[16];
	size_t part;
	bool busy;    /* in the multi handle */
	bool waiting; /* sleeping before a retry */
	int64_t wake; /* when, in rag_clock_ms() time */
	int attempt;
	struct rag_error err;
};

/* The state of one rag_s3_mpu_upload_parts() call. */
struct batch {
	struct rag_s3 *s;
	const char *bucket, *key, *upload_id;
	struct rag_s3_part_upload *parts;
	size_t n, next; /* parts, and the next one to start */
	struct slot *slots;
	size_t nslots;
	bool stop;             /* a part failed for good: start no more */
	struct rag_error *err; /* the first failure */
};

static void
part_failed(struct batch *b, struct slot *sl)
{
	b->parts[sl->part].status = sl->err.code;
	if (!b->stop)
		*b->err = sl->err;
	b->stop = true;
	s3_xfer_release(&sl->x);
}

static bool
slot_send(struct batch *b, struct slot *sl)
{
	if (s3_xfer_setup(&sl->x, sl->easy, &sl->err) < 0) {
		part_failed(b, sl);
		return false;
	}
	curl_multi_add_handle(b->s->multi, sl->easy);
	sl->busy = true;
	return true;
}

/* Gives an idle slot the next part that has no ETag yet. */
static void
slot_start(struct batch *b, struct slot *sl)
{
	while (!b->stop && b->next < b->n) {
		struct rag_s3_part_upload *p = &b->parts[b->next++];

		if (p->etag != NULL)
			continue;
		sl->part = (size_t)(p - b->parts);
		snprintf(sl->num, sizeof(sl->num), "%d", p->number);
		s3_req_init(&sl->rq, "PUT", b->bucket, b->key);
		s3_req_query(&sl->rq, "partNumber", sl->num);
		s3_req_query(&sl->rq, "uploadId", b->upload_id);
		sl->rq.fd = p->fd;
		sl->rq.off = p->offset;
		sl->rq.len = p->len;
		sl->rq.payload_hash = p->sha256_hex;
		s3_xfer_init(&sl->x, b->s, &sl->rq);
		sl->attempt = 0;
		if (slot_send(b, sl))
			return;
	}
}

/*
 * Starts what is due: retries whose wait is over, new parts in idle
 * slots.  Returns whether anything is in flight or waiting; *wait is
 * lowered to the milliseconds until the next retry is due.
 */
static bool
batch_feed(struct batch *b, int64_t *wait)
{
	int64_t now = rag_clock_ms();
	bool active = false;

	for (size_t i = 0; i < b->nslots; i++) {
		struct slot *sl = &b->slots[i];

		if (sl->waiting && (b->stop || sl->wake <= now)) {
			sl->waiting = false;
			if (b->stop)
				s3_xfer_release(&sl->x);
			else
				slot_send(b, sl);
		}
		if (!sl->busy && !sl->waiting)
			slot_start(b, sl);
		if (sl->waiting && sl->wake - now < *wait)
			*wait = sl->wake - now;
		active = active || sl->busy || sl->waiting;
	}
	return active;
}

/* Judges the transfers curl has finished. */
static void
batch_collect(struct batch *b)
{
	struct rag_s3 *s = b->s;
	CURLMsg *m;
	int left;

	while ((m = curl_multi_info_read(s->multi, &left)) != NULL) {
		struct slot *sl = NULL;
		struct xfer *x = NULL;
		int v;

		if (m->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE,
		                  (char **)&x);
		for (size_t i = 0; i < b->nslots; i++)
			if (&b->slots[i].x == x)
				sl = &b->slots[i];
		if (sl == NULL)
			continue;
		curl_multi_remove_handle(s->multi, sl->easy);
		sl->busy = false;
		v = s3_xfer_verdict(&sl->x, m->data.result, &sl->err);
		if (v == DONE_RETRY && !b->stop && sl->attempt < s->retries) {
			sl->waiting = true;
			sl->wake =
			    rag_clock_ms() +
			    s3_backoff_ms(s, sl->attempt++, sl->x.retry_after);
		} else if (v == DONE_OK) {
			b->parts[sl->part].etag =
			    rag_xstrdup(sl->x.etag != NULL ? sl->x.etag : "");
			b->parts[sl->part].status = 0;
			s3_xfer_release(&sl->x);
		} else {
			part_failed(b, sl);
		}
	}
}

int
rag_s3_mpu_upload_parts(struct rag_s3 *s, const char *bucket, const char *key,
                        const char *upload_id, struct rag_s3_part_upload *parts,
                        size_t n, int max_in_flight, struct rag_error *err)
{
	struct batch b = {s, bucket, key, upload_id, parts, n,
	                  0, NULL,   0,   false,     err};
	char(*hashes)[65] = rag_xcalloc(n > 0 ? n : 1, sizeof(*hashes));
	size_t i;
	int rc = -1;

	for (i = 0; i < n; i++) {
		parts[i].status = parts[i].etag != NULL ? 0 : -1;
		if (check_part(bucket, key, upload_id, parts[i].number, err) <
		    0)
			goto out;
	}
	/* Hashes first: a part's upload must not wait on a long read. */
	for (i = 0; i < n; i++) {
		char what[64];

		if (parts[i].etag != NULL)
			continue;
		snprintf(what, sizeof(what), "s3://%s/%s part %d", bucket, key,
		         parts[i].number);
		if (parts[i].sha256_hex != NULL) {
			if (rag_hash_is_sha256_hex(parts[i].sha256_hex,
			                           strlen(parts[i].sha256_hex)))
				continue;
			rag_error_set(err, RAG_EXIT_FAILED,
			              "%s: '%s' is not a lowercase hex SHA-256",
			              what, parts[i].sha256_hex);
			goto out;
		}
		if (s3_hash_range(parts[i].fd, parts[i].offset, parts[i].len,
		                  hashes[i], what, err) < 0)
			goto out;
		parts[i].sha256_hex = hashes[i];
	}
	if (s->multi == NULL && (s->multi = curl_multi_init()) == NULL) {
		rag_error_set(err, RAG_EXIT_FATAL, "cannot initialise libcurl");
		goto out;
	}
	b.nslots = max_in_flight < 1 ? 1 : (size_t)max_in_flight;
	if (b.nslots > n)
		b.nslots = n > 0 ? n : 1;
	curl_multi_setopt(s->multi, CURLMOPT_MAX_HOST_CONNECTIONS,
	                  (long)b.nslots);
	b.slots = rag_xcalloc(b.nslots, sizeof(*b.slots));
	for (i = 0; i < b.nslots; i++)
		if ((b.slots[i].easy = curl_easy_init()) == NULL) {
			rag_error_set(err, RAG_EXIT_FATAL,
			              "cannot initialise libcurl");
			goto out;
		}
	/*
	 * Feed before waiting: a handle just added makes curl's timer due
	 * at once, so the poll returns immediately and the part starts.
	 */
	for (;;) {
		int64_t wait = 1000;
		int running = 0;

		if (!batch_feed(&b, &wait))
			break;
		curl_multi_poll(s->multi, NULL, 0, wait > 0 ? (int)wait : 0,
		                NULL);
		curl_multi_perform(s->multi, &running);
		batch_collect(&b);
	}
	rc = b.stop ? -1 : 0;
out:
	for (i = 0; b.slots != NULL && i < b.nslots; i++) {
		if (b.slots[i].busy) {
			curl_multi_remove_handle(s->multi, b.slots[i].easy);
			s3_xfer_release(&b.slots[i].x);
		}
		if (b.slots[i].easy != NULL)
			curl_easy_cleanup(b.slots[i].easy);
	}
	for (i = 0; i < n; i++)
		if (parts[i].sha256_hex == hashes[i])
			parts[i].sha256_hex = NULL;
	free(b.slots);
	free(hashes);
	return rc;
}

/* Whether the upload's object is there with a multipart ETag of n parts. */
static bool
completed_already(struct rag_s3 *s, const char *bucket, const char *key,
                  size_t n, char **etag)
{
	struct rag_error e = RAG_ERROR_INIT;
	bool exists = false, done = false;
	char *tag = NULL, suffix[24];
	size_t tl, sl;

	if (rag_s3_head(s, bucket, key, &exists, NULL, &tag, &e) < 0 ||
	    !exists || tag == NULL)
		goto out;
	snprintf(suffix, sizeof(suffix), "-%zu", n);
	tl = strlen(tag);
	sl = strlen(suffix);
	done = tl > sl && strcmp(tag + tl - sl, suffix) == 0;
	if (done && etag != NULL) {
		*etag = tag;
		tag = NULL;
	}
out:
	free(tag);
	return done;
}

int
rag_s3_mpu_complete(struct rag_s3 *s, const char *bucket, const char *key,
                    const char *upload_id, const struct rag_s3_part *parts,
                    size_t n, char **etag, struct rag_error *err)
{
	struct rag_buf body = RAG_BUF_INIT, t = RAG_BUF_INIT;
	struct req rq;
	struct xfer x;
	char hash[65];
	int rc = -1;

	if (etag != NULL)
		*etag = NULL;
	if (check_part(bucket, key, upload_id, 1, err) < 0)
		return -1;
	s3_req_init(&rq, "POST", bucket, key);
	s3_xfer_init(&x, s, &rq);
	if (n == 0 || n > RAG_S3_MAX_PARTS) {
		rag_error_set(err, RAG_EXIT_FAILED,
		              "%s: %zu parts: an upload "
		              "has 1 to %d",
		              s3_target(&rq, &t), n, RAG_S3_MAX_PARTS);
		goto out;
	}
	rag_buf_adds(&body, "<CompleteMultipartUpload xmlns=\""
	                    "http://s3.amazonaws.com/doc/2006-03-01/\">");
	for (size_t i = 0; i < n; i++) {
		char *tag = s3_unquote_etag(parts[i].etag ? parts[i].etag : "");

		rag_buf_addf(&body,
		             "<Part><PartNumber>%d</PartNumber>"
		             "<ETag>&quot;",
		             parts[i].number);
		s3_xml_escape(&body, tag);
		rag_buf_adds(&body, "&quot;</ETag></Part>");
		free(tag);
	}
	rag_buf_adds(&body, "</CompleteMultipartUpload>");
	if (rag_hash_sha256_hex(body.data, body.len, hash) < 0) {
		rag_error_set(err, RAG_EXIT_FATAL,
		              "cannot compute a SHA-256 (libcrypto failed)");
		goto out;
	}
	s3_req_query(&rq, "uploadId", upload_id);
	rq.mem = body.data;
	rq.len = body.len;
	rq.payload_hash = hash;
	rq.content_type = "application/xml";
	rq.error_in_200 = true;
	if (s3_perform(s, &x, err) < 0) {
		/* Our first attempt may have completed it before failing. */
		if (x.attempts > 1 && strcmp(x.s3code, "NoSuchUpload") == 0 &&
		    completed_already(s, bucket, key, n, etag))
			rc = 0;
		goto out;
	}
	if (!s3_xml_root_is(&x.body, "CompleteMultipartUploadResult")) {
		rag_error_set(err, RAG_EXIT_FAILED,
		              "%s: the server's answer "
		              "to completing the upload is not a "
		              "CompleteMultipartUploadResult",
		              s3_target(&rq, &t));
		goto out;
	}
	if (etag != NULL) {
		char *e = s3_xml_text(s3_span_of(&x.body), "ETag");

		*etag = e != NULL ? s3_unquote_etag(e) : NULL;
		free(e);
	}
	rc = 0;
out:
	s3_xfer_release(&x);
	rag_buf_release(&body);
	rag_buf_release(&t);
	return rc;
}

int
rag_s3_mpu_upload_part_copy(struct rag_s3 *s, const char *bucket,
                            const char *key, const char *upload_id,
                            int part_number, const char *src_key,
                            uint64_t first, uint64_t last, char **etag,
                            struct rag_error *err)
{
	struct rag_buf src = RAG_BUF_INIT;
	struct req rq;
	char num[16], range[64];
	int rc;

	*etag = NULL;
	if (check_part(bucket, key, upload_id, part_number, err) < 0 ||
	    s3_check_names(bucket, src_key, true, err) < 0)
		return -1;
	if (last < first || last - first >= RAG_S3_MAX_PART)
		return rag_error_set(
		    err, RAG_EXIT_FAILED,
		    "s3://%s/%s: cannot copy bytes %llu-%llu "
		    "as one part: a part holds 1 byte to 5 GiB",
		    bucket, key, (unsigned long long)first,
		    (unsigned long long)last);
	s3_copy_source(&src, bucket, src_key);
	snprintf(num, sizeof(num), "%d", part_number);
	snprintf(range, sizeof(range), "bytes=%llu-%llu",
	         (unsigned long long)first, (unsigned long long)last);
	s3_req_init(&rq, "PUT", bucket, key);
	s3_req_query(&rq, "partNumber", num);
	s3_req_query(&rq, "uploadId", upload_id);
	s3_req_header(&rq, "x-amz-copy-source", src.data);
	s3_req_header(&rq, "x-amz-copy-source-range", range);
	rc = s3_copy_request(s, &rq, src_key, "CopyPartResult", etag, err);
	rag_buf_release(&src);
	return rc;
}

int
rag_s3_mpu_abort(struct rag_s3 *s, const char *bucket, const char *key,
                 const char *upload_id, struct rag_error *err)
{
	struct req rq;
	struct xfer x;
	int rc;

	if (check_part(bucket, key, upload_id, 1, err) < 0)
		return -1;
	s3_req_init(&rq, "DELETE", bucket, key);
	s3_req_query(&rq, "uploadId", upload_id);
	s3_xfer_init(&x, s, &rq);
	rc = s3_perform(s, &x, err);
	/* Gone on a retry: the first attempt did it. */
	if (rc < 0 && x.attempts > 1 && strcmp(x.s3code, "NoSuchUpload") == 0)
		rc = 0;
	s3_xfer_release(&x);
	return rc;
}

struct list_parts {
	int (*fn)(const struct rag_s3_part_info *p, void *arg);
	void *arg;
};

static int
each_part(struct span in, void *arg)
{
	struct list_parts *lp = arg;
	char *e = s3_xml_text(in, "ETag");
	char *ue = e != NULL ? s3_unquote_etag(e) : NULL;
	struct rag_s3_part_info p = {
	    (int)s3_xml_u64(in, "PartNumber"),
	    s3_xml_u64(in, "Size"),
	    ue != NULL ? ue : "",
	};
	int rc = lp->fn(&p, lp->arg);

	free(e);
	free(ue);
	return rc;
}

int
rag_s3_mpu_list_parts(struct rag_s3 *s, const char *bucket, const char *key,
                      const char *upload_id,
                      int (*fn)(const struct rag_s3_part_info *p, void *arg),
                      void *arg, struct rag_error *err)
{
	struct list_parts lp = {fn, arg};
	struct s3_listing l = {
	    .bucket = bucket,
	    .key = key,
	    .kind = "uploadId",
	    .kind_value = upload_id,
	    .max = "max-parts",
	    .root = "ListPartsResult",
	    .item = "Part",
	    .marker = {{"part-number-marker", "NextPartNumberMarker"}},
	    .each = each_part,
	    .arg = &lp,
	};

	if (check_part(bucket, key, upload_id, 1, err) < 0)
		return -1;
	return s3_list_pages(s, &l, err);
}

struct list_uploads {
	int (*fn)(const struct rag_s3_upload *u, void *arg);
	void *arg;
};

static int
each_upload(struct span in, void *arg)
{
	struct list_uploads *lu = arg;
	char *k = s3_xml_text(in, "Key");
	char *id = s3_xml_text(in, "UploadId");
	struct rag_s3_upload u = {
	    k != NULL ? k : "",
	    id != NULL ? id : "",
	    s3_xml_time(in, "Initiated"),
	};
	int rc = lu->fn(&u, lu->arg);

	free(k);
	free(id);
	return rc;
}

int
rag_s3_mpu_list_uploads(struct rag_s3 *s, const char *bucket,
                        const char *prefix,
                        int (*fn)(const struct rag_s3_upload *u, void *arg),
                        void *arg, struct rag_error *err)
{
	struct list_uploads lu = {fn, arg};
	struct s3_listing l = {
	    .bucket = bucket,
	    .kind = "uploads",
	    .max = "max-uploads",
	    .prefix = prefix,
	    .root = "ListMultipartUploadsResult",
	    .item = "Upload",
	    .marker = {{"key-marker", "NextKeyMarker"},
	               {"upload-id-marker", "NextUploadIdMarker"}},
	    .each = each_upload,
	    .arg = &lu,
	};

	if (s3_check_names(bucket, NULL, false, err) < 0)
		return -1;
	return s3_list_pages(s, &l, err);
}
