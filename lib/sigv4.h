/* sigv4: AWS Signature Version 4 signing and presigning, as pure functions. */
#ifndef RAG_SIGV4_H
#define RAG_SIGV4_H

#include <stddef.h>
#include <time.h>

#include "buf.h"
#include "error.h"

/*
 * Nothing here does I/O or reads the clock: the caller passes the time.
 * Hashes and MACs come from OpenSSL libcrypto (link with -lcrypto).
 * Secrets never appear in error messages or in the outputs.
 *
 * Typical S3 use (header authentication):
 *
 *	struct rag_sigv4_pair hdr[] = { { "host", "127.0.0.1:9000" } };
 *	struct rag_sigv4_request req = {
 *		.method = "PUT", .path = "/pdfs/ab/ab12.pdf",
 *		.headers = hdr, .nheaders = 1, .payload_hash = hex,
 *	};
 *	struct rag_sigv4_params p = {
 *		.access_key_id = id, .secret_access_key = secret,
 *		.region = "us-east-1", .service = "s3", .time = now,
 *		.flags = RAG_SIGV4_S3,
 *	};
 *	rag_sigv4_result_init(&r);
 *	if (rag_sigv4_sign(&req, &p, &r, &err) == 0)
 *		send "Authorization: <r.authorization>",
 *		"x-amz-date: <r.amz_date>", "x-amz-content-sha256: <hex>",
 *		the headers signed, and the URL path, plus "?<r.query>"
 *		when r.query is not empty.
 *	rag_sigv4_result_release(&r);
 */

/* The payload hash of presigned S3 URLs and of unhashed uploads. */
#define RAG_SIGV4_UNSIGNED_PAYLOAD "UNSIGNED-PAYLOAD"
/* Hex SHA-256 of zero bytes: the payload hash of GET, HEAD and DELETE. */
#define RAG_SIGV4_EMPTY_SHA256                                                 \
	"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define RAG_SIGV4_KEY_LEN     32     /* bytes in a derived signing key */
#define RAG_SIGV4_MAX_EXPIRES 604800 /* seven days, the most AWS accepts */

/*
 * Flags for struct rag_sigv4_params.  S3 wants RAG_SIGV4_S3; the generic
 * AWS services (and the aws-c-auth and botocore test suites) want
 * RAG_SIGV4_GENERIC, plus RAG_SIGV4_SIGN_BODY where a service asks for it.
 *
 * NORMALIZE_PATH  remove "." and ".." segments and empty segments ("//")
 *                 from the path before encoding, keeping a trailing "/".
 *                 S3 must not: "a//b" and "a/./b" are distinct keys there.
 * DOUBLE_ENCODE   URI-encode the path as it is on the wire, so "%20" is
 *                 signed as "%2520".  Without it (S3) the path is encoded
 *                 once: each %XX escape on the wire is decoded and the
 *                 byte re-encoded by the rules of rag_sigv4_uri_encode(),
 *                 except that "%2F" stays "%2F" (it is not a separator).
 * SIGN_BODY       header signing adds and signs "x-amz-content-sha256:
 *                 <payload_hash>" (S3 refuses requests without it).
 *                 Ignored when presigning.
 * OMIT_SESSION_TOKEN  the session token is not signed: header signing
 *                 leaves it out of the canonical headers (the caller
 *                 still sends it), presigning appends
 *                 X-Amz-Security-Token to the query after signing.
 */
#define RAG_SIGV4_NORMALIZE_PATH     (1u << 0)
#define RAG_SIGV4_DOUBLE_ENCODE      (1u << 1)
#define RAG_SIGV4_SIGN_BODY          (1u << 2)
#define RAG_SIGV4_OMIT_SESSION_TOKEN (1u << 3)

#define RAG_SIGV4_GENERIC (RAG_SIGV4_NORMALIZE_PATH | RAG_SIGV4_DOUBLE_ENCODE)
#define RAG_SIGV4_S3      RAG_SIGV4_SIGN_BODY

/* A header or a query parameter.  A NULL value means "". */
struct rag_sigv4_pair {
	const char *name;
	const char *value;
};

/*
 * The request to sign.  All strings are borrowed.
 *
 * path     the path exactly as it goes on the wire, percent-encoded, with
 *          no query ("/bucket/report%20v1.pdf"); it must start with "/".
 * query    the query parameters DECODED (raw bytes, not %XX): the signer
 *          encodes them (unreserved A-Z a-z 0-9 - . _ ~ kept, every other
 *          byte %XX in uppercase, "/" included) and returns the encoded
 *          query string to send in result->query.  A valueless
 *          sub-resource such as "?uploads" is { "uploads", NULL } and
 *          is signed as "uploads=".  Order does not matter; repeated
 *          names are allowed.
 * headers  every header to sign, exactly as sent; it must include
 *          "host" (with the port when it is not the scheme's default).
 *          Names are case-insensitive; a repeated name is signed as one
 *          header with the values joined by "," in the order given.
 *          Values are trimmed and each run of spaces, tabs, CR and LF
 *          (obs-fold continuation lines included) becomes one space.
 *          Do not pass headers a proxy or libcurl may rewrite
 *          (User-Agent, Expect, Transfer-Encoding...).  Passing
 *          Authorization or x-amz-date is an error (the signer adds
 *          x-amz-date), and so is x-amz-security-token when a session
 *          token is given, or x-amz-content-sha256 with SIGN_BODY.
 * payload_hash  lowercase hex SHA-256 of the body, "UNSIGNED-PAYLOAD",
 *          or a "STREAMING-..." marker; NULL means the empty body.
 */
struct rag_sigv4_request {
	const char *method;
	const char *path;
	const struct rag_sigv4_pair *query;
	size_t nquery;
	const struct rag_sigv4_pair *headers;
	size_t nheaders;
	const char *payload_hash;
};

/*
 * Credentials, scope, time and options.  All strings are borrowed.
 * session_token is NULL or "" when there is none.  signing_key, when not
 * NULL, is RAG_SIGV4_KEY_LEN bytes from rag_sigv4_signing_key() for the
 * same secret, UTC day of time, region and service, and saves four
 * HMACs per request; secret_access_key is then not used.  expires is the
 * presigned URL's lifetime in seconds, 1 to RAG_SIGV4_MAX_EXPIRES
 * (ignored by header signing).
 */
struct rag_sigv4_params {
	const char *access_key_id;
	const char *secret_access_key;
	const char *session_token;
	const unsigned char *signing_key;
	const char *region;
	const char *service;
	time_t time;
	unsigned flags;
	long expires;
};

/*
 * What signing produced; the intermediate strings are there so that
 * tests and debugging can compare them with AWS's.  Initialise with
 * rag_sigv4_result_init(), release with rag_sigv4_result_release(); a
 * result can be reused for several calls (each call resets it).
 *
 * amz_date           "20150830T123600Z": the x-amz-date header value
 * canonical_request  exact bytes hashed into string_to_sign
 * string_to_sign     exact bytes that were HMACed
 * signed_headers     "host;x-amz-date"
 * signature          64 lowercase hex digits
 * authorization      header signing: the Authorization header value,
 *                    "AWS4-HMAC-SHA256 Credential=..., SignedHeaders=...,
 *                    Signature=..."; empty after presigning
 * query              the query string to send after "?", empty when
 *                    there is none.  Header signing: the caller's
 *                    parameters, encoded and sorted.  Presigning: the
 *                    caller's parameters and the X-Amz-* ones, encoded
 *                    and sorted, then X-Amz-Signature last.
 */
struct rag_sigv4_result {
	char amz_date[17];
	char signature[65];
	struct rag_buf canonical_request;
	struct rag_buf string_to_sign;
	struct rag_buf signed_headers;
	struct rag_buf authorization;
	struct rag_buf query;
};

void rag_sigv4_result_init(struct rag_sigv4_result *r);
void rag_sigv4_result_release(struct rag_sigv4_result *r);

/*
 * Signs req for an Authorization header.  Returns 0 and fills r, or -1
 * with err set (r is then left reset): RAG_EXIT_FATAL for missing or
 * malformed credentials, region or service, or a libcrypto failure;
 * RAG_EXIT_FAILED for a malformed request (no host header, a reserved
 * header passed, a path not starting with "/", a bad %XX escape in the
 * path without DOUBLE_ENCODE, a bad payload hash).
 */
int rag_sigv4_sign(const struct rag_sigv4_request *req,
                   const struct rag_sigv4_params *p, struct rag_sigv4_result *r,
                   struct rag_error *err);

/*
 * Presigns req (query-string authentication): the URL to hand out is
 * scheme://host + req->path + "?" + r->query.  Every header in req is
 * signed and must be sent by whoever uses the URL (normally just host).
 * S3 presigned URLs use payload_hash RAG_SIGV4_UNSIGNED_PAYLOAD.  The
 * caller's query may not contain X-Amz-Algorithm, -Credential, -Date,
 * -Expires, -SignedHeaders, -Security-Token or -Signature.  Returns as
 * rag_sigv4_sign(), and -1 (RAG_EXIT_FAILED) when expires is out of range.
 */
int rag_sigv4_presign(const struct rag_sigv4_request *req,
                      const struct rag_sigv4_params *p,
                      struct rag_sigv4_result *r, struct rag_error *err);

/*
 * Derives the signing key HMAC(HMAC(HMAC(HMAC("AWS4" secret, date),
 * region), service), "aws4_request") into out.  date is the UTC day,
 * "YYYYMMDD" (the first 8 characters of an amz_date).  The key is valid
 * for that day, region and service only: cache it under those three.
 * Returns 0, or -1 with err set (RAG_EXIT_FATAL) on a malformed argument
 * or a libcrypto failure.
 */
int rag_sigv4_signing_key(unsigned char out[RAG_SIGV4_KEY_LEN],
                          const char *secret, const char *date,
                          const char *region, const char *service,
                          struct rag_error *err);

/*
 * Formats t as an ISO 8601 basic UTC timestamp, "20150830T123600Z", into
 * out.  Returns 0, or -1 with err set (RAG_EXIT_FAILED) when t is not a
 * time between the years 1000 and 9999.
 */
int rag_sigv4_amz_date(time_t t, char out[17], struct rag_error *err);

/*
 * Appends the canonical URI for path (as on the wire, starting with "/")
 * to buf, following flags' NORMALIZE_PATH and DOUBLE_ENCODE (see above).
 * Returns 0, or -1 with err set (RAG_EXIT_FAILED) when path does not
 * start with "/" or, without DOUBLE_ENCODE, has a "%" not followed by
 * two hex digits; buf is then unchanged.
 */
int rag_sigv4_canonical_uri(struct rag_buf *buf, const char *path,
                            unsigned flags, struct rag_error *err);

/*
 * Appends the len bytes at s to buf URI-encoded the AWS way: A-Z a-z 0-9
 * "-" "." "_" "~" kept, every other byte as %XX with uppercase hex, and
 * "/" kept unless encode_slash is nonzero.  Never fails.
 */
void rag_sigv4_uri_encode(struct rag_buf *buf, const char *s, size_t len,
                          int encode_slash);


#endif
