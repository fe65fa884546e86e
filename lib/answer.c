#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "answer.h"
#include "chunk.h"
#include "mem.h"
#include "record.h"
#include "words.h"

const char rag_answer_default_prompt[] =
    "You answer questions from the numbered sources the user gives you, "
    "which are passages of their own documents.\n"
    "- Use only what the sources say; never add outside knowledge.\n"
    "- End every sentence with the numbers of the sources it rests on, in "
    "square brackets: [1] or [2][3].\n"
    "- If the sources do not answer the question, say that the collection "
    "does not hold enough evidence to answer it, and nothing more.\n"
    "- Be brief: a few sentences, in the language of the question.\n";

/* Relevance lost per rank: hit 1 counts fully, hit 11 half as much. */
#define RANK_DECAY 0.1
/* A follow-up's history words weigh a third of the question's own. */
#define CONTEXT_DISCOUNT 3.0
/* MMR: relevance against redundancy. */
#define LAMBDA 0.7
/* Sentences shorter than this many words, or longer, are not quoted. */
#define MIN_WORDS 4
#define MAX_WORDS 80

/* ---- words as sorted sets of keys ----------------------------------- */

struct keys {
	char **k;
	size_t n, cap;
};

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The distinct keys of a text's words that are not stop words. */
static size_t
keys_of(const char *s, size_t len, struct keys *out, size_t *words)
{
	struct rag_buf scratch = RAG_BUF_INIT;
	struct rag_word w;
	size_t pos = 0, j = 0;

	*words = 0;
	while (rag_words_next(s, len, &pos, &w, &scratch)) {
		(*words)++;
		if (w.stop)
			continue;
		if (out->n == out->cap) {
			out->cap = out->cap ? 2 * out->cap : 16;
			out->k = rag_xrealloc(out->k, out->cap * sizeof(*out->k));
		}
		out->k[out->n++] = rag_xstrndup(w.key, w.keylen);
	}
	rag_buf_release(&scratch);
	if (out->n == 0)
		return 0;
	qsort(out->k, out->n, sizeof(*out->k), cmp_str);
	for (size_t i = 1; i < out->n; i++) {
		if (strcmp(out->k[i], out->k[j]) == 0) {
			free(out->k[i]);
			continue;
		}
		out->k[++j] = out->k[i];
	}
	out->n = j + 1;
	return out->n;
}

static bool
keys_has(const struct keys *ks, const char *k)
{
	return ks->n > 0 && bsearch(&k, ks->k, ks->n, sizeof(*ks->k),
	    cmp_str) != NULL;
}

static size_t
keys_common(const struct keys *a, const struct keys *b)
{
	size_t i = 0, j = 0, n = 0;

	while (i < a->n && j < b->n) {
		int c = strcmp(a->k[i], b->k[j]);

		if (c == 0) {
			n++;
			i++;
			j++;
		} else if (c < 0) {
			i++;
		} else {
			j++;
		}
	}
	return n;
}

static void
keys_release(struct keys *ks)
{
	for (size_t i = 0; i < ks->n; i++)
		free(ks->k[i]);
	free(ks->k);
	memset(ks, 0, sizeof(*ks));
}

/* ---- sentences of the hits ------------------------------------------ */

struct sent {
	size_t hit;		/* 0-based */
	char *s;		/* its text, whitespace runs as one space */
	size_t len;
	struct keys keys;
	double rel;
	bool used;
};

struct sents {
	struct sent *v;
	size_t n, cap;
};

static bool
quotable(const char *s, size_t len, size_t words)
{
	size_t letters = 0;

	if (words < MIN_WORDS || words > MAX_WORDS)
		return false;
	for (size_t i = 0; i < len; i++)
		if (isalpha((unsigned char)s[i]) || (unsigned char)s[i] >= 0x80)
			letters++;
	/* Tables, code and lists of numbers are not prose. */
	return letters * 2 >= len;
}

/* A sentence that leads into what follows it (a list, a table, code). */
static bool
lead_in(const char *s, size_t len)
{
	static const char *const ends[] = { ":", "follows.", "following.",
		"below.", "e.g.", NULL };

	for (size_t i = 0; ends[i] != NULL; i++) {
		size_t n = strlen(ends[i]);

		if (len >= n && strncasecmp(s + len - n, ends[i], n) == 0)
			return true;
	}
	return false;
}

/* Does s end as a sentence does: . ! or ?, then maybe quotes or brackets? */
static bool
complete(const char *s, size_t len)
{
	while (len > 0 && (strchr("\"')]", s[len - 1]) != NULL ||
	    (unsigned char)s[len - 1] >= 0x80)) {
		/* Step back over closing quotes, ASCII or not (U+201D ...). */
		if ((unsigned char)s[len - 1] >= 0x80) {
			while (len > 0 && ((unsigned char)s[len - 1] & 0xC0) ==
			    0x80)
				len--;
			if (len == 0)
				break;
			/* Only the punctuation blocks: E2 80 xx, C2 BB. */
			if ((unsigned char)s[len - 1] != 0xE2 &&
			    (unsigned char)s[len - 1] != 0xC2)
				return false;
		}
		len--;
	}
	return len > 0 && strchr(".!?", s[len - 1]) != NULL;
}

/*
 * Is the line s[0, len), followed by next, a heading rather than the
 * start of a sentence broken over lines?  A heading opens with a capital
 * or a digit, has at most 14 words, half of them capitalised, does not
 * end with punctuation that goes on, and a capital opens the next line.
 */
static bool
heading(const char *s, size_t len, const char *next)
{
	size_t words = 0, caps = 0;

	while (len > 0 && isspace((unsigned char)s[len - 1]))
		len--;
	if (len == 0 || strchr(".,;:!?-", s[len - 1]) != NULL ||
	    !(isupper((unsigned char)s[0]) || isdigit((unsigned char)s[0])) ||
	    !(isupper((unsigned char)*next) || isdigit((unsigned char)*next)))
		return false;
	for (size_t i = 0; i < len; i++)
		if (!isspace((unsigned char)s[i]) && (i == 0 ||
		    isspace((unsigned char)s[i - 1]))) {
			words++;
			caps += !islower((unsigned char)s[i]);
		}
	return words <= 14 && caps * 2 >= words;
}

static void
add_sentence(struct sents *ss, size_t hit, const char *s, size_t len)
{
	struct rag_buf b = RAG_BUF_INIT;
	const char *nl;
	struct sent *t;
	size_t words;

	/*
	 * A heading on a line of its own before the sentence ("THE BEAVER
	 * By William Holmes McGuffey") is not part of it.
	 */
	for (;;) {
		const char *next;

		while (len > 0 && isspace((unsigned char)*s)) {
			s++;
			len--;
		}
		if ((nl = memchr(s, '\n', len)) == NULL)
			break;
		for (next = nl; next < s + len && isspace((unsigned char)*next);)
			next++;
		if (next == s + len || !heading(s, (size_t)(nl - s), next))
			break;
		len -= (size_t)(next - s);
		s = next;
	}
	while (len > 0 && isspace((unsigned char)s[len - 1]))
		len--;
	/*
	 * Fragments are not quoted: a chunk that starts with the end of the
	 * chunk before it (the overlap) starts with a small letter; a chunk
	 * cut before its sentence ended, or a heading, ends without a full
	 * stop.
	 */
	if (len == 0 || islower((unsigned char)*s) || !complete(s, len) ||
	    lead_in(s, len))
		return;
	/* Lines of one paragraph are one text: one space between words. */
	for (size_t i = 0; i < len; i++) {
		if (isspace((unsigned char)s[i])) {
			if (b.len > 0 && b.data[b.len - 1] != ' ')
				rag_buf_addc(&b, ' ');
			continue;
		}
		rag_buf_addc(&b, s[i]);
	}
	if (ss->n == ss->cap) {
		ss->cap = ss->cap ? 2 * ss->cap : 64;
		ss->v = rag_xrealloc(ss->v, ss->cap * sizeof(*ss->v));
	}
	t = &ss->v[ss->n];
	memset(t, 0, sizeof(*t));
	if (keys_of(b.data, b.len, &t->keys, &words) == 0 ||
	    !quotable(b.data, b.len, words)) {
		keys_release(&t->keys);
		rag_buf_release(&b);
		return;
	}
	t->hit = hit;
	t->len = b.len;
	t->s = rag_buf_detach(&b);
	ss->n++;
}

/* The length of a list bullet at s, 0 if none: U+2022, U+25AA, U+25E6. */
static size_t
bullet(const char *s, size_t n)
{
	if (n >= 3 && (memcmp(s, "\xE2\x80\xA2", 3) == 0 ||
	    memcmp(s, "\xE2\x96\xAA", 3) == 0 ||
	    memcmp(s, "\xE2\x97\xA6", 3) == 0))
		return 3;
	return 0;
}

/*
 * Splits a hit's text into list items (at bullets) and those into
 * sentences.  Not at line ends: PDF text breaks lines, even with blank
 * lines between them, in the middle of sentences.
 */
static void
split_hit(struct sents *ss, size_t hit, const char *text)
{
	size_t n = strlen(text), i = 0;

	while (i < n) {
		size_t end = i, b;

		while (end < n && bullet(text + end, n - end) == 0)
			end++;
		for (size_t j = i; j < end;) {
			size_t e = rag_sentence_end(text, end, j);

			add_sentence(ss, hit, text + j, e - j);
			j = e;
		}
		b = bullet(text + end, n - end);
		i = end + (b > 0 ? b : 1);
	}
}

/* ---- records -------------------------------------------------------- */

/*
 * The number each hit is cited by: its "rank" when every hit has a
 * different one (hits filtered on the way keep their numbers), else its
 * place, from 1.  The caller frees the array.
 */
static int *
hit_numbers(const json_t *hits)
{
	size_t n = json_array_size(hits);
	int *nums = rag_xcalloc(n + 1, sizeof(*nums));
	bool ranked = true;

	for (size_t i = 0; i < n; i++) {
		json_t *r = json_object_get(json_array_get(hits, i), "rank");

		nums[i] = json_is_integer(r) && json_integer_value(r) > 0 &&
		    json_integer_value(r) < 100000 ?
		    (int)json_integer_value(r) : 0;
		if (nums[i] == 0)
			ranked = false;
		for (size_t j = 0; j < i && ranked; j++)
			if (nums[j] == nums[i])
				ranked = false;
	}
	for (size_t i = 0; i < n && !ranked; i++)
		nums[i] = (int)i + 1;
	return nums;
}

/* The place of the hit cited as n, or -1. */
static ssize_t
hit_of(const int *nums, size_t nhits, int n)
{
	for (size_t i = 0; i < nhits; i++)
		if (nums[i] == n)
			return (ssize_t)i;
	return -1;
}

static json_t *
citation_of(const json_t *hit, int n, size_t at)
{
	static const char *const fields[] = { "chunk_id", "doc_id", "source",
		"uri", "page_start", "page_end", "section", NULL };
	json_t *c = json_object();

	json_object_set_new(c, "n", json_integer(n));
	json_object_set_new(c, "hit", json_integer((json_int_t)at + 1));
	for (size_t i = 0; fields[i] != NULL; i++) {
		json_t *v = json_object_get(hit, fields[i]);

		if (v != NULL && !json_is_null(v))
			json_object_set(c, fields[i], v);
	}
	return c;
}

static json_t *
new_answer(const char *question, const json_t *hits, const char *model)
{
	json_t *a = json_object(), *first = json_array_get(hits, 0);
	const char *v;

	json_object_set_new(a, "type", json_string("answer"));
	json_object_set_new(a, "question", json_string(question));
	if ((v = rag_record_str(first, "question_id")) != NULL)
		json_object_set_new(a, "question_id", json_string(v));
	if ((v = rag_record_str(first, "tenant")) != NULL)
		json_object_set_new(a, "tenant", json_string(v));
	if ((v = rag_record_str(first, "collection")) != NULL)
		json_object_set_new(a, "collection", json_string(v));
	json_object_set_new(a, "model", json_string(model));
	return a;
}

/* Appends a sentence with its markers before its closing punctuation. */
static void
add_cited(struct rag_buf *b, const char *s, size_t len, const int *marks,
    size_t nmarks)
{
	size_t end = len;

	while (end > 0 && isspace((unsigned char)s[end - 1]))
		end--;
	if (end > 0 && strchr(".!?", s[end - 1]) != NULL && nmarks > 0)
		end--;
	if (b->len > 0)
		rag_buf_addc(b, ' ');
	rag_buf_add(b, s, end);
	if (nmarks > 0 && end > 0 && !isspace((unsigned char)s[end - 1]))
		rag_buf_addc(b, ' ');
	for (size_t i = 0; i < nmarks; i++)
		rag_buf_addf(b, "[%d]", marks[i]);
	rag_buf_add(b, s + end, len - end);
	while (b->len > 0 && isspace((unsigned char)b->data[b->len - 1]))
		b->len--;
	b->data[b->len] = '\0';
}

/* ---- extractive ----------------------------------------------------- */

static json_t *
extract(const char *question, const char *context, const json_t *hits,
    int max)
{
	json_t *a = new_answer(question, hits, "extractive");
	json_t *citations = json_array(), *sentences = json_array();
	struct keys q = { NULL, 0, 0 }, c = { NULL, 0, 0 };
	struct sents ss = { NULL, 0, 0 };
	struct rag_buf text = RAG_BUF_INIT;
	double *w = NULL, qmass = 0, best = 0;
	int *cite_of_hit, *nums, chosen = 0;
	size_t nhits = json_array_size(hits), words, nq;

	cite_of_hit = rag_xcalloc(nhits + 1, sizeof(*cite_of_hit));
	nums = hit_numbers(hits);
	keys_of(question, strlen(question), &q, &words);
	nq = q.n;
	/* The context's own words join the question's, weighing less. */
	if (context != NULL)
		keys_of(context, strlen(context), &c, &words);
	for (size_t i = 0; i < c.n; i++) {
		if (keys_has(&q, c.k[i]))
			continue;
		if (q.n == q.cap) {
			q.cap = q.cap ? 2 * q.cap : 16;
			q.k = rag_xrealloc(q.k, q.cap * sizeof(*q.k));
		}
		q.k[q.n++] = rag_xstrdup(c.k[i]);
	}
	keys_release(&c);
	for (size_t h = 0; h < nhits; h++) {
		const char *t = rag_record_str(json_array_get(hits, h), "text");

		if (t != NULL)
			split_hit(&ss, h, t);
	}
	/* Inverse sentence frequency of each word to cover. */
	w = rag_xcalloc(q.n + 1, sizeof(*w));
	for (size_t i = 0; i < q.n; i++) {
		size_t m = 0;

		for (size_t j = 0; j < ss.n; j++)
			m += keys_has(&ss.v[j].keys, q.k[i]);
		w[i] = m == 0 ? 0 : log(1 + ((double)ss.n - (double)m + 0.5) /
		    ((double)m + 0.5));
		if (i >= nq)
			w[i] /= CONTEXT_DISCOUNT;
		qmass += w[i];
	}
	for (size_t j = 0; j < ss.n && qmass > 0; j++) {
		double got = 0;

		for (size_t i = 0; i < q.n; i++)
			if (keys_has(&ss.v[j].keys, q.k[i]))
				got += w[i];
		ss.v[j].rel = got / qmass / (1 + RANK_DECAY *
		    (double)ss.v[j].hit);
		if (ss.v[j].rel > best)
			best = ss.v[j].rel;
	}
	while (chosen < max && best > 0) {
		struct sent *pick = NULL;
		double top = -INFINITY;

		for (size_t j = 0; j < ss.n; j++) {
			struct sent *s = &ss.v[j];
			double red = 0, mmr;

			if (s->used || s->rel < best / 2)
				continue;
			for (size_t k = 0; k < ss.n; k++) {
				struct sent *u = &ss.v[k];
				double sim;

				if (!u->used)
					continue;
				sim = (double)keys_common(&s->keys, &u->keys) /
				    sqrt((double)s->keys.n * (double)u->keys.n);
				if (sim > red)
					red = sim;
			}
			mmr = LAMBDA * s->rel - (1 - LAMBDA) * red;
			/* A near copy of a sentence said already adds nothing. */
			if (red > 0.8)
				continue;
			if (mmr > top) {
				top = mmr;
				pick = s;
			}
		}
		if (pick == NULL)
			break;
		pick->used = true;
		chosen++;
		if (cite_of_hit[pick->hit] == 0) {
			cite_of_hit[pick->hit] = nums[pick->hit];
			json_array_append_new(citations, citation_of(
			    json_array_get(hits, pick->hit),
			    cite_of_hit[pick->hit], pick->hit));
		}
		{
			int mark = cite_of_hit[pick->hit];
			struct rag_buf one = RAG_BUF_INIT;

			add_cited(&one, pick->s, pick->len, &mark, 1);
			add_cited(&text, pick->s, pick->len, &mark, 1);
			json_array_append_new(sentences, json_pack("{s:s, s:[i]}",
			    "text", rag_buf_str(&one), "citations", mark));
			rag_buf_release(&one);
		}
	}
	if (chosen == 0)
		rag_buf_adds(&text, nhits == 0 ? "The collection holds nothing "
		    "that matches the question." : "The passages found do not "
		    "answer the question.");
	json_object_set_new(a, "text", json_string(rag_buf_str(&text)));
	json_object_set_new(a, "answered", json_boolean(chosen > 0));
	json_object_set_new(a, "citations", citations);
	json_object_set_new(a, "sentences", sentences);
	for (size_t j = 0; j < ss.n; j++) {
		keys_release(&ss.v[j].keys);
		free(ss.v[j].s);
	}
	free(ss.v);
	keys_release(&q);
	free(w);
	free(cite_of_hit);
	free(nums);
	rag_buf_release(&text);
	return a;
}

/* ---- chat ----------------------------------------------------------- */

const char *
rag_answer_basename(const char *source)
{
	const char *slash;

	if (source == NULL)
		return "?";
	slash = strrchr(source, '/');
	return slash != NULL && slash[1] != '\0' ? slash + 1 : source;
}

static void
add_pages(struct rag_buf *b, const json_t *hit, const char *one,
    const char *many)
{
	long long ps = json_integer_value(json_object_get(hit, "page_start"));
	long long pe = json_integer_value(json_object_get(hit, "page_end"));

	if (ps <= 0)
		return;
	if (pe > ps)
		rag_buf_addf(b, "%s%lld-%lld", many, ps, pe);
	else
		rag_buf_addf(b, "%s%lld", one, ps);
}

void
rag_answer_sources(const json_t *hits, struct rag_buf *out)
{
	int *nums = hit_numbers(hits);
	size_t i;
	json_t *h;

	json_array_foreach(hits, i, h) {
		const char *text = rag_record_str(h, "text");

		rag_buf_addf(out, "[%d] source: %s", nums[i],
		    rag_answer_basename(rag_record_str(h, "source")));
		add_pages(out, h, ", page ", ", pages ");
		rag_buf_addf(out, "\n%s\n\n", text != NULL ? text : "");
	}
	free(nums);
}

/* Parses "[1]", "[1, 3]", "[2-4]" at s; returns its length or 0. */
static size_t
marker(const char *s, int *nums, size_t max, size_t *count)
{
	size_t i = 1;
	long prev = -1;
	bool range = false;

	*count = 0;
	if (s[0] != '[')
		return 0;
	for (;;) {
		char *end;
		long v;

		while (s[i] == ' ')
			i++;
		if (!isdigit((unsigned char)s[i]))
			return 0;
		v = strtol(s + i, &end, 10);
		if (end - (s + i) > 4)
			return 0;
		i = (size_t)(end - s);
		if (range && prev >= 0 && v >= prev && v - prev < 50) {
			for (long k = prev + 1; k <= v && *count < max; k++)
				nums[(*count)++] = (int)k;
		} else if (*count < max) {
			nums[(*count)++] = (int)v;
		}
		prev = v;
		range = false;
		while (s[i] == ' ')
			i++;
		if (s[i] == ']')
			return i + 1;
		if (s[i] == '-')
			range = true;
		else if (s[i] != ',' && s[i] != ';')
			return 0;
		i++;
	}
}

static bool
int_in(const json_t *arr, int v)
{
	size_t i;
	json_t *x;

	json_array_foreach(arr, i, x)
		if (json_integer_value(x) == v)
			return true;
	return false;
}

/*
 * Appends marker [n]: before the full stop it follows ("Bradfield.[2]"
 * becomes "Bradfield [2].") so that it stays with its sentence.
 */
static void
add_marker(struct rag_buf *b, int n)
{
	char stop = 0;

	if (b->len > 1 && strchr(".!?", b->data[b->len - 1]) != NULL &&
	    !isspace((unsigned char)b->data[b->len - 2])) {
		stop = b->data[b->len - 1];
		rag_buf_truncate(b, b->len - 1);
		if (b->data[b->len - 1] != ']')
			rag_buf_addc(b, ' ');
	}
	rag_buf_addf(b, "[%d]", n);
	if (stop != 0)
		rag_buf_addc(b, stop);
}

/* The distinct marker numbers in s[from, to). */
static json_t *
markers_in(const char *s, size_t from, size_t to)
{
	json_t *marks = json_array();

	for (size_t k = from; k < to; k++) {
		int nums[64];
		size_t count, ml = s[k] == '[' ? marker(s + k, nums, 64, &count) :
		    0;

		for (size_t x = 0; x < count && ml > 0; x++)
			if (!int_in(marks, nums[x]))
				json_array_append_new(marks,
				    json_integer(nums[x]));
		if (ml > 0)
			k += ml - 1;
	}
	return marks;
}

/*
 * Skips the whitespace and markers that open s[j, e); the markers go to
 * prev (the sentence before, when there is one), text and citations.
 * Returns where the sentence proper starts.
 */
static size_t
skip_markers(const char *s, size_t j, size_t e, json_t *prev)
{
	size_t p = j, ml, count, lead;
	int nums[64];

	while (p < e && isspace((unsigned char)s[p]))
		p++;
	lead = p;
	while (p < e && (ml = marker(s + p, nums, 64, &count)) > 0) {
		p += ml;
		while (p < e && isspace((unsigned char)s[p]))
			p++;
	}
	if (p > lead && prev != NULL) {
		json_t *pm = json_object_get(prev, "citations");
		json_t *marks = markers_in(s, lead, p);
		struct rag_buf t = RAG_BUF_INIT;
		size_t x, end = p;
		json_t *v;

		json_array_foreach(marks, x, v)
			if (!int_in(pm, (int)json_integer_value(v)))
				json_array_append(pm, v);
		while (end > lead && isspace((unsigned char)s[end - 1]))
			end--;
		rag_buf_addf(&t, "%s %.*s", rag_record_str(prev, "text"),
		    (int)(end - lead), s + lead);
		json_object_set_new(prev, "text", json_string(rag_buf_str(&t)));
		rag_buf_release(&t);
		json_decref(marks);
	}
	return prev != NULL ? p : lead;
}

void
rag_answer_cite(json_t *a, const char *reply, const json_t *hits)
{
	size_t nhits = json_array_size(hits), len = strlen(reply);
	struct rag_buf text = RAG_BUF_INIT;
	json_t *citations = json_array(), *invalid = json_array();
	json_t *sentences = json_array();
	bool *seen = rag_xcalloc(nhits + 1, sizeof(*seen));
	int *nums = hit_numbers(hits);
	size_t i = 0;

	/* Markers: keep those that name a hit, drop the others. */
	while (i < len) {
		int got[64];
		size_t count, ml = reply[i] == '[' ?
		    marker(reply + i, got, 64, &count) : 0;
		bool kept = false;

		if (ml == 0) {
			rag_buf_addc(&text, reply[i++]);
			continue;
		}
		for (size_t k = 0; k < count; k++) {
			int n = got[k];
			ssize_t at = hit_of(nums, nhits, n);

			if (at < 0) {
				if (!int_in(invalid, n))
					json_array_append_new(invalid,
					    json_integer(n));
				continue;
			}
			if (!seen[at]) {
				seen[at] = true;
				json_array_append_new(citations, citation_of(
				    json_array_get(hits, (size_t)at), n,
				    (size_t)at));
			}
			add_marker(&text, n);
			kept = true;
		}
		/* A marker that named nothing takes its space with it. */
		if (!kept && text.len > 0 && text.data[text.len - 1] == ' ')
			rag_buf_truncate(&text, text.len - 1);
		i += ml;
	}
	/* Sentences, each with the markers inside it; markers that open a
	 * sentence ("... frame. [1] Next") belong to the one before. */
	for (size_t j = 0, n = text.len; j < n;) {
		size_t e = rag_sentence_end(text.data, n, j), p, end;
		json_t *prev = json_array_size(sentences) > 0 ?
		    json_array_get(sentences, json_array_size(sentences) - 1) :
		    NULL;

		p = skip_markers(text.data, j, e, prev);
		for (end = e; end > p && isspace((unsigned char)
		    text.data[end - 1]);)
			end--;
		if (end > p)
			json_array_append_new(sentences, json_pack("{s:s%, s:o}",
			    "text", text.data + p, end - p, "citations",
			    markers_in(text.data, p, end)));
		j = e;
	}
	{
		size_t end = text.len;

		while (end > 0 && isspace((unsigned char)text.data[end - 1]))
			end--;
		rag_buf_truncate(&text, end);
	}
	json_object_set_new(a, "text", json_string(rag_buf_str(&text)));
	json_object_set_new(a, "citations", citations);
	json_object_set_new(a, "sentences", sentences);
	if (json_array_size(invalid) > 0)
		json_object_set_new(a, "invalid_citations", invalid);
	else
		json_decref(invalid);
	free(seen);
	free(nums);
	rag_buf_release(&text);
}

/*
 * A streamed reply on its way to the caller's stream fn, held back from
 * a '[' until the marker it opens ends, so that a marker that names no
 * hit is never shown (with the space before it); and rendered "[1][3]",
 * as the record has it.
 */
struct filter {
	rag_chat_stream_fn fn;
	void *arg;
	struct rag_buf held;
	const int *nums;
	size_t nhits;
};

/* 1: a whole marker at s (its length in *len); 0: none; -1: not yet known. */
static int
marker_at(const char *s, size_t n, size_t *len)
{
	int got[64];
	size_t count, i;

	if ((*len = marker(s, got, 64, &count)) > 0)
		return 1;
	for (i = 1; i < n; i++)
		if (!isdigit((unsigned char)s[i]) && strchr(" ,;-", s[i]) == NULL)
			return 0;
	return n < 32 ? -1 : 0;
}

static void
filter_emit(struct filter *f, size_t upto)
{
	if (f->held.data == NULL)
		return;
	if (upto > 0)
		f->fn(f->held.data, upto, false, f->arg);
	memmove(f->held.data, f->held.data + upto, f->held.len - upto + 1);
	f->held.len -= upto;
}

static void
filter_run(struct filter *f, bool end)
{
	for (;;) {
		char *b = f->held.len > 0 ? memchr(f->held.data, '[',
		    f->held.len) : NULL;
		size_t p, ws, len;
		int state;

		if (b == NULL) {
			/* Trailing spaces wait: an invalid marker may follow. */
			for (ws = f->held.len; !end && ws > 0 &&
			    f->held.data[ws - 1] == ' ';)
				ws--;
			filter_emit(f, ws);
			return;
		}
		p = (size_t)(b - f->held.data);
		for (ws = p; ws > 0 && f->held.data[ws - 1] == ' ';)
			ws--;
		filter_emit(f, ws);
		p -= ws;
		state = marker_at(f->held.data + p, f->held.len - p, &len);
		if (state < 0 && !end)
			return;
		if (state <= 0) {
			filter_emit(f, p + 1);
			continue;
		}
		{
			struct rag_buf out = RAG_BUF_INIT;
			int got[64];
			size_t count;

			marker(f->held.data + p, got, 64, &count);
			for (size_t k = 0; k < count; k++)
				if (hit_of(f->nums, f->nhits, got[k]) >= 0)
					rag_buf_addf(&out, "[%d]", got[k]);
			if (out.len > 0) {
				f->fn(f->held.data, p, false, f->arg);
				f->fn(out.data, out.len, false, f->arg);
			}
			rag_buf_release(&out);
			memmove(f->held.data, f->held.data + p + len,
			    f->held.len - p - len + 1);
			f->held.len -= p + len;
		}
	}
}

static void
filter_piece(const char *text, size_t len, bool restart, void *arg)
{
	struct filter *f = arg;

	if (restart) {
		rag_buf_reset(&f->held);
		f->fn(NULL, 0, true, f->arg);
		return;
	}
	rag_buf_add(&f->held, text, len);
	filter_run(f, false);
}

static json_t *
ask_chat(const char *question, const json_t *hits,
    const struct rag_answer_opts *o, struct rag_error *err)
{
	json_t *messages = json_array(), *a = NULL;
	struct rag_buf user = RAG_BUF_INIT;
	char *reply;
	size_t i;
	json_t *m;

	json_array_append_new(messages, json_pack("{s:s, s:s}", "role",
	    "system", "content", o->prompt != NULL ? o->prompt :
	    rag_answer_default_prompt));
	if (o->history != NULL)
		json_array_foreach(o->history, i, m)
			json_array_append_new(messages, json_pack("{s:O, s:O}",
			    "role", json_object_get(m, "role"), "content",
			    json_object_get(m, "content")));
	rag_buf_adds(&user, "Sources:\n\n");
	if (json_array_size(hits) == 0)
		rag_buf_adds(&user, "(none: the search found nothing)\n\n");
	rag_answer_sources(hits, &user);
	rag_buf_addf(&user, "Question: %s", question);
	json_array_append_new(messages, json_pack("{s:s, s:s}", "role", "user",
	    "content", rag_buf_str(&user)));
	if (o->stream != NULL) {
		struct filter f = { o->stream, o->stream_arg, RAG_BUF_INIT,
			NULL, json_array_size(hits) };
		int *nums = hit_numbers(hits);

		f.nums = nums;
		reply = rag_chat_complete(o->chat, messages, filter_piece, &f,
		    err);
		if (reply != NULL)
			filter_run(&f, true);
		rag_buf_release(&f.held);
		free(nums);
	} else {
		reply = rag_chat_complete(o->chat, messages, NULL, NULL, err);
	}
	if (reply != NULL) {
		a = new_answer(question, hits, rag_chat_model(o->chat));
		rag_answer_cite(a, reply, hits);
		json_object_set_new(a, "answered", json_boolean(json_array_size(
		    json_object_get(a, "citations")) > 0));
		free(reply);
	}
	json_decref(messages);
	rag_buf_release(&user);
	return a;
}

json_t *
rag_answer_new(const char *question, const json_t *hits,
    const struct rag_answer_opts *o, struct rag_error *err)
{
	if (o->chat != NULL)
		return ask_chat(question, hits, o, err);
	return extract(question, o->context, hits, o->sentences > 0 ?
	    o->sentences :
	    RAG_ANSWER_SENTENCES);
}

/* ---- for people ----------------------------------------------------- */

void
rag_answer_print(const json_t *a, bool color, bool with_text,
    struct rag_buf *out)
{
	const json_t *cites = json_object_get(a, "citations");
	const json_t *unsup = json_object_get(a, "unsupported");
	const json_t *grounded = json_object_get(a, "grounded");
	size_t i;
	json_t *c;

	if (with_text || json_is_true(json_object_get(a, "refused")))
		rag_buf_addf(out, "%s%s\n", with_text ? "" : "\n\n",
		    rag_record_str(a, "text"));
	else
		rag_buf_addc(out, '\n');	/* the streamed text's line */
	if (json_array_size(cites) > 0)
		rag_buf_addc(out, '\n');
	json_array_foreach(cites, i, c) {
		const char *sec = rag_record_str(c, "section");

		rag_buf_addf(out, "%s[%lld]%s %s", color ? "\033[1m" : "",
		    (long long)json_integer_value(json_object_get(c, "n")),
		    color ? "\033[0m" : "",
		    rag_answer_basename(rag_record_str(c, "source")));
		add_pages(out, c, ", p. ", ", pp. ");
		if (sec != NULL)
			rag_buf_addf(out, " (%s)", sec);
		rag_buf_addc(out, '\n');
	}
	if (json_array_size(json_object_get(a, "invalid_citations")) > 0)
		rag_buf_addf(out, "(removed %zu citation%s that named no "
		    "source)\n", json_array_size(json_object_get(a,
		    "invalid_citations")), json_array_size(json_object_get(a,
		    "invalid_citations")) == 1 ? "" : "s");
	if (json_is_true(grounded)) {
		rag_buf_adds(out, "\nchecked: every sentence is supported by "
		    "the sources it cites\n");
	} else if (json_is_false(grounded)) {
		const json_t *lack = json_object_get(a, "question_missing");

		rag_buf_adds(out, "\n");
		if (json_array_size(unsup) > 0) {
			rag_buf_addf(out, "%schecked: %zu sentence%s not "
			    "supported by the sources it cites:%s\n",
			    color ? "\033[1m" : "", json_array_size(unsup),
			    json_array_size(unsup) == 1 ? " is" : "s are",
			    color ? "\033[0m" : "");
			json_array_foreach(unsup, i, c)
				rag_buf_addf(out, "  - %s\n",
				    json_string_value(c));
		}
		if (json_is_false(json_object_get(a, "on_question"))) {
			rag_buf_addf(out, "%schecked: the sources found do not "
			    "answer the question%s", color ? "\033[1m" : "",
			    color ? "\033[0m" : "");
			json_array_foreach(lack, i, c)
				rag_buf_addf(out, "%s'%s'", i == 0 ? ": they lack "
				    : ", ", json_string_value(c));
			rag_buf_addc(out, '\n');
		}
	}
}
