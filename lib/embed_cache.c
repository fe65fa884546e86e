#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "embed_cache.h"
#include "hash.h"
#include "mem.h"

/* Rows per INSERT: a statement's parameters stay a few MiB. */
#define PUT_ROWS 256

void
rag_embed_cache_key(const char *text, size_t len, char out[65])
{
	if (rag_hash_sha256_hex(text, len, out) != 0)
		out[0] = '\0';
}

static const char hexd[] = "0123456789abcdef";

static void
add_hex_floats(struct rag_buf *b, const float *v, int dims)
{
	for (int d = 0; d < dims; d++) {
		unsigned char bytes[4];

		memcpy(bytes, &v[d], 4);
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
		{
			unsigned char t = bytes[0];

			bytes[0] = bytes[3];
			bytes[3] = t;
			t = bytes[1];
			bytes[1] = bytes[2];
			bytes[2] = t;
		}
#endif
		for (int k = 0; k < 4; k++) {
			rag_buf_addc(b, hexd[bytes[k] >> 4]);
			rag_buf_addc(b, hexd[bytes[k] & 15]);
		}
	}
}

/* Reads bytea's hex output ("\x0a1b...") of dims float32s; false if not. */
static bool
read_floats(const char *s, int dims, float *out)
{
	size_t want = (size_t)dims * 4;

	if (s[0] != '\\' || s[1] != 'x' || strlen(s + 2) != 2 * want)
		return false;
	s += 2;
	for (int d = 0; d < dims; d++) {
		unsigned char bytes[4];

		for (int k = 0; k < 4; k++) {
			int hi = rag_hash_unhex(s[0]), lo = rag_hash_unhex(s[1]);

			if (hi < 0 || lo < 0)
				return false;
			bytes[k] = (unsigned char)(hi << 4 | lo);
			s += 2;
		}
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
		{
			unsigned char t = bytes[0];

			bytes[0] = bytes[3];
			bytes[3] = t;
			t = bytes[1];
			bytes[1] = bytes[2];
			bytes[2] = t;
		}
#endif
		memcpy(&out[d], bytes, 4);
	}
	return true;
}

long
rag_embed_cache_get(struct rag_db *db, long long tenant_id,
    const char *model, int dims, char (*const keys)[65], size_t n,
    float *out, bool *hit, struct rag_error *err)
{
	struct rag_buf arr = RAG_BUF_INIT;
	char tid[32], dim[16];
	const char *params[4];
	PGresult *res;
	long found = 0;

	if (n == 0)
		return 0;
	snprintf(tid, sizeof(tid), "%lld", tenant_id);
	snprintf(dim, sizeof(dim), "%d", dims);
	rag_buf_addc(&arr, '{');
	for (size_t i = 0; i < n; i++) {
		if (i > 0)
			rag_buf_addc(&arr, ',');
		rag_buf_adds(&arr, keys[i]);
	}
	rag_buf_addc(&arr, '}');
	params[0] = tid;
	params[1] = model;
	params[2] = dim;
	params[3] = rag_buf_str(&arr);
	/* ARRAY(...) rather than IN: the primary key serves = ANY. */
	res = rag_db_exec(db,
	    "SELECT encode(sha256, 'hex'), embedding FROM embed_cache "
	    "WHERE tenant_id = $1 AND model = $2 AND dimensions = $3 "
	    "AND sha256 = ANY (ARRAY(SELECT decode(k, 'hex') "
	    "FROM unnest($4::text[]) k))", 4, params, err);
	rag_buf_release(&arr);
	if (res == NULL) {
		rag_error_prefix(err, "cannot read the embedding cache");
		return -1;
	}
	for (int r = 0; r < PQntuples(res); r++) {
		const char *key = PQgetvalue(res, r, 0);

		/* The same text may be in the batch more than once. */
		for (size_t i = 0; i < n; i++) {
			if (hit[i] || strcmp(keys[i], key) != 0)
				continue;
			if (!read_floats(PQgetvalue(res, r, 1), dims,
			    out + i * (size_t)dims))
				continue;	/* unreadable: embed it again */
			hit[i] = true;
			found++;
		}
	}
	PQclear(res);
	return found;
}

static int
put_some(struct rag_db *db, const char *tid, const char *model,
    const char *dim, struct rag_buf *ks, struct rag_buf *vs,
    struct rag_error *err)
{
	const char *params[5] = { tid, model, dim, NULL, NULL };
	int rc;

	rag_buf_addc(ks, '}');
	rag_buf_addc(vs, '}');
	params[3] = rag_buf_str(ks);
	params[4] = rag_buf_str(vs);
	rc = rag_db_run(db,
	    "INSERT INTO embed_cache (tenant_id, model, dimensions, sha256, "
	    "embedding) SELECT $1, $2, $3, decode(k, 'hex'), decode(v, 'hex') "
	    "FROM unnest($4::text[], $5::text[]) AS u(k, v) "
	    "ON CONFLICT DO NOTHING", 5, params, err);
	rag_buf_reset(ks);
	rag_buf_reset(vs);
	if (rc != 0)
		rag_error_prefix(err, "cannot write the embedding cache");
	return rc;
}

int
rag_embed_cache_put(struct rag_db *db, long long tenant_id,
    const char *model, int dims, char (*const keys)[65], const float *vecs,
    const bool *put, size_t n, struct rag_error *err)
{
	struct rag_buf ks = RAG_BUF_INIT, vs = RAG_BUF_INIT;
	char tid[32], dim[16];
	size_t rows = 0;
	int rc = 0;

	snprintf(tid, sizeof(tid), "%lld", tenant_id);
	snprintf(dim, sizeof(dim), "%d", dims);
	for (size_t i = 0; i < n && rc == 0; i++) {
		if ((put != NULL && !put[i]) || keys[i][0] == '\0')
			continue;
		rag_buf_addc(&ks, rows ? ',' : '{');
		rag_buf_addc(&vs, rows ? ',' : '{');
		rag_buf_adds(&ks, keys[i]);
		add_hex_floats(&vs, vecs + i * (size_t)dims, dims);
		if (++rows == PUT_ROWS) {
			rc = put_some(db, tid, model, dim, &ks, &vs, err);
			rows = 0;
		}
	}
	if (rc == 0 && rows > 0)
		rc = put_some(db, tid, model, dim, &ks, &vs, err);
	rag_buf_release(&ks);
	rag_buf_release(&vs);
	return rc;
}
