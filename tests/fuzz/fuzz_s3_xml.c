/*
 * fuzz_s3_xml: the XML answers of S3 (lib/s3.c): error bodies as
 * http_error() reads them, and the ListObjectsV2, ListParts,
 * ListMultipartUploads, InitiateMultipartUpload and
 * CompleteMultipartUpload results.
 *
 * s3.c reads these inside the functions that send the requests, with a
 * handful of static helpers (xml_find, xml_text, xml_root_is ...).  To
 * reach the helpers without exporting them, this file includes s3.c
 * itself; the loops below read each page as the listing functions do,
 * field for field.  Nothing goes over the network.
 *
 * Input: a first line with the HTTP status, then the body.
 */
#include "s3.c"

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

	while (xml_find(&from, sp.end, "Contents", &in)) {
		char *k = xml_text(in, "Key");
		char *e = xml_text(in, "ETag");
		char *ue = e != NULL ? unquote_etag(e) : NULL;

		(void)xml_u64(in, "Size");
		(void)xml_time(in, "LastModified");
		count(n);
		free(k);
		free(e);
		free(ue);
	}
	token = xml_true(sp, "IsTruncated") ?
	    xml_text(sp, "NextContinuationToken") : NULL;
	(void)has_text(token);
	free(token);
}

/* ListPartsResult, as rag_s3_mpu_list_parts() reads a page. */
static void
list_parts(struct span sp, size_t *n)
{
	struct span in;
	const char *from = sp.p;
	char *marker;

	while (xml_find(&from, sp.end, "Part", &in)) {
		char *e = xml_text(in, "ETag");
		char *ue = e != NULL ? unquote_etag(e) : NULL;

		(void)xml_u64(in, "PartNumber");
		(void)xml_u64(in, "Size");
		count(n);
		free(e);
		free(ue);
	}
	marker = xml_true(sp, "IsTruncated") ?
	    xml_text(sp, "NextPartNumberMarker") : NULL;
	free(marker);
}

/* ListMultipartUploadsResult, as rag_s3_mpu_list_uploads() reads it. */
static void
list_uploads(struct span sp, size_t *n)
{
	struct span in;
	const char *from = sp.p;

	while (xml_find(&from, sp.end, "Upload", &in)) {
		char *k = xml_text(in, "Key");
		char *id = xml_text(in, "UploadId");

		(void)xml_time(in, "Initiated");
		count(n);
		free(k);
		free(id);
	}
	if (xml_true(sp, "IsTruncated")) {
		free(xml_text(sp, "NextKeyMarker"));
		free(xml_text(sp, "NextUploadIdMarker"));
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
	req_init(&rq, "PUT", "bucket", size % 2 ? "key" : NULL);
	req_sse(s, &rq);
	xfer_init(&x, s, &rq);
	x.status = strtol(status, NULL, 10);
	free(status);
	rag_buf_add(&x.body, p, (size_t)(end - p));
	sp = span_of(&x.body);

	(void)http_error(&x, &err);
	if (xml_root_is(&x.body, "ListBucketResult"))
		list_objects(sp, &n);
	if (xml_root_is(&x.body, "ListPartsResult"))
		list_parts(sp, &n);
	if (xml_root_is(&x.body, "ListMultipartUploadsResult"))
		list_uploads(sp, &n);
	if (xml_root_is(&x.body, "InitiateMultipartUploadResult"))
		free(xml_text(sp, "UploadId"));
	if (xml_root_is(&x.body, "CompleteMultipartUploadResult")) {
		char *e = xml_text(sp, "ETag");

		free(e != NULL ? unquote_etag(e) : NULL);
		free(e);
	}
	xfer_release(&x);
	return 0;
}
