/*
 * The "local" provider: local/hash-v1, an offline, deterministic,
 * lexical embedder (feature hashing, not a neural model).
 *
 * A text is normalised (ASCII lowercased directly; anything else through
 * utf8proc: NFKC, case folding, accents stripped, ignorable characters
 * such as soft hyphens dropped) and split into words at every character
 * that is not a letter, digit or mark.  English stop words are dropped
 * (unless nothing else is left).  Each word yields these features:
 *
 *   word	the word, Porter-stemmed when it is ASCII letters only
 *   bigram	the stems of two adjacent kept words
 *   char	character n-grams of "<word>", the unstemmed word
 *
 * and runs of CJK characters (written without spaces) yield character
 * unigrams and bigrams instead.  A feature occurring tf times weighs
 * (1 + ln tf) times its family's weight; it is added, with a sign, to
 * one dimension; the vector is then scaled to unit length.  A text with
 * no letters or digits gives the zero vector.
 *
 * Without IDF, collisions between frequent and rare features cost the
 * most, so quality grows with the dimensions.  nDCG@10 of the vectors
 * alone on SciFact's train split (eval_embed_scifact.c; BM25 gets
 * 0.697): 0.42 at 256 dimensions, 0.485 at 384, 0.51 at 512, 0.556 at
 * 1024, 0.60 at 2000, 0.60 at 4096.
 *
 * Hashing is fixed so that a vector is the same on every machine: a key
 * is 64-bit FNV-1a over a family tag byte and the feature's UTF-8 bytes,
 * finished with MurmurHash3's fmix64.  A bigram's key is the same over
 * the tag and both word keys as 8 little-endian bytes each.  The
 * dimension is key % dims and the sign is the key's top bit.  Changing
 * any of this (or the stop words, stemmer or weights) changes every
 * vector, so it must come with a new model name (hash-v2).  Vectors
 * also depend on utf8proc's Unicode tables for non-ASCII text.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <utf8proc.h>

#include "buf.h"
#include "embed.h"
#include "mem.h"
#include "utf8.h"
#include "words.h"

/*
 * Keep vectors bit-identical whether or not the CPU has fused
 * multiply-add.  gcc does not contract in ISO C mode (-std=c17) and
 * warns about the pragma; clang contracts unless told not to.
 */
#ifdef __clang__
#pragma STDC FP_CONTRACT OFF
#endif

#define MODEL_NAME	"hash-v1"
#define DEFAULT_DIMS	384
#define MAX_DIMS	16000	/* pgvector's limit for the vector type */
#define BATCH_SIZE	256
/*
 * RRF weight of this embedder's ranking against BM25's 1.  With k = 60,
 * even 0.1 lets a vector rank outweigh several BM25 ranks near the top,
 * and this lexical embedder's ranking is a worse copy of BM25's.  SciFact
 * train, nDCG@10 through the tools: BM25 alone 0.692, vectors alone 0.497;
 * fused at 0.3: 0.648, 0.1: 0.677, 0.05: 0.681, 0.02: 0.690, 0.01: 0.692
 * (at 1024 dimensions, vectors 0.559, fused at 0.1: 0.686).  At 0.01 the
 * vectors break ties and fill in when BM25 finds fewer than k chunks.
 */
#define FUSION_WEIGHT	0.01
#define STEM_MAX	48	/* longer words are not stemmed */

enum family {
	F_WORD = 1,
	F_BIGRAM,
	F_CHAR,
	F_CJK1,
	F_CJK2
};

/*
 * Weights per family, chosen on SciFact (see eval_embed_scifact.c): the
 * character n-grams matter most, since without IDF they are what lets
 * "regulatory" meet "regulation" and spreads each word over several
 * dimensions; bigrams help a little from 512 dimensions up and cost a
 * little below, so they weigh little.
 */
#define W_WORD		1.0
#define W_BIGRAM	0.1
#define W_CHAR		0.25
#define W_CJK1		1.0
#define W_CJK2		1.0
#define NGRAM_MIN	3
#define NGRAM_MAX	5

/* One distinct feature of the text being embedded. */
struct feat {
	uint64_t key;		/* 0: empty slot */
	uint32_t tf;
	float w;
};

struct local {
	int dims;
	struct feat *tab;	/* open addressing, cap a power of two */
	size_t cap, used;
	uint32_t *slots;	/* the used slots, in insertion order */
	double *acc;
	struct rag_buf norm;	/* the normalised text */
	struct rag_buf tmp;
	size_t *offs;		/* codepoint offsets within a padded word */
	size_t offcap;
	uint64_t prev;		/* the previous kept word's key, 0 if none */
	uint64_t prev_cjk;	/* the previous CJK character's key */
	int keep_stops;
	size_t stopped;
};

#define FNV_OFFSET	0xcbf29ce484222325ULL
#define FNV_PRIME	0x100000001b3ULL

static uint64_t
fnv1a(uint64_t h, const void *p, size_t n)
{
	const unsigned char *s = p;
	size_t i;

	for (i = 0; i < n; i++) {
		h ^= s[i];
		h *= FNV_PRIME;
	}
	return h;
}

static uint64_t
fmix64(uint64_t k)
{
	k ^= k >> 33;
	k *= 0xff51afd7ed558ccdULL;
	k ^= k >> 33;
	k *= 0xc4ceb9fe1a85ec53ULL;
	k ^= k >> 33;
	return k;
}

static uint64_t
feature_key(enum family f, const char *s, size_t n)
{
	unsigned char tag = (unsigned char)f;

	return fmix64(fnv1a(fnv1a(FNV_OFFSET, &tag, 1), s, n));
}

static uint64_t
pair_key(enum family f, uint64_t a, uint64_t b)
{
	unsigned char bytes[17];
	int i;

	bytes[0] = (unsigned char)f;
	for (i = 0; i < 8; i++) {
		bytes[1 + i] = (unsigned char)(a >> (8 * i));
		bytes[9 + i] = (unsigned char)(b >> (8 * i));
	}
	return fmix64(fnv1a(FNV_OFFSET, bytes, sizeof(bytes)));
}

/*
 * Keeps the insertion order in slots, so that the floating-point sums
 * come out the same however large the table has grown before.
 */
static void
table_grow(struct local *L)
{
	struct feat *old = L->tab;
	size_t i, s;

	L->cap = L->cap ? L->cap * 2 : 1024;
	L->tab = rag_xcalloc(L->cap, sizeof(*L->tab));
	for (i = 0; i < L->used; i++) {
		const struct feat *f = &old[L->slots[i]];

		s = f->key & (L->cap - 1);
		while (L->tab[s].key != 0)
			s = (s + 1) & (L->cap - 1);
		L->tab[s] = *f;
		L->slots[i] = (uint32_t)s;
	}
	L->slots = rag_xrealloc(L->slots, L->cap / 2 * sizeof(*L->slots));
	free(old);
}

static void
add(struct local *L, uint64_t key, double w)
{
	size_t s;

	if (key == 0)
		key = 1;
	if (L->used + 1 > L->cap / 2)
		table_grow(L);
	s = key & (L->cap - 1);
	while (L->tab[s].key != 0 && L->tab[s].key != key)
		s = (s + 1) & (L->cap - 1);
	if (L->tab[s].key == 0) {
		L->tab[s].key = key;
		L->tab[s].tf = 0;
		L->tab[s].w = (float)w;
		L->slots[L->used++] = (uint32_t)s;
	}
	L->tab[s].tf++;
}

static void
table_clear(struct local *L)
{
	size_t i;

	for (i = 0; i < L->used; i++)
		L->tab[L->slots[i]].key = 0;
	L->used = 0;
}

static int
is_cjk(int32_t c)
{
	return (c >= 0x3040 && c <= 0x30ff) ||	/* kana */
	    (c >= 0x3400 && c <= 0x4dbf) ||	/* Han, extension A */
	    (c >= 0x4e00 && c <= 0x9fff) ||	/* Han */
	    (c >= 0xf900 && c <= 0xfaff) ||	/* Han compatibility */
	    (c >= 0x20000 && c <= 0x3134f);	/* Han, extensions B-G */
}

enum cls {
	C_SEP,
	C_WORD,
	C_CJK
};

static enum cls
classify(int32_t c)
{
	if (c < 0x80)
		return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    (c >= 'A' && c <= 'Z') ? C_WORD : C_SEP;
	if (is_cjk(c))
		return C_CJK;
	return rag_utf8_is_wordchar(c) ? C_WORD : C_SEP;
}

/* Character n-grams of "<w>", counted in characters, not bytes. */
static void
char_ngrams(struct local *L, const char *w, size_t n)
{
	size_t i, ncp = 0, len;
	int32_t c;
	int g;

	rag_buf_reset(&L->tmp);
	rag_buf_addc(&L->tmp, '<');
	rag_buf_add(&L->tmp, w, n);
	rag_buf_addc(&L->tmp, '>');
	if (L->offcap < L->tmp.len + 1) {
		L->offcap = L->tmp.len + 1;
		L->offs = rag_xrealloc(L->offs, L->offcap * sizeof(*L->offs));
	}
	for (i = 0; i < L->tmp.len; i += len) {
		len = rag_utf8_char(L->tmp.data + i, L->tmp.len - i, &c);
		L->offs[ncp++] = i;
	}
	L->offs[ncp] = L->tmp.len;
	for (g = NGRAM_MIN; g <= NGRAM_MAX; g++)
		for (i = 0; i + (size_t)g <= ncp; i++)
			add(L, feature_key(F_CHAR, L->tmp.data + L->offs[i],
			    L->offs[i + g] - L->offs[i]), W_CHAR);
}

static int
ascii_letters(const char *w, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (w[i] < 'a' || w[i] > 'z')
			return 0;
	return 1;
}

static void
word(struct local *L, const char *w, size_t n)
{
	char st[STEM_MAX + 1];
	const char *s = w;
	size_t sn = n;
	uint64_t key;

	if (n <= STEM_MAX) {
		memcpy(st, w, n);
		st[n] = '\0';
		if (rag_word_is_stop(st)) {
			L->stopped++;
			if (!L->keep_stops)
				return;
		}
		if (ascii_letters(st, n)) {
			sn = rag_word_stem(st, n);
			s = st;
		}
	}
	key = feature_key(F_WORD, s, sn);
	add(L, key, W_WORD);
	if (L->prev != 0)
		add(L, pair_key(F_BIGRAM, L->prev, key), W_BIGRAM);
	L->prev = key;
	char_ngrams(L, w, n);
}

static void
cjk_char(struct local *L, const char *s, size_t n)
{
	uint64_t key = feature_key(F_CJK1, s, n);

	add(L, key, W_CJK1);
	if (L->prev_cjk != 0)
		add(L, pair_key(F_CJK2, L->prev_cjk, key), W_CJK2);
	L->prev_cjk = key;
}

static void
features(struct local *L, const char *s, size_t n)
{
	size_t i = 0, start = 0, len;
	int in_word = 0;
	int32_t c;
	enum cls k;

	L->prev = 0;
	L->prev_cjk = 0;
	while (i < n) {
		len = rag_utf8_char(s + i, n - i, &c);
		k = classify(c);
		if (k != C_WORD && in_word) {
			word(L, s + start, i - start);
			in_word = 0;
		}
		if (k != C_CJK)
			L->prev_cjk = 0;
		if (k == C_WORD && !in_word) {
			start = i;
			in_word = 1;
		} else if (k == C_CJK) {
			cjk_char(L, s + i, len);
		}
		i += len;
	}
	if (in_word)
		word(L, s + start, n - start);
}

/*
 * Normalises text into L->norm.  Invalid UTF-8 is not an error (a PDF
 * extractor may produce it): each bad byte becomes a space.
 */
static void
normalise(struct local *L, const char *s, size_t n)
{
	const utf8proc_option_t opts = UTF8PROC_STABLE | UTF8PROC_COMPAT |
	    UTF8PROC_COMPOSE | UTF8PROC_IGNORE | UTF8PROC_CASEFOLD |
	    UTF8PROC_STRIPMARK;
	utf8proc_uint8_t *dst = NULL;
	utf8proc_ssize_t len;
	int ascii = 1, valid = 1;
	int32_t c;
	size_t i;

	rag_buf_reset(&L->norm);
	for (i = 0; i < n && ascii; i++)
		ascii = (unsigned char)s[i] < 0x80;
	if (ascii) {
		rag_buf_grow(&L->norm, n);
		for (i = 0; i < n; i++) {
			char ch = s[i];

			L->norm.data[i] = ch >= 'A' && ch <= 'Z' ?
			    (char)(ch - 'A' + 'a') : ch;
		}
		L->norm.len = n;
		L->norm.data[n] = '\0';
		return;
	}
	for (i = 0; i < n; i += (size_t)len) {
		len = utf8proc_iterate((const utf8proc_uint8_t *)s + i,
		    (utf8proc_ssize_t)(n - i), &c);
		if (len <= 0) {
			valid = 0;
			break;
		}
	}
	if (!valid) {
		rag_buf_reset(&L->tmp);
		for (i = 0; i < n; i += (size_t)len) {
			len = utf8proc_iterate((const utf8proc_uint8_t *)s + i,
			    (utf8proc_ssize_t)(n - i), &c);
			if (len <= 0) {
				rag_buf_addc(&L->tmp, ' ');
				len = 1;
			} else {
				rag_buf_add(&L->tmp, s + i, (size_t)len);
			}
		}
		s = L->tmp.data;
		n = L->tmp.len;
	}
	len = utf8proc_map((const utf8proc_uint8_t *)s, (utf8proc_ssize_t)n,
	    &dst, opts);
	if (len < 0) {
		/* Cannot happen for valid input; embed it as it came. */
		rag_buf_add(&L->norm, s, n);
		return;
	}
	rag_buf_add(&L->norm, dst, (size_t)len);
	free(dst);
}

static void
embed_one(struct local *L, const char *text, size_t n, float *out)
{
	double norm = 0.0, scale, v;
	size_t i;
	int d;

	normalise(L, text, n);
	table_clear(L);
	L->stopped = 0;
	L->keep_stops = 0;
	features(L, L->norm.data, L->norm.len);
	if (L->used == 0 && L->stopped > 0) {
		/* "to be or not to be" still deserves a vector. */
		L->keep_stops = 1;
		features(L, L->norm.data, L->norm.len);
	}
	for (d = 0; d < L->dims; d++)
		L->acc[d] = 0.0;
	for (i = 0; i < L->used; i++) {
		const struct feat *f = &L->tab[L->slots[i]];

		v = f->w * (1.0 + log((double)f->tf));
		L->acc[f->key % (uint64_t)L->dims] += (f->key >> 63) ? -v : v;
	}
	for (d = 0; d < L->dims; d++)
		norm += L->acc[d] * L->acc[d];
	scale = norm > 0.0 ? 1.0 / sqrt(norm) : 0.0;
	for (d = 0; d < L->dims; d++)
		out[d] = (float)(L->acc[d] * scale);
}

static void *
local_open(const char *model, int dims, struct rag_embed_info *info,
    struct rag_error *err)
{
	struct local *L;

	if (strcmp(model, MODEL_NAME) != 0) {
		rag_error_set(err, RAG_EXIT_USAGE,
		    "unknown local embedding model '%s': the local provider "
		    "has 'local/%s'", model, MODEL_NAME);
		return NULL;
	}
	if (dims == 0)
		dims = DEFAULT_DIMS;
	if (dims < 1 || dims > MAX_DIMS) {
		rag_error_set(err, RAG_EXIT_USAGE,
		    "embedding dimensions must be between 1 and %d, not %d",
		    MAX_DIMS, dims);
		return NULL;
	}
	L = rag_xcalloc(1, sizeof(*L));
	L->dims = dims;
	L->acc = rag_xmalloc((size_t)dims * sizeof(*L->acc));
	rag_buf_init(&L->norm);
	rag_buf_init(&L->tmp);
	table_grow(L);
	info->model = MODEL_NAME;
	info->dimensions = dims;
	info->batch_size = BATCH_SIZE;
	info->fusion_weight = FUSION_WEIGHT;
	return L;
}

static int
local_embed(void *state, struct rag_embed_call *c, struct rag_error *err)
{
	struct local *L = state;
	size_t i;

	(void)err;
	for (i = 0; i < c->n; i++)
		embed_one(L, c->texts[i], c->lens[i],
		    c->out + i * (size_t)L->dims);
	return 0;
}

static void
local_close(void *state)
{
	struct local *L = state;

	if (L == NULL)
		return;
	free(L->tab);
	free(L->slots);
	free(L->acc);
	free(L->offs);
	rag_buf_release(&L->norm);
	rag_buf_release(&L->tmp);
	free(L);
}

const struct rag_embed_provider rag_embed_local = {
	"local", MODEL_NAME, local_open, local_embed, local_close, NULL
};
