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

/* ---- sentences of the hits ------------------------------------------ */

struct sent {
	size_t hit;		/* 0-based */
	char *s;		/* its text, whitespace runs as one space */
	size_t len;
	struct rag_wordset keys;	/* its words but stop words */
	double rel;		/* how much of the question it covers */
	double red;		/* its overlap with the sentences chosen */
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
	if (len == 0 || islower((unsigned char)*s) || !rag_sentence_ends(s, len) ||
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
	words = rag_wordset_add(&t->keys, b.data, b.len, true);
	if (t->keys.n == 0 || !quotable(b.data, b.len, words)) {
		rag_wordset_release(&t->keys);
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
	}
	if (b->len > 0 && b->data[b->len - 1] != ']' &&
	    !isspace((unsigned char)b->data[b->len - 1]))
		rag_buf_addc(b, ' ');
	rag_buf_addf(b, "[%d]", n);
	if (stop != 0)
		rag_buf_addc(b, stop);
}

/* ---- extractive ----------------------------------------------------- */

/* A word to cover and what it weighs (its rarity among the sentences). */
struct term {
	const char *key;
	double w;
};

static json_t *
extract(const char *question, const char *context, const json_t *hits,
    int max)
{
	json_t *a = new_answer(question, hits, "extractive");
	json_t *citations = json_array(), *sentences = json_array();
	struct rag_wordset q = RAG_WORDSET_INIT, c = RAG_WORDSET_INIT;
	struct sents ss = { NULL, 0, 0 };
	struct rag_buf text = RAG_BUF_INIT;
	size_t nhits = json_array_size(hits), nt = 0;
	bool *cited = rag_xcalloc(nhits + 1, sizeof(*cited));
	int *nums = hit_numbers(hits), chosen = 0;
	double qmass = 0, best = 0;
	struct term *t;

	for (size_t h = 0; h < nhits; h++) {
		const char *s = rag_record_str(json_array_get(hits, h), "text");

		if (s != NULL)
			split_hit(&ss, h, s);
	}
	/* The question's words, then the context's own, weighing less. */
	rag_wordset_add(&q, question, strlen(question), true);
	if (context != NULL)
		rag_wordset_add(&c, context, strlen(context), true);
	t = rag_xcalloc(q.n + c.n + 1, sizeof(*t));
	for (size_t i = 0; i < q.n + c.n; i++) {
		const char *k = i < q.n ? q.k[i] : c.k[i - q.n];
		size_t m = 0;

		if (i >= q.n && rag_wordset_has(&q, k))
			continue;
		for (size_t j = 0; j < ss.n; j++)
			m += rag_wordset_has(&ss.v[j].keys, k);
		t[nt].key = k;
		t[nt].w = m == 0 ? 0 : log(1 + ((double)ss.n - (double)m +
		    0.5) / ((double)m + 0.5)) / (i >= q.n ? CONTEXT_DISCOUNT :
		    1);
		qmass += t[nt++].w;
	}
	for (size_t j = 0; j < ss.n && qmass > 0; j++) {
		double got = 0;

		for (size_t i = 0; i < nt; i++)
			if (rag_wordset_has(&ss.v[j].keys, t[i].key))
				got += t[i].w;
		ss.v[j].rel = got / qmass / (1 + RANK_DECAY *
		    (double)ss.v[j].hit);
		if (ss.v[j].rel > best)
			best = ss.v[j].rel;
	}
	/* Maximal marginal relevance, none below half the best. */
	while (chosen < max && best > 0) {
		struct sent *pick = NULL;
		struct rag_buf one = RAG_BUF_INIT;
		double top = -INFINITY;
		int mark;

		for (size_t j = 0; j < ss.n; j++) {
			struct sent *s = &ss.v[j];
			double mmr = LAMBDA * s->rel - (1 - LAMBDA) * s->red;

			/* A near copy of a sentence said already adds nothing. */
			if (s->used || s->rel < best / 2 || s->red > 0.8)
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
		for (size_t j = 0; j < ss.n; j++) {
			struct sent *s = &ss.v[j];
			double sim = (double)rag_wordset_common(&s->keys,
			    &pick->keys) / sqrt((double)s->keys.n *
			    (double)pick->keys.n);

			if (sim > s->red)
				s->red = sim;
		}
		mark = nums[pick->hit];
		if (!cited[pick->hit]) {
			cited[pick->hit] = true;
			json_array_append_new(citations, citation_of(
			    json_array_get(hits, pick->hit), mark, pick->hit));
		}
		rag_buf_add(&one, pick->s, pick->len);
		add_marker(&one, mark);
		json_array_append_new(sentences, json_pack("{s:s, s:[i]}",
		    "text", rag_buf_str(&one), "citations", mark));
		if (text.len > 0)
			rag_buf_addc(&text, ' ');
		rag_buf_add(&text, one.data, one.len);
		rag_buf_release(&one);
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
		rag_wordset_release(&ss.v[j].keys);
		free(ss.v[j].s);
	}
	free(ss.v);
	rag_wordset_release(&q);
	rag_wordset_release(&c);
	free(t);
	free(cited);
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

void
rag_answer_pages(struct rag_buf *b, const json_t *hit, const char *one,
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
		rag_answer_pages(out, h, ", page ", ", pages ");
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

/* The distinct marker numbers in s[from, to). */
static json_t *
markers_in(const char *s, size_t from, size_t to)
{
	json_t *marks = json_array();

	for (size_t k = from; k < to; k++) {
		int nums[64];
		size_t count = 0, ml = s[k] == '[' ?
		    marker(s + k, nums, 64, &count) : 0;

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

/*
 * A reply on its way to fn (the caller's stream fn, or a buffer), held
 * back from a '[' until the marker it opens ends, so that a marker that
 * names no hit is never passed on (nor the space before it: it goes to
 * invalid, when set); the others as "[1][3]".
 */
struct filter {
	rag_chat_stream_fn fn;
	void *arg;
	struct rag_buf held;
	const int *nums;
	size_t nhits;
	json_t *invalid;	/* the numbers that named no hit, or NULL */
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
				else if (f->invalid != NULL &&
				    !int_in(f->invalid, got[k]))
					json_array_append_new(f->invalid,
					    json_integer(got[k]));
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

static void
to_buf(const char *text, size_t len, bool restart, void *arg)
{
	if (!restart)
		rag_buf_add(arg, text, len);
}

void
rag_answer_cite(json_t *a, const char *reply, const json_t *hits)
{
	size_t nhits = json_array_size(hits);
	struct rag_buf clean = RAG_BUF_INIT, text = RAG_BUF_INIT;
	json_t *citations = json_array(), *invalid = json_array();
	json_t *sentences = json_array();
	bool *seen = rag_xcalloc(nhits + 1, sizeof(*seen));
	int *nums = hit_numbers(hits);
	struct filter f = { to_buf, &clean, RAG_BUF_INIT, nums, nhits,
		invalid };

	filter_piece(reply, strlen(reply), false, &f);
	filter_run(&f, true);
	rag_buf_release(&f.held);
	/* Each marker left names a hit: list it, and keep it before the
	 * full stop it follows. */
	for (size_t i = 0; i < clean.len;) {
		int got[64];
		size_t count, ml = clean.data[i] == '[' ?
		    marker(clean.data + i, got, 64, &count) : 0;

		if (ml == 0) {
			rag_buf_addc(&text, clean.data[i++]);
			continue;
		}
		for (size_t k = 0; k < count; k++) {
			size_t at = (size_t)hit_of(nums, nhits, got[k]);

			if (!seen[at]) {
				seen[at] = true;
				json_array_append_new(citations, citation_of(
				    json_array_get(hits, at), got[k], at));
			}
			add_marker(&text, got[k]);
		}
		i += ml;
	}
	rag_buf_release(&clean);
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

static json_t *
ask_chat(const char *question, const json_t *hits,
    const struct rag_answer_opts *o, struct rag_error *err)
{
	json_t *messages = json_array(), *a = NULL;
	struct rag_buf user = RAG_BUF_INIT;
	char *reply;

	json_array_append_new(messages, json_pack("{s:s, s:s}", "role",
	    "system", "content", o->prompt != NULL ? o->prompt :
	    rag_answer_default_prompt));
	if (o->history != NULL)
		json_array_extend(messages, (json_t *)o->history);
	rag_buf_adds(&user, "Sources:\n\n");
	if (json_array_size(hits) == 0)
		rag_buf_adds(&user, "(none: the search found nothing)\n\n");
	rag_answer_sources(hits, &user);
	rag_buf_addf(&user, "Question: %s", question);
	json_array_append_new(messages, json_pack("{s:s, s:s}", "role", "user",
	    "content", rag_buf_str(&user)));
	if (o->stream != NULL) {
		int *nums = hit_numbers(hits);
		struct filter f = { o->stream, o->stream_arg, RAG_BUF_INIT,
			nums, json_array_size(hits), NULL };

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
		rag_answer_pages(out, c, ", p. ", ", pp. ");
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
