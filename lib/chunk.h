/* chunk: cuts a document's pages into token-bounded, overlapping chunks. */
#ifndef RAG_CHUNK_H
#define RAG_CHUNK_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"

/*
 * Token counts
 * ------------
 * rag_tokens_count() estimates how many tokens OpenAI's cl100k_base
 * tokenizer gives a text, without its 100k-entry vocabulary.  The text is
 * cut into runs and each run costs a number of eighths of a token; the count
 * is the sum rounded up.  Letters are ASCII letters plus the non-ASCII
 * letters below U+2000 (Latin, Greek, Cyrillic, Arabic, Indic ..., with
 * their combining marks).
 *
 *   run                                              cost in 1/8 token
 *   whitespace (space, \t \n \v \f \r)               0 if one space, else 6
 *   letters: a ASCII, of which u upper case after    (a ? 8 + max(0, a-8)
 *     the run's first letter, and m non-ASCII            + 4 max(0, a-11)
 *                                                        + 2u : 5) + 3m
 *   digits, n of them                                10 ceil(n/3)
 *   other ASCII (punctuation, controls), made of     8 max(1, k-1)
 *     k groups of one repeated character, lengths l     + 8 sum(ceil(l/8)-1)
 *   Han ideograph, CJK radical, Bopomofo ...         9 each
 *   kana, Hangul syllable                            8 each
 *   CJK punctuation (U+3000..303F), fullwidth form   12 each
 *   any other code point                             8 each (16 if 4 bytes)
 *   byte that is not valid UTF-8                     8 each
 *
 * So a word of up to 8 letters is one token and longer words cost more,
 * as in cl100k, whose vocabulary holds most common words whole; digits go
 * in threes as cl100k splits them; a lone space merges with the word after
 * it.  The weights were fitted against cl100k_base (tiktoken's ranks) on
 * 285k tokens of text cut into 523 pieces of ~550 tokens: English prose,
 * scientific abstracts, a technical paper, tax instructions, the GPL,
 * Japanese, Chinese and Russian.  Mean absolute error per piece: 3.5%.
 * Corpus totals: English -4.1% to +2.8%, Russian -3.6%, Japanese -2.7%
 * and +0.6%, Chinese -5.8% and +11.5%.  One piece in twenty is under by
 * more than 8%; the worst seen were 23% under (a list of bare line
 * numbers) and 16% under (biomedical jargon, which cl100k cuts into many
 * pieces).  Leave a margin of about 10% below a model's hard limit.
 *
 * The count has no context across whitespace: the count of "a b" is the
 * count of "a" plus that of "b" plus the whitespace's.  The chunker relies
 * on this to add costs up as it packs.
 */
size_t rag_tokens_count(const char *text, size_t len);

/*
 * Splitting
 * ---------
 * A chunker is fed the pages of one document in order and calls back with
 * each chunk as soon as it is complete.  Text is cut recursively: into
 * paragraphs at blank lines; a paragraph too long for a chunk into
 * sentences (". ", "! ", "? " before an upper-case letter, a digit or an
 * opening quote, not after "e.g.", "i.e.", "Dr.", "Fig.", "et al.", "vs."
 * and other common abbreviations or a single capital initial; and after
 * the CJK stops U+3002 U+FF01 U+FF1F U+FF61, with closing brackets and
 * quotes kept with their sentence); a sentence too long into words at
 * whitespace; and a word too long (a URL, CJK text without stops) at code
 * points, never inside a UTF-8 sequence nor before a combining mark.  "Too
 * long" means more than max_tokens - overlap tokens.
 *
 * A paragraph that is a Markdown table (a first line "| ... |", then a
 * separator line "|---|...", as rag-parse writes tables) and is too long
 * is cut into rows (lines) instead: a row is never cut unless it alone is
 * too long; each chunk that goes on with the table starts with the
 * table's header (its first two lines) in place of the overlap, and
 * overlap_len covers it.  An overlap that would start inside a row of a
 * table starts at the next row instead.
 *
 * Pieces are packed greedily, in order, while the chunk stays within
 * max_tokens; a piece that is not too long is never cut to fill the rest
 * of a chunk, it starts the next one.  A piece is joined to the previous
 * one by its original whitespace; paragraphs by a blank line ("\n\n");
 * the first paragraph of a page by a blank line when the text before it
 * ended a sentence, else by one space (a paragraph running on from the
 * previous page).  Chunks do not start or end with whitespace.
 *
 * Each chunk after a document's first starts with about the last
 * `overlap` tokens of the previous chunk, cut at the start of a word; when
 * the previous chunk ends in a run without spaces longer than the overlap
 * (CJK text, a URL), at a code point instead.  The overlap shrinks when
 * the next piece needs the room: a chunk never exceeds max_tokens.
 *
 * Memory is one chunk; pages are read in place, never copied whole.  The
 * same pages and options always give the same chunks.
 */

/*
 * The end of the sentence that starts at s[i], by the rules above: the
 * offset just past its closing punctuation and quotes (the whitespace
 * after it is the next sentence's to skip), or n.
 */
size_t rag_sentence_end(const char *s, size_t n, size_t i);

/*
 * Does s[0, n), without trailing whitespace, end as a sentence does: a
 * full stop, ! or ? (or a CJK stop), then maybe closing quotes and
 * brackets?
 */
bool rag_sentence_ends(const char *s, size_t n);

struct rag_chunk_opts {
	int max_tokens;		/* per chunk, overlap included; >= 8 */
	int overlap;		/* tokens repeated; 0 <= overlap < max_tokens */
};

#define RAG_CHUNK_OPTS_INIT { 512, 64 }
#define RAG_CHUNK_MAX_TOKENS 1000000	/* the largest max_tokens accepted */

struct rag_chunk {
	int seq;		/* 0, 1, ... within the document */
	int page_start;		/* first page contributing text, overlap too */
	int page_end;		/* last page contributing text */
	const char *text;	/* NUL-terminated; valid during the callback */
	size_t len;
	int tokens;		/* rag_tokens_count(text, len) <= max_tokens */
	size_t overlap_len;	/* text[0, overlap_len) ends the chunk before */
	/*
	 * Where the chunk's new material (after the overlap and the
	 * whitespace that follows it) starts: as a byte offset into the
	 * concatenated text of every page given for this document, and as
	 * a page and a byte offset into that page's text.  Either, with the
	 * doc_id (and the shard plan), makes a stable chunk id.
	 */
	size_t offset;
	int page;
	size_t page_offset;
};

/*
 * Called with each chunk.  Returns 0 to go on; to stop, fills err and
 * returns -1, which the rag_chunker_add_page() or rag_chunker_finish()
 * that called it returns.  c and its text are borrowed for the call.
 */
typedef int (*rag_chunk_fn)(const struct rag_chunk *c, void *arg,
    struct rag_error *err);

struct rag_chunker;

/* Returns 0 when o is usable, else -1 with err saying which value is off. */
int rag_chunk_opts_check(const struct rag_chunk_opts *o,
    struct rag_error *err);

/*
 * Returns a chunker that calls fn(chunk, arg, err); o NULL means
 * RAG_CHUNK_OPTS_INIT.  Returns NULL with err filled when the options are
 * not usable (see rag_chunk_opts_check).  Free with rag_chunker_free().
 */
struct rag_chunker *rag_chunker_new(const struct rag_chunk_opts *o,
    rag_chunk_fn fn, void *arg, struct rag_error *err);

/*
 * Feeds page `page` (1-based) of the current document: text[0, len), which
 * is only read during the call.  Pages must come in increasing order; gaps
 * and empty or blank pages are fine (they produce nothing).  Calls fn for
 * every chunk completed.  Returns 0, or -1 with err filled: on a page out
 * of order or text that is not valid UTF-8 (the chunker is unchanged and
 * can take the next page), or when fn stopped (the rest of the document is
 * lost: call rag_chunker_reset() before the next document).
 */
int rag_chunker_add_page(struct rag_chunker *ck, int page, const char *text,
    size_t len, struct rag_error *err);

/*
 * Ends the document: calls fn for its last chunk, if any, and makes the
 * chunker ready for the next document (seq starts again at 0, no overlap
 * is carried over).  Returns 0, or -1 when fn stopped (the chunker is
 * reset anyway).
 */
int rag_chunker_finish(struct rag_chunker *ck, struct rag_error *err);

/*
 * Page groups.  A chunk never crosses the start of a group of
 * RAG_CHUNK_GROUP_PAGES pages (pages 1, 6, 11, ...): there the chunker
 * starts afresh, without overlap.  So a shard made of whole groups
 * (rag-parse --plan, whose --shard-pages is a multiple of it) chunks
 * exactly like the whole document, and shards can run anywhere, in any
 * order.
 */
#define RAG_CHUNK_GROUP_PAGES 5

/* The group page (from 1) is in, with groups of size pages, from 1. */
int rag_chunk_group(long long page, int size);

/*
 * A chunk's id: the first 32 hex digits of the SHA-256 of
 * "doc_id:page:offset", where its new material starts (struct
 * rag_chunk's page and page_offset), so stable across runs and shards.
 * Written to id, NUL-terminated.
 */
void rag_chunk_id(const char *doc_id, int page, size_t page_offset,
    char id[33]);

/*
 * A chunk's ordering key that shards agree on, unlike a running count:
 * page * 1000 + k, for the k-th chunk (from 0) that starts on the page,
 * k counted as 999 from there on.
 */
long long rag_chunk_seq(int page, int k);

/* Drops the current document without calling fn. */
void rag_chunker_reset(struct rag_chunker *ck);

void rag_chunker_free(struct rag_chunker *ck);

#endif
