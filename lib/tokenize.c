/*
 * The BM25 terms of a text (see tokenize.h): utf8proc normalises and
 * classifies, Snowball (libstemmer) stems, Snowball's lists stop.
 *
 * Scripts written without spaces give character pairs rather than
 * dictionary words, as Lucene's CJK analyzer does: a question's pairs
 * find the chunks that hold them, however a dictionary would have cut
 * the word.  Measured against ICU's dictionary words on 20 Chinese and 20
 * Japanese questions (tests/bench/cjk-segment.sh): pairs rank the right
 * page first for 95 % and 85 % of them, ICU for 85 % and 70 % (it cuts
 * unknown katakana loanwords one way in a page and another in a
 * question); pairs cost 2.5 times the distinct terms.  ICU would also add
 * 1.1 ms to every start of every tool that reads a question (2.2 ms when
 * it loads its CJK dictionary), on a process that starts in 4.4 ms.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <libstemmer.h>
#include <utf8proc.h>

#include "buf.h"
#include "mem.h"
#include "stopwords.h"
#include "tokenize.h"
#include "utf8.h"

/* Longer words are dropped (they still take a position). */
#define WORD_MAX	255

/*
 * Words already seen and what they gave (a stem, or nothing for a stop
 * word): a text repeats its words, and a stem costs a Snowball run and a
 * stop-list search; a memo entry costs a hash and a compare.  Emptied
 * when three quarters full.
 */
#define MEMO_SLOTS	8192

struct memo {
	uint32_t hash;
	uint32_t woff, wlen;	/* the word, in memo_text */
	uint32_t soff, slen;	/* its term; slen 0: a stop word */
	bool used;
};

struct rag_tokenizer {
	char *language;
	struct sb_stemmer *stemmer;	/* NULL for "simple" */
	const struct rag_stoplist *stop;
	const struct rag_stoplist *also[8];	/* more words to drop */
	size_t nalso;
	struct rag_buf norm;		/* the normalised text */
	struct rag_buf word;		/* a word, NUL-terminated */
	size_t *cut;			/* a hyphenated word's parts: start
					   and end of each, in pairs */
	size_t ncut, cutcap;
	struct rag_buf whole;		/* its parts joined by '-' */
	int pos;
	size_t nterms;
	struct memo *memo;
	size_t nmemo;
	struct rag_buf memo_text;
	rag_term_fn fn;
	void *arg;
};

enum cls {
	SEP,		/* ends a word */
	WORD,		/* letter, mark or digit */
	DIGIT,		/* an ASCII digit (a WORD too) */
	HYPHEN,		/* joins two words into a hyphenated one */
	POINT,		/* joins two digits */
	NOSPACE		/* a character of a script written without spaces */
};

const char *const *
rag_tokenizer_languages(void)
{
	static const char *const *list;

	if (list == NULL)
		list = sb_stemmer_list();
	return list;
}

struct rag_tokenizer *
rag_tokenizer_new(const char *language, struct rag_error *err)
{
	struct rag_tokenizer *t = rag_xcalloc(1, sizeof(*t));

	t->language = rag_xstrdup(language);
	if (strcmp(language, "simple") != 0) {
		/* "porter" is Snowball's older English stemmer: not offered. */
		if (strcmp(language, "porter") != 0)
			t->stemmer = sb_stemmer_new(language, "UTF_8");
		if (t->stemmer == NULL) {
			rag_error_set(err, RAG_EXIT_USAGE, "no stemmer for "
			    "the language '%s': name one of Snowball's, such "
			    "as english, german, french, spanish, russian, "
			    "arabic (rag-index(1), Languages), or simple",
			    language);
			rag_tokenizer_free(t);
			return NULL;
		}
		t->stop = rag_stoplist(language);
	}
	return t;
}

void
rag_tokenizer_free(struct rag_tokenizer *t)
{
	if (t == NULL)
		return;
	if (t->stemmer != NULL)
		sb_stemmer_delete(t->stemmer);
	rag_buf_release(&t->norm);
	rag_buf_release(&t->word);
	rag_buf_release(&t->whole);
	rag_buf_release(&t->memo_text);
	free(t->memo);
	free(t->cut);
	free(t->language);
	free(t);
}

void
rag_tokenizer_stop_also(struct rag_tokenizer *t, const char *language)
{
	const struct rag_stoplist *l = rag_stoplist(language);

	if (l == NULL || l == t->stop || t->nalso == sizeof(t->also) /
	    sizeof(t->also[0]))
		return;
	for (size_t i = 0; i < t->nalso; i++)
		if (t->also[i] == l)
			return;
	t->also[t->nalso++] = l;
	/* What the memo says of a word may have changed. */
	if (t->memo != NULL)
		memset(t->memo, 0, MEMO_SLOTS * sizeof(*t->memo));
	rag_buf_reset(&t->memo_text);
	t->nmemo = 0;
}

const char *
rag_tokenizer_language(const struct rag_tokenizer *t)
{
	return t->language;
}

static bool
nospace(int32_t c)
{
	return (c >= 0x0e00 && c <= 0x0eff) ||	/* Thai, Lao */
	    (c >= 0x1000 && c <= 0x109f) ||	/* Myanmar */
	    (c >= 0x1780 && c <= 0x17ff) ||	/* Khmer */
	    (c >= 0x19e0 && c <= 0x19ff) ||	/* Khmer symbols */
	    (c >= 0x3005 && c <= 0x3007) ||	/* 々 〆 〇 */
	    (c >= 0x3040 && c <= 0x30ff) ||	/* kana */
	    (c >= 0x31f0 && c <= 0x31ff) ||	/* kana extension */
	    (c >= 0x3400 && c <= 0x4dbf) ||	/* Han, extension A */
	    (c >= 0x4e00 && c <= 0x9fff) ||	/* Han */
	    (c >= 0xf900 && c <= 0xfaff) ||	/* Han compatibility */
	    (c >= 0x20000 && c <= 0x3134f);	/* Han, extensions B-G */
}

static enum cls
classify(int32_t c)
{
	if (c < 0x80) {
		if (c >= '0' && c <= '9')
			return DIGIT;
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
			return WORD;
		return c == '-' ? HYPHEN : c == '.' ? POINT : SEP;
	}
	if (nospace(c))
		return NOSPACE;
	if (c == 0x2010)	/* NFKC leaves this hyphen */
		return HYPHEN;
	return rag_utf8_is_wordchar(c) ? WORD : SEP;
}

/*
 * text in normal form into t->norm: ASCII lowercased as it is, the rest
 * through utf8proc (NFKC, case folded, ignorables dropped), invalid
 * bytes turned into spaces first.
 */
static void
normalise(struct rag_tokenizer *t, const char *text, size_t len)
{
	size_t i, n;
	bool ascii = true;
	int32_t c;
	utf8proc_uint8_t *out = NULL;
	utf8proc_ssize_t r;

	rag_buf_reset(&t->norm);
	for (i = 0; i < len && ascii; i++)
		ascii = (unsigned char)text[i] < 0x80 && text[i] != '\0';
	if (ascii) {
		for (i = 0; i < len; i++) {
			c = (unsigned char)text[i];
			rag_buf_addc(&t->norm, (char)(c >= 'A' && c <= 'Z' ?
			    c + 32 : c));
		}
		return;
	}
	/* Valid UTF-8 without NULs, which utf8proc_map reads to. */
	for (i = 0; i < len; i += n) {
		n = rag_utf8_char(text + i, len - i, &c);
		if (c == ' ' && text[i] != ' ')
			rag_buf_addc(&t->norm, ' ');
		else if (c == 0)
			rag_buf_addc(&t->norm, ' ');
		else
			rag_buf_add(&t->norm, text + i, n);
	}
	rag_buf_addc(&t->norm, '\0');
	r = utf8proc_map((const utf8proc_uint8_t *)t->norm.data, 0, &out,
	    UTF8PROC_NULLTERM | UTF8PROC_STABLE | UTF8PROC_COMPOSE |
	    UTF8PROC_COMPAT | UTF8PROC_CASEFOLD | UTF8PROC_IGNORE);
	if (r < 0) {
		/* Only out of memory is left: keep the text as it is. */
		t->norm.len--;
		return;
	}
	rag_buf_reset(&t->norm);
	rag_buf_add(&t->norm, (const char *)out, (size_t)r);
	free(out);
}

static void
emit(struct rag_tokenizer *t, const char *term, size_t len, int pos)
{
	t->nterms++;
	t->fn(t->arg, term, len, pos);
}

static bool
has_letter(const char *w, size_t n)
{
	size_t i, len;
	int32_t c;

	for (i = 0; i < n; i += len) {
		len = rag_utf8_char(w + i, n - i, &c);
		if (c >= 0x80 ? utf8proc_category(c) <= UTF8PROC_CATEGORY_LO &&
		    utf8proc_category(c) >= UTF8PROC_CATEGORY_LU :
		    (c >= 'a' && c <= 'z'))
			return true;
	}
	return false;
}

/* FNV-1a. */
static uint32_t
hash(const char *w, size_t n)
{
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)w[i]) * 16777619u;
	return h;
}

/* The memo's slot for w: its entry, or the empty slot it would take. */
static struct memo *
memo_slot(struct rag_tokenizer *t, const char *w, size_t n, uint32_t h)
{
	size_t i = h & (MEMO_SLOTS - 1);
	struct memo *m;

	if (t->memo == NULL)
		t->memo = rag_xcalloc(MEMO_SLOTS, sizeof(*t->memo));
	for (;; i = (i + 1) & (MEMO_SLOTS - 1)) {
		m = &t->memo[i];
		if (!m->used || (m->hash == h && m->wlen == n &&
		    memcmp(t->memo_text.data + m->woff, w, n) == 0))
			return m;
	}
}

/* What w gives: term[0, *len), or NULL for a stop word. */
static const char *
stem(struct rag_tokenizer *t, const char *w, size_t n, size_t *len)
{
	const sb_symbol *s;

	rag_buf_reset(&t->word);
	rag_buf_add(&t->word, w, n);
	rag_buf_addc(&t->word, '\0');
	if (rag_stoplist_has(t->stop, t->word.data))
		return NULL;
	for (size_t i = 0; i < t->nalso; i++)
		if (rag_stoplist_has(t->also[i], t->word.data))
			return NULL;
	if (t->stemmer != NULL && has_letter(w, n)) {
		s = sb_stemmer_stem(t->stemmer, (const sb_symbol *)w, (int)n);
		if (s != NULL) {
			*len = (size_t)sb_stemmer_length(t->stemmer);
			return (const char *)s;
		}
	}
	*len = n;
	return w;
}

/* One word, w[0, n): dropped when a stop word, else stemmed and emitted. */
static void
word(struct rag_tokenizer *t, const char *w, size_t n)
{
	int pos = ++t->pos;
	uint32_t h;
	struct memo *m;
	const char *term;
	size_t len = 0;

	if (n > WORD_MAX)
		return;
	h = hash(w, n);
	m = memo_slot(t, w, n, h);
	if (!m->used) {
		if (t->nmemo >= MEMO_SLOTS / 4 * 3) {
			memset(t->memo, 0, MEMO_SLOTS * sizeof(*t->memo));
			rag_buf_reset(&t->memo_text);
			t->nmemo = 0;
			m = memo_slot(t, w, n, h);
		}
		term = stem(t, w, n, &len);
		m->used = true;
		m->hash = h;
		m->woff = (uint32_t)t->memo_text.len;
		m->wlen = (uint32_t)n;
		rag_buf_add(&t->memo_text, w, n);
		m->soff = (uint32_t)t->memo_text.len;
		m->slen = term != NULL ? (uint32_t)len : 0;
		if (term != NULL)
			rag_buf_add(&t->memo_text, term, len);
		t->nmemo++;
	}
	if (m->slen > 0)
		emit(t, t->memo_text.data + m->soff, m->slen, pos);
}

/*
 * A word, its parts at w + t->cut[2i] to w + t->cut[2i + 1]: when there
 * are several (it was hyphenated), the parts joined by '-', then each.
 */
static void
group(struct rag_tokenizer *t, const char *w)
{
	size_t i;

	if (t->ncut > 2) {
		rag_buf_reset(&t->whole);
		for (i = 0; i < t->ncut; i += 2) {
			if (i > 0)
				rag_buf_addc(&t->whole, '-');
			rag_buf_add(&t->whole, w + t->cut[i],
			    t->cut[i + 1] - t->cut[i]);
		}
		word(t, t->whole.data, t->whole.len);
	}
	for (i = 0; i < t->ncut; i += 2)
		word(t, w + t->cut[i], t->cut[i + 1] - t->cut[i]);
}

static void
cut(struct rag_tokenizer *t, size_t at)
{
	if (t->ncut == t->cutcap) {
		t->cutcap = t->cutcap ? 2 * t->cutcap : 8;
		t->cut = rag_xrealloc(t->cut, t->cutcap * sizeof(*t->cut));
	}
	t->cut[t->ncut++] = at;
}

/* A run of characters of a script without spaces: pairs, or the one. */
static void
nospace_run(struct rag_tokenizer *t, const char *s, size_t n)
{
	size_t a = 0, b, c;
	int32_t ch;

	b = rag_utf8_char(s, n, &ch);
	if (b == n) {
		emit(t, s, n, ++t->pos);
		return;
	}
	while (b < n) {
		c = b + rag_utf8_char(s + b, n - b, &ch);
		emit(t, s + a, c - a, ++t->pos);
		a = b;
		b = c;
	}
}

size_t
rag_tokenize(struct rag_tokenizer *t, const char *text, size_t len,
    rag_term_fn fn, void *arg)
{
	const char *s;
	size_t n, i, l, start = 0, run = 0;
	int32_t c, next;
	enum cls k, prev = SEP, kn;
	bool inword = false, inrun = false;

	t->fn = fn;
	t->arg = arg;
	t->pos = 0;
	t->nterms = 0;
	normalise(t, text, len);
	s = t->norm.data;
	n = t->norm.len;
	t->ncut = 0;
	for (i = 0; i <= n; i += l) {
		if (i < n) {
			l = rag_utf8_char(s + i, n - i, &c);
			k = classify(c);
		} else {
			l = 1;
			k = SEP;
		}
		if (k != NOSPACE && inrun) {
			nospace_run(t, s + run, i - run);
			inrun = false;
		}
		if (k == WORD || k == DIGIT) {
			if (!inword) {
				inword = true;
				start = i;
				t->ncut = 0;
				cut(t, 0);
			}
			prev = k;
			continue;
		}
		/* A point between digits, a hyphen between words: inside. */
		if (inword && (k == POINT || k == HYPHEN) && i + l < n) {
			rag_utf8_char(s + i + l, n - i - l, &next);
			kn = classify(next);
			if ((k == POINT && prev == DIGIT && kn == DIGIT) ||
			    (k == HYPHEN && (kn == WORD || kn == DIGIT))) {
				if (k == HYPHEN) {
					cut(t, i - start);
					cut(t, i + l - start);
				}
				prev = k;
				continue;
			}
		}
		if (inword) {
			cut(t, i - start);
			group(t, s + start);
			inword = false;
		}
		if (k == NOSPACE && !inrun) {
			inrun = true;
			run = i;
		}
		prev = k;
	}
	return t->nterms;
}
