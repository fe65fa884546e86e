#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <fribidi.h>

#include "bidi.h"
#include "buf.h"
#include "mem.h"
#include "utf8.h"

bool
rag_bidi_is_rtl(int c)
{
	/*
	 * Hebrew to Arabic Extended-A; the Hebrew and Arabic presentation
	 * forms; Cypriot to Old Uyghur; Mende Kikakui to the Arabic
	 * mathematical letters.
	 */
	return (c >= 0x0590 && c <= 0x08ff) || (c >= 0xfb1d && c <= 0xfdff) ||
	    (c >= 0xfe70 && c <= 0xfefc) || (c >= 0x10800 && c <= 0x10fff) ||
	    (c >= 0x1e800 && c <= 0x1efff);
}

bool
rag_bidi_is_mark(int c)
{
	return c > 0 && fribidi_get_bidi_type((FriBidiChar)c) ==
	    FRIBIDI_TYPE_NSM;
}

bool
rag_bidi_has_rtl(const char *s, size_t n)
{
	size_t i = 0, len;

	while (i < n) {
		/* ASCII first: most lines are all of it */
		if ((unsigned char)s[i] < 0xc0) {
			i++;
			continue;
		}
		if (rag_bidi_is_rtl(rag_utf8_decode(s + i, n - i, &len)))
			return true;
		i += len;
	}
	return false;
}

void
rag_bidi_logical(struct rag_buf *out, const char *s, size_t n)
{
	FriBidiChar *str;
	FriBidiCharType *types;
	FriBidiBracketType *brackets;
	FriBidiLevel *levels;
	FriBidiStrIndex *map;
	FriBidiParType dir;
	size_t i, len, cps = 0, rtl = 0, ltr = 0;
	char enc[4];
	int32_t c;

	if (!rag_bidi_has_rtl(s, n)) {
		rag_buf_add(out, s, n);
		return;
	}
	str = rag_xmalloc(n * sizeof(*str));
	for (i = 0; i < n; i += len) {
		c = rag_utf8_decode(s + i, n - i, &len);
		str[cps++] = c < 0 ? 0xfffd : (FriBidiChar)c;
	}
	types = rag_xmalloc(cps * sizeof(*types));
	brackets = rag_xmalloc(cps * sizeof(*brackets));
	levels = rag_xmalloc(cps * sizeof(*levels));
	map = rag_xmalloc(cps * sizeof(*map));
	fribidi_get_bidi_types(str, (FriBidiStrIndex)cps, types);
	fribidi_get_bracket_types(str, (FriBidiStrIndex)cps, types, brackets);
	/*
	 * The first strong character of a visual line is the last one read
	 * when the line reads right to left: count them instead.
	 */
	for (i = 0; i < cps; i++) {
		if (FRIBIDI_IS_LETTER(types[i]) && FRIBIDI_IS_RTL(types[i]))
			rtl++;
		else if (FRIBIDI_IS_LETTER(types[i]))
			ltr++;
	}
	dir = rtl >= ltr ? FRIBIDI_PAR_RTL : FRIBIDI_PAR_LTR;
	for (i = 0; i < cps; i++)
		map[i] = (FriBidiStrIndex)i;
	/*
	 * The algorithm reorders logical to visual; run on a visual line it
	 * gives back the logical one, as its reordering of runs undoes
	 * itself.  Marks are not kept after their letter
	 * (FRIBIDI_FLAG_REORDER_NSM): in visual order they come before it.
	 */
	if (fribidi_get_par_embedding_levels_ex(types, brackets,
	    (FriBidiStrIndex)cps, &dir, levels) == 0) {
		rag_buf_add(out, s, n);		/* out of memory in FriBidi */
		goto out;
	}
	fribidi_shape_mirroring(levels, (FriBidiStrIndex)cps, str);
	if (fribidi_reorder_line(0, types, (FriBidiStrIndex)cps, 0, dir,
	    levels, NULL, map) == 0) {
		rag_buf_add(out, s, n);
		goto out;
	}
	for (i = 0; i < cps; i++)
		rag_buf_add(out, enc, rag_utf8_encode(str[map[i]], enc));
out:
	free(map);
	free(levels);
	free(brackets);
	free(types);
	free(str);
}
