/*
 * icu_words [LOCALE]: each line of stdin cut into words by ICU's word
 * break iterator (UBRK_WORD; Han and kana through ICU's CJK dictionary),
 * written as one line of words separated by spaces.  The line is put in
 * NFKC and case folded first, as rag's tokenizer does; spaces,
 * punctuation and symbols (rule status UBRK_WORD_NONE) are dropped.
 * For cjk-segment.sh; built by it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <unicode/ubrk.h>
#include <unicode/unorm2.h>
#include <unicode/ustring.h>

static void
die(const char *what, UErrorCode e)
{
	fprintf(stderr, "icu_words: %s: %s\n", what, u_errorName(e));
	exit(1);
}

int
main(int argc, char **argv)
{
	const char *locale = argc > 1 ? argv[1] : "";
	UErrorCode e = U_ZERO_ERROR;
	const UNormalizer2 *nfkc = unorm2_getNFKCCasefoldInstance(&e);
	UBreakIterator *bi;
	char *line = NULL, out[1024];
	size_t cap = 0;
	ssize_t len;
	UChar *raw = NULL, *norm = malloc(256 * sizeof(*norm));
	int32_t n, m, a, b, w, cap16 = 256;

	if (U_FAILURE(e))
		die("NFKC_Casefold", e);
	bi = ubrk_open(UBRK_WORD, locale, NULL, 0, &e);
	if (U_FAILURE(e))
		die("ubrk_open", e);
	while ((len = getline(&line, &cap, stdin)) > 0) {
		if (line[len - 1] == '\n')
			line[--len] = '\0';
		raw = realloc(raw, (len + 1) * sizeof(*raw));
		e = U_ZERO_ERROR;
		u_strFromUTF8Lenient(raw, len + 1, &n, line, len, &e);
		m = unorm2_normalize(nfkc, raw, n, norm, cap16, &e);
		if (e == U_BUFFER_OVERFLOW_ERROR) {
			cap16 = m + 1;
			norm = realloc(norm, cap16 * sizeof(*norm));
			e = U_ZERO_ERROR;
			m = unorm2_normalize(nfkc, raw, n, norm, cap16, &e);
		}
		if (U_FAILURE(e))
			die("normalize", e);
		ubrk_setText(bi, norm, m, &e);
		w = 0;
		for (a = ubrk_first(bi); (b = ubrk_next(bi)) != UBRK_DONE;
		     a = b) {
			if (ubrk_getRuleStatus(bi) < UBRK_WORD_NONE_LIMIT)
				continue;
			e = U_ZERO_ERROR;
			u_strToUTF8(out, sizeof(out), &n, norm + a, b - a, &e);
			if (U_SUCCESS(e))
				printf(w++ ? " %s" : "%s", out);
		}
		putchar('\n');
	}
	ubrk_close(bi);
	free(line);
	free(raw);
	free(norm);
	return ferror(stdout) ? 1 : 0;
}
