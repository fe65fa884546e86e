#include <stdint.h>
#include <string.h>

#include "tap.h"
#include "utf8.h"

static void
test_decode(void)
{
	size_t len;

	is_int(rag_utf8_decode("A", 1, &len), 'A', "decode ASCII");
	is_int(len, 1, "ASCII is one byte");
	is_int(rag_utf8_decode("\xC3\xA9", 2, &len), 0xE9, "decode e-acute");
	is_int(len, 2, "e-acute is two bytes");
	is_int(rag_utf8_decode("\xE4\xB8\xAD", 3, &len), 0x4E2D,
	    "decode a Han ideograph");
	is_int(len, 3, "Han is three bytes");
	is_int(rag_utf8_decode("\xF0\x9F\x98\x80", 4, &len), 0x1F600,
	    "decode an emoji");
	is_int(len, 4, "emoji is four bytes");
	is_int(rag_utf8_decode("\xF4\x8F\xBF\xBF", 4, &len), 0x10FFFF,
	    "decode U+10FFFF");
	is_int(rag_utf8_decode("", 0, &len), -1, "nothing to decode");
	is_int(len, 0, "nothing consumed");

	is_int(rag_utf8_decode("\xC0\x80", 2, &len), -1, "overlong NUL");
	is_int(len, 1, "a bad byte is consumed alone");
	is_int(rag_utf8_decode("\xC1\xBF", 2, &len), -1, "overlong C1");
	is_int(rag_utf8_decode("\xE0\x9F\xBF", 3, &len), -1,
	    "overlong three-byte form");
	is_int(rag_utf8_decode("\xF0\x8F\xBF\xBF", 4, &len), -1,
	    "overlong four-byte form");
	is_int(rag_utf8_decode("\xED\xA0\x80", 3, &len), -1, "surrogate");
	is_int(rag_utf8_decode("\xF4\x90\x80\x80", 4, &len), -1,
	    "above U+10FFFF");
	is_int(rag_utf8_decode("\xF5\x80\x80\x80", 4, &len), -1, "F5 lead");
	is_int(rag_utf8_decode("\x80", 1, &len), -1, "lone continuation");
	is_int(rag_utf8_decode("\xE4\xB8", 2, &len), -1, "truncated");
	is_int(rag_utf8_decode("\xE4\x41\xAD", 3, &len), -1,
	    "ASCII inside a sequence");
}

static void
test_encode_roundtrip(void)
{
	char out[4];
	size_t n, len, bad = 0;
	uint32_t cp;

	for (cp = 0; cp <= 0x10FFFF; cp++) {
		n = rag_utf8_encode(cp, out);
		if (cp >= 0xD800 && cp <= 0xDFFF) {
			if (n != 0)
				bad++;
			continue;
		}
		if (n == 0 || rag_utf8_decode(out, n, &len) != (int32_t)cp ||
		    len != n || !rag_utf8_valid(out, n))
			bad++;
	}
	is_int(bad, 0, "every scalar value encodes and decodes back");
	is_int(rag_utf8_encode(0x110000, out), 0, "no encoding past U+10FFFF");
	is_int(rag_utf8_encode(0x7FF, out), 2, "U+07FF is two bytes");
	is_int(rag_utf8_encode(0x800, out), 3, "U+0800 is three bytes");
	is_int(rag_utf8_encode(0x10000, out), 4, "U+10000 is four bytes");
}

static void
test_check(void)
{
	static const char ok_text[] =
	    "plain ASCII that is longer than eight bytes, "
	    "caf\xC3\xA9 \xE4\xB8\xAD\xE6\x96\x87 \xF0\x9F\x98\x80 end";
	char big[4096];
	size_t i;

	ok(rag_utf8_valid(ok_text, strlen(ok_text)), "mixed text is valid");
	ok(rag_utf8_valid("", 0), "empty text is valid");
	is_int(rag_utf8_check("abc\xFF" "def", 7), 3, "bad byte found at 3");
	is_int(rag_utf8_check("abcdefghij\xC3", 11), 10,
	    "truncated sequence at the end found");
	is_int(rag_utf8_check("abcdefgh\xED\xA0\x80", 11), 8,
	    "surrogate after the fast path found");
	ok(rag_utf8_valid("a\0b", 3), "NUL is an ordinary byte");
	for (i = 0; i < sizeof(big); i++)
		big[i] = (char)('a' + i % 26);
	big[4000] = (char)0x80;
	is_int(rag_utf8_check(big, sizeof(big)), 4000,
	    "bad byte deep in ASCII found");
}

static void
test_walk(void)
{
	/* a, e-acute, Han, emoji, bad byte, z */
	static const char s[] = "a\xC3\xA9\xE4\xB8\xAD\xF0\x9F\x98\x80\xFFz";
	size_t n = sizeof(s) - 1;
	static const size_t starts[] = { 0, 1, 3, 6, 10, 11 };
	size_t i, k, fails = 0;

	is_int(n, 12, "test string length");
	is_int(rag_utf8_length(s, n), 6, "six units");
	for (k = 0, i = 0; i < n; k++) {
		if (i != starts[k])
			fails++;
		i = rag_utf8_next(s, n, i);
	}
	is_int(fails, 0, "next visits every unit start");
	is_int(k, 6, "next stops after six units");
	for (k = 5, i = n; i > 0; k--) {
		i = rag_utf8_prev(s, n, i);
		if (i != starts[k])
			fails++;
	}
	is_int(fails, 0, "prev visits every unit start backwards");
	is_int(rag_utf8_floor(s, n, 2), 1, "floor inside e-acute");
	is_int(rag_utf8_floor(s, n, 5), 3, "floor at the last Han byte");
	is_int(rag_utf8_floor(s, n, 9), 6, "floor at the last emoji byte");
	is_int(rag_utf8_floor(s, n, 10), 10, "a bad byte is its own unit");
	is_int(rag_utf8_floor(s, n, n), n, "floor at the end");
	is_int(rag_utf8_ceil(s, n, 4), 6, "ceil inside Han");
	is_int(rag_utf8_ceil(s, n, 6), 6, "ceil at a start");
	is_int(rag_utf8_ceil(s, n, 7), 10, "ceil inside the emoji");
	/* Continuation bytes that no lead byte owns are units too. */
	is_int(rag_utf8_floor("a\x80\x80", 3, 2), 2, "stray continuation");
	is_int(rag_utf8_floor("\xE4\xB8", 2, 1), 1,
	    "continuation of a truncated sequence");
	is_int(rag_utf8_next("\xE4\xB8", 2, 0), 1,
	    "a truncated lead is one unit");
}

static void
test_classes(void)
{
	ok(rag_utf8_is_cjk(0x4E2D), "Han is CJK");
	ok(rag_utf8_is_cjk(0x3042), "hiragana is CJK");
	ok(rag_utf8_is_cjk(0x30AB), "katakana is CJK");
	ok(rag_utf8_is_cjk(0xD55C), "Hangul is CJK");
	ok(rag_utf8_is_cjk(0x3002), "ideographic full stop is CJK");
	ok(rag_utf8_is_cjk(0xFF01), "fullwidth exclamation is CJK");
	ok(rag_utf8_is_cjk(0x20BB7), "supplementary Han is CJK");
	ok(!rag_utf8_is_cjk('A'), "A is not CJK");
	ok(!rag_utf8_is_cjk(0xE9), "e-acute is not CJK");
	ok(!rag_utf8_is_cjk(0x0416), "Cyrillic is not CJK");
	ok(!rag_utf8_is_cjk(0x1F600), "emoji is not CJK");
	ok(rag_utf8_is_combining(0x0301), "acute accent combines");
	ok(rag_utf8_is_combining(0x200D), "zero width joiner combines");
	ok(rag_utf8_is_combining(0xFE0F), "variation selector combines");
	ok(rag_utf8_is_combining(0x1F3FD), "skin tone combines");
	ok(!rag_utf8_is_combining('e'), "e does not combine");
	ok(!rag_utf8_is_combining(0x4E2D), "Han does not combine");
}

int
main(void)
{
	test_decode();
	test_encode_roundtrip();
	test_check();
	test_walk();
	test_classes();
	return tap_done();
}
