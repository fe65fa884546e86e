#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <utf8proc.h>

#include "mem.h"
#include "utf8.h"
#include "words.h"

/*
 * NLTK's English stop words (without the apostrophe forms, as words are
 * split there), plus some function words it lacks; sorted for bsearch.
 */
static const char *const stop_words[] = {
	"a", "about", "above", "after", "again", "against", "ain", "al", "all",
	"also", "although", "am", "among", "an", "and", "any", "are", "aren",
	"as", "at", "be", "because", "been", "before", "being", "below",
	"between", "both", "but", "by", "can", "could", "couldn", "d", "did",
	"didn", "do", "does", "doesn", "doing", "don", "down", "during",
	"each", "et", "few", "for", "from", "further", "had", "hadn", "has",
	"hasn", "have", "haven", "having", "he", "her", "here", "hers",
	"herself", "him", "himself", "his", "how", "however", "i", "if", "in",
	"into", "is", "isn", "it", "its", "itself", "just", "ll", "m", "ma",
	"may", "me", "might", "mightn", "more", "most", "must", "mustn", "my",
	"myself", "needn", "no", "nor", "not", "now", "o", "of", "off", "on",
	"once", "only", "onto", "or", "other", "our", "ours", "ourselves",
	"out", "over", "own", "per", "re", "s", "same", "shall", "shan", "she",
	"should", "shouldn", "since", "so", "some", "such", "t", "than",
	"that", "the", "their", "theirs", "them", "themselves", "then",
	"there", "therefore", "these", "they", "this", "those", "though",
	"through", "thus", "to", "too", "under", "until", "up", "upon", "us",
	"ve", "very", "via", "was", "wasn", "we", "were", "weren", "what",
	"when", "where", "whether", "which", "while", "who", "whom", "why",
	"will", "with", "within", "without", "won", "would", "wouldn", "y",
	"yet", "you", "your", "yours", "yourself", "yourselves",
};

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static int
cmp_word(const void *key, const void *elem)
{
	return strcmp(key, *(const char *const *)elem);
}

bool
rag_word_is_stop(const char *w)
{
	return bsearch(w, stop_words, NELEM(stop_words), sizeof(stop_words[0]),
	    cmp_word) != NULL;
}

/*
 * Porter's stemmer (1980), after his reference C version, on a word of
 * ASCII lowercase letters b[0..k]; returns the new k.
 */
struct stem {
	char *b;
	int k, j;
};

static int
cons(const struct stem *z, int i)
{
	switch (z->b[i]) {
	case 'a': case 'e': case 'i': case 'o': case 'u':
		return 0;
	case 'y':
		return i == 0 ? 1 : !cons(z, i - 1);
	default:
		return 1;
	}
}

/* The number of vowel-consonant sequences in b[0..j]. */
static int
measure(const struct stem *z)
{
	int n = 0, i = 0;

	for (;;) {
		if (i > z->j)
			return n;
		if (!cons(z, i))
			break;
		i++;
	}
	i++;
	for (;;) {
		for (;;) {
			if (i > z->j)
				return n;
			if (cons(z, i))
				break;
			i++;
		}
		i++;
		n++;
		for (;;) {
			if (i > z->j)
				return n;
			if (!cons(z, i))
				break;
			i++;
		}
		i++;
	}
}

static int
vowel_in_stem(const struct stem *z)
{
	int i;

	for (i = 0; i <= z->j; i++)
		if (!cons(z, i))
			return 1;
	return 0;
}

static int
double_cons(const struct stem *z, int j)
{
	return j >= 1 && z->b[j] == z->b[j - 1] && cons(z, j);
}

/* Consonant-vowel-consonant ending at i, the last not w, x or y. */
static int
cvc(const struct stem *z, int i)
{
	char c;

	if (i < 2 || !cons(z, i) || cons(z, i - 1) || !cons(z, i - 2))
		return 0;
	c = z->b[i];
	return c != 'w' && c != 'x' && c != 'y';
}

static int
ends(struct stem *z, const char *s)
{
	int len = (int)strlen(s);

	if (s[len - 1] != z->b[z->k] || len > z->k + 1 ||
	    memcmp(z->b + z->k - len + 1, s, len) != 0)
		return 0;
	z->j = z->k - len;
	return 1;
}

static void
set_to(struct stem *z, const char *s)
{
	int len = (int)strlen(s);

	memmove(z->b + z->j + 1, s, len);
	z->k = z->j + len;
}

static void
replace(struct stem *z, const char *s)
{
	if (measure(z) > 0)
		set_to(z, s);
}

static void
step1ab(struct stem *z)
{
	if (z->b[z->k] == 's') {
		if (ends(z, "sses"))
			z->k -= 2;
		else if (ends(z, "ies"))
			set_to(z, "i");
		else if (z->b[z->k - 1] != 's')
			z->k--;
	}
	if (ends(z, "eed")) {
		if (measure(z) > 0)
			z->k--;
	} else if ((ends(z, "ed") || ends(z, "ing")) && vowel_in_stem(z)) {
		z->k = z->j;
		if (ends(z, "at"))
			set_to(z, "ate");
		else if (ends(z, "bl"))
			set_to(z, "ble");
		else if (ends(z, "iz"))
			set_to(z, "ize");
		else if (double_cons(z, z->k)) {
			char c = z->b[z->k];

			if (c != 'l' && c != 's' && c != 'z')
				z->k--;
		} else {
			z->j = z->k;
			if (measure(z) == 1 && cvc(z, z->k))
				set_to(z, "e");
		}
	}
}

static void
step1c(struct stem *z)
{
	if (ends(z, "y") && vowel_in_stem(z))
		z->b[z->k] = 'i';
}

struct rule {
	const char *from, *to;
};

/* Applies the first rule whose suffix matches, if the stem is long enough. */
static int
apply(struct stem *z, const struct rule *r)
{
	for (; r->from != NULL; r++)
		if (ends(z, r->from)) {
			replace(z, r->to);
			return 1;
		}
	return 0;
}

static void
step2(struct stem *z)
{
	static const struct rule rules[] = {
		{ "ational", "ate" }, { "tional", "tion" }, { "enci", "ence" },
		{ "anci", "ance" }, { "izer", "ize" }, { "bli", "ble" },
		{ "alli", "al" }, { "entli", "ent" }, { "eli", "e" },
		{ "ousli", "ous" }, { "ization", "ize" }, { "ation", "ate" },
		{ "ator", "ate" }, { "alism", "al" }, { "iveness", "ive" },
		{ "fulness", "ful" }, { "ousness", "ous" }, { "aliti", "al" },
		{ "iviti", "ive" }, { "biliti", "ble" }, { "logi", "log" },
		{ NULL, NULL }
	};

	apply(z, rules);
}

static void
step3(struct stem *z)
{
	static const struct rule rules[] = {
		{ "icate", "ic" }, { "ative", "" }, { "alize", "al" },
		{ "iciti", "ic" }, { "ical", "ic" }, { "ful", "" },
		{ "ness", "" }, { NULL, NULL }
	};

	apply(z, rules);
}

static void
step4(struct stem *z)
{
	static const char *const suffixes[] = {
		"al", "ance", "ence", "er", "ic", "able", "ible", "ant",
		"ement", "ment", "ent", "ou", "ism", "ate", "iti", "ous",
		"ive", "ize", NULL
	};
	size_t i;

	for (i = 0; suffixes[i] != NULL; i++)
		if (ends(z, suffixes[i]))
			goto found;
	if (!ends(z, "ion") || z->j < 0 ||
	    (z->b[z->j] != 's' && z->b[z->j] != 't'))
		return;
found:
	if (measure(z) > 1)
		z->k = z->j;
}

static void
step5(struct stem *z)
{
	z->j = z->k;
	if (z->b[z->k] == 'e') {
		int a = measure(z);

		if (a > 1 || (a == 1 && !cvc(z, z->k - 1)))
			z->k--;
	}
	/* Porter's measure here is still over the word before step 5a. */
	if (z->b[z->k] == 'l' && double_cons(z, z->k) && measure(z) > 1)
		z->k--;
}

size_t
rag_word_stem(char *w, size_t n)
{
	struct stem z = { w, (int)n - 1, 0 };

	if (n <= 2)
		return n;
	step1ab(&z);
	if (z.k > 0) {
		step1c(&z);
		step2(&z);
		step3(&z);
		step4(&z);
		step5(&z);
	}
	w[z.k + 1] = '\0';
	return (size_t)z.k + 1;
}

static bool
word_char(int32_t c)
{
	if (c < 0)
		return false;
	if (c < 0x80)
		return isalnum(c) != 0;
	return rag_utf8_is_wordchar(c);
}

/* Joins inside a number: 3.5, 1,000, 12:30, 2024-01-02, 1/2. */
static bool
number_joiner(const char *t, size_t len, size_t i)
{
	return i > 0 && i + 1 < len && strchr(".,:/-", t[i]) != NULL &&
	    isdigit((unsigned char)t[i - 1]) && isdigit((unsigned char)t[i + 1]);
}

bool
rag_words_next(const char *t, size_t len, size_t *pos, struct rag_word *w,
    struct rag_buf *scratch)
{
	size_t i = *pos, start, k;
	bool ascii = true, digits = true;
	int32_t c;

	/* Skip to a word. */
	while (i < len) {
		c = rag_utf8_decode(t + i, len - i, &k);
		if (word_char(c))
			break;
		i += k;
	}
	if (i >= len) {
		*pos = len;
		return false;
	}
	start = i;
	while (i < len) {
		c = rag_utf8_decode(t + i, len - i, &k);
		if (!word_char(c)) {
			if (!(digits && number_joiner(t, len, i)))
				break;
			i += k;
			continue;
		}
		if (c >= 0x80 || !isdigit(c))
			digits = false;
		if (c >= 0x80)
			ascii = false;
		i += k;
	}
	*pos = i;
	w->off = start;
	w->len = i - start;
	w->number = digits;
	w->capital = isupper((unsigned char)t[start]) != 0 ||
	    (!ascii && utf8proc_category(rag_utf8_decode(t + start, len - start, &k)) ==
	    UTF8PROC_CATEGORY_LU);
	rag_buf_reset(scratch);
	if (digits) {
		/* "1,000.5" is 1000.5, as "1000.5" is. */
		for (size_t j = start; j < i; j++)
			if (t[j] != ',')
				rag_buf_addc(scratch, t[j]);
	} else if (ascii) {
		for (size_t j = start; j < i; j++)
			rag_buf_addc(scratch, (char)tolower((unsigned char)t[j]));
	} else {
		utf8proc_uint8_t *dst = NULL;
		utf8proc_ssize_t n = utf8proc_map((const utf8proc_uint8_t *)t +
		    start, (utf8proc_ssize_t)(i - start), &dst,
		    UTF8PROC_STABLE | UTF8PROC_COMPAT | UTF8PROC_COMPOSE |
		    UTF8PROC_IGNORE | UTF8PROC_CASEFOLD | UTF8PROC_STRIPMARK);

		if (n > 0)
			rag_buf_add(scratch, dst, (size_t)n);
		else
			rag_buf_add(scratch, t + start, i - start);
		free(dst);
	}
	w->stop = rag_word_is_stop(rag_buf_str(scratch));
	if (!w->stop && !w->number && scratch->len <= RAG_WORD_STEM_MAX) {
		bool letters = true;

		for (size_t j = 0; j < scratch->len; j++)
			if (scratch->data[j] < 'a' || scratch->data[j] > 'z')
				letters = false;
		if (letters)
			scratch->len = rag_word_stem(scratch->data,
			    scratch->len);
	}
	w->key = rag_buf_str(scratch);
	w->keylen = scratch->len;
	return true;
}

static int
cmp_key(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

size_t
rag_wordset_add(struct rag_wordset *ws, const char *text, size_t len,
    bool skip_stop)
{
	struct rag_buf scratch = RAG_BUF_INIT;
	struct rag_word w;
	size_t pos = 0, words = 0, j = 0;

	while (rag_words_next(text, len, &pos, &w, &scratch)) {
		words++;
		if (skip_stop && w.stop)
			continue;
		if (ws->n == ws->cap) {
			ws->cap = ws->cap ? 2 * ws->cap : 32;
			ws->k = rag_xrealloc(ws->k, ws->cap * sizeof(*ws->k));
		}
		ws->k[ws->n++] = rag_xstrndup(w.key, w.keylen);
	}
	rag_buf_release(&scratch);
	if (ws->n == 0)
		return words;
	qsort(ws->k, ws->n, sizeof(*ws->k), cmp_key);
	for (size_t i = 1; i < ws->n; i++) {
		if (strcmp(ws->k[i], ws->k[j]) == 0) {
			free(ws->k[i]);
			continue;
		}
		ws->k[++j] = ws->k[i];
	}
	ws->n = j + 1;
	return words;
}

bool
rag_wordset_has(const struct rag_wordset *ws, const char *key)
{
	return ws->n > 0 && bsearch(&key, ws->k, ws->n, sizeof(*ws->k),
	    cmp_key) != NULL;
}

size_t
rag_wordset_common(const struct rag_wordset *a, const struct rag_wordset *b)
{
	size_t i = 0, j = 0, n = 0;

	while (i < a->n && j < b->n) {
		int c = strcmp(a->k[i], b->k[j]);

		n += c == 0;
		i += c <= 0;
		j += c >= 0;
	}
	return n;
}

void
rag_wordset_release(struct rag_wordset *ws)
{
	for (size_t i = 0; i < ws->n; i++)
		free(ws->k[i]);
	free(ws->k);
	memset(ws, 0, sizeof(*ws));
}
