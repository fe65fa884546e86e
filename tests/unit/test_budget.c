/* Unit tests for the pure parts of budget.c and throttle.c: amounts, limits, messages, the buckets' bounds. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "budget.h"
#include "throttle.h"
#include "tap.h"

static void
test_amounts(void)
{
	struct rag_error err = RAG_ERROR_INIT;
	char buf[32];
	double usd;

	ok(rag_budget_parse("50", &usd, &err) == 0 && usd == 50, "'50'");
	ok(rag_budget_parse("$12.50", &usd, &err) == 0 && usd == 12.5,
	    "'$12.50'");
	ok(rag_budget_parse("0", &usd, &err) == 0 && usd == 0,
	    "'0' is a budget of nothing");
	ok(rag_budget_parse("none", &usd, &err) == 0 && usd < 0,
	    "'none' removes it");
	ok(rag_budget_parse("-5", &usd, &err) != 0 &&
	    err.code == RAG_EXIT_USAGE && strstr(err.msg, "'-5'") != NULL,
	    "a negative amount is refused, quoted");
	ok(rag_budget_parse("ten", &usd, &err) != 0, "words are refused");
	ok(rag_budget_parse("", &usd, &err) != 0, "nothing is refused");
	rag_budget_usd(12.5, buf, sizeof(buf));
	is_str(buf, "$12.50", "dollars have cents");
	rag_budget_usd(0, buf, sizeof(buf));
	is_str(buf, "$0.00", "nothing is $0.00");
	rag_budget_usd(0.0042, buf, sizeof(buf));
	is_str(buf, "$0.0042", "a small amount keeps its digits");
	rag_budget_usd(0.5, buf, sizeof(buf));
	is_str(buf, "$0.50", "... and two decimals at least");
}

static void
test_messages(void)
{
	struct rag_error err = RAG_ERROR_INIT;
	struct rag_budget_state st;
	char line[512];

	memset(&st, 0, sizeof(st));
	snprintf(st.month, sizeof(st.month), "2026-05");
	st.budget = 10;
	st.spent = 9.43;
	st.held = 0.4;
	st.estimate = 0.8;
	st.model = "openai/gpt-4o";
	ok(rag_budget_refusal("acme", &st, &err) == -1 &&
	    err.code == RAG_EXIT_REFUSED, "a refusal is 77");
	ok(strstr(err.msg, "tenant 'acme'") != NULL, "it names the tenant");
	ok(strstr(err.msg, "$9.43") != NULL, "the month's spend");
	ok(strstr(err.msg, "budget of $10.00 for 2026-05") != NULL,
	    "the budget and the month");
	ok(strstr(err.msg, "hold $0.40") != NULL, "what is held");
	ok(strstr(err.msg, "openai/gpt-4o would cost about $0.80") != NULL,
	    "the call and its estimate");
	ok(strstr(err.msg, "rag-cost --set-budget acme AMOUNT") != NULL,
	    "how to raise it");
	st.held = 0;
	rag_budget_refusal("acme", &st, &err);
	ok(strstr(err.msg, "hold") == NULL, "nothing held, nothing said");
	st.spent = 8.1;
	ok(fabs(rag_budget_percent(&st) - 81) < 1e-9, "81 %% spent");
	rag_budget_warning("acme", &st, line, sizeof(line));
	ok(strstr(line, "tenant 'acme' has spent $8.10 of its budget of "
	    "$10.00 for 2026-05 (81 %)") != NULL, "the warning: %s", line);
	st.budget = 0;
	ok(rag_budget_percent(&st) == 0, "a budget of 0 is no percentage");
}

static void
test_limits(void)
{
	struct rag_error err = RAG_ERROR_INIT;
	enum rag_throttle_kind k;
	double v;

	ok(rag_throttle_parse("qps=5", &k, &v, &err) == 0 &&
	    k == RAG_THROTTLE_QPS && v == 5, "qps=5");
	ok(rag_throttle_parse("rpm=600", &k, &v, &err) == 0 &&
	    k == RAG_THROTTLE_RPM && v == 600, "rpm=600");
	ok(rag_throttle_parse("tpm=2e5", &k, &v, &err) == 0 &&
	    k == RAG_THROTTLE_TPM && v == 2e5, "tpm=2e5");
	ok(rag_throttle_parse("qps=off", &k, &v, &err) == 0 && v < 0,
	    "qps=off");
	ok(rag_throttle_parse("qps=0", &k, &v, &err) == 0 && v < 0,
	    "qps=0 is off too");
	ok(rag_throttle_parse("qps=0.5", &k, &v, &err) == 0 && v == 0.5,
	    "one every two seconds");
	ok(rag_throttle_parse("rps=5", &k, &v, &err) != 0 &&
	    err.code == RAG_EXIT_USAGE && strstr(err.msg, "qps=N") != NULL,
	    "an unknown kind says the known ones");
	ok(rag_throttle_parse("qps", &k, &v, &err) != 0, "no value");
	ok(rag_throttle_parse("qps=-1", &k, &v, &err) != 0, "negative");
	ok(rag_throttle_parse("qps=lots", &k, &v, &err) != 0, "words");
	is_str(rag_throttle_name(RAG_THROTTLE_TPM), "tpm", "names");
	ok(rag_throttle_window(RAG_THROTTLE_QPS) == 1 &&
	    rag_throttle_window(RAG_THROTTLE_RPM) == 60, "windows");
}

/*
 * The bucket as sql/0008-budgets.sql runs it, clients asking as fast as
 * it gives: returns the most grants in any window of w seconds (a window
 * [t, t + w) starting at a grant holds the most).
 */
static int
most_in_window(double cap, double rate, double w, double seconds)
{
	static double at[100000];
	double level = cap, t = 0;
	int n = 0, most = 0;

	while (t < seconds && n < 100000) {
		if (level >= 1) {
			at[n++] = t;
			level -= 1;
			continue;
		}
		t += (1 - level) / rate;	/* the wait it would be told */
		level = 1;
	}
	for (int i = 0, j = 0; i < n; i++) {
		while (j < n && at[j] < at[i] + w - 1e-9)
			j++;
		if (j - i > most)
			most = j - i;
	}
	return most;
}

static void
test_buckets(void)
{
	static const double limits[] = { 1, 2, 3, 4, 5, 7, 10, 20, 33, 100,
		600, 3000 };
	bool within = true, busy = true;
	double cap, rate;

	for (size_t i = 0; i < sizeof(limits) / sizeof(*limits); i++) {
		for (int k = RAG_THROTTLE_QPS; k <= RAG_THROTTLE_RPM; k++) {
			double a = limits[i], w = rag_throttle_window(k);
			int most;

			rag_throttle_bucket(k, a, &cap, &rate);
			most = most_in_window(cap, rate, w, 5 * w);
			if (most > a) {
				within = false;
				printf("#   %s=%g: %d in a window\n",
				    rag_throttle_name(k), a, most);
			}
			/* Not needlessly slow: 80 % of the limit at least. */
			if (rate * w < 0.8 * a - 1)
				busy = false;
		}
	}
	ok(within, "no window sees more than the limit");
	ok(busy, "and a tenant gets most of its limit");
	rag_throttle_bucket(RAG_THROTTLE_QPS, 5, &cap, &rate);
	ok(cap == 1, "qps=5: no burst beyond one");
	rag_throttle_bucket(RAG_THROTTLE_RPM, 600, &cap, &rate);
	ok(cap == 60, "rpm=600: a burst of a tenth");
	rag_throttle_bucket(RAG_THROTTLE_QPS, 0.5, &cap, &rate);
	ok(cap == 1 && fabs(1 / rate - 2.2) < 1e-9,
	    "qps=0.5: one every 2.2 s");
}

static void
test_refusal(void)
{
	struct rag_error err = RAG_ERROR_INIT;
	struct rag_throttle_wait w = { 0.21, RAG_THROTTLE_QPS, 5 };

	ok(rag_throttle_refusal("acme", &w, "(or pass --wait)", &err) == -1 &&
	    err.code == RAG_EXIT_TEMPFAIL, "a limit reached is 75");
	is_str(err.msg, "tenant 'acme' has reached its limit qps=5 (questions "
	    "a second): try again in 0.3 s (or pass --wait)", "the message");
	w.seconds = 0.001;
	w.kind = RAG_THROTTLE_TPM;
	w.per_window = 100000;
	rag_throttle_refusal("acme", &w, NULL, &err);
	is_str(err.msg, "tenant 'acme' has reached its limit tpm=100000 "
	    "(provider tokens a minute): try again in 0.1 s",
	    "never 'in 0 s'");
}

int
main(void)
{
	test_amounts();
	test_messages();
	test_limits();
	test_buckets();
	test_refusal();
	return tap_done();
}
