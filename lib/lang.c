/*
 * Language detection through libexttextcat (Cavnar and Trenkle's
 * n-gram ranks, as LibreOffice uses it), and the map from ISO 639 codes
 * to Snowball's stemmers.
 */
#include <pthread.h>
#include <string.h>

#include <libexttextcat/textcat.h>

#include "lang.h"

#ifndef RAG_TEXTCAT_DIR
#define RAG_TEXTCAT_DIR "/usr/share/libexttextcat/"
#endif
/* Enough text to tell languages apart; more only costs time. */
#define SAMPLE_MAX 4096

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
		if (len > SAMPLE_MAX) {
			/* Not in the middle of a character. */
			len = SAMPLE_MAX;
			while (len > 0 && ((unsigned char)text[len] & 0xc0) ==
			    0x80)
				len--;
		}
		code = first_code(textcat_Classify(handle, text, len));
	}
	pthread_mutex_unlock(&lock);
	return code;
}
