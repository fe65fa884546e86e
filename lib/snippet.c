#include <ctype.h>
#include <stdbool.h>
#include <string.h>
#include <strings.h>

#include "snippet.h"

/* Words too common to be worth a highlight. */
static bool
stop_word(const char *w)
{
	static const char *const stop[] = { "the", "and", "for", "with",
		"how", "what", "who", "why", "when", "where", "which", "are",
		"was", "were", "this", "that", "from", "into", "does", "can",
		"you", "your", "not", "but", "has", "have", "had", "its", "about",
		NULL };

	for (size_t i = 0; stop[i] != NULL; i++)
		if (strcmp(stop[i], w) == 0)
			return true;
	return false;
}

/* The question's words, lowercased, for highlighting. */
static int
question_words(const char *q, char words[][32], int max)
{
	int n = 0;

	while (*q != '\0' && n < max) {
		size_t len = 0;

		while (*q != '\0' && !isalnum((unsigned char)*q))
			q++;
		while (isalnum((unsigned char)q[len]))
			len++;
		if (len >= 3 && len < 32) {
			for (size_t i = 0; i < len; i++)
				words[n][i] =
				    (char)tolower((unsigned char)q[i]);
			words[n][len] = '\0';
			if (!stop_word(words[n]))
				n++;
		}
		q += len;
	}
	return n;
}

/*
 * Whether the word at p (len bytes) matches a question word by its
 * stem-ish prefix.
 */
static bool
matches(const char *p, size_t len, char words[][32], int n)
{
	for (int i = 0; i < n; i++) {
		size_t wl = strlen(words[i]);
		size_t pre = wl > 5 ? wl - 2 : wl;

		if (len >= pre && strncasecmp(p, words[i], pre) == 0)
			return true;
	}
	return false;
}

void
rag_snippet(struct rag_buf *out, const char *text, const char *question,
    bool color)
{
	char words[32][32];
	int nw = question_words(question, words, 32);
	size_t len = strlen(text), start = 0, end, first = len;

	for (size_t i = 0; i < len;) {
		size_t wl = 0;

		while (isalnum((unsigned char)text[i + wl]))
			wl++;
		if (wl > 0 && matches(text + i, wl, words, nw)) {
			first = i;
			break;
		}
		i += wl > 0 ? wl : 1;
	}
	if (first != len && first > 100)
		start = first - 100;
	while (start > 0 && start < len &&
	    !isspace((unsigned char)text[start - 1]))
		start++;
	end = start + 320 < len ? start + 320 : len;
	while (end < len && end > start && !isspace((unsigned char)text[end]))
		end--;
	if (start > 0)
		rag_buf_adds(out, "…");
	for (size_t i = start; i < end;) {
		size_t wl = 0;

		while (i + wl < end && isalnum((unsigned char)text[i + wl]))
			wl++;
		if (wl == 0) {
			rag_buf_addc(out, isspace((unsigned char)text[i]) ?
			    ' ' : text[i]);
			i++;
			continue;
		}
		if (matches(text + i, wl, words, nw)) {
			rag_buf_adds(out, color ? "\033[1m" : "");
			rag_buf_add(out, text + i, wl);
			rag_buf_adds(out, color ? "\033[0m" : "");
		} else {
			rag_buf_add(out, text + i, wl);
		}
		i += wl;
	}
	if (end < len)
		rag_buf_adds(out, "…");
}
