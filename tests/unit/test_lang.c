#include <string.h>

#include "lang.h"
#include "tap.h"

static void
test_detect(void)
{
	static const struct {
		const char *text, *lang;
	} cases[] = {
		{ "The refund policy covers all orders placed in the last "
		  "thirty days.", "en" },
		{ "What is the refund policy?", "en" },
		{ "Die Rückerstattung gilt für alle Bestellungen der letzten "
		  "dreißig Tage.", "de" },
		{ "Wie hoch ist der Umsatz?", "de" },
		{ "La politique de remboursement couvre toutes les commandes "
		  "passées au cours des trente derniers jours.", "fr" },
		{ "营业收入比上年同期增长了百分之十五", "zh" },
		{ "سياسة الاسترداد تغطي جميع الطلبات", "ar" },
		{ "환불 정책은 지난 30일 동안의 모든 주문에 적용됩니다", "ko" },
	};
	struct rag_error err = RAG_ERROR_INIT;

	is_int(rag_lang_init(&err), 0, "the profiles load: %s", err.msg);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *got = rag_lang_detect(cases[i].text,
		    strlen(cases[i].text));

		is_str(got, cases[i].lang, "'%.24s' is %s", cases[i].text,
		    cases[i].lang);
	}
	ok(rag_lang_detect("", 0) == NULL, "no text, no language");
	ok(rag_lang_detect("42", 2) == NULL, "digits are no language");
}

static void
test_stemmer(void)
{
	is_str(rag_lang_stemmer("en"), "english", "en stems as english");
	is_str(rag_lang_stemmer("de"), "german", "de as german");
	is_str(rag_lang_stemmer("nb"), "norwegian", "nb as norwegian");
	is_str(rag_lang_stemmer("german"), "german", "a Snowball name stays");
	is_str(rag_lang_stemmer("zh"), "simple", "zh has no stemmer");
	is_str(rag_lang_stemmer("he"), "simple", "nor has he");
}

static void
test_guess(void)
{
	static const struct {
		const char *text, *lang;
	} cases[] = {
		{ "The refund policy covers all of the orders that were placed "
		  "in the last thirty days, and it is the same for everyone.",
		  "en" },
		{ "Die Rückerstattung gilt für alle Bestellungen, die in den "
		  "letzten dreißig Tagen aufgegeben wurden, und sie ist für alle "
		  "gleich.", "de" },
		{ "La politique de remboursement couvre toutes les commandes qui "
		  "ont été passées au cours des trente derniers jours, et elle "
		  "est la même pour tous.", "fr" },
		{ "Политика возврата распространяется на все заказы, которые "
		  "были сделаны за последние тридцать дней, и она одинакова для "
		  "всех.", "ru" },
		{ "营业收入比上年同期增长了百分之十五，净利润增长了百分之二十。",
		  "zh" },
		{ "日本語のテキストは漢字とひらがなとカタカナで書かれています。",
		  "ja" },
		{ "환불 정책은 지난 30일 동안의 모든 주문에 적용되며 모두에게 "
		  "동일합니다.", "ko" },
		{ "מדיניות ההחזרים חלה על כל ההזמנות שבוצעו בשלושים הימים "
		  "האחרונים.", "he" },
		{ "سياسة الاسترداد تغطي جميع الطلبات التي تم تقديمها خلال "
		  "الثلاثين يوما الماضية.", "ar" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		is_str(rag_lang_guess(cases[i].text, strlen(cases[i].text)),
		    cases[i].lang, "guess: '%.24s' is %s", cases[i].text,
		    cases[i].lang);
	ok(rag_lang_guess("Fig. 3", 6) == NULL, "a caption has no language");
}

int
main(void)
{
	test_detect();
	test_guess();
	test_stemmer();
	return tap_done();
}
