/*-------------------------------------------------------------------------
 *
 * triggers.c
 *	  The invalidation hooks: the trigger functions bump_version,
 *	  invalidate_keys and invalidate_on_truncate, the transactional SQL
 *	  functions bump, bump_user and invalidate, the version readers, and
 *	  the CREATE TRIGGER check (check_new_triggers), which also records the
 *	  namespaces of trusted roles' triggers for the fallback invalidation
 *	  (namespaces.h).
 *
 *	  How far a template reaches is checked at CREATE TRIGGER and again
 *	  when the trigger fires (check_template_reach): it must start with
 *	  literal text, since its pattern (TRUNCATE, the fallback) reaches every
 *	  key it could produce, and may not reach the cache_enabled mirror, nor
 *	  a version namespace the counters of its table.  Patterns passed to
 *	  invalidate() obey the first rule unless the caller is an
 *	  administrator.
 *
 *	  Nothing here talks to Redis to invalidate: every effect is added to
 *	  the transaction's pending set (pending.h) and delivered after commit.
 *	  Only the readers (version, user_version) send a command, a GET.
 *
 *	  Trigger arguments are key templates (templates.h), parsed once per
 *	  trigger and backend and kept until a relcache invalidation of the
 *	  trigger's table (get_trigger_cache); the per-row path renders keys
 *	  without any catalog access.
 *
 *-------------------------------------------------------------------------
 */
#include "prelude.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/relation.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/pg_class.h"
#include "catalog/pg_trigger.h"
#include "catalog/pg_type.h"
#include "commands/event_trigger.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "executor/tuptable.h"
#include "funcapi.h"
#include "parser/parse_type.h"
#include "storage/proc.h"
#include "utils/datum.h"
#include "utils/fmgroids.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/tuplestore.h"

#include "keys.h"
#include "members.h"
#include "namespaces.h"
#include "pending.h"
#include "relations.h"
#include "protocol.h"
#include "roles.h"
#include "safe_sql.h"
#include "templates.h"

/* bump_version() without arguments: the user version of keys.h */
#define DEFAULT_VERSION_TEMPLATE	USER_VERSION_KEY_PREFIX "{user_id}"
#define VALUE_MEMO_MAX				65536

/* What a trigger function does with the keys it renders. */
typedef enum InvalidationKind
{
	KIND_BUMP,					/* bump_version, invalidate_on_truncate */
	KIND_DELETE,				/* invalidate_keys */
	KIND_COUNTER				/* assign_number (only checked here) */
} InvalidationKind;

/* A slot of a template's set of values already added (TriggerTemplate). */
typedef struct SeenValue
{
	Datum		value;
	bool		used;
} SeenValue;

/* One parsed trigger argument. */
typedef struct TriggerTemplate
{
	KeyTemplate *tmpl;
	bool		is_pattern;		/* invalidate_keys template containing '*' */
	int			ncolumns;
	const AttrNumber *columns;

	/*
	 * Memos of what this template already added to the pending set, so that
	 * the rows of one user cost a lookup instead of a render and a trip
	 * through the pending set: the last key added, and, for a template of a
	 * single integer column, the set of values already added (at most
	 * VALUE_MEMO_MAX).  They are valid only while we are still in the
	 * subtransaction that added the keys and the key prefix is unchanged: an
	 * add made in a subtransaction that rolled back is gone from the pending
	 * set, and subtransaction ids are never reused within a transaction.
	 * The prefix is compared by value, not by address: SET frees the old
	 * string, and a later SET's copy can land at the same address.
	 */
	LocalTransactionId memo_lxid;
	SubTransactionId memo_subxid;
	StringInfoData memo_prefix;
	StringInfoData last_key;
	AttrNumber	value_attnum;	/* the integer column, or 0 */
	bool		have_first_value;	/* first_value holds the first one */
	Datum		first_value;
	struct SeenValue *seen;		/* the others: an open-addressing set of
								 * seen_size slots, created at the second
								 * distinct value */
	uint32		seen_size;		/* a power of two; 0: no set yet */
	uint32		seen_count;
} TriggerTemplate;

/*
 * The parsed templates of one trigger, kept per backend across statements
 * and transactions in trigger_caches (keyed by the trigger's OID) and
 * pointed to by fn_extra; see get_trigger_cache.
 */
typedef struct TriggerCache
{
	Oid			tgoid;			/* hash key */
	bool		valid;			/* false: parse again before use */
	Oid			relid;			/* the table the templates were parsed for */
	InvalidationKind kind;
	TupleDesc	tupdesc;		/* the descriptor seen last (not owned) */
	TupleDesc	tupdesc_copy;	/* what the templates were parsed against */
	MemoryContext cxt;			/* holds everything below; NULL: not built */
	int			ntemplates;
	TriggerTemplate *templates;
	StringInfoData buf;			/* rendering workspace */
} TriggerCache;

static HTAB *trigger_caches = NULL;
static MemoryContext trigger_cache_context = NULL;
static bool trigger_value_sets = false;	/* some template holds a value set */

PG_FUNCTION_INFO_V1(cache_ext_bump_version);
PG_FUNCTION_INFO_V1(cache_ext_invalidate_keys);
PG_FUNCTION_INFO_V1(cache_ext_invalidate_on_truncate);
PG_FUNCTION_INFO_V1(cache_ext_bump);
PG_FUNCTION_INFO_V1(cache_ext_bump_user);
PG_FUNCTION_INFO_V1(cache_ext_invalidate);
PG_FUNCTION_INFO_V1(cache_ext_version);
PG_FUNCTION_INFO_V1(cache_ext_user_version);
PG_FUNCTION_INFO_V1(cache_ext_render_key);
PG_FUNCTION_INFO_V1(cache_ext_check_new_triggers);

/* Does an invalidate_keys template denote a SCAN pattern? */
static inline bool
template_is_pattern(const char *template_text)
{
	return strchr(template_text, '*') != NULL;
}

/*
 * How many key templates a trigger has: its arguments, or the default
 * template when a bump_version() trigger has none; an invalidate_keys()
 * trigger without arguments is an ERROR (it would delete nothing).  With
 * trigger_template_text, shared by the firing (get_trigger_cache) and the check
 * at CREATE TRIGGER (cache_ext_check_new_triggers), so both agree.
 */
static int
trigger_template_count(int nargs, InvalidationKind kind, const char *tgname,
					   Relation rel, const char *funcname)
{
	if (nargs == 0 && kind == KIND_DELETE)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("trigger \"%s\" on table \"%s\" gives %s() no key template",
						tgname, RelationGetRelationName(rel), funcname),
				 errhint("Pass the keys to delete as arguments, for example EXECUTE FUNCTION %s('catalog:{id}').",
						 funcname)));
	return nargs > 0 ? nargs : 1;
}

/* The text of a trigger's i-th key template (see trigger_template_count). */
static inline const char *
trigger_template_text(int nargs, char **args, int i)
{
	return nargs > 0 ? args[i] : DEFAULT_VERSION_TEMPLATE;
}

/* Is fn the function name of the schema of ourfn (one of ours)? */
static bool
is_sibling_function(Oid fn, Oid ourfn, const char *name)
{
	char	   *fname = get_func_name(fn);

	return fname != NULL && strcmp(fname, name) == 0 &&
		get_func_namespace(fn) == get_func_namespace(ourfn);
}

/*
 * ERROR when a version namespace (bump template) reaches the counters of
 * an assign_number template of the same table: bumping them, one key at a
 * time or by pattern on TRUNCATE and in the fallback invalidation, would
 * skip or overflow numbers.
 */
static void
check_counter_overlap(Relation rel, const char *bump_text, const char *bump_tgname,
					  const char *counter_text, const char *counter_tgname)
{
	char	   *bump_literal;
	char	   *counter_literal;

	if (!TemplateValid(counter_text) || !TemplateValid(bump_text))
		return;
	bump_literal = TemplateLiteralPrefix(bump_text, false);
	counter_literal = TemplateLiteralPrefix(counter_text, false);
	if (bump_literal[0] == '\0' || counter_literal[0] == '\0' ||
		!TemplatePrefixesOverlap(bump_literal, counter_literal))
		return;
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("key template \"%s\" of trigger \"%s\" reaches the counters of trigger \"%s\" on table \"%s\"",
					bump_text, bump_tgname, counter_tgname, RelationGetRelationName(rel)),
			 errdetail("Version keys of the template start with \"%s\" and counter keys of assign_number template \"%s\" with \"%s\": bumping a counter (on TRUNCATE and in the fallback invalidation every key matching the template) would skip numbers or turn them into clock values.",
					   bump_literal, counter_text, counter_literal),
			 errhint("Give version keys and counters distinct names, such as 'cache_invoice_version:{id}' and 'invoice_seq:{year}'.")));
}

/*
 * How far one key template of an invalidation trigger reaches (see the
 * header comment); ourfn is the trigger's function, to find its siblings
 * among the table's other triggers.  At CREATE TRIGGER and at each parse
 * when the trigger fires: syscache lookups only.
 */
static void
check_template_reach(const char *text, InvalidationKind kind, Relation rel,
					 const char *tgname, Oid ourfn)
{
	bool		is_pattern = kind == KIND_DELETE && template_is_pattern(text);
	char	   *literal = TemplateLiteralPrefix(text, is_pattern);
	char	   *pattern;
	TriggerDesc *trigdesc = rel->trigdesc;
	int			i;

	if (literal[0] == '\0')
	{
		pattern = is_pattern ? TemplatePatternToPattern(text) : TemplateToPattern(text);
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("key template \"%s\" of trigger \"%s\" on table \"%s\" does not start with literal text",
						text, tgname, RelationGetRelationName(rel)),
				 errdetail("It starts with a %s, so its keys could be any key of the Redis database: TRUNCATE and the fallback invalidation would %s every key matching \"%s\".",
						   is_pattern ? "placeholder or a glob character" : "placeholder",
						   kind == KIND_BUMP ? "bump" : "delete", pattern),
				 errhint("Start the template with a fixed name, such as 'cache_user_version:{user_id}'.")));
	}
	if (TemplatePrefixesOverlap(literal, MIRROR_KEY_PREFIX))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("key template \"%s\" of trigger \"%s\" on table \"%s\" reaches the cache_enabled mirror",
						text, tgname, RelationGetRelationName(rel)),
				 errdetail("Keys starting with \"%s\" hold the users' cache_enabled flags (register_profile_table); its keys start with \"%s\".",
						   MIRROR_KEY_PREFIX, literal),
				 errhint("Use a namespace of its own, such as 'cache_user_version:{user_id}'.")));
	if (kind != KIND_BUMP || trigdesc == NULL)
		return;
	for (i = 0; i < trigdesc->numtriggers; i++)
	{
		Trigger    *t = &trigdesc->triggers[i];

		if (t->tgnargs >= 2 && is_sibling_function(t->tgfoid, ourfn, "assign_number"))
			check_counter_overlap(rel, text, tgname, t->tgargs[1], t->tgname);
	}
}

/*
 * A BEFORE row trigger renders its keys before PostgreSQL computes the
 * table's generated columns (they hold nothing useful yet in NEW): a
 * template of such a trigger may not use one.  tgtype: the trigger's.
 */
static void
check_before_columns(const KeyTemplate *tmpl, const char *text, int16 tgtype,
					 Relation rel, const char *tgname)
{
	const AttrNumber *columns;
	int			ncolumns;
	int			i;

	if (!TRIGGER_FOR_BEFORE(tgtype))
		return;
	ncolumns = TemplateColumns(tmpl, &columns);
	for (i = 0; i < ncolumns; i++)
	{
		Form_pg_attribute att = TupleDescAttr(RelationGetDescr(rel), columns[i] - 1);

		if (att->attgenerated != '\0')
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("key template \"%s\" of BEFORE trigger \"%s\" on table \"%s\" uses generated column \"%s\"",
							text, tgname, RelationGetRelationName(rel),
							NameStr(att->attname)),
					 errdetail("A BEFORE row trigger runs before generated columns are computed, so it would render the key from a stale value."),
					 errhint("Create the trigger AFTER INSERT OR UPDATE OR DELETE, or use the columns the generated one is computed from.")));
	}
}

/*
 * A new assign_number trigger: no version namespace of the table may reach
 * its counters (check_counter_overlap from the other side).
 */
static void
check_counters_unreached(Relation rel, const char *counter_text,
						 const char *counter_tgname, Oid counterfn)
{
	TriggerDesc *trigdesc = rel->trigdesc;
	int			i;

	for (i = 0; trigdesc != NULL && i < trigdesc->numtriggers; i++)
	{
		Trigger    *t = &trigdesc->triggers[i];
		int			n;
		int			a;

		if (!is_sibling_function(t->tgfoid, counterfn, "bump_version") &&
			!is_sibling_function(t->tgfoid, counterfn, "invalidate_on_truncate"))
			continue;
		n = Max(t->tgnargs, 1);
		for (a = 0; a < n; a++)
			check_counter_overlap(rel, trigger_template_text(t->tgnargs, t->tgargs, a),
								  t->tgname, counter_text, counter_tgname);
	}
}

/*
 * Relcache invalidation: a change to the table (columns, its triggers: a
 * trigger created, dropped or replaced) means parsing its triggers'
 * templates again.  Only marks: a callback may run while a cache is in use.
 */
static void
trigger_cache_relcache_callback(Datum arg, Oid relid)
{
	HASH_SEQ_STATUS status;
	TriggerCache *cache;

	hash_seq_init(&status, trigger_caches);
	while ((cache = hash_seq_search(&status)) != NULL)
	{
		if (relid == InvalidOid || cache->relid == relid)
			cache->valid = false;
	}
}

/*
 * End of a transaction that built value sets (remember_value): free them,
 * so that a bulk UPDATE's set (up to VALUE_MEMO_MAX values) does not stay
 * allocated until the trigger fires again.  pfree only: never raises.
 */
static void
trigger_cache_xact_callback(XactEvent event, void *arg)
{
	HASH_SEQ_STATUS status;
	TriggerCache *cache;

	if (!trigger_value_sets)
		return;
	if (event != XACT_EVENT_COMMIT && event != XACT_EVENT_ABORT &&
		event != XACT_EVENT_PREPARE)
		return;
	hash_seq_init(&status, trigger_caches);
	while ((cache = hash_seq_search(&status)) != NULL)
	{
		for (int i = 0; i < cache->ntemplates; i++)
		{
			TriggerTemplate *tt = &cache->templates[i];

			if (tt->seen == NULL)
				continue;
			pfree(tt->seen);
			tt->seen = NULL;
			tt->seen_size = tt->seen_count = 0;
			tt->memo_lxid = InvalidLocalTransactionId;
		}
	}
	trigger_value_sets = false;
}

/* Free what an invalidated cache holds; the entry itself stays. */
static void
forget_trigger_cache(TriggerCache *cache)
{
	if (cache->cxt != NULL)
		MemoryContextDelete(cache->cxt);
	cache->cxt = NULL;
	cache->valid = false;
	cache->ntemplates = 0;
	cache->templates = NULL;
}

/*
 * Free what invalidated caches hold (a dropped or replaced trigger's), on
 * the rare path that parses templates anyway: their entries stay, small.
 */
static void
forget_invalid_trigger_caches(void)
{
	HASH_SEQ_STATUS status;
	TriggerCache *cache;

	hash_seq_init(&status, trigger_caches);
	while ((cache = hash_seq_search(&status)) != NULL)
	{
		if (!cache->valid && cache->cxt != NULL)
			forget_trigger_cache(cache);
	}
}

/*
 * Parse a trigger's templates into cache (its entry in trigger_caches).  On
 * ERROR the cache is left unbuilt (cxt NULL, valid false), so the next
 * firing parses again and reports the same problem.
 */
static void
build_trigger_cache(TriggerCache *cache, TriggerData *trigdata,
					InvalidationKind kind, const char *funcname)
{
	Trigger    *trigger = trigdata->tg_trigger;
	Relation	rel = trigdata->tg_relation;
	TupleDesc	tupdesc = RelationGetDescr(rel);
	MemoryContext oldcxt;
	MemoryContext cxt;
	int			nargs;
	int			ntemplates;
	int			i;

	Assert(cache->cxt == NULL);
	nargs = trigger->tgnargs;
	ntemplates = trigger_template_count(nargs, kind, trigger->tgname, rel, funcname);

	cxt = AllocSetContextCreate(trigger_cache_context,
								"cache_ext trigger templates",
								ALLOCSET_SMALL_SIZES);
	PG_TRY();
	{
		oldcxt = MemoryContextSwitchTo(cxt);
		cache->tupdesc_copy = CreateTupleDescCopy(tupdesc);
		cache->templates = palloc0(sizeof(TriggerTemplate) * ntemplates);
		initStringInfo(&cache->buf);
		MemoryContextSwitchTo(oldcxt);

		for (i = 0; i < ntemplates; i++)
		{
			TriggerTemplate *tt = &cache->templates[i];
			const char *text = trigger_template_text(nargs, trigger->tgargs, i);

			tt->tmpl = TemplateParse(text, rel, cxt);
			check_template_reach(text, kind, rel, trigger->tgname, trigger->tgfoid);
			check_before_columns(tt->tmpl, text, trigger->tgtype, rel,
								 trigger->tgname);
			tt->is_pattern = (kind == KIND_DELETE && template_is_pattern(text));
			tt->ncolumns = TemplateColumns(tt->tmpl, &tt->columns);
			oldcxt = MemoryContextSwitchTo(cxt);
			initStringInfo(&tt->last_key);
			initStringInfo(&tt->memo_prefix);
			MemoryContextSwitchTo(oldcxt);
			tt->memo_lxid = InvalidLocalTransactionId;
			if (tt->ncolumns == 1 && !tt->is_pattern &&
				TupleDescAttr(tupdesc, tt->columns[0] - 1)->attbyval)
			{
				switch (getBaseType(TupleDescAttr(tupdesc, tt->columns[0] - 1)->atttypid))
				{
					case INT2OID:
					case INT4OID:
					case INT8OID:
					case OIDOID:
						tt->value_attnum = tt->columns[0];
						break;
					default:
						break;
				}
			}
		}
	}
	PG_CATCH();
	{
		MemoryContextDelete(cxt);
		cache->templates = NULL;
		PG_RE_THROW();
	}
	PG_END_TRY();

	cache->cxt = cxt;
	cache->relid = RelationGetRelid(rel);
	cache->kind = kind;
	cache->tupdesc = tupdesc;
	cache->ntemplates = ntemplates;
	cache->valid = true;
}

/*
 * The templates of a trigger.  Parsing them (and checking how far they
 * reach) costs more than everything else a one-row transaction does here,
 * so they are parsed once per backend and kept across statements and
 * transactions until the table changes (relcache callback above); fn_extra
 * points at the trigger's entry, whose address never changes (entries are
 * never removed), so the per-row check is a few comparisons.  Our code runs
 * no user code between fetching a cache and its last use, so freeing an
 * invalidated one at the next firing cannot pull it from under a caller.
 */
static TriggerCache *
get_trigger_cache(FunctionCallInfo fcinfo, TriggerData *trigdata,
				  InvalidationKind kind, const char *funcname)
{
	TriggerCache *cache = (TriggerCache *) fcinfo->flinfo->fn_extra;
	Trigger    *trigger = trigdata->tg_trigger;
	Relation	rel = trigdata->tg_relation;
	TupleDesc	tupdesc = RelationGetDescr(rel);
	bool		found;

	if (likely(cache != NULL && cache->tgoid == trigger->tgoid &&
			   cache->valid && cache->kind == kind &&
			   cache->tupdesc == tupdesc))
		return cache;

	if (trigger_caches == NULL)
	{
		HASHCTL		ctl;

		trigger_cache_context = AllocSetContextCreate(TopMemoryContext,
													  "cache_ext trigger caches",
													  ALLOCSET_SMALL_SIZES);
		ctl.keysize = sizeof(Oid);
		ctl.entrysize = sizeof(TriggerCache);
		ctl.hcxt = trigger_cache_context;
		trigger_caches = hash_create("cache_ext trigger caches", 16, &ctl,
									 HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
		CacheRegisterRelcacheCallback(trigger_cache_relcache_callback, (Datum) 0);
		RegisterXactCallback(trigger_cache_xact_callback, NULL);
	}

	cache = hash_search(trigger_caches, &trigger->tgoid, HASH_ENTER, &found);
	if (!found)
	{
		cache->valid = false;
		cache->relid = RelationGetRelid(rel);
		cache->cxt = NULL;
		cache->ntemplates = 0;
		cache->templates = NULL;
	}
	fcinfo->flinfo->fn_extra = cache;

	if (cache->valid && cache->kind == kind &&
		cache->relid == RelationGetRelid(rel))
	{
		/* A relcache rebuild may give the same columns a new descriptor. */
		if (cache->tupdesc == tupdesc)
			return cache;
		if (equalTupleDescs(cache->tupdesc_copy, tupdesc))
		{
			cache->tupdesc = tupdesc;
			return cache;
		}
	}

	forget_trigger_cache(cache);
	forget_invalid_trigger_caches();
	build_trigger_cache(cache, trigdata, kind, funcname);
	return cache;
}


/* Forget the memos when they no longer describe the pending set. */
static inline void
refresh_memo(TriggerTemplate *tt)
{
	LocalTransactionId lxid = MyLocalTransactionId();
	SubTransactionId subxid = GetCurrentSubTransactionId();
	const char *prefix = cache_ext_key_prefix ? cache_ext_key_prefix : "";

	if (likely(tt->memo_lxid == lxid && tt->memo_subxid == subxid &&
			   strcmp(tt->memo_prefix.data, prefix) == 0))
		return;
	tt->memo_lxid = lxid;
	tt->memo_subxid = subxid;
	resetStringInfo(&tt->memo_prefix);
	appendStringInfoString(&tt->memo_prefix, prefix);
	resetStringInfo(&tt->last_key);
	tt->have_first_value = false;
	if (tt->seen != NULL)
		pfree(tt->seen);
	tt->seen = NULL;
	tt->seen_size = tt->seen_count = 0;
}

/* The slot of a value in a set of values (the murmur3 64-bit finalizer). */
static inline uint32
seen_slot(Datum value, uint32 size)
{
	uint64		h = (uint64) value;

	h ^= h >> 33;
	h *= UINT64CONST(0xff51afd7ed558ccd);
	h ^= h >> 33;
	h *= UINT64CONST(0xc4ceb9fe1a85ec53);
	h ^= h >> 33;
	return (uint32) h & (size - 1);
}

/* Was the key of this integer value added (refresh_memo first)? */
static inline bool
value_seen(const TriggerTemplate *tt, Datum value)
{
	uint32		i;

	if (tt->have_first_value && tt->first_value == value)
		return true;
	if (tt->seen_size == 0)
		return false;
	for (i = seen_slot(value, tt->seen_size); tt->seen[i].used;
		 i = (i + 1) & (tt->seen_size - 1))
	{
		if (tt->seen[i].value == value)
			return true;
	}
	return false;
}

/*
 * Remember that the key of this integer value (not seen yet) was added.
 * The first value of a transaction goes into a field: a set is only worth
 * creating once a second distinct value shows up.  The set is open
 * addressing over Datums (at most half full, at most VALUE_MEMO_MAX
 * values): a bulk UPDATE looks a value up for every row, and a dynahash
 * lookup cost it a third of the trigger's work.
 */
static void
remember_value(TriggerCache *cache, TriggerTemplate *tt, Datum value)
{
	uint32		i;

	if (!tt->have_first_value)
	{
		tt->first_value = value;
		tt->have_first_value = true;
		return;
	}
	if (tt->seen_count >= VALUE_MEMO_MAX)
		return;
	if ((tt->seen_count + 1) * 2 > tt->seen_size)
	{
		uint32		newsize = tt->seen_size == 0 ? 64 : tt->seen_size * 2;
		SeenValue  *newset = MemoryContextAllocZero(cache->cxt,
													newsize * sizeof(SeenValue));

		for (uint32 j = 0; j < tt->seen_size; j++)
		{
			if (!tt->seen[j].used)
				continue;
			for (i = seen_slot(tt->seen[j].value, newsize); newset[i].used;
				 i = (i + 1) & (newsize - 1))
				;
			newset[i] = tt->seen[j];
		}
		if (tt->seen != NULL)
			pfree(tt->seen);
		tt->seen = newset;
		tt->seen_size = newsize;
		trigger_value_sets = true;
	}
	for (i = seen_slot(value, tt->seen_size); tt->seen[i].used;
		 i = (i + 1) & (tt->seen_size - 1))
		;
	tt->seen[i].value = value;
	tt->seen[i].used = true;
	tt->seen_count++;
}

/* Add one complete (prefixed) key to the pending set, memo permitting. */
static inline void
add_key(TriggerTemplate *tt, InvalidationKind kind, const char *key, size_t keylen)
{
	if ((size_t) tt->last_key.len == keylen &&
		memcmp(tt->last_key.data, key, keylen) == 0)
		return;

	if (tt->is_pattern)
		PendingAddDeletePattern(key, keylen);
	else if (kind == KIND_BUMP)
		PendingAddBump(key, keylen);
	else
		PendingAddDelete(key, keylen);

	resetStringInfo(&tt->last_key);
	appendBinaryStringInfo(&tt->last_key, key, keylen);
}

/*
 * Render one template for one row and add the key; NULL columns skip it.
 * value: for a template of one integer column (value_attnum), the row's
 * value of that column, not NULL and not seen yet.
 */
static inline void
add_row_key(TriggerCache *cache, TriggerTemplate *tt, InvalidationKind kind,
			HeapTuple tuple, TupleDesc tupdesc, Datum value)
{
	StringInfo	buf = &cache->buf;
	char	   *key;
	size_t		keylen;
	bool		rendered;

	resetStringInfo(buf);
	if (tt->is_pattern)
		rendered = TemplateRenderPattern(tt->tmpl, tuple, tupdesc, buf);
	else
		rendered = TemplateRender(tt->tmpl, tuple, tupdesc, buf);
	if (!rendered)
		return;

	if (tt->is_pattern)
		key = KeyPatternWithPrefix(buf->data, buf->len, &keylen);
	else
		key = KeyWithPrefix(buf->data, buf->len, &keylen);
	add_key(tt, kind, key, keylen);
	pfree(key);

	if (tt->value_attnum != 0)
		remember_value(cache, tt, value);
}

/*
 * The keys of a row event for a template of one integer column: each
 * version's value is read once, compared and looked up in the memo; a key
 * is rendered only for a value not seen yet in this (sub)transaction.
 */
static inline void
add_value_keys(TriggerCache *cache, TriggerTemplate *tt, InvalidationKind kind,
			   HeapTuple oldtup, HeapTuple newtup, TupleDesc tupdesc)
{
	Datum		newval = (Datum) 0;
	Datum		oldval = (Datum) 0;
	bool		newnull = true;
	bool		oldnull = true;

	if (newtup != NULL)
		newval = heap_getattr(newtup, tt->value_attnum, tupdesc, &newnull);
	if (oldtup != NULL)
		oldval = heap_getattr(oldtup, tt->value_attnum, tupdesc, &oldnull);
	if (!newnull && !value_seen(tt, newval))
		add_row_key(cache, tt, kind, newtup, tupdesc, newval);
	if (!oldnull && (newnull || oldval != newval) && !value_seen(tt, oldval))
		add_row_key(cache, tt, kind, oldtup, tupdesc, oldval);
}

/* Do two versions of a row agree on every column a template uses? */
static inline bool
same_columns(const TriggerTemplate *tt, HeapTuple a, HeapTuple b, TupleDesc tupdesc)
{
	int			i;

	for (i = 0; i < tt->ncolumns; i++)
	{
		AttrNumber	attnum = tt->columns[i];
		Form_pg_attribute attr = TupleDescAttr(tupdesc, attnum - 1);
		bool		null_a,
					null_b;
		Datum		da = heap_getattr(a, attnum, tupdesc, &null_a);
		Datum		db = heap_getattr(b, attnum, tupdesc, &null_b);

		if (null_a != null_b)
			return false;
		if (!null_a && !datumIsEqual(da, db, attr->attbyval, attr->attlen))
			return false;
	}
	return true;
}

/*
 * Keys for one row event: NEW on insert, OLD on delete, both on update (a
 * row moved from one user to another invalidates both) unless the template's
 * columns did not change.  old or new may be NULL.
 */
static void
add_row_event_keys(TriggerCache *cache, InvalidationKind kind,
				   HeapTuple oldtup, HeapTuple newtup, TupleDesc tupdesc)
{
	int			i;

	for (i = 0; i < cache->ntemplates; i++)
	{
		TriggerTemplate *tt = &cache->templates[i];

		refresh_memo(tt);
		if (tt->value_attnum != 0)
		{
			add_value_keys(cache, tt, kind, oldtup, newtup, tupdesc);
			continue;
		}
		if (newtup != NULL)
			add_row_key(cache, tt, kind, newtup, tupdesc, (Datum) 0);
		if (oldtup != NULL &&
			(newtup == NULL || !same_columns(tt, oldtup, newtup, tupdesc)))
			add_row_key(cache, tt, kind, oldtup, tupdesc, (Datum) 0);
	}
}

/* The current tuple of a minimal-tuple slot, as a HeapTuple, without a copy. */
static inline HeapTuple
slot_heap_tuple_no_copy(TupleTableSlot *slot)
{
	return ((MinimalTupleTableSlot *) slot)->tuple;
}

/*
 * Statement-level form: walk the transition tables.  For an UPDATE the old
 * and new tables hold the rows in the same order, so they are walked in
 * step to skip rendering the old row when its key columns did not change;
 * correctness does not depend on the pairing (a skipped old row has the same
 * key as the new row next to it).
 */
static void
add_transition_table_keys(TriggerCache *cache, InvalidationKind kind,
						  TriggerData *trigdata, TupleDesc tupdesc)
{
	Tuplestorestate *oldtable = trigdata->tg_oldtable;
	Tuplestorestate *newtable = trigdata->tg_newtable;
	TupleTableSlot *oldslot = NULL;
	TupleTableSlot *newslot = NULL;
	MemoryContext rowcxt;
	MemoryContext oldcxt;
	bool		more_old;
	bool		more_new;
	uint64		n = 0;

	if (oldtable != NULL)
	{
		oldslot = MakeSingleTupleTableSlot(tupdesc, &TTSOpsMinimalTuple);
		tuplestore_rescan(oldtable);
	}
	if (newtable != NULL)
	{
		newslot = MakeSingleTupleTableSlot(tupdesc, &TTSOpsMinimalTuple);
		tuplestore_rescan(newtable);
	}

	/*
	 * Detoasted values and prefixed keys are freed every few rows.  Only the
	 * rendering runs in that context: a tuplestore read back from disk
	 * pallocs the tuple it hands to the slot in the current context, and the
	 * slot frees it when the next one is stored.
	 */
	rowcxt = AllocSetContextCreate(CurrentMemoryContext,
								   "cache_ext transition rows",
								   ALLOCSET_DEFAULT_SIZES);

	more_old = oldtable != NULL &&
		tuplestore_gettupleslot(oldtable, true, false, oldslot);
	more_new = newtable != NULL &&
		tuplestore_gettupleslot(newtable, true, false, newslot);
	while (more_old || more_new)
	{
		CHECK_FOR_INTERRUPTS();

		oldcxt = MemoryContextSwitchTo(rowcxt);
		add_row_event_keys(cache, kind,
						   more_old ? slot_heap_tuple_no_copy(oldslot) : NULL,
						   more_new ? slot_heap_tuple_no_copy(newslot) : NULL,
						   tupdesc);
		MemoryContextSwitchTo(oldcxt);

		if (more_old)
			more_old = tuplestore_gettupleslot(oldtable, true, false, oldslot);
		if (more_new)
			more_new = tuplestore_gettupleslot(newtable, true, false, newslot);

		if (++n % 1024 == 0)
			MemoryContextReset(rowcxt);
	}

	MemoryContextDelete(rowcxt);
	if (oldslot)
		ExecDropSingleTupleTableSlot(oldslot);
	if (newslot)
		ExecDropSingleTupleTableSlot(newslot);
}

/* TRUNCATE: every key any row could have produced, by pattern. */
static void
add_truncate_keys(TriggerCache *cache, InvalidationKind kind)
{
	int			i;

	for (i = 0; i < cache->ntemplates; i++)
	{
		TriggerTemplate *tt = &cache->templates[i];
		const char *text = TemplateText(tt->tmpl);
		char	   *pattern;
		char	   *prefixed;
		size_t		len;

		pattern = tt->is_pattern ? TemplatePatternToPattern(text)
			: TemplateToPattern(text);
		prefixed = KeyPatternWithPrefix(pattern, strlen(pattern), &len);
		if (kind == KIND_BUMP)
			PendingAddBumpPattern(prefixed, len);
		else
			PendingAddDeletePattern(prefixed, len);
		pfree(prefixed);
		pfree(pattern);
	}
}

/*
 * The body of every invalidation trigger.  truncate_only: the function is
 * invalidate_on_truncate, which makes sense on TRUNCATE alone.
 */
static Datum
invalidation_trigger(FunctionCallInfo fcinfo, InvalidationKind kind,
					 const char *funcname, bool truncate_only)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	TriggerEvent event;
	TupleDesc	tupdesc;
	TriggerCache *cache;
	const char *usage = truncate_only
		? "CREATE TRIGGER ... AFTER TRUNCATE ON table FOR EACH STATEMENT EXECUTE FUNCTION %s(...)"
		: "CREATE TRIGGER ... AFTER (or BEFORE) INSERT OR UPDATE OR DELETE ON table FOR EACH ROW EXECUTE FUNCTION %s(...)";

	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("%s() was not called by the trigger manager", funcname),
				 errhint(usage, funcname)));

	event = trigdata->tg_event;

	/*
	 * AFTER, or BEFORE for each row.  The BEFORE row form (cheaper: no
	 * after-trigger queue, no second fetch of the row versions) renders
	 * keys from OLD and NEW as they are when it fires: a row that ends up
	 * not written (a later trigger cancels it, the statement fails) only
	 * costs a harmless extra bump, a generated column is refused
	 * (check_before_columns), and a later BEFORE trigger that changes a
	 * key column of NEW is a documented limit (README).  INSTEAD OF
	 * triggers write nothing themselves; BEFORE statement triggers see no
	 * rows.
	 */
	if (TRIGGER_FIRED_INSTEAD(event) ||
		(TRIGGER_FIRED_BEFORE(event) && !TRIGGER_FIRED_FOR_ROW(event)))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("trigger \"%s\" on relation \"%s\" must be an AFTER trigger or a BEFORE row trigger to use %s()",
						trigdata->tg_trigger->tgname,
						RelationGetRelationName(trigdata->tg_relation), funcname),
				 errdetail("An INSTEAD OF trigger sees rows the table never stores, and a BEFORE statement trigger sees no rows."),
				 errhint(usage, funcname)));

	if (TRIGGER_FIRED_BY_TRUNCATE(event))
	{
		cache = get_trigger_cache(fcinfo, trigdata, kind, funcname);
		add_truncate_keys(cache, kind);
		return PointerGetDatum(NULL);
	}

	if (truncate_only)
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("%s() handles TRUNCATE only, but trigger \"%s\" on table \"%s\" fired for another event",
						funcname, trigdata->tg_trigger->tgname,
						RelationGetRelationName(trigdata->tg_relation)),
				 errhint("Use cache_ext.bump_version() for INSERT, UPDATE and DELETE.")));

	if (TRIGGER_FIRED_FOR_STATEMENT(event) &&
		trigdata->tg_oldtable == NULL && trigdata->tg_newtable == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("statement-level trigger \"%s\" on table \"%s\" gives %s() no transition table",
						trigdata->tg_trigger->tgname,
						RelationGetRelationName(trigdata->tg_relation), funcname),
				 errdetail("Without the changed rows there are no keys to render."),
				 errhint("Use FOR EACH ROW, or add REFERENCING NEW TABLE AS new_rows (INSERT), OLD TABLE AS old_rows NEW TABLE AS new_rows (UPDATE) or OLD TABLE AS old_rows (DELETE), one trigger per event.")));

	cache = get_trigger_cache(fcinfo, trigdata, kind, funcname);
	tupdesc = RelationGetDescr(trigdata->tg_relation);

	if (TRIGGER_FIRED_FOR_STATEMENT(event))
		add_transition_table_keys(cache, kind, trigdata, tupdesc);
	else if (TRIGGER_FIRED_BY_INSERT(event))
		add_row_event_keys(cache, kind, NULL, trigdata->tg_trigtuple, tupdesc);
	else if (TRIGGER_FIRED_BY_DELETE(event))
		add_row_event_keys(cache, kind, trigdata->tg_trigtuple, NULL, tupdesc);
	else if (TRIGGER_FIRED_BY_UPDATE(event))
		add_row_event_keys(cache, kind, trigdata->tg_trigtuple,
						   trigdata->tg_newtuple, tupdesc);

	/* A BEFORE row trigger lets the row through unchanged. */
	if (TRIGGER_FIRED_BEFORE(event))
		return PointerGetDatum(TRIGGER_FIRED_BY_UPDATE(event) ?
							   trigdata->tg_newtuple : trigdata->tg_trigtuple);
	return PointerGetDatum(NULL);
}

/*
 * cache_ext.bump_version(template...): bump the version key of every
 * namespace a changed row belongs to.  Default template:
 * 'cache_user_version:{user_id}'.  On TRUNCATE: every key matching each
 * template.
 */
Datum
cache_ext_bump_version(PG_FUNCTION_ARGS)
{
	return invalidation_trigger(fcinfo, KIND_BUMP, "cache_ext.bump_version", false);
}

/*
 * cache_ext.invalidate_keys(template...): delete the keys of a changed row;
 * a template containing '*' is a pattern (SCAN + UNLINK).  On TRUNCATE:
 * every key matching each template.
 */
Datum
cache_ext_invalidate_keys(PG_FUNCTION_ARGS)
{
	return invalidation_trigger(fcinfo, KIND_DELETE, "cache_ext.invalidate_keys", false);
}

/*
 * cache_ext.invalidate_on_truncate(template...): the TRUNCATE statement
 * trigger matching bump_version (same arguments): bumps every version key
 * matching each template.
 */
Datum
cache_ext_invalidate_on_truncate(PG_FUNCTION_ARGS)
{
	return invalidation_trigger(fcinfo, KIND_BUMP, "cache_ext.invalidate_on_truncate", true);
}

/* ERROR for a NULL argument of a function that has no sensible NULL case. */
static void
reject_null_argument(FunctionCallInfo fcinfo, int argno, const char *argname,
					 const char *funcname)
{
	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s of %s() must not be NULL", argname, funcname),
				 errhint("Skip the call when there is no key, for example with coalesce or a WHERE clause.")));
}

/* cache_ext.bump(key text): bump one version key at commit. */
Datum
cache_ext_bump(PG_FUNCTION_ARGS)
{
	char	   *key;
	size_t		keylen;

	reject_null_argument(fcinfo, 0, "key", "cache_ext.bump");
	key = KeyWithPrefixText(PG_GETARG_TEXT_PP(0), &keylen);
	PendingAddBump(key, keylen);
	PG_RETURN_VOID();
}

/* cache_ext.bump_user(user_id bigint) = bump('cache_user_version:' || user_id) */
Datum
cache_ext_bump_user(PG_FUNCTION_ARGS)
{
	char	   *key;
	size_t		keylen;

	reject_null_argument(fcinfo, 0, "user_id", "cache_ext.bump_user");
	key = KeyUserVersion(PG_GETARG_INT64(0), &keylen);
	PendingAddBump(key, keylen);
	PG_RETURN_VOID();
}

/*
 * cache_ext.invalidate(key_or_pattern text): delete a key at commit, or
 * every key matching a pattern when it contains '*'.
 */
Datum
cache_ext_invalidate(PG_FUNCTION_ARGS)
{
	text	   *arg;
	char	   *key;
	size_t		keylen;

	reject_null_argument(fcinfo, 0, "key_or_pattern", "cache_ext.invalidate");
	arg = PG_GETARG_TEXT_PP(0);
	if (memchr(VARDATA_ANY(arg), '*', VARSIZE_ANY_EXHDR(arg)) != NULL)
	{
		/*
		 * A pattern starting with a glob matches every key under the key
		 * prefix (a FLUSHDB of the tenant): operators only.
		 */
		if (TemplateGlobLiteralPrefix(VARDATA_ANY(arg), VARSIZE_ANY_EXHDR(arg))[0] == '\0' &&
			!CacheExtAdminUser())
			ereport(ERROR,
					(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
					 errmsg("permission denied to invalidate pattern \"%s\"",
							text_to_cstring(arg)),
					 errdetail("A pattern starting with a glob character can match every key of the key prefix; only superusers and members of %s may invalidate that much.",
							   CACHE_EXT_ADMIN_ROLE),
					 errhint("Start the pattern with literal text, such as 'catalog:*'.")));
		key = KeyPatternWithPrefix(VARDATA_ANY(arg), VARSIZE_ANY_EXHDR(arg), &keylen);
		PendingAddDeletePattern(key, keylen);
	}
	else
	{
		key = KeyWithPrefixText(arg, &keylen);
		PendingAddDelete(key, keylen);
	}
	PG_RETURN_VOID();
}

/*
 * GET a version key now.  NULL when absent (or when Redis is unreachable and
 * cache_ext.ignore_errors is on); ERROR when the value is not an integer.
 */
static Datum
read_version(FunctionCallInfo fcinfo, const char *key, size_t keylen)
{
	const char *argv[2];
	size_t		argvlen[2];
	RedisReply	reply;
	char	   *end;
	long long	value;

	argv[0] = "GET";
	argvlen[0] = 3;
	argv[1] = key;
	argvlen[1] = keylen;
	memset(&reply, 0, sizeof(reply));

	if (!RedisCommandOrError(2, argv, argvlen, &reply))
		PG_RETURN_NULL();
	if (reply.type == REDIS_VALUE_NIL)
		PG_RETURN_NULL();
	if (reply.type == REDIS_VALUE_INTEGER)
		PG_RETURN_INT64((int64) reply.integer);
	if (reply.type == REDIS_VALUE_STRING && reply.str != NULL && reply.len > 0 &&
		reply.len < 21)
	{
		errno = 0;
		value = strtoll(reply.str, &end, 10);
		if (errno == 0 && end == reply.str + reply.len)
			PG_RETURN_INT64((int64) value);
	}
	ereport(ERROR,
			(errcode(ERRCODE_DATA_EXCEPTION),
			 errmsg("Redis key \"%s\" does not hold a version number", key),
			 errdetail("A version key holds a decimal 64-bit integer; this one holds %s.",
					   reply.type == REDIS_VALUE_STRING ? "another string" : "a non-string value"),
			 errhint("Something other than cache_ext writes this key: delete it, or use another key name.")));
	PG_RETURN_NULL();			/* keep the compiler quiet */
}

/* cache_ext.version(key text) → bigint */
Datum
cache_ext_version(PG_FUNCTION_ARGS)
{
	char	   *key;
	size_t		keylen;

	reject_null_argument(fcinfo, 0, "key", "cache_ext.version");
	key = KeyWithPrefixText(PG_GETARG_TEXT_PP(0), &keylen);
	return read_version(fcinfo, key, keylen);
}

/* cache_ext.user_version(user_id bigint) → bigint */
Datum
cache_ext_user_version(PG_FUNCTION_ARGS)
{
	char	   *key;
	size_t		keylen;

	reject_null_argument(fcinfo, 0, "user_id", "cache_ext.user_version");
	key = KeyUserVersion(PG_GETARG_INT64(0), &keylen);
	return read_version(fcinfo, key, keylen);
}

/* fn_extra of render_key: the last template parsed. */
typedef struct RenderKeyCache
{
	Oid			relid;
	char	   *text;
	KeyTemplate *tmpl;
	MemoryContext cxt;
} RenderKeyCache;

/*
 * cache_ext.render_key(template text, row anyelement) → text: the complete
 * key (prefix included) a trigger with this template would touch for this
 * row of a table; NULL when a referenced column is NULL.  A template
 * containing '*' gives the SCAN pattern invalidate_keys would use.  For
 * checking templates before creating a trigger, and for tests.
 */
Datum
cache_ext_render_key(PG_FUNCTION_ARGS)
{
	RenderKeyCache *cache = (RenderKeyCache *) fcinfo->flinfo->fn_extra;
	char	   *template_text;
	HeapTupleHeader rowhdr;
	HeapTupleData tuple;
	Oid			rowtype;
	Oid			relid;
	Relation	rel;
	StringInfoData buf;
	bool		is_pattern;
	bool		rendered;
	char	   *key;
	size_t		keylen;

	reject_null_argument(fcinfo, 0, "template", "cache_ext.render_key");
	if (PG_ARGISNULL(1))
		PG_RETURN_NULL();
	template_text = text_to_cstring(PG_GETARG_TEXT_PP(0));

	rowtype = get_fn_expr_argtype(fcinfo->flinfo, 1);
	relid = OidIsValid(rowtype) ? typeidTypeRelid(rowtype) : InvalidOid;
	if (!OidIsValid(relid) || get_rel_relkind(relid) == RELKIND_COMPOSITE_TYPE)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("row of cache_ext.render_key() must be a row of a table, not type %s",
						format_type_be(rowtype)),
				 errhint("Pass the table alias, as in SELECT cache_ext.render_key('user:{id}', t) FROM t.")));

	rowhdr = PG_GETARG_HEAPTUPLEHEADER(1);
	tuple.t_len = HeapTupleHeaderGetDatumLength(rowhdr);
	ItemPointerSetInvalid(&tuple.t_self);
	tuple.t_tableOid = relid;
	tuple.t_data = rowhdr;

	rel = relation_open(relid, AccessShareLock);
	if (cache == NULL || cache->relid != relid ||
		strcmp(cache->text, template_text) != 0)
	{
		MemoryContext cxt;

		if (cache != NULL)
		{
			MemoryContextDelete(cache->cxt);
			fcinfo->flinfo->fn_extra = NULL;
		}
		cxt = AllocSetContextCreate(fcinfo->flinfo->fn_mcxt,
									"cache_ext render_key",
									ALLOCSET_SMALL_SIZES);
		PG_TRY();
		{
			cache = MemoryContextAllocZero(cxt, sizeof(RenderKeyCache));
			cache->cxt = cxt;
			cache->relid = relid;
			cache->text = MemoryContextStrdup(cxt, template_text);
			cache->tmpl = TemplateParse(template_text, rel, cxt);
		}
		PG_CATCH();
		{
			MemoryContextDelete(cxt);
			PG_RE_THROW();
		}
		PG_END_TRY();
		fcinfo->flinfo->fn_extra = cache;
	}

	is_pattern = template_is_pattern(template_text);
	initStringInfo(&buf);
	if (is_pattern)
		rendered = TemplateRenderPattern(cache->tmpl, &tuple, RelationGetDescr(rel), &buf);
	else
		rendered = TemplateRender(cache->tmpl, &tuple, RelationGetDescr(rel), &buf);
	relation_close(rel, AccessShareLock);
	if (!rendered)
		PG_RETURN_NULL();

	if (is_pattern)
		key = KeyPatternWithPrefix(buf.data, buf.len, &keylen);
	else
		key = KeyWithPrefix(buf.data, buf.len, &keylen);
	PG_RETURN_TEXT_P(cstring_to_text_with_len(key, keylen));
}

/* ------------------------------------------------- the CREATE TRIGGER check */

/* The new triggers of the current command (pg_event_trigger_ddl_commands). */
static List *
new_trigger_oids(void)
{
	List	   *oids = NIL;
	MemoryContext outer = CurrentMemoryContext;
	uint64		i;
	int			nest;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	/* no operator, no cast; the function qualified; the path pinned */
	nest = SafeSearchPathPush();
	if (SPI_execute("SELECT classid, objid FROM pg_catalog.pg_event_trigger_ddl_commands()",
					true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not list the new triggers");
	for (i = 0; i < SPI_processed; i++)
	{
		bool		isnull1,
					isnull2;
		Oid			classid = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[i],
															 SPI_tuptable->tupdesc, 1, &isnull1));
		Oid			objid = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[i],
														   SPI_tuptable->tupdesc, 2, &isnull2));

		if (!isnull1 && !isnull2 && classid == TriggerRelationId)
		{
			MemoryContext old = MemoryContextSwitchTo(outer);

			oids = lappend_oid(oids, objid);
			MemoryContextSwitchTo(old);
		}
	}
	SafeSearchPathPop(nest);
	SPI_finish();
	return oids;
}

/*
 * Check, and for a trusted creator record, one new trigger of ours.  The
 * relation's trigger descriptor (rel->trigdesc) holds it already: CREATE
 * TRIGGER has made it visible to its own command.
 */
static void
check_new_trigger(Oid tgoid)
{
	Relation	tgrel;
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	tup;
	Oid			relid;
	Oid			tgfoid;
	char	   *tgname;
	char	   *funcname;
	Relation	rel;
	TriggerDesc *trigdesc;
	Trigger    *trigger = NULL;
	InvalidationKind kind;
	int			ntemplates;
	int			i;

	tgrel = table_open(TriggerRelationId, AccessShareLock);
	ScanKeyInit(&key, Anum_pg_trigger_oid, BTEqualStrategyNumber, F_OIDEQ,
				ObjectIdGetDatum(tgoid));
	scan = systable_beginscan(tgrel, TriggerOidIndexId, true, NULL, 1, &key);
	tup = systable_getnext(scan);
	if (!HeapTupleIsValid(tup))
	{
		systable_endscan(scan);
		table_close(tgrel, AccessShareLock);
		return;
	}
	relid = ((Form_pg_trigger) GETSTRUCT(tup))->tgrelid;
	tgfoid = ((Form_pg_trigger) GETSTRUCT(tup))->tgfoid;
	systable_endscan(scan);
	table_close(tgrel, AccessShareLock);

	if (MembersIsFunction(tgfoid, "bump_version") ||
		MembersIsFunction(tgfoid, "invalidate_on_truncate"))
		kind = KIND_BUMP;
	else if (MembersIsFunction(tgfoid, "invalidate_keys"))
		kind = KIND_DELETE;
	else if (MembersIsFunction(tgfoid, "assign_number"))
		kind = KIND_COUNTER;
	else
		return;
	funcname = psprintf("cache_ext.%s", get_func_name(tgfoid));

	rel = relation_open(relid, AccessShareLock);
	trigdesc = rel->trigdesc;
	for (i = 0; trigdesc != NULL && i < trigdesc->numtriggers; i++)
		if (trigdesc->triggers[i].tgoid == tgoid)
			trigger = &trigdesc->triggers[i];
	if (trigger == NULL)
	{
		relation_close(rel, AccessShareLock);
		return;
	}
	tgname = pstrdup(trigger->tgname);

	if (kind == KIND_COUNTER)
	{
		/* assign_number(column, template[, mode]): its counters' namespace */
		if (trigger->tgnargs >= 2)
			check_counters_unreached(rel, trigger->tgargs[1], tgname, tgfoid);
		relation_close(rel, AccessShareLock);
		return;
	}

	/* every template checked before anything is recorded */
	ntemplates = trigger_template_count(trigger->tgnargs, kind, tgname, rel, funcname);
	for (i = 0; i < ntemplates; i++)
	{
		const char *text = trigger_template_text(trigger->tgnargs, trigger->tgargs, i);

		check_before_columns(TemplateParse(text, rel, CurrentMemoryContext),
							 text, trigger->tgtype, rel, tgname);
		check_template_reach(text, kind, rel, tgname, tgfoid);
	}
	for (i = 0; i < ntemplates; i++)
	{
		const char *text = trigger_template_text(trigger->tgnargs, trigger->tgargs, i);
		bool		is_pattern = kind == KIND_DELETE && template_is_pattern(text);
		char	   *pattern;
		const char *prefix = cache_ext_key_prefix ? cache_ext_key_prefix : "";

		pattern = is_pattern ? TemplatePatternToPattern(text) : TemplateToPattern(text);
		if (CacheExtAdminUser())
			NamespaceRegister(kind == KIND_BUMP, pattern, prefix,
							  psprintf("%s ON %s", quote_identifier(tgname),
									   RelationsQualifiedName(RelationGetRelid(rel))));
		else if (!NamespaceListed(kind == KIND_BUMP, pattern, prefix))
			ereport(WARNING,
					(errmsg("the fallback invalidation will not reach namespace \"%s\" of trigger \"%s\" on table \"%s\"",
							pattern, tgname, RelationGetRelationName(rel)),
					 errdetail("The fallback invalidation, which runs for every tenant of the Redis database, trusts only the triggers of superusers and members of %s to name namespaces.",
							   CACHE_EXT_ADMIN_ROLE),
					 errhint("Ask an administrator to register it: INSERT INTO cache_ext.extra_namespaces (kind, pattern, key_prefix) VALUES ('%s', %s, %s);",
							 kind == KIND_BUMP ? "bump" : "delete",
							 quote_literal_cstr(pattern), quote_literal_cstr(prefix))));
	}
	relation_close(rel, AccessShareLock);
}

/*
 * cache_ext.check_new_triggers(): the event trigger that runs at the end of
 * every CREATE TRIGGER.  For a new bump_version(), invalidate_keys() or
 * invalidate_on_truncate() trigger it parses and checks the key templates
 * against the table exactly as the first firing would (get_trigger_cache), so
 * that an unknown column, a malformed template or one reaching too far is an
 * ERROR naming table and column when the trigger is created instead of at
 * the application's first write; then it records the trigger's namespaces
 * for the fallback invalidation when a superuser or a cache_ext_admin member
 * created it, and warns otherwise.  For a new assign_number() trigger it
 * checks that no version namespace of the table reaches its counters.  A
 * column dropped after the trigger was created is still caught when the
 * trigger fires.
 *
 * It runs as whoever creates a trigger, superusers included, so it runs no
 * SQL text but the one listing the command's objects (search_path pinned,
 * no operator) and one INSERT for trusted roles (namespaces.c); the rest is
 * catalog access in C.
 */
Datum
cache_ext_check_new_triggers(PG_FUNCTION_ARGS)
{
	ListCell   *lc;
	List	   *oids;

	if (!CALLED_AS_EVENT_TRIGGER(fcinfo))
		elog(ERROR, "cache_ext.check_new_triggers() was not fired by the event trigger manager");

	oids = new_trigger_oids();
	foreach(lc, oids)
		check_new_trigger(lfirst_oid(lc));
	PG_RETURN_VOID();
}
