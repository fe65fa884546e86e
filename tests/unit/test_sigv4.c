/*
 * Tests for lib/sigv4: every vector in tests/data/sigv4 (the
 * aws-c-auth v4 suite and botocore's aws4_testsuite, found on disk at run
 * time), the S3 documentation examples transcribed below, and the edge
 * cases the S3 client relies on.  Vector files are byte-exact: read in
 * binary, compared in full.
 */
#include <dirent.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>

#include "buf.h"
#include "error.h"
#include "mem.h"
#include "hash.h"
#include "sigv4.h"
#include "tap.h"

#define AKID    "AKIDEXAMPLE"
#define SECRET  "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
#define S3_AKID "AKIAIOSFODNN7EXAMPLE"
#define S3_KEY  "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"

/* An owned name/value list: parsed headers or decoded query parameters. */
struct kv {
	char *name;
	char *value;
	size_t vlen; /* values may hold any byte once decoded */
};

struct kvlist {
	struct kv *v;
	size_t n, cap;
};

/* A request.txt / .req file taken apart (the library never parses HTTP). */
struct http_req {
	char *method;
	char *path;
	char *query; /* raw text after "?", or NULL */
	char *version;
	struct rag_buf header_text; /* lines after the request line, raw */
	struct kvlist headers;
	struct kvlist params; /* decoded */
	struct rag_buf body;
};

static const char *
data_dir(void)
{
	const char *s = getenv("RAG_TEST_DATA");

	return s != NULL && *s != '\0' ? s : "tests/data";
}

static bool
read_file(const char *path, struct rag_buf *out)
{
	char chunk[4096];
	size_t n;
	FILE *f = fopen(path, "rb");

	rag_buf_reset(out);
	rag_buf_adds(out, "");
	if (f == NULL)
		return false;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		rag_buf_add(out, chunk, n);
	n = (size_t)ferror(f);
	fclose(f);
	return n == 0;
}

static bool
file_exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0;
}

/* Prints s on TAP diagnostic lines, escaping what a terminal would hide. */
static void
diag_bytes(const char *label, const char *s, size_t n)
{
	size_t i;

	printf("#   %s (%zu bytes): ", label, n);
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '\n')
			printf("\\n\n#     ");
		else if (c < ' ' || c >= 0x7f)
			printf("\\x%02x", c);
		else
			putchar(c);
	}
	printf("\n");
}

static bool
is_bytes(const char *got, size_t glen, const char *want, size_t wlen,
         const char *what, const char *name)
{
	bool same = glen == wlen && memcmp(got, want, glen) == 0;

	if (!ok(same, "%s: %s", name, what)) {
		diag_bytes("got ", got, glen);
		diag_bytes("want", want, wlen);
	}
	return same;
}

static bool
is_file(const struct rag_buf *got, const char *dir, const char *file,
        const char *name)
{
	struct rag_buf want = RAG_BUF_INIT;
	char *path = rag_xasprintf("%s/%s", dir, file);
	bool same = false;

	if (!read_file(path, &want))
		ok(0, "%s: read '%s'", name, path);
	else
		same = is_bytes(rag_buf_str(got), got->len, want.data, want.len,
		                file, name);
	free(path);
	rag_buf_release(&want);
	return same;
}

static void
kv_add(struct kvlist *l, const char *name, size_t nlen, const char *value,
       size_t vlen)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 8;
		l->v = rag_xrealloc(l->v, l->cap * sizeof(*l->v));
	}
	l->v[l->n].name = rag_xstrndup(name, nlen);
	l->v[l->n].value = rag_xstrndup(value, vlen);
	l->v[l->n].vlen = vlen;
	l->n++;
}

static void
kv_remove(struct kvlist *l, size_t i)
{
	free(l->v[i].name);
	free(l->v[i].value);
	memmove(l->v + i, l->v + i + 1, (l->n - i - 1) * sizeof(*l->v));
	l->n--;
}

static void
kv_release(struct kvlist *l)
{
	while (l->n > 0)
		kv_remove(l, l->n - 1);
	free(l->v);
	l->v = NULL;
	l->cap = 0;
}

/* A borrowed view for the library; free() the array only. */
static struct rag_sigv4_pair *
kv_pairs(const struct kvlist *l)
{
	struct rag_sigv4_pair *p = rag_xcalloc(l->n + 1, sizeof(*p));
	size_t i;

	for (i = 0; i < l->n; i++) {
		p[i].name = l->v[i].name;
		p[i].value = l->v[i].value;
	}
	return p;
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static void
pct_decode(struct rag_buf *out, const char *s, size_t n)
{
	size_t i;

	rag_buf_reset(out);
	rag_buf_adds(out, "");
	for (i = 0; i < n; i++) {
		if (s[i] == '%' && i + 2 < n && hexval(s[i + 1]) >= 0 &&
		    hexval(s[i + 2]) >= 0) {
			rag_buf_addc(out, (char)(hexval(s[i + 1]) << 4 |
			                         hexval(s[i + 2])));
			i += 2;
		} else {
			rag_buf_addc(out, s[i]);
		}
	}
}

/* "a=1&b&c=%41" into decoded pairs; "b" has the value "". */
static void
parse_query(struct kvlist *out, const char *q)
{
	struct rag_buf name = RAG_BUF_INIT, value = RAG_BUF_INIT;

	while (q != NULL && *q != '\0') {
		size_t n = strcspn(q, "&");
		const char *eq = memchr(q, '=', n);
		size_t klen = eq != NULL ? (size_t)(eq - q) : n;

		if (n > 0) {
			pct_decode(&name, q, klen);
			if (eq != NULL)
				pct_decode(&value, eq + 1, n - klen - 1);
			else
				pct_decode(&value, "", 0);
			kv_add(out, name.data, name.len, value.data, value.len);
		}
		q += n;
		if (*q == '&')
			q++;
	}
	rag_buf_release(&name);
	rag_buf_release(&value);
}

static void
http_req_release(struct http_req *r)
{
	free(r->method);
	free(r->path);
	free(r->query);
	free(r->version);
	rag_buf_release(&r->header_text);
	kv_release(&r->headers);
	kv_release(&r->params);
	rag_buf_release(&r->body);
	memset(r, 0, sizeof(*r));
}

/*
 * Request line, "Name:value" lines (a line starting with a space or a
 * tab continues the previous value, kept with its newline for the
 * signer to fold), a blank line, the body.  The path may hold a raw
 * space (get-space), so the version is the last word, not the third.
 */
static bool
parse_request(const struct rag_buf *raw, struct http_req *r)
{
	const char *s = rag_buf_str(raw), *end = s + raw->len, *sep, *line;
	const char *eol, *sp1, *sp2, *q, *colon;
	size_t headlen;

	memset(r, 0, sizeof(*r));
	sep = strstr(s, "\n\n");
	headlen = sep != NULL ? (size_t)(sep - s) + 1 : raw->len;
	rag_buf_adds(&r->body, "");
	if (sep != NULL)
		rag_buf_add(&r->body, sep + 2, (size_t)(end - sep - 2));
	eol = memchr(s, '\n', headlen);
	if (eol == NULL)
		eol = s + headlen;
	sp1 = memchr(s, ' ', (size_t)(eol - s));
	for (sp2 = eol - 1; sp2 > s && *sp2 != ' '; sp2--)
		;
	if (sp1 == NULL || sp2 <= sp1)
		return false;
	r->method = rag_xstrndup(s, (size_t)(sp1 - s));
	r->version = rag_xstrndup(sp2 + 1, (size_t)(eol - sp2 - 1));
	q = memchr(sp1 + 1, '?', (size_t)(sp2 - sp1 - 1));
	r->path =
	    rag_xstrndup(sp1 + 1, (size_t)((q != NULL ? q : sp2) - sp1 - 1));
	if (q != NULL)
		r->query = rag_xstrndup(q + 1, (size_t)(sp2 - q - 1));
	parse_query(&r->params, r->query);

	rag_buf_adds(&r->header_text, "");
	for (line = eol + 1; line < s + headlen; line = eol + 1) {
		eol = memchr(line, '\n', (size_t)(s + headlen - line));
		if (eol == NULL)
			eol = s + headlen;
		rag_buf_add(&r->header_text, line, (size_t)(eol - line));
		rag_buf_addc(&r->header_text, '\n');
		if (eol == line)
			continue;
		if ((*line == ' ' || *line == '\t') && r->headers.n > 0) {
			struct kv *last = &r->headers.v[r->headers.n - 1];
			char *v = rag_xasprintf("%s\n%.*s", last->value,
			                        (int)(eol - line), line);

			free(last->value);
			last->value = v;
			last->vlen = strlen(v);
			continue;
		}
		colon = memchr(line, ':', (size_t)(eol - line));
		if (colon == NULL)
			return false;
		kv_add(&r->headers, line, (size_t)(colon - line), colon + 1,
		       (size_t)(eol - colon - 1));
	}
	return true;
}

static int
cmp_kv(const void *a, const void *b)
{
	const struct kv *x = a, *y = b;
	int c = strcmp(x->name, y->name);
	size_t n = x->vlen < y->vlen ? x->vlen : y->vlen;

	if (c != 0)
		return c;
	c = memcmp(x->value, y->value, n);
	return c != 0 ? c : (x->vlen > y->vlen) - (x->vlen < y->vlen);
}

/* Same parameters, once decoded, whatever their order and encoding. */
static bool
same_params(const char *got, const char *want, const char *what,
            const char *name)
{
	struct kvlist g = {0}, w = {0};
	bool same;
	size_t i;

	parse_query(&g, got);
	parse_query(&w, want);
	if (g.n > 1)
		qsort(g.v, g.n, sizeof(*g.v), cmp_kv);
	if (w.n > 1)
		qsort(w.v, w.n, sizeof(*w.v), cmp_kv);
	same = g.n == w.n;
	for (i = 0; same && i < g.n; i++)
		same = cmp_kv(&g.v[i], &w.v[i]) == 0;
	if (!ok(same, "%s: %s", name, what)) {
		printf("#   got  '%s'\n#   want '%s'\n", got, want);
	}
	kv_release(&g);
	kv_release(&w);
	return same;
}

/*
 * Compares a signed request we assemble with a *-signed-request.txt:
 * method, path and version exactly, the query as a set of decoded
 * parameters (the suite keeps the caller's raw query first and adds
 * X-Amz-* in its own order; we send them encoded and sorted), and
 * everything after the request line byte for byte.
 */
static bool
is_signed_request(const char *dir, const char *file, const char *name,
                  const struct http_req *req, const char *query,
                  const struct rag_buf *rest)
{
	struct rag_buf want = RAG_BUF_INIT;
	char *path = rag_xasprintf("%s/%s", dir, file);
	const char *s, *eol, *sp1, *sp2, *q, *pend;
	char *line = NULL, *wq = NULL;
	bool same = false;

	if (!read_file(path, &want)) {
		ok(0, "%s: read '%s'", name, path);
		goto out;
	}
	s = want.data;
	eol = strchr(s, '\n');
	if (eol == NULL)
		eol = s + want.len;
	line = rag_xstrndup(s, (size_t)(eol - s));
	sp1 = strchr(line, ' ');
	sp2 = strrchr(line, ' ');
	if (sp1 == NULL || sp2 == sp1) {
		ok(0, "%s: %s has a request line", name, file);
		goto out;
	}
	q = memchr(sp1, '?', (size_t)(sp2 - sp1));
	pend = q != NULL ? q : sp2;
	if (!ok(strncmp(line, req->method, strlen(req->method)) == 0 &&
	            (size_t)(sp1 - line) == strlen(req->method) &&
	            strlen(req->path) == (size_t)(pend - sp1 - 1) &&
	            strncmp(sp1 + 1, req->path, strlen(req->path)) == 0 &&
	            strcmp(sp2 + 1, req->version) == 0,
	        "%s: %s request line method, path, version", name, file)) {
		printf("#   got  '%s %s?... %s'\n#   want '%s'\n", req->method,
		       req->path, req->version, line);
		goto out;
	}
	wq = q != NULL ? rag_xstrndup(q + 1, (size_t)(sp2 - q - 1))
	               : rag_xstrdup("");
	same = same_params(query, wq, "request line query parameters", name);
	s = *eol == '\n' ? eol + 1 : eol;
	same = is_bytes(rest->data, rest->len, s,
	                (size_t)(want.data + want.len - s), file, name) &&
	       same;
out:
	free(wq);
	free(line);
	free(path);
	rag_buf_release(&want);
	return same;
}

/* The smallest JSON reading context.json needs: a key's scalar value. */
static const char *
json_find(const char *json, const char *key)
{
	char *pat = rag_xasprintf("\"%s\"", key);
	const char *p = strstr(json, pat);

	if (p != NULL) {
		p += strlen(pat);
		p += strspn(p, " \t\r\n");
		if (*p == ':')
			p += 1 + strspn(p + 1, " \t\r\n");
		else
			p = NULL;
	}
	free(pat);
	return p;
}

static char *
json_str(const char *json, const char *key)
{
	const char *p = json_find(json, key);
	struct rag_buf b = RAG_BUF_INIT;

	if (p == NULL || *p != '"')
		return NULL;
	rag_buf_adds(&b, "");
	for (p++; *p != '\0' && *p != '"'; p++) {
		if (*p == '\\' && p[1] != '\0')
			p++;
		rag_buf_addc(&b, *p);
	}
	return rag_buf_detach(&b);
}

static bool
json_bool(const char *json, const char *key)
{
	const char *p = json_find(json, key);

	return p != NULL && strncmp(p, "true", 4) == 0;
}

static long
json_long(const char *json, const char *key)
{
	const char *p = json_find(json, key);

	return p != NULL ? strtol(p, NULL, 10) : -1;
}

static time_t
utc(int y, int mo, int d, int h, int mi, int s)
{
	struct tm tm = {0};

	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = s;
	return timegm(&tm);
}

/* "20150830T123600Z" or "2015-08-30T12:36:00Z"; -1 when neither. */
static time_t
parse_time(const char *s)
{
	int y, mo, d, h, mi, sec;

	if (s == NULL)
		return -1;
	if (sscanf(s, "%4d%2d%2dT%2d%2d%2dZ", &y, &mo, &d, &h, &mi, &sec) ==
	        6 ||
	    sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2dZ", &y, &mo, &d, &h, &mi, &sec) ==
	        6)
		return utc(y, mo, d, h, mi, sec);
	return -1;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted names of the sub-directories of dir; NULL if dir cannot be read. */
static char **
list_dirs(const char *dir, size_t *n)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char **names = NULL;
	size_t cap = 0;

	*n = 0;
	if (d == NULL)
		return NULL;
	while ((e = readdir(d)) != NULL) {
		struct stat st;
		char *p;

		if (e->d_name[0] == '.')
			continue;
		p = rag_xasprintf("%s/%s", dir, e->d_name);
		if (stat(p, &st) == 0 && S_ISDIR(st.st_mode)) {
			if (*n == cap) {
				cap = cap ? 2 * cap : 16;
				names =
				    rag_xrealloc(names, cap * sizeof(*names));
			}
			names[(*n)++] = rag_xstrdup(e->d_name);
		}
		free(p);
	}
	closedir(d);
	if (names == NULL)
		names = rag_xcalloc(1, sizeof(*names));
	qsort(names, *n, sizeof(*names), cmp_str);
	return names;
}

static void
free_names(char **names, size_t n)
{
	size_t i;

	for (i = 0; names != NULL && i < n; i++)
		free(names[i]);
	free(names);
}

static void
sha256_buf(const struct rag_buf *b, char out[65])
{
	if (rag_hash_sha256_hex(rag_buf_str(b), b->len, out) < 0)
		ok(0, "sha256 of a body");
}

/*
 * One aws-c-auth case: header signing and presigning, eight checks.
 * *ran is set once both signings were attempted.
 */
static bool
run_aws_c_auth_case(const char *dir, const char *name, bool *ran)
{
	struct rag_buf raw = RAG_BUF_INIT, ctx = RAG_BUF_INIT;
	struct rag_buf rest = RAG_BUF_INIT, sig = RAG_BUF_INIT;
	struct rag_error err = RAG_ERROR_INIT;
	struct rag_sigv4_result r;
	struct http_req req;
	struct rag_sigv4_pair *hdrs = NULL, *params = NULL;
	struct rag_sigv4_request sreq;
	struct rag_sigv4_params p = {0};
	char *path, *akid = NULL, *secret = NULL, *token = NULL;
	char *region = NULL, *service = NULL, *ts = NULL, hash[65];
	bool pass = true, parsed;

	rag_sigv4_result_init(&r);
	path = rag_xasprintf("%s/context.json", dir);
	pass = read_file(path, &ctx);
	free(path);
	path = rag_xasprintf("%s/request.txt", dir);
	pass = read_file(path, &raw) && pass;
	free(path);
	parsed = pass && parse_request(&raw, &req);
	if (!ok(parsed, "%s: read context.json and request.txt", name)) {
		if (pass)
			http_req_release(&req);
		pass = false;
		goto out;
	}
	akid = json_str(ctx.data, "access_key_id");
	secret = json_str(ctx.data, "secret_access_key");
	token = json_str(ctx.data, "token");
	region = json_str(ctx.data, "region");
	service = json_str(ctx.data, "service");
	ts = json_str(ctx.data, "timestamp");
	p.access_key_id = akid;
	p.secret_access_key = secret;
	p.session_token = token;
	p.region = region;
	p.service = service;
	p.time = parse_time(ts);
	p.expires = json_long(ctx.data, "expiration_in_seconds");
	/* The generic (non-S3) rules: the wire path is encoded again. */
	p.flags = RAG_SIGV4_DOUBLE_ENCODE;
	if (json_bool(ctx.data, "normalize"))
		p.flags |= RAG_SIGV4_NORMALIZE_PATH;
	if (json_bool(ctx.data, "sign_body"))
		p.flags |= RAG_SIGV4_SIGN_BODY;
	if (json_bool(ctx.data, "omit_session_token"))
		p.flags |= RAG_SIGV4_OMIT_SESSION_TOKEN;

	hdrs = kv_pairs(&req.headers);
	params = kv_pairs(&req.params);
	sha256_buf(&req.body, hash);
	sreq = (struct rag_sigv4_request){
	    .method = req.method,
	    .path = req.path,
	    .query = params,
	    .nquery = req.params.n,
	    .headers = hdrs,
	    .nheaders = req.headers.n,
	    .payload_hash = hash,
	};

	*ran = true;
	if (!ok(rag_sigv4_sign(&sreq, &p, &r, &err) == 0, "%s: header sign",
	        name)) {
		printf("#   %s\n", err.msg);
		pass = false;
	} else {
		pass = is_file(&r.canonical_request, dir,
		               "header-canonical-request.txt", name) &&
		       pass;
		pass = is_file(&r.string_to_sign, dir,
		               "header-string-to-sign.txt", name) &&
		       pass;
		rag_buf_reset(&sig);
		rag_buf_adds(&sig, r.signature);
		pass = is_file(&sig, dir, "header-signature.txt", name) && pass;
		/* The suite sends the token even when it is not signed. */
		rag_buf_reset(&rest);
		rag_buf_add(&rest, req.header_text.data, req.header_text.len);
		if (token != NULL)
			rag_buf_addf(&rest, "X-Amz-Security-Token:%s\n", token);
		rag_buf_addf(&rest, "X-Amz-Date:%s\n", r.amz_date);
		if (p.flags & RAG_SIGV4_SIGN_BODY)
			rag_buf_addf(&rest, "x-amz-content-sha256:%s\n", hash);
		rag_buf_addf(&rest, "Authorization:%s\n\n",
		             r.authorization.data);
		rag_buf_add(&rest, req.body.data, req.body.len);
		pass = is_signed_request(dir, "header-signed-request.txt", name,
		                         &req, rag_buf_str(&r.query), &rest) &&
		       pass;
	}

	if (!ok(rag_sigv4_presign(&sreq, &p, &r, &err) == 0, "%s: presign",
	        name)) {
		printf("#   %s\n", err.msg);
		pass = false;
	} else {
		pass = is_file(&r.canonical_request, dir,
		               "query-canonical-request.txt", name) &&
		       pass;
		pass = is_file(&r.string_to_sign, dir,
		               "query-string-to-sign.txt", name) &&
		       pass;
		rag_buf_reset(&sig);
		rag_buf_adds(&sig, r.signature);
		pass = is_file(&sig, dir, "query-signature.txt", name) && pass;
		rag_buf_reset(&rest);
		rag_buf_add(&rest, req.header_text.data, req.header_text.len);
		rag_buf_addc(&rest, '\n');
		rag_buf_add(&rest, req.body.data, req.body.len);
		pass = is_signed_request(dir, "query-signed-request.txt", name,
		                         &req, r.query.data, &rest) &&
		       pass;
	}
	http_req_release(&req);
out:
	free(hdrs);
	free(params);
	free(akid);
	free(secret);
	free(token);
	free(region);
	free(service);
	free(ts);
	rag_sigv4_result_release(&r);
	rag_buf_release(&raw);
	rag_buf_release(&ctx);
	rag_buf_release(&rest);
	rag_buf_release(&sig);
	return pass;
}

static void
test_aws_c_auth(void)
{
	char *root = rag_xasprintf("%s/sigv4/aws-c-auth/v4", data_dir());
	size_t i, n, present = 0, ran = 0, passed = 0;
	char **names = list_dirs(root, &n);

	if (!ok(names != NULL, "aws-c-auth: open '%s'", root)) {
		free(root);
		return;
	}
	for (i = 0; i < n; i++) {
		char *dir = rag_xasprintf("%s/%s", root, names[i]);
		char *ctx = rag_xasprintf("%s/context.json", dir);

		if (file_exists(ctx)) {
			bool did = false;

			present++;
			passed += run_aws_c_auth_case(dir, names[i], &did);
			ran += did;
		}
		free(ctx);
		free(dir);
	}
	printf("# aws-c-auth v4: %zu cases present, %zu run, %zu pass\n",
	       present, ran, passed);
	ok(present >= 38, "aws-c-auth: at least the 38 documented cases");
	is_int(ran, present, "aws-c-auth: every case present was run");
	is_int(passed, present, "aws-c-auth: every case passes");
	free_names(names, n);
	free(root);
}

/*
 * botocore's harness takes the time from the request's X-Amz-Date, and a
 * session token from the request or, failing that, from the expected
 * canonical request.  The signer sets both itself, so they come out of
 * the header list and into the parameters.
 */
static bool
run_botocore_case(const char *dir, const char *name, bool *ran)
{
	struct rag_buf raw = RAG_BUF_INIT, creq = RAG_BUF_INIT;
	struct rag_buf sreqf = RAG_BUF_INIT, authz = RAG_BUF_INIT;
	struct rag_error err = RAG_ERROR_INIT;
	struct rag_sigv4_result r;
	struct http_req req;
	struct rag_sigv4_pair *hdrs = NULL, *params = NULL;
	struct rag_sigv4_request sreq;
	struct rag_sigv4_params p = {0};
	char *path, *token = NULL, *date = NULL, hash[65];
	const char *t;
	char *line = NULL;
	bool pass, parsed;
	size_t i;

	rag_sigv4_result_init(&r);
	path = rag_xasprintf("%s/%s.req", dir, name);
	pass = read_file(path, &raw);
	free(path);
	path = rag_xasprintf("%s/%s.creq", dir, name);
	pass = read_file(path, &creq) && pass;
	free(path);
	parsed = pass && parse_request(&raw, &req);
	if (!ok(parsed, "%s: read .req and .creq", name)) {
		if (pass)
			http_req_release(&req);
		pass = false;
		goto out;
	}
	for (i = 0; i < req.headers.n;) {
		if (strcasecmp(req.headers.v[i].name, "x-amz-date") == 0) {
			free(date);
			date = rag_xstrdup(req.headers.v[i].value);
			kv_remove(&req.headers, i);
		} else if (strcasecmp(req.headers.v[i].name,
		                      "x-amz-security-token") == 0) {
			free(token);
			token = rag_xstrdup(req.headers.v[i].value);
			kv_remove(&req.headers, i);
		} else {
			i++;
		}
	}
	t = strstr(creq.data, "\nx-amz-security-token:");
	if (token == NULL && t != NULL) {
		t += strlen("\nx-amz-security-token:");
		token = rag_xstrndup(t, strcspn(t, "\n"));
	}
	p.access_key_id = AKID;
	p.secret_access_key = SECRET;
	p.session_token = token;
	p.region = "us-east-1";
	p.service = "service";
	p.time = parse_time(date);
	p.flags = RAG_SIGV4_GENERIC;
	hdrs = kv_pairs(&req.headers);
	params = kv_pairs(&req.params);
	sha256_buf(&req.body, hash);
	sreq = (struct rag_sigv4_request){
	    .method = req.method,
	    .path = req.path,
	    .query = params,
	    .nquery = req.params.n,
	    .headers = hdrs,
	    .nheaders = req.headers.n,
	    .payload_hash = hash,
	};
	*ran = date != NULL;
	if (!ok(date != NULL && rag_sigv4_sign(&sreq, &p, &r, &err) == 0,
	        "%s: sign", name)) {
		printf("#   %s\n", err.msg);
		pass = false;
		goto done;
	}
	path = rag_xasprintf("%s.creq", name);
	pass = is_file(&r.canonical_request, dir, path, name) && pass;
	free(path);
	path = rag_xasprintf("%s.sts", name);
	pass = is_file(&r.string_to_sign, dir, path, name) && pass;
	free(path);
	path = rag_xasprintf("%s.authz", name);
	pass = is_file(&r.authorization, dir, path, name) && pass;
	free(path);

	/*
	 * The .sreq's Authorization line.  One vector is inconsistent with
	 * itself: get-vanilla-with-session-token.sreq carries get-vanilla's
	 * signature (no token signed) beside SignedHeaders that list
	 * x-amz-security-token, while its .authz and .creq sign the token.
	 * Assert that, so the day the file is fixed this check says so.
	 */
	path = rag_xasprintf("%s/%s.sreq", dir, name);
	if (!ok(read_file(path, &sreqf), "%s: read .sreq", name)) {
		pass = false;
	} else {
		rag_buf_addf(&authz, "\nAuthorization: %s",
		             r.authorization.data);
		t = strstr(sreqf.data, "\nAuthorization: ");
		if (t != NULL)
			line = rag_xstrndup(t, strcspn(t + 1, "\n") + 1);
		if (strcmp(name, "get-vanilla-with-session-token") == 0) {
			pass =
			    ok(line != NULL && strcmp(line, authz.data) != 0 &&
			           strstr(line, "Signature=5fa00fa315"
			                        "53b73ebf1942676e86291e"
			                        "8372ff2a2260956d9b8aae"
			                        "1d763fbf31") != NULL,
			       "%s: .sreq still has get-vanilla's "
			       "signature (known defect in the vector)",
			       name) &&
			    pass;
		} else {
			if (!ok(line != NULL && strcmp(line, authz.data) == 0,
			        "%s: .sreq Authorization line", name)) {
				printf("#   got  '%s'\n#   want '%s'\n",
				       authz.data + 1, line ? line + 1 : "");
				pass = false;
			}
		}
		free(line);
	}
	free(path);
done:
	http_req_release(&req);
out:
	free(hdrs);
	free(params);
	free(token);
	free(date);
	rag_sigv4_result_release(&r);
	rag_buf_release(&raw);
	rag_buf_release(&creq);
	rag_buf_release(&sreqf);
	rag_buf_release(&authz);
	return pass;
}

/* A case is a directory D holding D.req; cases nest (normalize-path/). */
static void
walk_botocore(const char *dir, size_t *present, size_t *ran, size_t *passed)
{
	size_t i, n;
	char **names = list_dirs(dir, &n);

	for (i = 0; names != NULL && i < n; i++) {
		char *sub = rag_xasprintf("%s/%s", dir, names[i]);
		char *req = rag_xasprintf("%s/%s.req", sub, names[i]);

		if (file_exists(req)) {
			bool did = false;

			(*present)++;
			*passed += run_botocore_case(sub, names[i], &did);
			*ran += did;
		}
		walk_botocore(sub, present, ran, passed);
		free(req);
		free(sub);
	}
	free_names(names, n);
}

static void
test_botocore(void)
{
	char *root = rag_xasprintf("%s/sigv4/botocore/aws4_testsuite",
	                           data_dir());
	size_t present = 0, ran = 0, passed = 0;
	struct stat st;

	if (!ok(stat(root, &st) == 0, "botocore: open '%s'", root)) {
		free(root);
		return;
	}
	walk_botocore(root, &present, &ran, &passed);
	printf("# botocore aws4_testsuite: %zu cases present, %zu run, "
	       "%zu pass\n",
	       present, ran, passed);
	ok(present >= 34, "botocore: at least the 34 documented cases");
	is_int(ran, present, "botocore: every case present was run");
	is_int(passed, present, "botocore: every case passes");
	free(root);
}

/* s3-header-examples.md, transcribed. */
struct s3_header_case {
	const char *name;
	const char *method;
	const char *path;
	struct rag_sigv4_pair query[2];
	size_t nquery;
	struct rag_sigv4_pair headers[3];
	size_t nheaders;
	const char *payload_hash;
	const char *creq;
	const char *signed_headers;
	const char *sts_hash;
	const char *signature;
};

#define S3_HOST  "examplebucket.s3.amazonaws.com"
#define S3_EMPTY RAG_SIGV4_EMPTY_SHA256
#define S3_PUT                                                                 \
	"44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072"

static const struct s3_header_case s3_header_cases[] = {
    {
        .name = "GET object with Range",
        .method = "GET",
        .path = "/test.txt",
        .headers = {{"Host", S3_HOST}, {"Range", "bytes=0-9"}},
        .nheaders = 2,
        .payload_hash = S3_EMPTY,
        .creq = "GET\n/test.txt\n\n"
                "host:" S3_HOST "\n"
                "range:bytes=0-9\n"
                "x-amz-content-sha256:" S3_EMPTY "\n"
                "x-amz-date:20130524T000000Z\n\n"
                "host;range;x-amz-content-sha256;x-amz-date\n" S3_EMPTY,
        .signed_headers = "host;range;x-amz-content-sha256;x-amz-date",
        .sts_hash =
            "7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972",
        .signature =
            "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41",
    },
    {
        .name = "PUT object",
        .method = "PUT",
        .path = "/test$file.text",
        .headers = {{"Host", S3_HOST},
                    {"Date", "Fri, 24 May 2013 00:00:00 GMT"},
                    {"x-amz-storage-class", "REDUCED_REDUNDANCY"}},
        .nheaders = 3,
        .payload_hash = S3_PUT,
        .creq = "PUT\n/test%24file.text\n\n"
                "date:Fri, 24 May 2013 00:00:00 GMT\n"
                "host:" S3_HOST "\n"
                "x-amz-content-sha256:" S3_PUT "\n"
                "x-amz-date:20130524T000000Z\n"
                "x-amz-storage-class:REDUCED_REDUNDANCY\n\n"
                "date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-"
                "class\n" S3_PUT,
        .signed_headers =
            "date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class",
        .sts_hash =
            "9e0e90d9c76de8fa5b200d8c849cd5b8dc7a3be3951ddb7f6a76b4158342019d",
        .signature =
            "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd",
    },
    {
        .name = "GET bucket lifecycle",
        .method = "GET",
        .path = "/",
        .query = {{"lifecycle", NULL}},
        .nquery = 1,
        .headers = {{"Host", S3_HOST}},
        .nheaders = 1,
        .payload_hash = S3_EMPTY,
        .creq = "GET\n/\nlifecycle=\n"
                "host:" S3_HOST "\n"
                "x-amz-content-sha256:" S3_EMPTY "\n"
                "x-amz-date:20130524T000000Z\n\n"
                "host;x-amz-content-sha256;x-amz-date\n" S3_EMPTY,
        .signed_headers = "host;x-amz-content-sha256;x-amz-date",
        .sts_hash =
            "9766c798316ff2757b517bc739a67f6213b4ab36dd5da2f94eaebf79c77395ca",
        .signature =
            "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543",
    },
    {
        .name = "GET bucket (list objects)",
        .method = "GET",
        .path = "/",
        .query = {{"prefix", "J"}, {"max-keys", "2"}},
        .nquery = 2,
        .headers = {{"Host", S3_HOST}},
        .nheaders = 1,
        .payload_hash = S3_EMPTY,
        .creq = "GET\n/\nmax-keys=2&prefix=J\n"
                "host:" S3_HOST "\n"
                "x-amz-content-sha256:" S3_EMPTY "\n"
                "x-amz-date:20130524T000000Z\n\n"
                "host;x-amz-content-sha256;x-amz-date\n" S3_EMPTY,
        .signed_headers = "host;x-amz-content-sha256;x-amz-date",
        .sts_hash =
            "df57d21db20da04d7fa30298dd4488ba3a2b47ca3a489c74750e0f1e7df1b9b7",
        .signature =
            "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7",
    },
};

static void
test_s3_header_examples(void)
{
	struct rag_error err = RAG_ERROR_INIT;
	struct rag_sigv4_result r;
	struct rag_sigv4_params p = {0};
	unsigned char key[RAG_SIGV4_KEY_LEN];
	char hex[65], *want;
	size_t i, j, passed = 0;

	p.access_key_id = S3_AKID;
	p.secret_access_key = S3_KEY;
	p.region = "us-east-1";
	p.service = "s3";
	p.time = parse_time("20130524T000000Z");
	p.flags = RAG_SIGV4_S3;
	rag_sigv4_result_init(&r);

	ok(rag_hash_sha256_hex("Welcome to Amazon S3.", 21, hex) == 0 &&
	       strcmp(hex, S3_PUT) == 0,
	   "s3: SHA-256 of the PUT example's body");
	ok(rag_sigv4_signing_key(key, S3_KEY, "20130524", "us-east-1", "s3",
	                         &err) == 0,
	   "s3: derive the signing key");
	for (j = 0; j < sizeof(key); j++)
		sprintf(hex + 2 * j, "%02x", key[j]);
	is_str(
	    hex,
	    "dbb893acc010964918f1fd433add87c70e8b0db6be30c1fbeafefa5ec6ba8378",
	    "s3: signing key is the documented kSigning");

	for (i = 0; i < sizeof(s3_header_cases) / sizeof(s3_header_cases[0]);
	     i++) {
		const struct s3_header_case *c = &s3_header_cases[i];
		struct rag_sigv4_request req = {
		    .method = c->method,
		    .path = c->path,
		    .query = c->query,
		    .nquery = c->nquery,
		    .headers = c->headers,
		    .nheaders = c->nheaders,
		    .payload_hash = c->payload_hash,
		};
		size_t before = (size_t)tap_failed;

		if (!ok(rag_sigv4_sign(&req, &p, &r, &err) == 0, "s3 %s: sign",
		        c->name)) {
			printf("#   %s\n", err.msg);
			continue;
		}
		is_bytes(r.canonical_request.data, r.canonical_request.len,
		         c->creq, strlen(c->creq), "canonical request",
		         c->name);
		want = rag_xasprintf("AWS4-HMAC-SHA256\n20130524T000000Z\n"
		                     "20130524/us-east-1/s3/aws4_request\n%s",
		                     c->sts_hash);
		is_str(r.string_to_sign.data, want, "s3 %s: string to sign",
		       c->name);
		free(want);
		is_str(r.signature, c->signature, "s3 %s: signature", c->name);
		want = rag_xasprintf("AWS4-HMAC-SHA256 Credential=" S3_AKID
		                     "/20130524/us-east-1/s3/aws4_request, "
		                     "SignedHeaders=%s, Signature=%s",
		                     c->signed_headers, c->signature);
		is_str(r.authorization.data, want, "s3 %s: Authorization",
		       c->name);
		free(want);
		is_str(r.amz_date, "20130524T000000Z", "s3 %s: x-amz-date",
		       c->name);
		if ((size_t)tap_failed == before)
			passed++;
	}

	/* The same PUT with the key already encoded on the wire. */
	{
		const struct s3_header_case *c = &s3_header_cases[1];
		struct rag_sigv4_request req = {
		    .method = "PUT",
		    .path = "/test%24file.text",
		    .headers = c->headers,
		    .nheaders = c->nheaders,
		    .payload_hash = c->payload_hash,
		};

		p.signing_key = key;
		p.secret_access_key = NULL;
		ok(rag_sigv4_sign(&req, &p, &r, &err) == 0 &&
		       strcmp(r.signature, c->signature) == 0,
		   "s3: pre-encoded path and a cached signing key give the "
		   "documented signature");
	}
	printf("# s3 header examples: %zu of 4 pass\n", passed);
	is_int(passed, 4, "s3 header examples: all pass");
	rag_sigv4_result_release(&r);
}

/* presign-example.md, transcribed. */
struct presign_case {
	const char *name;
	const char *akid;
	const char *secret;
	const char *amz_date;
	long expires;
	const char *method;
	const char *base; /* scheme://host */
	const char *host;
	const char *path;
	struct rag_sigv4_pair query[2];
	size_t nquery;
	const char *creq;
	const char *sts_hash;
	const char *signature;
	const char *url; /* as documented, or NULL */
	bool url_exact;  /* documented order is ours */
};

#define MINIO_CRED                                                             \
	"X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=minioadmin"         \
	"%2F20260102%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date="              \
	"20260102T030405Z&X-Amz-Expires="
#define MINIO_TAIL "host:127.0.0.1:9000\n\nhost\nUNSIGNED-PAYLOAD"

static const struct presign_case presign_cases[] = {
    {
        .name = "A: AWS GET example",
        .akid = S3_AKID,
        .secret = S3_KEY,
        .amz_date = "20130524T000000Z",
        .expires = 86400,
        .method = "GET",
        .base = "https://" S3_HOST,
        .host = S3_HOST,
        .path = "/test.txt",
        .creq =
            "GET\n/test.txt\n"
            "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential="
            "AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request"
            "&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400"
            "&X-Amz-SignedHeaders=host\n"
            "host:" S3_HOST "\n\nhost\nUNSIGNED-PAYLOAD",
        .sts_hash =
            "3bfa292879f6447bbcda7001decf97f4a54dc650c8942174ae0a9121cf58ad04",
        .signature =
            "aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404",
        .url =
            "https://examplebucket.s3.amazonaws.com/test.txt?X-Amz-Algorithm="
            "AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524"
            "%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z"
            "&X-Amz-Expires=86400&X-Amz-SignedHeaders=host&X-Amz-Signature="
            "aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404",
        .url_exact = true,
    },
    {
        .name = "B1: GET, key with a space",
        .akid = "minioadmin",
        .secret = "minioadmin",
        .amz_date = "20260102T030405Z",
        .expires = 900,
        .method = "GET",
        .base = "http://127.0.0.1:9000",
        .host = "127.0.0.1:9000",
        .path = "/pdfs/docs/report%20v1.pdf",
        .creq = "GET\n/pdfs/docs/report%20v1.pdf\n" MINIO_CRED
                "900&X-Amz-SignedHeaders=host\n" MINIO_TAIL,
        .sts_hash =
            "788fb469bdd1ff6f078a72415ac4332032e4355b019ca5959492b8c6378f4642",
        .signature =
            "d62dfffbdbe1471f0962ef333f7b6556a062ee81d01c96b1d82aae6689edcc1a",
        .url =
            "http://127.0.0.1:9000/pdfs/docs/report%20v1.pdf?" MINIO_CRED
            "900&X-Amz-SignedHeaders=host&X-Amz-Signature="
            "d62dfffbdbe1471f0962ef333f7b6556a062ee81d01c96b1d82aae6689edcc1a",
        .url_exact = true,
    },
    {
        .name = "B2: PUT",
        .akid = "minioadmin",
        .secret = "minioadmin",
        .amz_date = "20260102T030405Z",
        .expires = 900,
        .method = "PUT",
        .base = "http://127.0.0.1:9000",
        .host = "127.0.0.1:9000",
        .path = "/pdfs/uploads/new.pdf",
        .creq = "PUT\n/pdfs/uploads/new.pdf\n" MINIO_CRED
                "900&X-Amz-SignedHeaders=host\n" MINIO_TAIL,
        .sts_hash =
            "3ef2364c9a1e33a2075eff99ae2bab2dc554746fbb96417886e164714236778a",
        .signature =
            "c3db02a4ec85ea7253e6976ca33d82526de24a01db396ff1b6ad014cd50ce7e3",
    },
    {
        .name = "B3: UploadPart",
        .akid = "minioadmin",
        .secret = "minioadmin",
        .amz_date = "20260102T030405Z",
        .expires = 3600,
        .method = "PUT",
        .base = "http://127.0.0.1:9000",
        .host = "127.0.0.1:9000",
        .path = "/pdfs/big/file.pdf",
        .query = {{"uploadId", "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"},
                  {"partNumber", "3"}},
        .nquery = 2,
        .creq = "PUT\n/pdfs/big/file.pdf\n" MINIO_CRED
                "3600&X-Amz-SignedHeaders=host&partNumber=3"
                "&uploadId=0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0\n" MINIO_TAIL,
        .sts_hash =
            "d5163c21845dfb28facc7806839ca1a454de8b3084c434aa963e0f0584ec39d4",
        .signature =
            "3e5911bf1b433bd050716263870504ec8c51cfc5aa022a44ab372c717134c666",
        .url =
            "http://127.0.0.1:9000/pdfs/big/file.pdf?partNumber=3&uploadId="
            "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0&" MINIO_CRED
            "3600&X-Amz-SignedHeaders=host&X-Amz-Signature="
            "3e5911bf1b433bd050716263870504ec8c51cfc5aa022a44ab372c717134c666",
    },
    {
        .name = "B4: GET with a response override",
        .akid = "minioadmin",
        .secret = "minioadmin",
        .amz_date = "20260102T030405Z",
        .expires = 600,
        .method = "GET",
        .base = "http://127.0.0.1:9000",
        .host = "127.0.0.1:9000",
        .path = "/pdfs/docs/a.pdf",
        .query = {{"response-content-disposition",
                   "attachment; filename=\"a.pdf\""}},
        .nquery = 1,
        .creq = "GET\n/pdfs/docs/a.pdf\n" MINIO_CRED
                "600&X-Amz-SignedHeaders=host&response-content-disposition="
                "attachment%3B%20filename%3D%22a.pdf%22\n" MINIO_TAIL,
        .sts_hash =
            "6973937183379f206ace819309605899a107bb6bffe8c4f7af12f199355c9def",
        .signature =
            "e955216f9e5fe5e2f02520288ede4f11949ce16b58fd4955f8c23eb056ec8cc5",
    },
};

static void
test_presign_examples(void)
{
	struct rag_error err = RAG_ERROR_INIT;
	struct rag_sigv4_result r;
	unsigned char key[RAG_SIGV4_KEY_LEN];
	char hex[65], *want, *url;
	size_t i, j, passed = 0;

	rag_sigv4_result_init(&r);
	ok(rag_sigv4_signing_key(key, "minioadmin", "20260102", "us-east-1",
	                         "s3", &err) == 0,
	   "presign: derive the MinIO signing key");
	for (j = 0; j < sizeof(key); j++)
		sprintf(hex + 2 * j, "%02x", key[j]);
	is_str(
	    hex,
	    "89cd78a3796a81c8242542cba3ff217bbf28e8574f6a9f63d9850189d63e622b",
	    "presign: MinIO kSigning as documented");

	for (i = 0; i < sizeof(presign_cases) / sizeof(presign_cases[0]); i++) {
		const struct presign_case *c = &presign_cases[i];
		struct rag_sigv4_pair host = {"Host", c->host};
		struct rag_sigv4_request req = {
		    .method = c->method,
		    .path = c->path,
		    .query = c->query,
		    .nquery = c->nquery,
		    .headers = &host,
		    .nheaders = 1,
		    .payload_hash = RAG_SIGV4_UNSIGNED_PAYLOAD,
		};
		struct rag_sigv4_params p = {
		    .access_key_id = c->akid,
		    .secret_access_key = c->secret,
		    .region = "us-east-1",
		    .service = "s3",
		    .time = parse_time(c->amz_date),
		    .flags = RAG_SIGV4_S3,
		    .expires = c->expires,
		};
		size_t before = (size_t)tap_failed;

		if (!ok(rag_sigv4_presign(&req, &p, &r, &err) == 0,
		        "presign %s: presign", c->name)) {
			printf("#   %s\n", err.msg);
			continue;
		}
		is_bytes(r.canonical_request.data, r.canonical_request.len,
		         c->creq, strlen(c->creq), "canonical request",
		         c->name);
		want = rag_xasprintf("AWS4-HMAC-SHA256\n%s\n%.8s/us-east-1/s3/"
		                     "aws4_request\n%s",
		                     c->amz_date, c->amz_date, c->sts_hash);
		is_str(r.string_to_sign.data, want,
		       "presign %s: string to sign", c->name);
		free(want);
		is_str(r.signature, c->signature, "presign %s: signature",
		       c->name);
		is_int(r.authorization.len, 0,
		       "presign %s: no Authorization header", c->name);
		url = rag_xasprintf("%s%s?%s", c->base, c->path, r.query.data);
		if (c->url != NULL && c->url_exact) {
			is_str(url, c->url, "presign %s: URL", c->name);
		} else if (c->url != NULL) {
			size_t plen = strlen(c->base) + strlen(c->path) + 1;

			ok(strncmp(url, c->url, plen) == 0,
			   "presign %s: URL up to the query", c->name);
			same_params(url + plen, c->url + plen,
			            "URL query, in any order", c->name);
		}
		want = rag_xasprintf("&X-Amz-Signature=%s", c->signature);
		ok(r.query.len > strlen(want) &&
		       strcmp(r.query.data + r.query.len - strlen(want),
		              want) == 0,
		   "presign %s: X-Amz-Signature comes last", c->name);
		free(want);
		free(url);
		if ((size_t)tap_failed == before)
			passed++;
	}
	printf("# presign examples: %zu of 5 pass\n", passed);
	is_int(passed, 5, "presign examples: all pass");
	rag_sigv4_result_release(&r);
}

static void
test_encoding(void)
{
	struct rag_buf b = RAG_BUF_INIT;
	struct rag_error err = RAG_ERROR_INIT;
	char hex[65];
	const char *unreserved = "-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	                         "abcdefghijklmnopqrstuvwxyz";
	static const struct {
		const char *path;
		unsigned flags;
		const char *want; /* NULL: an error */
	} uris[] = {
	    /* S3: encoded once, escapes canonicalised, nothing removed */
	    {"/a%20b/c%2fd//./e/../f", 0, "/a%20b/c%2Fd//./e/../f"},
	    {"/it's(1)!*.pdf", 0, "/it%27s%281%29%21%2A.pdf"},
	    {"/caf\xc3\xa9%c3%a9%41%7e", 0, "/caf%C3%A9%C3%A9A~"},
	    {"/my%20file%2B1.pdf", 0, "/my%20file%2B1.pdf"},
	    {"/a b+c", 0, "/a%20b%2Bc"},
	    {"/", 0, "/"},
	    {"/a%zz", 0, NULL},
	    {"/a%2", 0, NULL},
	    {"/a%", 0, NULL},
	    {"a", 0, NULL},
	    {"", 0, NULL},
	    /* generic services: the wire path is encoded again */
	    {"/a%20b", RAG_SIGV4_DOUBLE_ENCODE, "/a%2520b"},
	    {"/a%zz", RAG_SIGV4_DOUBLE_ENCODE, "/a%25zz"},
	    {"/a/./b/../c//", RAG_SIGV4_GENERIC, "/a/c/"},
	    {"/a/b/..", RAG_SIGV4_GENERIC, "/a"},
	    {"/../..", RAG_SIGV4_GENERIC, "/"},
	    {"//", RAG_SIGV4_NORMALIZE_PATH, "/"},
	    /* normalising sees the wire form: "%2e%2e" is no ".." */
	    {"/a/%2e%2e/b", RAG_SIGV4_NORMALIZE_PATH, "/a/../b"},
	};
	size_t i;

	rag_sigv4_uri_encode(&b, unreserved, strlen(unreserved), 1);
	is_str(rag_buf_str(&b), unreserved, "uri_encode keeps unreserved");
	rag_buf_reset(&b);
	rag_sigv4_uri_encode(&b, " /+*%=&;\xc3\xa9\x01\xff", 12, 0);
	is_str(rag_buf_str(&b), "%20/%2B%2A%25%3D%26%3B%C3%A9%01%FF",
	       "uri_encode keeps '/' when asked, uppercase hex for the rest");
	rag_buf_reset(&b);
	rag_sigv4_uri_encode(&b, "a/b\0c", 5, 1);
	is_int(b.len, 9, "uri_encode takes a length, NUL included");
	is_str(rag_buf_str(&b), "a%2Fb%00c", "uri_encode encodes '/' and NUL");

	ok(rag_hash_sha256_hex("", 0, hex) == 0, "sha256 of nothing");
	is_str(hex, RAG_SIGV4_EMPTY_SHA256, "sha256 of nothing: the constant");
	rag_hash_sha256_hex("abc", 3, hex);
	is_str(
	    hex,
	    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
	    "sha256 of 'abc' (FIPS 180-2)");

	for (i = 0; i < sizeof(uris) / sizeof(uris[0]); i++) {
		int rc;

		rag_buf_reset(&b);
		rag_buf_adds(&b, "X");
		rag_error_clear(&err);
		rc = rag_sigv4_canonical_uri(&b, uris[i].path, uris[i].flags,
		                             &err);
		if (uris[i].want == NULL) {
			ok(rc == -1 && err.code == RAG_EXIT_FAILED &&
			       err.msg[0] != '\0' && strcmp(b.data, "X") == 0,
			   "canonical uri '%s' (flags %u) is refused: %s",
			   uris[i].path, uris[i].flags, err.msg);
		} else {
			ok(rc == 0, "canonical uri '%s' (flags %u)",
			   uris[i].path, uris[i].flags);
			is_str(b.data + 1, uris[i].want,
			       "canonical uri '%s' (flags %u) value",
			       uris[i].path, uris[i].flags);
		}
	}
	rag_buf_release(&b);
}

static struct rag_sigv4_params
s3_params(void)
{
	struct rag_sigv4_params p = {
	    .access_key_id = "minioadmin",
	    .secret_access_key = "minioadmin",
	    .region = "us-east-1",
	    .service = "s3",
	    .time = utc(2026, 1, 2, 3, 4, 5),
	    .flags = RAG_SIGV4_S3,
	    .expires = 900,
	};
	return p;
}

static void
test_headers_and_tokens(void)
{
	struct rag_error err = RAG_ERROR_INIT;
	struct rag_sigv4_result r;
	struct rag_sigv4_params p = s3_params();
	struct rag_sigv4_pair h[] = {
	    {"x-amz-meta-test-two", "b"},
	    {"Host", "127.0.0.1:9000"},
	    {"X-Amz-Meta-Test", "\t a \r\n\t  b  c "},
	    {"x-amz-meta-test", ""},
	    {"X-AMZ-META-EMPTY", NULL},
	};
	struct rag_sigv4_pair q[] = {
	    {"uploads", NULL},
	    {"prefix", "t/"},
	    {"a", "2"},
	    {"a", "10"},
	};
	struct rag_sigv4_request req = {
	    .method = "POST",
	    .path = "/pdfs",
	    .query = q,
	    .nquery = 4,
	    .headers = h,
	    .nheaders = 5,
	    .payload_hash = NULL,
	};
	const char *creq =
	    "POST\n/pdfs\na=10&a=2&prefix=t%2F&uploads=\n"
	    "host:127.0.0.1:9000\n"
	    "x-amz-content-sha256:" S3_EMPTY "\n"
	    "x-amz-date:20260102T030405Z\n"
	    "x-amz-meta-empty:\n"
	    "x-amz-meta-test:a b c,\n"
	    "x-amz-meta-test-two:b\n"
	    "x-amz-security-token:tok/en+=\n\n"
	    "host;x-amz-content-sha256;x-amz-date;"
	    "x-amz-meta-empty;x-amz-meta-test;"
	    "x-amz-meta-test-two;x-amz-security-token\n" S3_EMPTY;
	char sig1[65];

	rag_sigv4_result_init(&r);
	p.session_token = "tok/en+=";
	ok(rag_sigv4_sign(&req, &p, &r, &err) == 0, "headers: sign");
	is_str(r.canonical_request.data, creq,
	       "headers: lowercased, trimmed, folded, joined, sorted by name "
	       "only (a prefix sorts first); query sorted by name then value");
	is_str(r.query.data, "a=10&a=2&prefix=t%2F&uploads=",
	       "headers: the query to send is the encoded canonical one");
	ok(strstr(r.authorization.data, "x-amz-security-token, Signature=") !=
	       NULL,
	   "headers: the session token is signed");
	memcpy(sig1, r.signature, sizeof(sig1));

	ok(rag_sigv4_sign(&req, &p, &r, &err) == 0 &&
	       strcmp(r.signature, sig1) == 0 &&
	       strcmp(r.canonical_request.data, creq) == 0,
	   "headers: a reused result is reset, not appended to");

	p.flags |= RAG_SIGV4_OMIT_SESSION_TOKEN;
	ok(rag_sigv4_sign(&req, &p, &r, &err) == 0 &&
	       strstr(r.canonical_request.data, "security-token") == NULL &&
	       strcmp(r.signature, sig1) != 0,
	   "headers: OMIT_SESSION_TOKEN leaves the token unsigned");

	req.nquery = 0;
	req.method = "GET";
	req.path = "/pdfs/k";
	ok(rag_sigv4_presign(&req, &p, &r, &err) == 0, "presign with token");
	ok(strstr(r.canonical_request.data, "Security-Token") == NULL &&
	       strstr(
	           r.query.data,
	           "&X-Amz-Security-Token=tok%2Fen%2B%3D&X-Amz-Signature=") !=
	           NULL,
	   "presign: an omitted token is appended after signing");
	p.flags &= ~RAG_SIGV4_OMIT_SESSION_TOKEN;
	ok(rag_sigv4_presign(&req, &p, &r, &err) == 0 &&
	       strstr(
	           r.canonical_request.data,
	           "&X-Amz-Security-Token=tok%2Fen%2B%3D&X-Amz-SignedHeaders="
	           "host%3Bx-amz-meta-empty%3Bx-amz-meta-test%3B"
	           "x-amz-meta-test-two\n") != NULL &&
	       strstr(r.canonical_request.data, "x-amz-date") == NULL &&
	       strstr(r.canonical_request.data, "x-amz-content") == NULL,
	   "presign: token signed in the query, every header signed, no "
	   "x-amz-date or x-amz-content-sha256 header");

	p.time = utc(1970, 1, 1, 0, 0, 0);
	ok(rag_sigv4_sign(&req, &p, &r, &err) == 0, "sign at the epoch");
	is_str(r.amz_date, "19700101T000000Z", "amz_date at the epoch");
	rag_sigv4_result_release(&r);
}

static void
expect_error(const struct rag_sigv4_request *req,
             const struct rag_sigv4_params *p, bool presign, int code,
             const char *what)
{
	struct rag_error err = RAG_ERROR_INIT;
	struct rag_sigv4_result r;
	int rc;

	rag_sigv4_result_init(&r);
	rc = presign ? rag_sigv4_presign(req, p, &r, &err)
	             : rag_sigv4_sign(req, p, &r, &err);
	if (!ok(rc == -1 && err.code == code && err.msg[0] != '\0' &&
	            r.signature[0] == '\0' && r.canonical_request.len == 0 &&
	            r.query.len == 0,
	        "refused: %s: %s", what, err.msg))
		printf("#   rc %d, code %d\n", rc, err.code);
	if (p->secret_access_key != NULL)
		ok(strstr(err.msg, p->secret_access_key) == NULL,
		   "refused: %s: message does not leak the secret", what);
	rag_sigv4_result_release(&r);
}

static void
test_errors(void)
{
	struct rag_sigv4_pair host = {"Host", "h"};
	struct rag_sigv4_pair two[2] = {{"Host", "h"}, {0}};
	struct rag_sigv4_pair q = {"X-Amz-Signature", "x"};
	struct rag_sigv4_request req = {
	    .method = "GET",
	    .path = "/k",
	    .headers = &host,
	    .nheaders = 1,
	};
	struct rag_sigv4_request bad;
	struct rag_sigv4_params p = s3_params(), bp;
	struct rag_error err = RAG_ERROR_INIT;
	unsigned char key[RAG_SIGV4_KEY_LEN];
	char date[17];

	bad = req;
	bad.nheaders = 0;
	expect_error(&bad, &p, false, RAG_EXIT_FAILED, "no host header");
	bad = req;
	bad.headers = two;
	bad.nheaders = 2;
	two[1] = (struct rag_sigv4_pair){"X-Amz-Date", "20260102T030405Z"};
	expect_error(&bad, &p, false, RAG_EXIT_FAILED, "x-amz-date passed");
	two[1] = (struct rag_sigv4_pair){"authorization", "x"};
	expect_error(&bad, &p, true, RAG_EXIT_FAILED, "Authorization passed");
	two[1] = (struct rag_sigv4_pair){"X-Amz-Content-SHA256", "x"};
	expect_error(&bad, &p, false, RAG_EXIT_FAILED,
	             "x-amz-content-sha256 passed with SIGN_BODY");
	two[1] = (struct rag_sigv4_pair){"Bad Name", "x"};
	expect_error(&bad, &p, false, RAG_EXIT_FAILED, "space in a name");
	two[1] = (struct rag_sigv4_pair){"x-a", "1\0012"};
	expect_error(&bad, &p, false, RAG_EXIT_FAILED, "control character");
	bad = req;
	bad.payload_hash = "E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934C"
	                   "A495991B7852B855";
	expect_error(&bad, &p, false, RAG_EXIT_FAILED, "uppercase hash");
	bad.payload_hash = "abc";
	expect_error(&bad, &p, false, RAG_EXIT_FAILED, "short hash");
	bad = req;
	bad.path = "k";
	expect_error(&bad, &p, false, RAG_EXIT_FAILED, "relative path");
	bad = req;
	bad.method = "GE T";
	expect_error(&bad, &p, false, RAG_EXIT_FAILED, "bad method");
	bad = req;
	bad.query = &q;
	bad.nquery = 1;
	expect_error(&bad, &p, true, RAG_EXIT_FAILED,
	             "X-Amz-Signature in a presign query");
	bp = p;
	bp.expires = 0;
	expect_error(&req, &bp, true, RAG_EXIT_FAILED, "expires 0");
	bp.expires = RAG_SIGV4_MAX_EXPIRES + 1;
	expect_error(&req, &bp, true, RAG_EXIT_FAILED, "expires > 7 days");
	bp.expires = RAG_SIGV4_MAX_EXPIRES;
	{
		struct rag_sigv4_result r;

		rag_sigv4_result_init(&r);
		ok(rag_sigv4_presign(&req, &bp, &r, &err) == 0 &&
		       strstr(r.query.data, "X-Amz-Expires=604800&") != NULL,
		   "presign: 7 days is accepted");
		rag_sigv4_result_release(&r);
	}
	bp = p;
	bp.access_key_id = "";
	expect_error(&req, &bp, false, RAG_EXIT_FATAL, "no access key");
	bp = p;
	bp.secret_access_key = NULL;
	expect_error(&req, &bp, false, RAG_EXIT_FATAL, "no secret");
	bp = p;
	bp.region = "us/east";
	expect_error(&req, &bp, false, RAG_EXIT_FATAL, "'/' in the region");
	bp = p;
	bp.session_token = "a\nb";
	expect_error(&req, &bp, false, RAG_EXIT_FATAL, "newline in a token");

	ok(rag_sigv4_signing_key(key, "s", "2026010", "r", "s", &err) == -1 &&
	       err.code == RAG_EXIT_FATAL,
	   "signing key: a 7-digit date is refused");
	ok(rag_sigv4_amz_date((time_t)1 << 50, date, &err) == -1 &&
	       date[0] == '\0',
	   "amz_date: a time past year 9999 is refused");
}

/*
 * Found by fuzzing: a parameter whose name or value is "" was encoded
 * into a buffer that had grown but held no string, and the query was
 * read past its end.
 */
static void
test_empty_parameter(void)
{
	struct rag_error err = RAG_ERROR_INIT;
	struct rag_sigv4_result r;
	struct rag_sigv4_params p = s3_params();
	struct rag_sigv4_pair h[] = {{"Host", "127.0.0.1:9000"}};
	struct rag_sigv4_pair q[] = {{"acl", ""}, {"", "x"}};
	struct rag_sigv4_request req = {
	    .method = "GET",
	    .path = "/pdfs",
	    .query = q,
	    .nquery = 2,
	    .headers = h,
	    .nheaders = 1,
	};

	rag_sigv4_result_init(&r);
	ok(rag_sigv4_sign(&req, &p, &r, &err) == 0, "empty: sign");
	is_str(rag_buf_str(&r.query), "=x&acl=", "empty: query");
	ok(rag_sigv4_presign(&req, &p, &r, &err) == 0, "empty: presign");
	ok(strncmp(rag_buf_str(&r.query), "=x&X-Amz-Algorithm=", 19) == 0,
	   "empty: presigned query");
	rag_sigv4_result_release(&r);
}

int
main(void)
{
	test_encoding();
	test_empty_parameter();
	test_headers_and_tokens();
	test_errors();
	test_s3_header_examples();
	test_presign_examples();
	test_aws_c_auth();
	test_botocore();
	return tap_done();
}
