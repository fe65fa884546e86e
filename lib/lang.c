/*
 * Language detection, and the map from ISO 639 codes to Snowball's
 * stemmers.
 *
 * A page's language is guessed cheaply first: its script names the
 * language when one language writes it here (Han, kana, Hangul, Hebrew,
 * Greek, Thai); for Latin and Cyrillic text, the stop words of Snowball's
 * lists vote (a page of prose holds dozens).  libexttextcat (Cavnar and
 * Trenkle's n-gram ranks, as LibreOffice uses it) decides the rest: short
 * or mixed text, Arabic script, languages without a stop list.  It costs
 * about 0.5 ms a call and 30 ms to load: on a 1158-page manual, calling it
 * on every page would add a third to rag-parse's time.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <libexttextcat/textcat.h>
#include <utf8proc.h>

#include "lang.h"
#include "stopwords.h"
#include "utf8.h"

#ifndef RAG_TEXTCAT_DIR
#define RAG_TEXTCAT_DIR "/usr/share/libexttextcat/"
#endif
/* Enough text to tell languages apart; more only costs time. */
#define SAMPLE_MAX 4096
#define GUESS_MAX 2048
/* Fewer letters than this: no language. */
#define LETTERS_MIN 16
/* Stop words a vote needs, and its lead over the next language. */
#define VOTES_MIN 4
#define VOTES_LEAD 1.5
/* Latin or Cyrillic text the vote leaves open goes to textcat with this
 * many words at least. */
#define WORDS_MIN 40

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static void *handle;
static int loaded;

/* ISO 639 code and Snowball's name, for every stemmer Snowball has. */
static const struct {
	const char *iso, *snowball;
} stemmers[] = {
	{ "ar", "arabic" }, { "hy", "armenian" }, { "eu", "basque" },
	{ "ca", "catalan" }, { "da", "danish" }, { "nl", "dutch" },
	{ "en", "english" }, { "fi", "finnish" }, { "fr", "french" },
	{ "de", "german" }, { "el", "greek" }, { "hi", "hindi" },
	{ "hu", "hungarian" }, { "id", "indonesian" }, { "ga", "irish" },
	{ "it", "italian" }, { "lt", "lithuanian" }, { "ne", "nepali" },
	{ "nb", "norwegian" }, { "nn", "norwegian" }, { "no", "norwegian" },
	{ "pt", "portuguese" }, { "ro", "romanian" }, { "ru", "russian" },
	{ "sr", "serbian" }, { "es", "spanish" }, { "sv", "swedish" },
	{ "ta", "tamil" }, { "tr", "turkish" }, { "yi", "yiddish" },
};

const char *
rag_lang_stemmer(const char *lang)
{
	size_t i;

	for (i = 0; i < sizeof(stemmers) / sizeof(stemmers[0]); i++)
		if (strcmp(lang, stemmers[i].iso) == 0 ||
		    strcmp(lang, stemmers[i].snowball) == 0)
			return stemmers[i].snowball;
	return "simple";
}

/*
 * The first category of textcat's answer, "[en--utf8][de--utf8]", as a
 * code: the letters before its first '-'.  A static copy of each code
 * seen, so the pointer stays valid.
 */
static const char *
first_code(const char *r)
{
	static char codes[64][8];
	static int ncodes;
	char code[8];
	size_t n = 0;
	int i;

	if (r == NULL || r[0] != '[')
		return NULL;
	for (r++; *r != '\0' && *r != '-' && *r != ']' && n + 1 < sizeof(code);
	    r++)
		code[n++] = *r;
	if (n == 0)
		return NULL;
	code[n] = '\0';
	for (i = 0; i < ncodes; i++)
		if (strcmp(codes[i], code) == 0)
			return codes[i];
	if (ncodes == (int)(sizeof(codes) / sizeof(codes[0])))
		return NULL;
	memcpy(codes[ncodes], code, n + 1);
	return codes[ncodes++];
}

/* Loads the profiles once; called with the lock held. */
static void
load(void)
{
	if (!loaded) {
		loaded = 1;
		handle = special_textcat_Init(RAG_TEXTCAT_DIR "fpdb.conf",
		    RAG_TEXTCAT_DIR);
	}
}

int
rag_lang_init(struct rag_error *err)
{
	void *h;

	pthread_mutex_lock(&lock);
	load();
	h = handle;
	pthread_mutex_unlock(&lock);
	if (h == NULL)
		return rag_error_set(err, RAG_EXIT_FATAL, "cannot load the "
		    "language profiles of '%sfpdb.conf': run 'make deps' "
		    "(Debian package libexttextcat-data)", RAG_TEXTCAT_DIR);
	return 0;
}

const char *
rag_lang_detect(const char *text, size_t len)
{
	const char *code = NULL;

	pthread_mutex_lock(&lock);
	load();
	if (handle != NULL) {
		/* Not in the middle of a character. */
		len = rag_utf8_floor(text, len, SAMPLE_MAX);
		code = first_code(textcat_Classify(handle, text, len));
	}
	pthread_mutex_unlock(&lock);
	return code;
}

/* ---- the cheap guess -------------------------------------------------- */

enum script {
	S_LATIN, S_CYRILLIC, S_GREEK, S_ARABIC, S_HEBREW, S_HAN, S_KANA,
	S_HANGUL, S_THAI, S_OTHER, S_N
};

static enum script
script_of(int32_t c)
{
	if (c < 0x250)
		return S_LATIN;
	if (c >= 0x370 && c < 0x400)
		return S_GREEK;
	if (c >= 0x400 && c < 0x530)
		return S_CYRILLIC;
	if (c >= 0x590 && c < 0x600)
		return S_HEBREW;
	if ((c >= 0x600 && c < 0x780) || (c >= 0x8a0 && c < 0x900) ||
	    (c >= 0xfb50 && c < 0xfe00) || (c >= 0xfe70 && c < 0xff00))
		return S_ARABIC;
	if (c >= 0xe00 && c < 0xe80)
		return S_THAI;
	if (c >= 0x1e00 && c < 0x1f00)
		return S_LATIN;
	if ((c >= 0x3040 && c < 0x3100) || (c >= 0x31f0 && c < 0x3200) ||
	    (c >= 0xff66 && c < 0xffa0))
		return S_KANA;
	if ((c >= 0x1100 && c < 0x1200) || (c >= 0x3130 && c < 0x3190) ||
	    (c >= 0xac00 && c < 0xd7b0))
		return S_HANGUL;
	if ((c >= 0x3400 && c < 0x4dc0) || (c >= 0x4e00 && c < 0xa000) ||
	    (c >= 0xf900 && c < 0xfb00) || (c >= 0x20000 && c < 0x31350))
		return S_HAN;
	return S_OTHER;
}

/* The stop words of every list, sorted, each with the lists that hold it. */
struct vote_word {
	const char *w;
	uint32_t langs;		/* bit i: vlists[i] */
};

static struct vote_word *vwords;
static size_t nvwords;
static const struct rag_stoplist *vlists;
static size_t nvlists;
static pthread_once_t vonce = PTHREAD_ONCE_INIT;

static int
cmp_vote(const void *a, const void *b)
{
	return strcmp(((const struct vote_word *)a)->w,
	    ((const struct vote_word *)b)->w);
}

static void
vbuild(void)
{
	size_t total = 0, i, j, n = 0;

	vlists = rag_stoplists(&nvlists);
	if (nvlists > 32)
		nvlists = 32;
	for (i = 0; i < nvlists; i++)
		total += vlists[i].n;
	if ((vwords = calloc(total, sizeof(*vwords))) == NULL) {
		nvlists = 0;
		return;
	}
	for (i = 0; i < nvlists; i++)
		for (j = 0; j < vlists[i].n; j++) {
			vwords[n].w = vlists[i].words[j];
			vwords[n++].langs = 1u << i;
		}
	qsort(vwords, n, sizeof(*vwords), cmp_vote);
	/* One entry a word, with every list that holds it. */
	for (i = 0, j = 0; i < n; i++) {
		if (j > 0 && strcmp(vwords[j - 1].w, vwords[i].w) == 0)
			vwords[j - 1].langs |= vwords[i].langs;
		else
			vwords[j++] = vwords[i];
	}
	nvwords = j;
}

/* The lists that hold word (lowercase, NUL-terminated), as bits. */
static uint32_t
vlookup(const char *word)
{
	struct vote_word key = { word, 0 }, *v;

	v = bsearch(&key, vwords, nvwords, sizeof(*vwords), cmp_vote);
	return v != NULL ? v->langs : 0;
}

/* The ISO code of a Snowball stop list's language. */
static const char *
iso_of(const char *snowball)
{
	size_t i;

	for (i = 0; i < sizeof(stemmers) / sizeof(stemmers[0]); i++)
		if (strcmp(snowball, stemmers[i].snowball) == 0)
			return stemmers[i].iso;
	return NULL;
}

/*
 * The language whose stop words text[0, len) holds most, when it holds
 * enough of them and clearly more than of any other; else NULL.
 */
static const char *
vote(const char *text, size_t len, size_t *nwords)
{
	unsigned votes[32] = { 0 };
	char word[64];
	size_t i = 0, l, n, best = 0;
	unsigned second = 0;
	int32_t c;

	pthread_once(&vonce, vbuild);
	if (nvwords == 0)
		return NULL;
	while (i < len) {
		bool ascii = true, fits = true;

		/* A word, lowercased: ASCII by hand, the rest by utf8proc. */
		n = 0;
		while (i < len) {
			l = rag_utf8_char(text + i, len - i, &c);
			if (!rag_utf8_is_wordchar(c))
				break;
			if (n + l < sizeof(word))
				memcpy(word + n, text + i, l);
			else
				fits = false;
			n += l;
			ascii = ascii && c < 0x80;
			i += l;
		}
		if (n > 0)
			(*nwords)++;
		if (n > 0 && fits) {
			uint32_t langs = 0;

			word[n] = '\0';
			if (ascii) {
				for (size_t k = 0; k < n; k++)
					if (word[k] >= 'A' && word[k] <= 'Z')
						word[k] += 32;
				langs = vlookup(word);
			} else {
				utf8proc_uint8_t *f = NULL;

				if (utf8proc_map((const utf8proc_uint8_t *)word,
				    (utf8proc_ssize_t)n, &f, UTF8PROC_STABLE |
				    UTF8PROC_COMPOSE | UTF8PROC_CASEFOLD) > 0)
					langs = vlookup((const char *)f);
				free(f);
			}
			for (size_t k = 0; k < nvlists; k++)
				if (langs & (1u << k))
					votes[k]++;
		}
		if (n == 0)
			i += rag_utf8_char(text + i, len - i, &c);
	}
	for (size_t k = 1; k < nvlists; k++)
		if (votes[k] > votes[best])
			best = k;
	for (size_t k = 0; k < nvlists; k++)
		if (k != best && votes[k] > second)
			second = votes[k];
	if (votes[best] < VOTES_MIN || votes[best] < VOTES_LEAD * second)
		return NULL;
	return iso_of(vlists[best].language);
}

const char *
rag_lang_guess(const char *text, size_t len)
{
	size_t count[S_N] = { 0 }, letters = 0, words = 0, i, l;
	enum script top = S_LATIN;
	const char *lang;
	int32_t c;

	/* A page of prose has a hundred words in 2 KiB: plenty to vote. */
	len = rag_utf8_floor(text, len, GUESS_MAX);
	for (i = 0; i < len; i += l) {
		l = rag_utf8_char(text + i, len - i, &c);
		if (c < 0x80 ? !((c | 32) >= 'a' && (c | 32) <= 'z') :
		    !rag_utf8_is_wordchar(c) || utf8proc_category(c) >
		    UTF8PROC_CATEGORY_LO)
			continue;
		count[script_of(c)]++;
		letters++;
	}
	if (letters < LETTERS_MIN)
		return NULL;
	for (int k = 0; k < S_N; k++)
		if (count[k] > count[top])
			top = (enum script)k;
	switch (top) {
	case S_HAN:
	case S_KANA:
		/* Japanese writes kana among its Han; Chinese does not. */
		return count[S_KANA] * 10 >= count[S_HAN] + count[S_KANA] ?
		    "ja" : "zh";
	case S_HANGUL:
		return "ko";
	case S_HEBREW:
		return "he";
	case S_GREEK:
		return "el";
	case S_THAI:
		return "th";
	case S_LATIN:
	case S_CYRILLIC:
		if ((lang = vote(text, len, &words)) != NULL)
			return lang;
		/*
		 * Too few words for n-grams to tell either: program text,
		 * tables of numbers, an index.
		 */
		if (words < WORDS_MIN)
			return NULL;
		break;
	default:
		break;
	}
	return rag_lang_detect(text, len);
}
