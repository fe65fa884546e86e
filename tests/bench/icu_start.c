/*
 * icu_start: a program that does next to nothing, to time a process start
 * (cjk-segment.sh builds it four ways).  It always calls PQlibVersion, as
 * every rag tool links libpq.  With -DICU_OPEN it also opens and closes
 * an ICU word break iterator on a short string; with -DICU_SEGMENT it
 * opens one on a Chinese question and walks it to the end (the first
 * walk over Han text loads ICU's CJK dictionary).  Built without either,
 * but linked with -Wl,--no-as-needed -licui18n -licuuc, it pays only for
 * loading ICU's libraries.
 */
#include <libpq-fe.h>
#if defined(ICU_OPEN) || defined(ICU_SEGMENT)
#include <unicode/ubrk.h>
#endif

int
main(void)
{
	int r = PQlibVersion() > 0 ? 0 : 1;
#if defined(ICU_OPEN) || defined(ICU_SEGMENT)
	UErrorCode e = U_ZERO_ERROR;
	UBreakIterator *bi;
#ifdef ICU_SEGMENT
	static const UChar q[] = u"如何设置文件权限？";
#else
	static const UChar q[] = u"file permissions";
#endif

	bi = ubrk_open(UBRK_WORD, "", q, -1, &e);
	if (U_FAILURE(e))
		return 1;
#ifdef ICU_SEGMENT
	while (ubrk_next(bi) != UBRK_DONE)
		continue;
#endif
	ubrk_close(bi);
#endif
	return r;
}
