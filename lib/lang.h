/* lang: the language of a text, and the stemmer a language takes. */
#ifndef RAG_LANG_H
#define RAG_LANG_H

#include <stddef.h>

#include "error.h"

/*
 * The language text[0, len) is most likely written in, as an ISO 639
 * code ("en", "de", "zh", "ar"), or NULL when the text is too short or
 * like no language known.  By libexttextcat's character n-gram profiles
 * (about 160 languages, loaded on the first call: about 30 ms); it reads
 * at most the first 4 KiB.  Safe to call from several threads.
 */
const char *rag_lang_detect(const char *text, size_t len);

/*
 * The same answer, cheaply where it can be: from the script when one
 * language writes it (Han: zh, with kana: ja; Hangul: ko; Hebrew: he;
 * Greek: el; Thai: th), from a vote of Snowball's stop words for Latin
 * and Cyrillic text; rag_lang_detect for the rest.  NULL for fewer than
 * 16 letters.
 */
const char *rag_lang_guess(const char *text, size_t len);

/*
 * Loads the profiles now, so that a tool can say why it cannot detect
 * before it starts: 0, or -1 with err set when they are missing.
 */
int rag_lang_init(struct rag_error *err);

/*
 * The Snowball stemmer for an ISO 639 code ("en": "english"), or
 * "simple" for a language Snowball does not stem (Chinese, Japanese,
 * Korean, Hebrew, ...).  A Snowball name is returned as it is, so that
 * either spelling may name a collection's or a question's language.
 */
const char *rag_lang_stemmer(const char *lang);

#endif
