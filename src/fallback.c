/*-------------------------------------------------------------------------
 *
 * fallback.c
 *	  The fallback invalidation (delivery.h): the safe over-invalidation
 *	  done when cache effects were lost (the queue or a retry list was full,
 *	  the previous postmaster stopped with effects queued, Redis restarted
 *	  or failed over).  It bumps or unlinks every key of every namespace
 *	  (the patterns of cache_ext.namespace_patterns(), with the key prefix
 *	  in force) and then calls each function of cache_ext.fallback_hooks.
 *
 *	  The "fallback needed" flag that says one is owed is kept by stats.c;
 *	  the worker's SQL helper runs RunFallbackInvalidation when it is
 *	  raised, cache_ext.run_fallback() does so on request.  Redis comes
 *	  first: when it cannot be reached the run raises an ERROR and the flag
 *	  stays raised.  Each hook runs in a subtransaction, so a failing hook is
 *	  a WARNING and does not stop the others.
 *
 *-------------------------------------------------------------------------
 */
#include "cache_ext.h"

#include "catalog/namespace.h"
#include "commands/dbcommands.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "utils/lsyscache.h"

#include "delivery.h"
#include "settings.h"
#include "stats.h"

typedef struct FallbackPattern
{
	bool		bump;
	char	   *pattern;
	size_t		len;
} FallbackPattern;

/* Run one pattern to the end (outside commit; each step bounded). */
static void
run_pattern_fully(const char *pattern, size_t len, bool bump)
{
	char		buf[1024];
	EffectRecord *r;
	char	   *mem = NULL;
	Size		size = EffectRecordSize(len, 0);
	DeliveryPlan *plan;
	PlanResult	res;

	mem = size <= sizeof(buf) ? buf : palloc(size);
	r = EffectRecordWrite(mem, bump ? PENDING_BUMP_PATTERN : PENDING_DELETE_PATTERN,
						  pattern, len, NULL, 0);
	plan = DeliveryPlanBuild(&r, 1, false);
	do
	{
		DeliveryPlanExecute(plan, false, 5000, &res);
		if (!res.redis_ok)
			ereport(ERROR,
					(errcode(ERRCODE_CONNECTION_FAILURE),
					 errmsg("cache_ext fallback invalidation failed: %s", res.message)));
		if (res.failed > 0)
			ereport(ERROR,
					(errcode(ERRCODE_CONNECTION_FAILURE),
					 errmsg("cache_ext fallback invalidation of \"%s\" failed: %s",
							pattern, res.first_error)));
		CHECK_FOR_INTERRUPTS();
	} while (!plan->done[0]);
}

static void
fallback_hook_step(void *arg)
{
	if (SPI_execute((const char *) arg, false, 0) < 0)
		elog(ERROR, "SPI_execute failed");
}

/* Call one fallback hook in a subtransaction; false (and a WARNING) on error. */
static bool
call_fallback_hook(const char *query)
{
	char	   *error = RunInSubtransaction(fallback_hook_step, (void *) query);

	if (error == NULL)
		return true;
	ereport(WARNING,
			(errmsg("cache_ext fallback hook \"%s\" failed: %s", query + 7, error)));
	return false;
}

void
RunFallbackInvalidation(const char *reason)
{
	Oid			nsp = get_namespace_oid("cache_ext", true);
	List	   *patterns = NIL;
	List	   *hooks = NIL;
	ListCell   *lc;
	MemoryContext outer = CurrentMemoryContext;
	int			npatterns = 0,
				nhooks = 0,
				nfailedhooks = 0;
	uint64		i;
	bool		have_patterns = false;

	if (!OidIsValid(nsp))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("cache_ext is not installed in database \"%s\"",
						get_database_name(MyDatabaseId)),
				 errhint("Set cache_ext.database to a database where CREATE EXTENSION cache_ext was run.")));

	SPI_connect();
	/* namespace_patterns() belongs to the invalidation triggers. */
	if (SPI_execute("SELECT 1 FROM pg_proc WHERE proname = 'namespace_patterns' "
					"AND pronamespace = 'cache_ext'::regnamespace", true, 0) == SPI_OK_SELECT &&
		SPI_processed > 0)
		have_patterns = true;
	if (have_patterns)
	{
		if (SPI_execute("SELECT kind, pattern FROM cache_ext.namespace_patterns()",
						true, 0) != SPI_OK_SELECT)
			elog(ERROR, "cache_ext: could not read cache_ext.namespace_patterns()");
		for (i = 0; i < SPI_processed; i++)
		{
			char	   *kind = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1);
			char	   *pattern = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2);
			MemoryContext old;
			FallbackPattern *fp;
			size_t		plen;

			if (kind == NULL || pattern == NULL || pattern[0] == '\0')
				continue;
			old = MemoryContextSwitchTo(outer);
			fp = palloc(sizeof(FallbackPattern));
			fp->bump = strcmp(kind, "bump") == 0;
			/*
			 * namespace_patterns() returns patterns without the key prefix;
			 * add the prefix in force here (escaped: it matches only itself).
			 */
			fp->pattern = PatternWithPrefix(pattern, strlen(pattern), &plen);
			fp->len = plen;
			patterns = lappend(patterns, fp);
			MemoryContextSwitchTo(old);
		}
	}
	/* hooks are signatures as text (pg_upgrade refuses reg* columns) */
	if (SPI_execute("SELECT pg_catalog.to_regprocedure(hook)::pg_catalog.oid, hook "
					"FROM cache_ext.fallback_hooks ORDER BY hook",
					true, 0) != SPI_OK_SELECT)
		elog(ERROR, "cache_ext: could not read cache_ext.fallback_hooks");
	for (i = 0; i < SPI_processed; i++)
	{
		bool		isnull;
		Datum		d = SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull);
		MemoryContext old;

		if (isnull)
		{
			ereport(WARNING,
					(errcode(ERRCODE_UNDEFINED_FUNCTION),
					 errmsg("cache_ext fallback hook \"%s\" names no function; skipped",
							SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2)),
					 errhint("Fix or delete the row in cache_ext.fallback_hooks.")));
			nfailedhooks++;
			continue;
		}
		old = MemoryContextSwitchTo(outer);
		hooks = lappend_oid(hooks, DatumGetObjectId(d));
		MemoryContextSwitchTo(old);
	}

	/* Redis first: if it is unreachable we stop here, flag still owed. */
	foreach(lc, patterns)
	{
		FallbackPattern *fp = lfirst(lc);

		run_pattern_fully(fp->pattern, fp->len, fp->bump);
		npatterns++;
	}

	foreach(lc, hooks)
	{
		Oid			fn = lfirst_oid(lc);
		char	   *fname = get_func_name(fn);
		char	   *nspname = fname ? get_namespace_name(get_func_namespace(fn)) : NULL;
		StringInfoData q;

		if (fname == NULL || nspname == NULL || get_func_nargs(fn) != 0)
		{
			ereport(WARNING,
					(errmsg("cache_ext fallback hook %u is not a function without arguments; skipped", fn)));
			nfailedhooks++;
			continue;
		}
		initStringInfo(&q);
		appendStringInfo(&q, "SELECT %s()", quote_qualified_identifier(nspname, fname));
		if (call_fallback_hook(q.data))
			nhooks++;
		else
			nfailedhooks++;
	}
	SPI_finish();

	StatsRecordFallback();
	ereport(LOG,
			(errmsg("cache_ext performed a fallback invalidation: %d namespace pattern(s) invalidated, %d fallback hook(s) called%s",
					npatterns, nhooks,
					nfailedhooks ? " (some hooks failed)" : ""),
			 errdetail("Reason: %s.", reason),
			 have_patterns ? 0 : errhint("cache_ext.namespace_patterns() does not exist in this database; only the hooks were run.")));
}

/* ------------------------------------------------------------ SQL level */

PG_FUNCTION_INFO_V1(cache_ext_run_fallback);
Datum
cache_ext_run_fallback(PG_FUNCTION_ARGS)
{
	uint64		mark = FallbackMark();

	RunFallbackInvalidation("requested by SELECT cache_ext.run_fallback()");
	FallbackDone(mark);
	PG_RETURN_VOID();
}
