/*-------------------------------------------------------------------------
 *
 * fallback.c
 *	  The fallback invalidation (fallback.h): the safe over-invalidation
 *	  done when cache effects were lost (the queue or a retry list was full,
 *	  the previous postmaster stopped with effects queued, Redis restarted
 *	  or failed over).  It bumps or unlinks every key of every namespace
 *	  (namespaces.h: trusted sources only, each pattern with the key prefix
 *	  recorded for it) and then calls each function of
 *	  cache_ext.fallback_hooks.
 *
 *	  The flag that says one is owed is kept here too: whoever loses
 *	  effects calls FallbackRequest; the worker's SQL helper runs FallbackRun
 *	  when it is raised, cache_ext.run_fallback() does so on request.  The
 *	  flag is a pair of counters in shared memory when the library is
 *	  preloaded (shared.c calls FallbackSharedInit), backend-local otherwise;
 *	  they are atomics, the reason and the time of the last run are under
 *	  the spinlock FallbackShared.mutex.  Redis comes
 *	  first: when it cannot be reached the run raises an ERROR and the flag
 *	  stays raised.  A version key holding a value that cannot be bumped
 *	  (the 64-bit maximum, a number too large) is re-created from the clock
 *	  by the pattern script and logged here, so one poisoned key never
 *	  blocks the run.
 *
 *	  Trust.  This runs as the bootstrap superuser in the worker, so it runs
 *	  no SQL text: namespaces and hooks are read in C from the extension's
 *	  own tables (members.h), and nothing happens in a database where the
 *	  extension is not installed.  Each hook runs in its own subtransaction
 *	  (a failing hook is a WARNING and does not stop the others) as its
 *	  owner, in a restricted security context, with search_path pinned to
 *	  pg_catalog, pg_temp and the owner's own cache_ext.key_prefix (ALTER
 *	  ROLE ... SET), and only if the role that registered it
 *	  (fallback_hooks.registered_by) is a superuser or has the privileges of
 *	  that owner: registering a hook never makes anyone else's function run.
 *
 *-------------------------------------------------------------------------
 */
#include "prelude.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/tableam.h"
#include "catalog/indexing.h"
#include "catalog/pg_db_role_setting.h"
#include "catalog/pg_proc.h"
#include "executor/tuptable.h"
#include "port/atomics.h"
#include "storage/shmem.h"
#include "storage/spin.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/regproc.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"

#include "effects.h"
#include "fallback.h"
#include "members.h"
#include "namespaces.h"
#include "plan.h"
#include "roles.h"
#include "safe_sql.h"
#include "stats.h"
#include "transaction.h"

/* ------------------------------------------------------------- the flag */

/*
 * The flag is a pair of counters, so that it stays raised while a fallback
 * runs and a request made during a run is not swallowed by it: a run
 * covers the requests made before it started (FallbackMark), and
 * FallbackDone records that once it succeeded.
 */
typedef struct FallbackShared
{
	pg_atomic_uint64 requested;	/* requests made */
	pg_atomic_uint64 done;		/* requests covered by a completed run */
	slock_t		mutex;			/* the fields below */
	char		reason[256];	/* of the latest request */
	TimestampTz last_run_at;	/* of the latest completed run, or 0 */
} FallbackShared;

static FallbackShared local_state;	/* without shared memory */
static FallbackShared *state = NULL;

static void
fallback_state_zero(FallbackShared *s)
{
	pg_atomic_init_u64(&s->requested, 0);
	pg_atomic_init_u64(&s->done, 0);
	SpinLockInit(&s->mutex);
	s->reason[0] = '\0';
	s->last_run_at = 0;
}

void
FallbackInit(void)
{
	fallback_state_zero(&local_state);
	state = &local_state;
}

Size
FallbackSharedSize(void)
{
	return MAXALIGN(sizeof(FallbackShared));
}

/* Under AddinShmemInitLock (shared.c): use the shared flag from now on. */
void
FallbackSharedInit(void)
{
	bool		found;
	FallbackShared *s = ShmemInitStruct("cache_ext fallback", sizeof(FallbackShared),
										&found);

	if (!found)
		fallback_state_zero(s);
	state = s;
}

bool
FallbackNeeded(void)
{
	return pg_atomic_read_u64(&state->requested) >
		pg_atomic_read_u64(&state->done);
}

void
FallbackRequest(const char *why)
{
	SpinLockAcquire(&state->mutex);
	strlcpy(state->reason, why, sizeof(state->reason));
	SpinLockRelease(&state->mutex);
	pg_atomic_fetch_add_u64(&state->requested, 1);
}

uint64
FallbackMark(void)
{
	return pg_atomic_read_u64(&state->requested);
}

void
FallbackDone(uint64 mark)
{
	uint64		done = pg_atomic_read_u64(&state->done);

	while (done < mark &&
		   !pg_atomic_compare_exchange_u64(&state->done, &done, mark))
		;
}

void
FallbackReason(char *buf, Size len)
{
	SpinLockAcquire(&state->mutex);
	strlcpy(buf, state->reason, len);
	SpinLockRelease(&state->mutex);
}

TimestampTz
FallbackLastRun(void)
{
	TimestampTz at;

	SpinLockAcquire(&state->mutex);
	at = state->last_run_at;
	SpinLockRelease(&state->mutex);
	return at;
}

/* ------------------------------------------------------------ patterns */

/* Run one pattern to the end (outside commit; each step bounded). */
static void
run_pattern_fully(const char *pattern, size_t len, bool bump, int *repaired)
{
	Size		size = EffectRecordSize(len, 0);
	EffectRecord *r;
	DeliveryPlan *plan;
	PlanResult	res;

	/* palloc: a record must be MAXALIGN'd (it holds 64-bit fields) */
	r = EffectRecordWrite(palloc(size),
						  bump ? EFFECT_BUMP_PATTERN : EFFECT_DELETE_PATTERN,
						  pattern, len, NULL, 0);
	plan = PlanBuild(&r, 1, false);
	do
	{
		PlanExecute(plan, false, 5000, &res);
		if (!res.redis_ok)
			ereport(ERROR,
					(errcode(ERRCODE_CONNECTION_FAILURE),
					 errmsg("cache_ext fallback invalidation failed: %s", res.message)));
		if (res.failed > 0)
			ereport(ERROR,
					(errcode(ERRCODE_CONNECTION_FAILURE),
					 errmsg("cache_ext fallback invalidation of \"%s\" failed: %s",
							pattern, res.first_error)));

		/*
		 * OOM, BUSY, ...: asking again at once would spin until Redis
		 * accepts.  The fallback stays owed; the worker retries it with
		 * its backoff.
		 */
		if (res.not_now > 0)
			ereport(ERROR,
					(errcode(ERRCODE_CONNECTION_FAILURE),
					 errmsg("cache_ext fallback invalidation of \"%s\" could not run now: Redis answered %s",
							pattern, res.first_error),
					 errhint("Try again once Redis accepts writes.")));
		*repaired += res.repaired;
		CHECK_FOR_INTERRUPTS();
	} while (!plan->done[0]);
}

/* ----------------------------------------------------------------- hooks */

typedef struct FallbackHook
{
	char	   *signature;		/* as registered */
	char	   *registered_by;
} FallbackHook;

/* The rows of cache_ext.fallback_hooks, ordered by signature. */
static int
compare_hooks(const ListCell *a, const ListCell *b)
{
	return strcmp(((FallbackHook *) lfirst(a))->signature,
				  ((FallbackHook *) lfirst(b))->signature);
}

static List *
read_hooks(void)
{
	Oid			relid = MembersRelation("fallback_hooks");
	List	   *hooks = NIL;
	Relation	rel;
	TupleTableSlot *slot;
	TableScanDesc scan;
	AttrNumber	hook_att = InvalidAttrNumber;
	AttrNumber	by_att = InvalidAttrNumber;
	int			i;

	if (!OidIsValid(relid))
		return NIL;
	rel = table_open(relid, AccessShareLock);
	for (i = 0; i < RelationGetDescr(rel)->natts; i++)
	{
		Form_pg_attribute attr = TupleDescAttr(RelationGetDescr(rel), i);

		if (attr->attisdropped)
			continue;
		if (strcmp(NameStr(attr->attname), "hook") == 0)
			hook_att = attr->attnum;
		else if (strcmp(NameStr(attr->attname), "registered_by") == 0)
			by_att = attr->attnum;
	}
	slot = table_slot_create(rel, NULL);
	scan = table_beginscan(rel, GetActiveSnapshot(), 0, NULL);
	while (table_scan_getnextslot(scan, ForwardScanDirection, slot))
	{
		bool		isnull;
		Datum		d;
		FallbackHook *h;

		if (hook_att == InvalidAttrNumber)
			break;
		d = slot_getattr(slot, hook_att, &isnull);
		if (isnull)
			continue;
		h = palloc0(sizeof(FallbackHook));
		h->signature = TextDatumGetCString(d);
		if (by_att != InvalidAttrNumber)
		{
			d = slot_getattr(slot, by_att, &isnull);
			if (!isnull)
				h->registered_by = pstrdup(NameStr(*DatumGetName(d)));
		}
		hooks = lappend(hooks, h);
	}
	table_endscan(scan);
	ExecDropSingleTupleTableSlot(slot);
	table_close(rel, AccessShareLock);
	list_sort(hooks, compare_hooks);
	return hooks;
}

/*
 * The value of cache_ext.key_prefix that ALTER ROLE role [IN DATABASE this]
 * SET gives the role, or NULL: the prefix a session of the hook's owner
 * would have.
 */
static char *
role_key_prefix(Oid roleid)
{
	static const char name[] = "cache_ext.key_prefix=";
	Oid			databases[2] = {MyDatabaseId, InvalidOid};
	Relation	rel;
	char	   *result = NULL;
	int			d;

	rel = table_open(DbRoleSettingRelationId, AccessShareLock);
	for (d = 0; d < 2 && result == NULL; d++)
	{
		ScanKeyData keys[2];
		SysScanDesc scan;
		HeapTuple	tup;

		ScanKeyInit(&keys[0], Anum_pg_db_role_setting_setdatabase,
					BTEqualStrategyNumber, F_OIDEQ, ObjectIdGetDatum(databases[d]));
		ScanKeyInit(&keys[1], Anum_pg_db_role_setting_setrole,
					BTEqualStrategyNumber, F_OIDEQ, ObjectIdGetDatum(roleid));
		scan = systable_beginscan(rel, DbRoleSettingDatidRolidIndexId, true,
								  NULL, 2, keys);
		tup = systable_getnext(scan);
		if (HeapTupleIsValid(tup))
		{
			bool		isnull;
			Datum		config = heap_getattr(tup, Anum_pg_db_role_setting_setconfig,
											  RelationGetDescr(rel), &isnull);

			if (!isnull)
			{
				Datum	   *elems;
				bool	   *nulls;
				int			n,
							i;

				deconstruct_array(DatumGetArrayTypeP(config), TEXTOID, -1, false,
								  TYPALIGN_INT, &elems, &nulls, &n);
				for (i = 0; i < n; i++)
				{
					char	   *s;

					if (nulls[i])
						continue;
					s = TextDatumGetCString(elems[i]);
					if (strncmp(s, name, sizeof(name) - 1) == 0)
						result = pstrdup(s + sizeof(name) - 1);
				}
			}
		}
		systable_endscan(scan);
	}
	table_close(rel, AccessShareLock);
	return result;
}

typedef struct HookCall
{
	Oid			fn;
	Oid			owner;
	char	   *key_prefix;		/* the owner's, or NULL */
} HookCall;

/* Run in a subtransaction: the hook as its owner, restricted, path pinned. */
static void
fallback_hook_step(void *arg)
{
	HookCall   *call = (HookCall *) arg;
	Oid			save_userid;
	int			save_sec;
	int			nest;
	FmgrInfo	flinfo;

	LOCAL_FCINFO(fcinfo, 0);

	/* the settings first, while still the caller */
	nest = SafeSearchPathPush();
	if (call->key_prefix != NULL)
		(void) set_config_option("cache_ext.key_prefix", call->key_prefix,
								 PGC_SUSET, PGC_S_SESSION,
								 GUC_ACTION_SAVE, true, 0, false);
	GetUserIdAndSecContext(&save_userid, &save_sec);
	SetUserIdAndSecContext(call->owner, save_sec | SECURITY_LOCAL_USERID_CHANGE |
						   SECURITY_RESTRICTED_OPERATION);

	fmgr_info(call->fn, &flinfo);
	InitFunctionCallInfoData(*fcinfo, &flinfo, 0, InvalidOid, NULL, NULL);
	(void) FunctionCallInvoke(fcinfo);

	/* (on ERROR, the subtransaction's abort restores both) */
	SetUserIdAndSecContext(save_userid, save_sec);
	SafeSearchPathPop(nest);
}

/*
 * Call one hook; true when it ran without error.  Every refusal is a
 * WARNING naming the row and saying what to do.
 */
static bool
call_fallback_hook(const FallbackHook *h)
{
	Datum		d;
	Oid			fn;
	HeapTuple	tup;
	Form_pg_proc proc;
	Oid			registrant;
	HookCall	call;
	char	   *error;
	bool		usable;

	/*
	 * to_regprocedure resolves the signature under the pinned path (it
	 * returns NULL for no function: called directly, not through
	 * DirectFunctionCall, which refuses NULL)
	 */
	{
		int			nest;

		LOCAL_FCINFO(regfcinfo, 1);

		nest = SafeSearchPathPush();
		InitFunctionCallInfoData(*regfcinfo, NULL, 1, InvalidOid, NULL, NULL);
		regfcinfo->args[0].value = CStringGetTextDatum(h->signature);
		regfcinfo->args[0].isnull = false;
		d = to_regprocedure(regfcinfo);
		fn = regfcinfo->isnull ? InvalidOid : DatumGetObjectId(d);
		SafeSearchPathPop(nest);
	}
	if (!OidIsValid(fn))
	{
		ereport(WARNING,
				(errcode(ERRCODE_UNDEFINED_FUNCTION),
				 errmsg("cache_ext fallback hook \"%s\" names no function; skipped",
						h->signature),
				 errhint("Fix or delete the row in cache_ext.fallback_hooks; write the signature with its schema, such as public.my_resync().")));
		return false;
	}
	tup = SearchSysCache1(PROCOID, ObjectIdGetDatum(fn));
	if (!HeapTupleIsValid(tup))
		return false;
	proc = (Form_pg_proc) GETSTRUCT(tup);
	usable = proc->prokind == PROKIND_FUNCTION && proc->pronargs == 0 && !proc->proretset;
	call.fn = fn;
	call.owner = proc->proowner;
	ReleaseSysCache(tup);
	if (!usable)
	{
		ereport(WARNING,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("cache_ext fallback hook \"%s\" is not a function without arguments returning one row; skipped",
						h->signature),
				 errhint("Fix or delete the row in cache_ext.fallback_hooks.")));
		return false;
	}

	registrant = h->registered_by ? get_role_oid(h->registered_by, true) : InvalidOid;
	if (!OidIsValid(registrant) ||
		!(superuser_arg(registrant) || has_privs_of_role(registrant, call.owner)))
	{
		ereport(WARNING,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("cache_ext fallback hook \"%s\" skipped: it runs as its owner \"%s\", and \"%s\", who registered it, has no privileges of that role",
						h->signature, GetUserNameFromId(call.owner, false),
						h->registered_by ? h->registered_by : "?"),
				 errhint("A role with the privileges of \"%s\" (or a superuser) must register the hook.",
						 GetUserNameFromId(call.owner, false))));
		return false;
	}
	if (FunctionAclCheckCompat(fn, call.owner) != ACLCHECK_OK)
	{
		ereport(WARNING,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("cache_ext fallback hook \"%s\" skipped: its owner may not execute it",
						h->signature)));
		return false;
	}
	call.key_prefix = role_key_prefix(call.owner);

	error = RunInSubtransaction(fallback_hook_step, &call);
	if (error == NULL)
		return true;
	ereport(WARNING,
			(errmsg("cache_ext fallback hook \"%s\" failed: %s", h->signature, error)));
	return false;
}

/* ------------------------------------------------------------------ run */

void
FallbackRun(const char *reason)
{
	List	   *namespaces;
	List	   *hooks;
	ListCell   *lc;
	int			npatterns = 0,
				nhooks = 0,
				nfailedhooks = 0,
				repaired = 0;
	bool		pushed = false;

	(void) MembersExtension(false, "run the fallback invalidation");
	if (!ActiveSnapshotSet())
	{
		PushActiveSnapshot(GetTransactionSnapshot());
		pushed = true;
	}
	namespaces = NamespacesCollect(false);
	hooks = read_hooks();

	/* Redis first: if it is unreachable we stop here, flag still owed. */
	foreach(lc, namespaces)
	{
		FallbackNamespace *ns = lfirst(lc);
		size_t		len;
		char	   *pattern = NamespacePatternWithPrefix(ns->key_prefix, ns->pattern, &len);

		run_pattern_fully(pattern, len, ns->bump, &repaired);
		npatterns++;
	}
	if (repaired > 0)
		ereport(LOG,
				(errmsg("cache_ext fallback invalidation re-created %d version key(s) from the clock",
						repaired),
				 errdetail("They held values a bump cannot increase: the 64-bit integer maximum, or a number beyond it.")));

	foreach(lc, hooks)
	{
		if (call_fallback_hook(lfirst(lc)))
			nhooks++;
		else
			nfailedhooks++;
	}
	if (pushed)
		PopActiveSnapshot();

	StatsAdd(STAT_FALLBACKS, 1);
	SpinLockAcquire(&state->mutex);
	state->last_run_at = GetCurrentTimestamp();
	SpinLockRelease(&state->mutex);
	ereport(LOG,
			(errmsg("cache_ext performed a fallback invalidation: %d namespace pattern(s) invalidated, %d fallback hook(s) called%s",
					npatterns, nhooks,
					nfailedhooks ? " (some hooks failed or were skipped)" : ""),
			 errdetail("Reason: %s.", reason)));
}

/* ------------------------------------------------------------ SQL level */

PG_FUNCTION_INFO_V1(cache_ext_run_fallback);
Datum
cache_ext_run_fallback(PG_FUNCTION_ARGS)
{
	uint64		mark;

	RequireCacheExtAdmin("run the fallback invalidation");
	mark = FallbackMark();
	FallbackRun("requested by SELECT cache_ext.run_fallback()");
	FallbackDone(mark);
	PG_RETURN_VOID();
}
