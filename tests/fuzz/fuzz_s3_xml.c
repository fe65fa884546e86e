/*
 * fuzz_s3_xml: the XML answers of S3 (lib/s3_xml.c): error bodies as
 * s3_http_error() reads them, and the ListObjectsV2, ListParts,
 * ListMultipartUploads, InitiateMultipartUpload and
 * CompleteMultipartUpload results.
 *
 * lib/s3 reads these inside the functions that send the requests, with
 * a handful of helpers private to the module (s3_xml_find, s3_xml_text,
 * s3_xml_root_is ...), declared in lib/s3_impl.h; the loops below read
 * each page as the listing functions do, field for field.  Nothing goes
 * over the network.
 *
 * Input: a first line with the HTTP status, then the body.
 */
#include <stdlib.h>
#include <string.h>

#include "s3_impl.h"

#include "fuzz.h"

static int
count(void *arg)
{
	(*(size_t *)arg)++;
	return 0;
}

/* ListBucketResult, as rag_s3_list() reads a page. */
static void
list_objects(struct span sp, size_t *n)
{
	struct span in;
	const char *from = sp.p;
	char *token;

	while (s3_xml_find(&from, sp.end, "Contents", &in)) {
		char *k = s3_xml_text(in, "Key");
		char *e = s3_xml_text(in, "ETag");
		char *ue = e != NULL ? s3_unquote_etag(e) : NULL;

		(void)s3_xml_u64(in, "Size");
		(void)s3_xml_time(in, "LastModified");
		count(n);
		free(k);
		free(e);
		free(ue);
	}
	token = s3_xml_true(sp, "IsTruncated") ?
	    s3_xml_text(sp, "NextContinuationToken") : NULL;
	(void)s3_has_text(token);
	free(token);
}

/* ListPartsResult, as rag_s3_mpu_list_parts() reads a page. */
static void
list_parts(struct span sp, size_t *n)
{
	struct span in;
	const char *from = sp.p;
	char *marker;

	while (s3_xml_find(&from, sp.end, "Part", &in)) {
		char *e = s3_xml_text(in, "ETag");
		char *ue = e != NULL ? s3_unquote_etag(e) : NULL;

		(void)s3_xml_u64(in, "PartNumber");
		(void)s3_xml_u64(in, "Size");
		count(n);
		free(e);
		free(ue);
	}
	marker = s3_xml_true(sp, "IsTruncated") ?
	    s3_xml_text(sp, "NextPartNumberMarker") : NULL;
	free(marker);
}

/* ListMultipartUploadsResult, as rag_s3_mpu_list_uploads() reads it. */
static void
list_uploads(struct span sp, size_t *n)
{
	struct span in;
	const char *from = sp.p;

	while (s3_xml_find(&from, sp.end, "Upload", &in)) {
		char *k = s3_xml_text(in, "Key");
		char *id = s3_xml_text(in, "UploadId");

		(void)s3_xml_time(in, "Initiated");
		count(n);
		free(k);
		free(id);
	}
	if (s3_xml_true(sp, "IsTruncated")) {
		free(s3_xml_text(sp, "NextKeyMarker"));
		free(s3_xml_text(sp, "NextUploadIdMarker"));
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct rag_s3 *s;
	const char *p = (const char *)data, *end = p + size, *line;
	struct rag_error err = RAG_ERROR_INIT;
	struct req rq;
	struct xfer x;
	struct span sp;
	size_t len, n = 0;
	char *status;

	if (s == NULL) {
		/* Made once: rag_s3_new() does no I/O.  Freed at exit. */
		struct rag_s3_config c = { 0 };

		c.endpoint = "http://127.0.0.1:9000";
		c.access_key_id = "AKIDEXAMPLE";
		c.secret_access_key = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
		c.sse = "AES256";
		if ((s = rag_s3_new(&c, &err)) == NULL)
			abort();
	}
	if ((line = fuzz_line(&p, end, &len)) == NULL)
		return 0;
	status = fuzz_strndup(line, len);
	s3_req_init(&rq, "PUT", "bucket", size % 2 ? "key" : NULL);
	s3_req_sse(s, &rq);
	s3_xfer_init(&x, s, &rq);
	x.status = strtol(status, NULL, 10);
	free(status);
	rag_buf_add(&x.body, p, (size_t)(end - p));
	sp = s3_span_of(&x.body);

	(void)s3_http_error(&x, &err);
	if (s3_xml_root_is(&x.body, "ListBucketResult"))
		list_objects(sp, &n);
	if (s3_xml_root_is(&x.body, "ListPartsResult"))
		list_parts(sp, &n);
	if (s3_xml_root_is(&x.body, "ListMultipartUploadsResult"))
		list_uploads(sp, &n);
	if (s3_xml_root_is(&x.body, "InitiateMultipartUploadResult"))
		free(s3_xml_text(sp, "UploadId"));
	if (s3_xml_root_is(&x.body, "CompleteMultipartUploadResult")) {
		char *e = s3_xml_text(sp, "ETag");

		free(e != NULL ? s3_unquote_etag(e) : NULL);
		free(e);
	}
	s3_xfer_release(&x);
	return 0;
}
