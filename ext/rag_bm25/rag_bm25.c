/*
 * rag_bm25: the exact BM25 top k of one collection, pruned by MaxScore.
 *
 * rag keeps its BM25 postings as rows (collection_id, term, chunk_key,
 * tf, dl) under a btree on the first three columns (sql/0001-init.sql).
 * Scoring every posting of every question term costs the sum of their
 * lengths, and a common word's list holds a good part of the collection.
 * MaxScore (Turtle and Flood, 1995) walks the same lists in chunk_key
 * order, one chunk at a time; once k chunks are held, the terms whose
 * upper bounds add up to less than the k-th score cannot bring a chunk
 * into the top k by themselves, so their lists are no longer read: they
 * are only probed (a descent of the btree) for the chunks the other
 * terms bring, and a probe is skipped when the chunk cannot reach the
 * k-th score even with it.  Every score returned is the chunk's full
 * score; the chunks left out are only those that cannot be in the top k.
 */
#include "postgres.h"

#include <math.h>

#include "access/genam.h"
#include "access/itup.h"
#include "access/relscan.h"
#include "access/skey.h"
#include "access/stratnum.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/visibilitymap.h"
#include "catalog/index.h"
#include "catalog/pg_am_d.h"
#include "catalog/pg_type_d.h"
#include "executor/tuptable.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "storage/bufmgr.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/tuplestore.h"

PG_MODULE_MAGIC;

PG_FUNCTION_INFO_V1(rag_bm25_topk);

/* A bound is raised by this much so that rounding never prunes a chunk. */
#define SLACK 1e-9
/* Steps taken along a list before a skip descends the btree instead. */
#define WALK 4

/* One question term's postings, read in chunk_key order. */
struct cursor {
	IndexScanDesc scan;
	TupleTableSlot *slot;
	Buffer vm;		/* the visibility map page last looked at */
	ScanKeyData key[3];	/* collection_id =, term =, chunk_key >= */
	int64 at;		/* the chunk it is on; PG_INT64_MAX past the end */
	int32 tf, dl;
	double idf;
	double ub;		/* no chunk gets more than this from the term */
	int slot_no;		/* its place in the caller's array */
};

struct hit {
	int64 key;
	double score;
};

struct topk {
	struct hit *h;		/* a heap whose root is the worst hit held */
	int n, k;
};

struct scorer {
	double k1, b, avgdl;
	AttrNumber a_key, a_tf, a_dl;	/* in the table */
	bool covering;		/* the index has tf and dl as 4th and 5th */
};

/* BM25's weight of one posting, with the operations in rag_search's order. */
static double
weight(const struct scorer *s, double idf, int32 tf, int32 dl)
{
	return idf * tf * (s->k1 + 1) /
	    (tf + s->k1 * (1 - s->b + s->b * dl / s->avgdl));
}

/* Is a better than b: a higher score, or as high and an earlier chunk. */
static bool
better(const struct hit *a, const struct hit *b)
{
	return a->score > b->score || (a->score == b->score && a->key < b->key);
}

static void
sift_down(struct topk *t, int i)
{
	for (;;) {
		int l = 2 * i + 1, r = l + 1, w = i;
		struct hit tmp;

		if (l < t->n && better(&t->h[w], &t->h[l]))
			w = l;
		if (r < t->n && better(&t->h[w], &t->h[r]))
			w = r;
		if (w == i)
			return;
		tmp = t->h[i];
		t->h[i] = t->h[w];
		t->h[w] = tmp;
		i = w;
	}
}

static void
topk_offer(struct topk *t, int64 key, double score)
{
	struct hit x = { key, score };

	if (t->n < t->k) {
		int i = t->n++;

		t->h[i] = x;
		while (i > 0 && better(&t->h[(i - 1) / 2], &t->h[i])) {
			struct hit tmp = t->h[i];

			t->h[i] = t->h[(i - 1) / 2];
			t->h[(i - 1) / 2] = tmp;
			i = (i - 1) / 2;
		}
	} else if (better(&x, &t->h[0])) {
		t->h[0] = x;
		sift_down(t, 0);
	}
}

/* The k-th score once k hits are held, else 0 (scores are positive). */
static double
topk_floor(const struct topk *t)
{
	return t->n < t->k ? 0 : t->h[0].score;
}

/*
 * Reads the cursor's next posting: from the index entry alone when the
 * index carries tf and dl and the heap page is all-visible (as an
 * index-only scan does), else from the table row, when this snapshot
 * sees it.
 */
static void
cursor_read(struct cursor *c, const struct scorer *s)
{
	ItemPointer tid;
	bool null;

	while ((tid = index_getnext_tid(c->scan, ForwardScanDirection))
	    != NULL) {
		if (s->covering && VM_ALL_VISIBLE(c->scan->heapRelation,
		    ItemPointerGetBlockNumber(tid), &c->vm)) {
			IndexTuple it = c->scan->xs_itup;
			TupleDesc d = c->scan->xs_itupdesc;

			c->at = DatumGetInt64(index_getattr(it, 3, d, &null));
			c->tf = DatumGetInt32(index_getattr(it, 4, d, &null));
			c->dl = DatumGetInt32(index_getattr(it, 5, d, &null));
			return;
		}
		if (!index_fetch_heap(c->scan, c->slot))
			continue;	/* not a row this snapshot sees */
		c->at = DatumGetInt64(slot_getattr(c->slot, s->a_key, &null));
		c->tf = DatumGetInt32(slot_getattr(c->slot, s->a_tf, &null));
		c->dl = DatumGetInt32(slot_getattr(c->slot, s->a_dl, &null));
		return;
	}
	c->at = PG_INT64_MAX;
}

/* Puts the cursor on its first chunk at or after from. */
static void
cursor_seek(struct cursor *c, const struct scorer *s, int64 from)
{
	c->key[2].sk_argument = Int64GetDatum(from);
	index_rescan(c->scan, c->key, 3, NULL, 0);
	cursor_read(c, s);
}

/* Moves the cursor to its first chunk at or after to: a few steps along
 * the list when it is near, a descent of the btree when it is not. */
static void
cursor_skip(struct cursor *c, const struct scorer *s, int64 to)
{
	for (int i = 0; i < WALK && c->at < to; i++)
		cursor_read(c, s);
	if (c->at < to)
		cursor_seek(c, s, to);
}

static int
by_ub(const void *a, const void *b)
{
	const struct cursor *x = a, *y = b;

	if (x->ub != y->ub)
		return x->ub < y->ub ? -1 : 1;
	return x->slot_no - y->slot_no;
}

static int
by_rank(const void *a, const void *b)
{
	const struct hit *x = a, *y = b;

	return better(x, y) ? -1 : better(y, x) ? 1 : 0;
}

/* The attribute number of a column the postings table must have. */
static AttrNumber
column(Relation heap, const char *name, Oid type)
{
	AttrNumber a = get_attnum(RelationGetRelid(heap), name);

	if (a == InvalidAttrNumber || get_atttype(RelationGetRelid(heap), a)
	    != type)
		ereport(ERROR, (errcode(ERRCODE_WRONG_OBJECT_TYPE),
		    errmsg("table \"%s\" has no %s column of type %s",
		    RelationGetRelationName(heap), name, format_type_be(type))));
	return a;
}

/* Checks the index is a btree on (collection_id, term, chunk_key), and
 * says whether it also carries tf and dl (INCLUDE), as 0012 makes it. */
static bool
check_index(Relation idx, Relation heap, const struct scorer *s)
{
	Form_pg_index ix = idx->rd_index;

	if (idx->rd_rel->relam != BTREE_AM_OID || ix->indnkeyatts < 3 ||
	    ix->indkey.values[0] != column(heap, "collection_id", INT8OID) ||
	    ix->indkey.values[1] != column(heap, "term", TEXTOID) ||
	    ix->indkey.values[2] != s->a_key)
		ereport(ERROR, (errcode(ERRCODE_WRONG_OBJECT_TYPE),
		    errmsg("index \"%s\" is not a btree on (collection_id, "
		    "term, chunk_key)", RelationGetRelationName(idx))));
	return ix->indnatts >= 5 && ix->indkey.values[3] == s->a_tf &&
	    ix->indkey.values[4] == s->a_dl;
}

/* The elements of a one-dimensional array without NULLs. */
static int
elements(ArrayType *a, Oid type, const char *what, Datum **out)
{
	int16 len;
	bool byval, *nulls;
	char align;
	int n;

	if (ARR_NDIM(a) > 1)
		ereport(ERROR, (errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
		    errmsg("%s must be a one-dimensional array", what)));
	get_typlenbyvalalign(type, &len, &byval, &align);
	deconstruct_array(a, type, len, byval, align, out, &nulls, &n);
	for (int i = 0; i < n; i++)
		if (nulls[i])
			ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
			    errmsg("%s has a NULL at %d", what, i + 1)));
	return n;
}

Datum
rag_bm25_topk(PG_FUNCTION_ARGS)
{
	Oid index_oid = PG_GETARG_OID(0);
	int64 collection = PG_GETARG_INT64(1);
	double n_chunks = PG_GETARG_FLOAT8(6);
	int k = PG_GETARG_INT32(10);
	struct scorer s = {
		.k1 = PG_GETARG_FLOAT8(8),
		.b = PG_GETARG_FLOAT8(9),
		.avgdl = PG_GETARG_FLOAT8(7),
	};
	ReturnSetInfo *rsinfo = (ReturnSetInfo *)fcinfo->resultinfo;
	Datum *terms, *df, *max_tf, *min_dl;
	int m, live = 0, ess = 0;
	double *pref, *w;
	struct cursor *cur;
	struct topk top;
	Relation heap, idx;
	Oid heap_oid;

	InitMaterializedSRF(fcinfo, 0);
	m = elements(PG_GETARG_ARRAYTYPE_P(2), TEXTOID, "p_terms", &terms);
	if (elements(PG_GETARG_ARRAYTYPE_P(3), FLOAT8OID, "p_df", &df) != m ||
	    elements(PG_GETARG_ARRAYTYPE_P(4), INT4OID, "p_max_tf",
	    &max_tf) != m ||
	    elements(PG_GETARG_ARRAYTYPE_P(5), INT4OID, "p_min_dl",
	    &min_dl) != m)
		ereport(ERROR, (errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
		    errmsg("p_terms, p_df, p_max_tf and p_min_dl must have "
		    "as many elements")));
	if (!(s.avgdl > 0) || !(s.k1 >= 0) || !(s.b >= 0 && s.b <= 1) ||
	    !(n_chunks >= 0))
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
		    errmsg("BM25 needs avgdl > 0, k1 >= 0, 0 <= b <= 1 and "
		    "N >= 0")));
	if (k > 1000000)
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
		    errmsg("p_k is %d: at most 1000000 hits are kept", k)));
	if (k <= 0 || m == 0)
		return (Datum)0;

	heap_oid = IndexGetRelation(index_oid, false);
	if (pg_class_aclcheck(heap_oid, GetUserId(), ACL_SELECT) != ACLCHECK_OK)
		aclcheck_error(ACLCHECK_NO_PRIV, OBJECT_TABLE,
		    get_rel_name(heap_oid));
	heap = table_open(heap_oid, AccessShareLock);
	idx = index_open(index_oid, AccessShareLock);
	s.a_key = column(heap, "chunk_key", INT8OID);
	s.a_tf = column(heap, "tf", INT4OID);
	s.a_dl = column(heap, "dl", INT4OID);
	s.covering = check_index(idx, heap, &s);

	cur = palloc0(sizeof(*cur) * m);
	for (int i = 0; i < m; i++) {
		double d = DatumGetFloat8(df[i]);
		struct cursor *c;

		if (!(d > 0))
			continue;	/* no chunk holds it: nothing to read */
		c = &cur[live++];
		c->slot_no = i;
		c->idf = log(1 + (n_chunks - d + 0.5) / (d + 0.5));
		/* the weight grows with tf and falls with dl */
		c->ub = weight(&s, c->idf, DatumGetInt32(max_tf[i]),
		    DatumGetInt32(min_dl[i]));
		c->ub += fabs(c->ub) * SLACK;
		c->scan = index_beginscan(heap, idx, GetActiveSnapshot(), 3, 0);
		c->scan->xs_want_itup = s.covering;
		c->vm = InvalidBuffer;
		c->slot = table_slot_create(heap, NULL);
		ScanKeyEntryInitialize(&c->key[0], 0, 1, BTEqualStrategyNumber,
		    InvalidOid, idx->rd_indcollation[0], F_INT8EQ,
		    Int64GetDatum(collection));
		ScanKeyEntryInitialize(&c->key[1], 0, 2, BTEqualStrategyNumber,
		    InvalidOid, idx->rd_indcollation[1], F_TEXTEQ, terms[i]);
		ScanKeyEntryInitialize(&c->key[2], 0, 3,
		    BTGreaterEqualStrategyNumber, InvalidOid,
		    idx->rd_indcollation[2], F_INT8GE, Int64GetDatum(0));
		cursor_seek(c, &s, PG_INT64_MIN);
	}
	/* The terms by upper bound, smallest first; pref[i] adds up the
	 * bounds of the first i, which are the ones dropped first. */
	qsort(cur, live, sizeof(*cur), by_ub);
	pref = palloc(sizeof(*pref) * (live + 1));
	pref[0] = 0;
	for (int i = 0; i < live; i++)
		pref[i + 1] = pref[i] + cur[i].ub;
	w = palloc0(sizeof(*w) * m);
	top.k = k;
	top.n = 0;
	top.h = palloc(sizeof(*top.h) * k);

	while (ess < live) {
		int64 at = PG_INT64_MAX;
		double part = 0, floor = topk_floor(&top), total = 0;
		bool out = false;

		CHECK_FOR_INTERRUPTS();
		/* The next chunk of the lists still read in full. */
		for (int i = ess; i < live; i++)
			at = Min(at, cur[i].at);
		if (at == PG_INT64_MAX)
			break;
		for (int i = 0; i < m; i++)
			w[i] = 0;
		for (int i = ess; i < live; i++) {
			struct cursor *c = &cur[i];

			if (c->at != at)
				continue;
			w[c->slot_no] = weight(&s, c->idf, c->tf, c->dl);
			part += w[c->slot_no];
			cursor_read(c, &s);
		}
		/* The rest, largest bound first, while the chunk can still
		 * reach the k-th score with what is left. */
		for (int i = ess - 1; i >= 0; i--) {
			struct cursor *c = &cur[i];

			if (part + pref[i + 1] < floor) {
				out = true;
				break;
			}
			cursor_skip(c, &s, at);
			if (c->at == at) {
				w[c->slot_no] = weight(&s, c->idf, c->tf, c->dl);
				part += w[c->slot_no];
			}
		}
		if (out)
			continue;
		/* The score adds up in the terms' own order, whatever the
		 * order the lists were read in. */
		for (int i = 0; i < m; i++)
			total += w[i];
		topk_offer(&top, at, total);
		floor = topk_floor(&top);
		while (ess < live && pref[ess + 1] < floor)
			ess++;
	}

	for (int i = 0; i < live; i++) {
		if (BufferIsValid(cur[i].vm))
			ReleaseBuffer(cur[i].vm);
		index_endscan(cur[i].scan);
		ExecDropSingleTupleTableSlot(cur[i].slot);
	}
	index_close(idx, AccessShareLock);
	table_close(heap, AccessShareLock);

	qsort(top.h, top.n, sizeof(*top.h), by_rank);
	for (int i = 0; i < top.n; i++) {
		Datum v[2] = { Int64GetDatum(top.h[i].key),
			Float8GetDatum(top.h[i].score) };
		bool nulls[2] = { false, false };

		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, v,
		    nulls);
	}
	return (Datum)0;
}
