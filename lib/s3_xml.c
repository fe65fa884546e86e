/* s3_xml: a tolerant reader for S3's XML answers (see s3_impl.h). */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"
#include "s3_impl.h"

static bool
is_name_end(char c)
{
	return c == '>' || c == '/' || isspace((unsigned char)c);
}

/* Finds the next <name> in [*from, end); *from moves past its end. */
bool
s3_xml_find(const char **from, const char *end, const char *name,
            struct span *in)
{
	size_t nl = strlen(name);
	const char *p = *from, *gt, *c;

	while (p < end && (p = memchr(p, '<', (size_t)(end - p))) != NULL) {
		if ((size_t)(end - p) < nl + 2 ||
		    memcmp(p + 1, name, nl) != 0 || !is_name_end(p[1 + nl])) {
			p++;
			continue;
		}
		gt = memchr(p, '>', (size_t)(end - p));
		if (gt == NULL)
			return false;
		if (gt[-1] == '/') {
			in->p = in->end = gt + 1;
			*from = gt + 1;
			return true;
		}
		for (c = gt + 1; c < end; c++) {
			c = memchr(c, '<', (size_t)(end - c));
			if (c == NULL)
				return false;
			if ((size_t)(end - c) >= nl + 3 && c[1] == '/' &&
			    memcmp(c + 2, name, nl) == 0 &&
			    is_name_end(c[2 + nl]))
				break;
		}
		if (c >= end)
			return false;
		in->p = gt + 1;
		in->end = c;
		gt = memchr(c, '>', (size_t)(end - c));
		*from = gt != NULL ? gt + 1 : end;
		return true;
	}
	return false;
}

static void
add_utf8(struct rag_buf *b, unsigned long cp)
{
	if (cp < 0x80) {
		rag_buf_addc(b, (char)cp);
	} else if (cp < 0x800) {
		rag_buf_addc(b, (char)(0xc0 | cp >> 6));
		rag_buf_addc(b, (char)(0x80 | (cp & 0x3f)));
	} else if (cp < 0x10000) {
		rag_buf_addc(b, (char)(0xe0 | cp >> 12));
		rag_buf_addc(b, (char)(0x80 | ((cp >> 6) & 0x3f)));
		rag_buf_addc(b, (char)(0x80 | (cp & 0x3f)));
	} else if (cp < 0x110000) {
		rag_buf_addc(b, (char)(0xf0 | cp >> 18));
		rag_buf_addc(b, (char)(0x80 | ((cp >> 12) & 0x3f)));
		rag_buf_addc(b, (char)(0x80 | ((cp >> 6) & 0x3f)));
		rag_buf_addc(b, (char)(0x80 | (cp & 0x3f)));
	}
}

/* The text of sp with XML's entities and character references decoded. */
static char *
xml_decode(struct span sp)
{
	static const struct {
		const char *name;
		char c;
	} ent[] = {{"amp;", '&'},
	           {"lt;", '<'},
	           {"gt;", '>'},
	           {"quot;", '"'},
	           {"apos;", '\''}};
	struct rag_buf b = RAG_BUF_INIT;
	const char *p = sp.p;

	rag_buf_add(&b, "", 0);
	while (p < sp.end) {
		const char *semi;
		size_t i;

		if (*p != '&' ||
		    (semi = memchr(p, ';', (size_t)(sp.end - p))) == NULL) {
			rag_buf_addc(&b, *p++);
			continue;
		}
		if (p[1] == '#') {
			char *e;
			unsigned long cp = p[2] == 'x' || p[2] == 'X'
			                       ? strtoul(p + 3, &e, 16)
			                       : strtoul(p + 2, &e, 10);

			if (e == semi) {
				add_utf8(&b, cp);
				p = semi + 1;
				continue;
			}
		}
		for (i = 0; i < sizeof(ent) / sizeof(ent[0]); i++)
			if ((size_t)(semi + 1 - (p + 1)) ==
			        strlen(ent[i].name) &&
			    memcmp(p + 1, ent[i].name, strlen(ent[i].name)) ==
			        0)
				break;
		if (i < sizeof(ent) / sizeof(ent[0])) {
			rag_buf_addc(&b, ent[i].c);
			p = semi + 1;
		} else {
			rag_buf_addc(&b, *p++);
		}
	}
	return rag_buf_detach(&b);
}

/* The decoded text of the first <name> in sp, or NULL (caller frees). */
char *
s3_xml_text(struct span sp, const char *name)
{
	struct span in;
	const char *from = sp.p;

	return s3_xml_find(&from, sp.end, name, &in) ? xml_decode(in) : NULL;
}

struct span
s3_span_of(const struct rag_buf *b)
{
	struct span sp = {rag_buf_str(b), rag_buf_str(b) + b->len};

	return sp;
}

/* Whether the document's root element is <name>. */
bool
s3_xml_root_is(const struct rag_buf *b, const char *name)
{
	const char *p = rag_buf_str(b), *end = p + b->len;
	size_t nl = strlen(name);

	for (;;) {
		while (p < end && isspace((unsigned char)*p))
			p++;
		if (end - p >= 2 && p[0] == '<' &&
		    (p[1] == '?' || p[1] == '!')) {
			p = memchr(p, '>', (size_t)(end - p));
			if (p == NULL)
				return false;
			p++;
			continue;
		}
		break;
	}
	return (size_t)(end - p) > nl + 1 && p[0] == '<' &&
	       memcmp(p + 1, name, nl) == 0 && is_name_end(p[1 + nl]);
}

bool
s3_xml_true(struct span sp, const char *name)
{
	char *v = s3_xml_text(sp, name);
	bool t = v != NULL && strcmp(v, "true") == 0;

	free(v);
	return t;
}

uint64_t
s3_xml_u64(struct span sp, const char *name)
{
	char *v = s3_xml_text(sp, name);
	uint64_t n = v != NULL ? strtoull(v, NULL, 10) : 0;

	free(v);
	return n;
}

/* "2009-10-12T17:50:30.000Z" to a time_t; 0 when absent or malformed. */
time_t
s3_xml_time(struct span sp, const char *name)
{
	char *v = s3_xml_text(sp, name);
	struct tm tm = {0};
	time_t t = 0;

	if (v != NULL &&
	    sscanf(v, "%d-%d-%dT%d:%d:%d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
	           &tm.tm_hour, &tm.tm_min, &tm.tm_sec) == 6) {
		tm.tm_year -= 1900;
		tm.tm_mon -= 1;
		t = timegm(&tm);
	}
	free(v);
	return t == (time_t)-1 ? 0 : t;
}

void
s3_xml_escape(struct rag_buf *b, const char *s)
{
	for (; *s != '\0'; s++)
		switch (*s) {
		case '&':
			rag_buf_adds(b, "&amp;");
			break;
		case '<':
			rag_buf_adds(b, "&lt;");
			break;
		case '>':
			rag_buf_adds(b, "&gt;");
			break;
		default:
			rag_buf_addc(b, *s);
		}
}
