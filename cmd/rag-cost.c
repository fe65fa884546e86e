/* rag-cost: what the providers were paid, from the cost ledger: by tenant, model, stage, day. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "budget.h"
#include "buf.h"
#include "columns.h"
#include "config.h"
#include "cost.h"
#include "log.h"
#include "mem.h"
#include "opt.h"
#include "record.h"
#include "stream.h"
#include "throttle.h"
#include "tool.h"

static const char help_head[] =
    "usage: rag-cost [-jqv] [--since TIME] [--until TIME] [--by KEYS]\n"
    "                [--tenant NAME]\n"
    "       rag-cost [-jqv] --prices\n"
    "       rag-cost [-qv] --set-price PROVIDER/MODEL=PRICE [--tenant NAME]\n"
    "       rag-cost [-jqv] --budgets [--tenant NAME]\n"
    "       rag-cost [-qv] --set-budget TENANT AMOUNT\n"
    "       rag-cost [-jqv] --limits [--tenant NAME]\n"
    "       rag-cost [-qv] --set-limit TENANT KIND=N ...\n"
    "\n"
    "Report what the providers were paid, from the cost ledger that\n"
    "rag-embed, rag-query and rag-answer write (one row per billable call,\n"
    "with the tokens the provider counted and the price in force then):\n"
    "calls, texts, input and output tokens, searches and US dollars,\n"
    "grouped by day, tenant, stage and model.  On a terminal\n"
    "a table with a total; piped (or with --json) \"cost\" records.  Days are\n"
    "UTC days.\n"
    "\n";

static const char help_tail[] =
    "\n"
    "Environment: RAG_BUDGET_HOOK, a command run (with /bin/sh) when a\n"
    "tenant's spend reaches 80 % of its budget, once a month; see rag-cost(1).\n";

enum {
	OPT_SINCE = RAG_OPT_FIRST_TOOL,
	OPT_UNTIL,
	OPT_BY,
	OPT_PRICES,
	OPT_SET_PRICE,
	OPT_BUDGETS,
	OPT_SET_BUDGET,
	OPT_LIMITS,
	OPT_SET_LIMIT
};

static struct rag_getopt g;

static const struct rag_optdef optdefs[] = {
	{ "since", OPT_SINCE, "TIME",
	    "calls from TIME on: a date (2026-11-01), a date\n"
	    "and time ('2026-11-01 12:00', UTC unless it\n"
	    "says otherwise) or an age (7d, 12h, 30m)" },
	{ "until", OPT_UNTIL, "TIME",
	    "calls before TIME (same forms)" },
	{ "by", OPT_BY, "KEYS",
	    "group by these, comma-separated: day, month,\n"
	    "tenant, stage, provider, model (default\n"
	    "day,tenant,stage,model; '' for one total)" },
	{ "tenant", RAG_OPT_TENANT, "NAME",
	    "only this tenant's calls, read as that tenant\n"
	    "(default: every tenant's, as the database's\n"
	    "owner); with --set-price, a price for this\n"
	    "tenant only" },
	{ "prices", OPT_PRICES, NULL,
	    "list the prices in force (USD per million input\n"
	    "and output tokens, per thousand searches),\n"
	    "instead of the report" },
	{ "set-price", OPT_SET_PRICE, "P/M=PRICE",
	    "the price of a model from now on: USD per\n"
	    "million input tokens ('0.02'), input and output\n"
	    "('0.15,0.60'), or 'in:X,out:Y,search:Z' (Z per\n"
	    "thousand searches); calls made before keep theirs" },
	{ "budgets", OPT_BUDGETS, NULL,
	    "list the monthly budgets: spent this month (UTC),\n"
	    "held by calls in flight, per cent" },
	{ "set-budget", OPT_SET_BUDGET, "TENANT AMOUNT",
	    "what TENANT may spend a month, in US\n"
	    "dollars ('50'), or 'none'; a paid call that\n"
	    "would pass it is refused (exit 77)" },
	{ "limits", OPT_LIMITS, NULL,
	    "list the tenants' rate limits" },
	{ "set-limit", OPT_SET_LIMIT, "TENANT",
	    "KIND=N ...  TENANT's rate limits: qps=N\n"
	    "(questions a second to rag-query and\n"
	    "rag-answer), rpm=N and tpm=N (requests and\n"
	    "tokens a minute to the paid providers);\n"
	    "KIND=off removes one" },
	{ "json", 'j', NULL,
	    "records even on a terminal" },
	{ NULL, 0, NULL, NULL }
};

struct opts {
	const char *since, *until, *by, *tenant, *set_price;
	const char *set_budget, *set_limit;	/* the TENANT */
	bool prices, json, budgets, limits;
	char **operands;		/* AMOUNT, or KIND=N ... */
	int noperands;
};

struct report {
	struct opts *o;
	unsigned by;
	struct rag_columns t;
	size_t nkeys;
	long long calls, texts, tokens, estimated, unpriced;
	long long output, searches;
	double cost;
	long rows;
};

static int
row_record(const struct rag_cost_row *row, void *arg)
{
	struct report *rp = arg;
	json_t *rec = json_pack("{s:s}", "type", "cost");
	const char *keys[] = { "day", "month", "tenant", "stage", "provider",
		"model" };
	const char *vals[] = { row->day, row->month, row->tenant, row->stage,
		row->provider, row->model };

	for (size_t i = 0; i < 6; i++)
		if (vals[i] != NULL)
			json_object_set_new(rec, keys[i], json_string(vals[i]));
	json_object_set_new(rec, "calls", json_integer(row->calls));
	json_object_set_new(rec, "texts", json_integer(row->texts));
	json_object_set_new(rec, "tokens", json_integer(row->tokens));
	json_object_set_new(rec, "output_tokens",
	    json_integer(row->output_tokens));
	json_object_set_new(rec, "search_units",
	    json_integer(row->search_units));
	json_object_set_new(rec, "estimated_tokens",
	    json_integer(row->estimated_tokens));
	json_object_set_new(rec, "unpriced_tokens",
	    json_integer(row->unpriced_tokens));
	json_object_set_new(rec, "cost_usd", json_real(row->cost_usd));
	if (rag_record_write(stdout, rec) != 0) {
		json_decref(rec);
		return -1;	/* stdout is gone: stop */
	}
	json_decref(rec);
	rp->rows++;
	return 0;
}

static int
row_table(const struct rag_cost_row *row, void *arg)
{
	struct report *rp = arg;
	const char *vals[] = { row->day, row->month, row->tenant, row->stage,
		row->provider, row->model };

	for (size_t i = 0; i < 6; i++)
		if (vals[i] != NULL)
			rag_columns_add(&rp->t, "%s", vals[i]);
	rag_columns_add(&rp->t, "%lld", row->calls);
	rag_columns_add(&rp->t, "%lld", row->texts);
	rag_columns_add(&rp->t, "%lld%s", row->tokens, row->estimated_tokens ||
	    row->unpriced_tokens ? "*" : "");
	rag_columns_add(&rp->t, "%lld", row->output_tokens);
	rag_columns_add(&rp->t, "%lld", row->search_units);
	rag_columns_add(&rp->t, "%.6f", row->cost_usd);
	rp->output += row->output_tokens;
	rp->searches += row->search_units;
	rp->calls += row->calls;
	rp->texts += row->texts;
	rp->tokens += row->tokens;
	rp->estimated += row->estimated_tokens;
	rp->unpriced += row->unpriced_tokens;
	rp->cost += row->cost_usd;
	rp->rows++;
	return 0;
}

static void
table_head(struct report *rp)
{
	static const char *const names[] = { "DAY", "MONTH", "TENANT",
		"STAGE", "PROVIDER", "MODEL" };
	static const unsigned flags[] = { RAG_COST_BY_DAY, RAG_COST_BY_MONTH,
		RAG_COST_BY_TENANT, RAG_COST_BY_STAGE, RAG_COST_BY_PROVIDER,
		RAG_COST_BY_MODEL };
	size_t k = 0;

	for (size_t i = 0; i < 6; i++)
		if (rp->by & flags[i])
			k++;
	rp->nkeys = k;
	rag_columns_init(&rp->t, k + 6);
	for (size_t i = k; i < k + 6; i++)
		rp->t.right[i] = true;
	for (size_t i = 0; i < 6; i++)
		if (rp->by & flags[i])
			rag_columns_add(&rp->t, "%s", names[i]);
	rag_columns_add(&rp->t, "CALLS");
	rag_columns_add(&rp->t, "TEXTS");
	rag_columns_add(&rp->t, "TOKENS");
	rag_columns_add(&rp->t, "OUT TOKENS");
	rag_columns_add(&rp->t, "SEARCHES");
	rag_columns_add(&rp->t, "USD");
}

static int
report(struct rag_db *db, struct opts *o)
{
	struct rag_error err = RAG_ERROR_INIT;
	struct rag_cost_query q;
	struct report rp;
	char since[64], until[64];
	int rc;

	memset(&q, 0, sizeof(q));
	memset(&rp, 0, sizeof(rp));
	rp.o = o;
	if (rag_cost_parse_by(o->by, &rp.by, &err) != 0)
		rag_usage_error("option --by: %s", err.msg);
	if (o->since != NULL) {
		if (rag_cost_parse_time(db, o->since, since, &err) != 0) {
			rag_error_prefix(&err, "option --since");
			goto fail;
		}
		q.since = since;
	}
	if (o->until != NULL) {
		if (rag_cost_parse_time(db, o->until, until, &err) != 0) {
			rag_error_prefix(&err, "option --until");
			goto fail;
		}
		q.until = until;
	}
	q.tenant = o->tenant;
	q.by = rp.by;
	if (o->json) {
		rc = rag_cost_report(db, &q, row_record, &rp, &err);
		if (rc < 0 && err.code != 0)
			goto fail;
		return 0;
	}
	table_head(&rp);
	if (rag_cost_report(db, &q, row_table, &rp, &err) != 0) {
		rag_columns_release(&rp.t);
		goto fail;
	}
	if (rp.rows == 0) {
		rag_columns_release(&rp.t);
		rag_info("no billable calls%s%s%s%s", o->since ? " since " : "",
		    o->since ? o->since : "", o->until ? " before " : "",
		    o->until ? o->until : "");
		return 0;
	}
	if (rp.rows > 1) {
		for (size_t i = 0; i < rp.nkeys; i++)
			rag_columns_add(&rp.t, "%s", i == 0 ? "total" : "");
		rag_columns_add(&rp.t, "%lld", rp.calls);
		rag_columns_add(&rp.t, "%lld", rp.texts);
		rag_columns_add(&rp.t, "%lld%s", rp.tokens, rp.estimated ||
		    rp.unpriced ? "*" : "");
		rag_columns_add(&rp.t, "%lld", rp.output);
		rag_columns_add(&rp.t, "%lld", rp.searches);
		rag_columns_add(&rp.t, "%.6f", rp.cost);
	}
	/* Embeddings alone have no output tokens and no searches. */
	rp.t.hidden[rp.nkeys + 3] = rp.output == 0;
	rp.t.hidden[rp.nkeys + 4] = rp.searches == 0;
	rag_columns_write(&rp.t, stdout);
	if (rp.estimated > 0)
		printf("* %lld tokens are rag's estimates: the provider's "
		    "answer could not be read\n", rp.estimated);
	if (rp.unpriced > 0)
		printf("* %lld tokens have no price: see rag-cost --prices and "
		    "--set-price\n", rp.unpriced);
	rag_columns_release(&rp.t);
	return 0;
fail:
	if (err.code == RAG_EXIT_USAGE)
		rag_usage_error("%s", err.msg);
	rag_die(err.code, "%s", err.msg);
}

static int
price_record(const struct rag_cost_price *p, void *arg)
{
	json_t *rec = json_pack("{s:s}", "type", "price");
	int rc;

	(void)arg;
	json_object_set_new(rec, "tenant",
	    p->tenant ? json_string(p->tenant) : json_null());
	json_object_set_new(rec, "model", json_string(p->model));
	json_object_set_new(rec, "usd_per_mtok", json_real(p->usd_per_mtok));
	json_object_set_new(rec, "usd_per_mtok_out",
	    json_real(p->usd_per_mtok_out));
	json_object_set_new(rec, "usd_per_ksearch",
	    json_real(p->usd_per_ksearch));
	json_object_set_new(rec, "valid_from", json_string(p->valid_from));
	rc = rag_record_write(stdout, rec);
	json_decref(rec);
	return rc;
}

static int
price_row(const struct rag_cost_price *p, void *arg)
{
	struct rag_columns *t = arg;

	rag_columns_add(t, "%s", p->tenant ? p->tenant : "(everyone)");
	rag_columns_add(t, "%s", p->model);
	rag_columns_add(t, "%g", p->usd_per_mtok);
	rag_columns_add(t, "%g", p->usd_per_mtok_out);
	rag_columns_add(t, "%g", p->usd_per_ksearch);
	rag_columns_add(t, "%s", strcmp(p->valid_from, "-infinity") == 0 ?
	    "(shipped)" : p->valid_from);
	return 0;
}

static void
prices(struct rag_db *db, const struct opts *o)
{
	struct rag_error err = RAG_ERROR_INIT;
	struct rag_columns t;
	int rc;

	if (o->json) {
		rc = rag_cost_prices(db, price_record, NULL, &err);
		if (rc < 0 && err.code != 0)
			rag_die(err.code, "%s", err.msg);
		return;
	}
	rag_columns_init(&t, 6);
	t.right[2] = t.right[3] = t.right[4] = true;
	rag_columns_add(&t, "TENANT");
	rag_columns_add(&t, "MODEL");
	rag_columns_add(&t, "USD/MTOK");
	rag_columns_add(&t, "OUT/MTOK");
	rag_columns_add(&t, "USD/1K SEARCHES");
	rag_columns_add(&t, "SINCE (UTC)");
	if (rag_cost_prices(db, price_row, &t, &err) != 0) {
		rag_columns_release(&t);
		rag_die(err.code, "%s", err.msg);
	}
	rag_columns_write(&t, stdout);
	rag_columns_release(&t);
}

static void
set_price(struct rag_db *db, const struct opts *o)
{
	struct rag_error err = RAG_ERROR_INIT;
	const char *eq = strrchr(o->set_price, '=');
	struct rag_cost_price p;
	struct rag_buf what = RAG_BUF_INIT;
	char *model;

	if (eq == NULL || eq == o->set_price)
		rag_usage_error("option --set-price: '%s' is not "
		    "PROVIDER/MODEL=USD (e.g. "
		    "openai/text-embedding-3-small=0.02)", o->set_price);
	if (rag_cost_parse_price(eq + 1, &p, &err) != 0)
		rag_usage_error("option --set-price: '%s' is not "
		    "PROVIDER/MODEL=USD: %s", o->set_price, err.msg);
	model = rag_xstrndup(o->set_price, (size_t)(eq - o->set_price));
	if (rag_cost_set_price(db, o->tenant, model, &p, &err) != 0) {
		free(model);
		if (err.code == RAG_EXIT_USAGE)
			rag_usage_error("option --set-price: %s", err.msg);
		rag_die(err.code, "%s", err.msg);
	}
	rag_buf_addf(&what, "$%g per million input tokens", p.usd_per_mtok);
	if (p.usd_per_mtok_out >= 0)
		rag_buf_addf(&what, ", $%g per million output tokens",
		    p.usd_per_mtok_out);
	if (p.usd_per_ksearch >= 0)
		rag_buf_addf(&what, ", $%g per thousand searches",
		    p.usd_per_ksearch);
	rag_info("%s costs %s from now on, for %s%s", model,
	    rag_buf_str(&what), o->tenant ? "tenant " : "every tenant "
	    "without a price of its own", o->tenant ? o->tenant : "");
	rag_buf_release(&what);
	free(model);
}

static int
budget_record(const struct rag_budget_row *row, void *arg)
{
	json_t *rec = json_pack("{s:s, s:s, s:s, s:f, s:f, s:f, s:f, s:b}",
	    "type", "budget", "tenant", row->tenant, "month", row->st.month,
	    "budget_usd", row->st.budget, "spent_usd", row->st.spent,
	    "held_usd", row->st.held, "percent",
	    rag_budget_percent(&row->st), "warned", row->warned);
	int rc = rag_record_write(stdout, rec);

	(void)arg;
	json_decref(rec);
	return rc;
}

static int
budget_row(const struct rag_budget_row *row, void *arg)
{
	struct rag_columns *t = arg;
	char b[32], s[32], h[32];

	rag_budget_usd(row->st.budget, b, sizeof(b));
	rag_budget_usd(row->st.spent, s, sizeof(s));
	rag_budget_usd(row->st.held, h, sizeof(h));
	rag_columns_add(t, "%s", row->tenant);
	rag_columns_add(t, "%s", row->st.month);
	rag_columns_add(t, "%s", b);
	rag_columns_add(t, "%s", s);
	rag_columns_add(t, "%s", h);
	rag_columns_add(t, "%.0f %%%s", rag_budget_percent(&row->st),
	    row->warned ? " (warned)" : "");
	return 0;
}

/* --budgets: every tenant's, across tenants. */
static void
budgets(struct rag_db *db, const struct opts *o)
{
	struct rag_error err = RAG_ERROR_INIT;
	struct rag_columns t;

	if (o->json) {
		if (rag_budget_list(db, o->tenant, budget_record, NULL,
		    &err) < 0 && err.code != 0)
			rag_die(err.code, "%s", err.msg);
		return;
	}
	rag_columns_init(&t, 6);
	t.right[2] = t.right[3] = t.right[4] = t.right[5] = true;
	rag_columns_add(&t, "TENANT");
	rag_columns_add(&t, "MONTH");
	rag_columns_add(&t, "BUDGET");
	rag_columns_add(&t, "SPENT");
	rag_columns_add(&t, "HELD");
	rag_columns_add(&t, "USED");
	if (rag_budget_list(db, o->tenant, budget_row, &t, &err) != 0) {
		rag_columns_release(&t);
		rag_die(err.code, "%s", err.msg);
	}
	if (t.ncells == t.ncols)
		rag_info("no budgets%s%s: set one with rag-cost --set-budget "
		    "TENANT AMOUNT", o->tenant ? " for tenant " : "",
		    o->tenant ? o->tenant : "");
	else
		rag_columns_write(&t, stdout);
	rag_columns_release(&t);
}

static void
set_budget(struct rag_db *db, const struct opts *o)
{
	struct rag_error err = RAG_ERROR_INIT;
	char amount[32];
	double usd;

	if (o->noperands != 1)
		rag_usage_error("--set-budget takes a tenant and an amount: "
		    "rag-cost --set-budget TENANT AMOUNT (e.g. 50, or none)");
	if (rag_budget_parse(o->operands[0], &usd, &err) != 0)
		rag_usage_error("option --set-budget: %s", err.msg);
	if (rag_budget_set(db, o->set_budget, usd, &err) != 0)
		rag_die(err.code, "%s", err.msg);
	if (usd < 0) {
		rag_info("tenant '%s' has no budget now", o->set_budget);
		return;
	}
	rag_budget_usd(usd, amount, sizeof(amount));
	rag_info("tenant '%s' may spend %s a month (UTC months) from now on",
	    o->set_budget, amount);
}

static int
limit_record(const struct rag_throttle_row *row, void *arg)
{
	json_t *rec = json_pack("{s:s, s:s, s:s, s:f, s:s, s:f, s:f}",
	    "type", "limit", "tenant", row->tenant, "kind",
	    rag_throttle_name(row->kind), "limit", row->per_window, "unit",
	    rag_throttle_unit(row->kind), "available", row->level,
	    "burst", row->capacity);
	int rc = rag_record_write(stdout, rec);

	(void)arg;
	json_decref(rec);
	return rc;
}

static int
limit_row(const struct rag_throttle_row *row, void *arg)
{
	struct rag_columns *t = arg;

	rag_columns_add(t, "%s", row->tenant);
	rag_columns_add(t, "%s", rag_throttle_name(row->kind));
	rag_columns_add(t, "%g", row->per_window);
	rag_columns_add(t, "%s", rag_throttle_unit(row->kind));
	rag_columns_add(t, "%g", row->capacity);
	rag_columns_add(t, "%.0f", row->level);
	return 0;
}

/* --limits: every tenant's rate limits, across tenants. */
static void
limits(struct rag_db *db, const struct opts *o)
{
	struct rag_error err = RAG_ERROR_INIT;
	struct rag_columns t;

	if (o->json) {
		if (rag_throttle_list(db, o->tenant, limit_record, NULL,
		    &err) < 0 && err.code != 0)
			rag_die(err.code, "%s", err.msg);
		return;
	}
	rag_columns_init(&t, 6);
	t.right[2] = t.right[4] = t.right[5] = true;
	rag_columns_add(&t, "TENANT");
	rag_columns_add(&t, "KIND");
	rag_columns_add(&t, "LIMIT");
	rag_columns_add(&t, "OF");
	rag_columns_add(&t, "BURST");
	rag_columns_add(&t, "NOW");
	if (rag_throttle_list(db, o->tenant, limit_row, &t, &err) != 0) {
		rag_columns_release(&t);
		rag_die(err.code, "%s", err.msg);
	}
	if (t.ncells == t.ncols)
		rag_info("no rate limits%s%s: set one with rag-cost --set-limit "
		    "TENANT qps=N", o->tenant ? " for tenant " : "",
		    o->tenant ? o->tenant : "");
	else
		rag_columns_write(&t, stdout);
	rag_columns_release(&t);
}

static void
set_limit(struct rag_db *db, const struct opts *o)
{
	struct rag_error err = RAG_ERROR_INIT;
	enum rag_throttle_kind k[RAG_THROTTLE_NKINDS * 4];
	double v[RAG_THROTTLE_NKINDS * 4];

	if (o->noperands < 1)
		rag_usage_error("--set-limit takes a tenant and limits: "
		    "rag-cost --set-limit TENANT qps=N rpm=N tpm=N (or KIND=off)");
	if (o->noperands > (int)(sizeof(k) / sizeof(*k)))
		rag_usage_error("--set-limit: too many limits at once");
	/* All checked before any is set. */
	for (int i = 0; i < o->noperands; i++)
		if (rag_throttle_parse(o->operands[i], &k[i], &v[i], &err) != 0)
			rag_usage_error("option --set-limit: %s", err.msg);
	for (int i = 0; i < o->noperands; i++) {
		if (rag_throttle_set(db, o->set_limit, k[i], v[i], &err) != 0)
			rag_die(err.code, "%s", err.msg);
		if (v[i] < 0)
			rag_info("tenant '%s' has no %s limit now",
			    o->set_limit, rag_throttle_name(k[i]));
		else
			rag_info("tenant '%s' is limited to %g %s",
			    o->set_limit, v[i], rag_throttle_unit(k[i]));
	}
}

int
main(int argc, char **argv)
{
	struct opts o;
	struct rag_db *db;
	int c;

	memset(&o, 0, sizeof(o));
	o.by = "day,tenant,stage,model";
	rag_log_init(argv[0]);
	rag_opt_init(&g, optdefs, help_head, help_tail, false, 25);
	while ((c = getopt_long(argc, argv, g.shortopts, g.longopts,
	    NULL)) != -1) {
		if (rag_opt_common(c, optarg, g.help))
			continue;
		switch (c) {
		case OPT_SINCE: o.since = optarg; break;
		case OPT_UNTIL: o.until = optarg; break;
		case OPT_BY: o.by = optarg; break;
		case OPT_PRICES: o.prices = true; break;
		case OPT_SET_PRICE: o.set_price = optarg; break;
		case OPT_BUDGETS: o.budgets = true; break;
		case OPT_SET_BUDGET: o.set_budget = optarg; break;
		case OPT_LIMITS: o.limits = true; break;
		case OPT_SET_LIMIT: o.set_limit = optarg; break;
		case RAG_OPT_TENANT: o.tenant = optarg; break;
		case 'j': o.json = true; break;
		default: rag_usage_hint();
		}
	}
	o.operands = argv + optind;
	o.noperands = argc - optind;
	if ((o.prices) + (o.set_price != NULL) + (o.budgets) +
	    (o.set_budget != NULL) + (o.limits) + (o.set_limit != NULL) > 1)
		rag_usage_error("--prices, --set-price, --budgets, --set-budget, "
		    "--limits and --set-limit go one at a time");
	if (optind < argc && o.set_budget == NULL && o.set_limit == NULL)
		rag_usage_error("unexpected argument '%s'", argv[optind]);
	if ((o.prices || o.set_price != NULL || o.budgets ||
	    o.set_budget != NULL || o.limits || o.set_limit != NULL) &&
	    (o.since != NULL || o.until != NULL))
		rag_usage_error("--since and --until are for the report only");
	if ((o.set_budget != NULL || o.set_limit != NULL) && o.tenant != NULL)
		rag_usage_error("--set-budget and --set-limit name their tenant: "
		    "drop --tenant");
	if (!o.json && !isatty(STDOUT_FILENO))
		o.json = true;
	/*
	 * Budgets, limits and prices are administration: the owner sets
	 * them (a tenant that priced its own calls could pass its budget).
	 * A report of one tenant's rows runs as that tenant; every tenant's
	 * as the owner.
	 */
	if (o.set_budget != NULL || o.budgets || o.set_limit != NULL ||
	    o.limits || o.set_price != NULL) {
		db = rag_tool_db_admin();
	} else if (o.tenant != NULL) {
		rag_config_set("RAG_TENANT", o.tenant);
		db = rag_tool_db();
	} else {
		db = rag_tool_db_admin();
	}
	if (o.set_budget != NULL)
		set_budget(db, &o);
	else if (o.budgets)
		budgets(db, &o);
	else if (o.set_limit != NULL)
		set_limit(db, &o);
	else if (o.limits)
		limits(db, &o);
	else if (o.set_price != NULL)
		set_price(db, &o);
	else if (o.prices)
		prices(db, &o);
	else
		report(db, &o);
	rag_db_close(db);
	return rag_finish_stdout(0);
}
