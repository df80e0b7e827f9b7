/*-------------------------------------------------------------------------
 *
 * counters_trigger.c
 *	  The assign_number trigger: numbers rows (invoices) from a counter
 *	  named by a key template, without ever handing out a number twice.
 *
 *	  BEFORE INSERT OR UPDATE FOR EACH ROW, arguments (column, template
 *	  [, mode]):
 *
 *	  - A NULL number on INSERT is filled.  mode 'cache' (the default) asks
 *		Redis for counter_next(key, floor) where floor is the largest number
 *		already in the table among the rows whose template columns equal
 *		this row's: a Redis that lost the counter (FLUSHALL, restart without
 *		persistence) or went back in time (restored snapshot, stale replica)
 *		is raised past every committed number before it is incremented.
 *		When Redis cannot be reached the number is floor + 1, computed under
 *		a transaction-level advisory lock on (relation, key) so that such
 *		allocations serialize, and the Redis counter is raised after commit.
 *		A counter at or above the largest number the column can hold
 *		(another table numbering from the same key raised it, or a client)
 *		is set back to the floor in the same step, with a WARNING: it never
 *		makes the table's inserts fail.
 *		mode 'gapless' takes the number from cache_ext.gapless_counters
 *		under its row lock, so the number commits or rolls back with the
 *		row: committed numbers are 1..N without holes.  A gapless counter
 *		belongs to one table and one key prefix: its row is keyed by
 *		(table, cache_ext.key_prefix, rendered key), so another table's
 *		trigger never reads or writes it.
 *	  - An explicit number, or an UPDATE that changes the number or the
 *		template columns, raises the counter to it after commit (and, in
 *		gapless mode, the gapless counter at once, under its row lock).
 *	  - A unique index over (template columns, number column) must exist: it
 *		is what turns the one race no allocator can close (a counter lost
 *		while an allocation from it is still uncommitted) into a
 *		unique_violation for one transaction instead of a duplicate.
 *
 *	  What is derived from the catalogs (columns, template, floor query,
 *	  the unique index check) is kept per backend and per trigger, and
 *	  rebuilt when the relation changes (relcache invalidation).
 *
 *	  Internal queries run as the owner of the table they read, like the
 *	  foreign-key triggers do: the inserting role may lack SELECT on the
 *	  invoices, and a row-level security policy must not hide rows from the
 *	  floor.  The gapless statements run as the owner of
 *	  cache_ext.gapless_counters.  Since that is more than the inserting
 *	  role may have, their text names every relation, function, cast and
 *	  operator with its schema, and they are prepared and executed with
 *	  search_path pinned to pg_catalog, pg_temp (safe_sql.h): the inserting
 *	  role's search_path can neither capture an operator when a statement
 *	  is prepared nor when a kept plan is re-analysed.
 *
 *-------------------------------------------------------------------------
 */
#include "prelude.h"

#include "access/hash.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "catalog/namespace.h"
#include "catalog/partition.h"
#include "catalog/pg_class.h"
#include "catalog/pg_index.h"
#include "catalog/pg_operator.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "storage/lmgr.h"
#include "storage/lock.h"
#include "utils/datum.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
#include "utils/typcache.h"

#include "counters.h"
#include "keys.h"
#include "pending.h"
#include "protocol.h"
#include "relations.h"
#include "safe_sql.h"
#include "templates.h"

PG_FUNCTION_INFO_V1(cache_ext_assign_number);

/*
 * locktag_field4 of our advisory locks: pg_advisory_lock() uses 1 and 2, so
 * 3 keeps the application's own advisory locks from ever colliding with
 * ours.  Shows in pg_locks as locktype 'advisory', objsubid 3.
 */
#define ASSIGN_NUMBER_LOCK_SPACE 3

typedef enum NumberMode
{
	NUMBER_CACHE,
	NUMBER_GAPLESS
} NumberMode;

/* What one trigger needs, derived once per backend. */
typedef struct AssignEntry
{
	Oid			tgoid;			/* hash key */
	bool		valid;			/* false: rebuild before use */
	int			busy;			/* calls of this entry in progress */
	MemoryContext mcxt;			/* everything below; NULL when not built */

	Oid			relid;			/* the relation the trigger fires on */
	Oid			query_relid;	/* the relation the floor query reads: the
								 * partition root for a cloned trigger */
	Oid			query_owner;	/* its owner: the floor query runs as them */
	int			nargs;
	char	  **args;			/* tgargs as built, to notice a change */
	NumberMode	mode;
	AttrNumber	numattnum;
	Oid			numtype;		/* INT2OID, INT4OID or INT8OID */
	Oid			numdomain;		/* the column's domain, or InvalidOid */
	void	   *domain_extra;	/* domain_check() cache */
	char	   *numname;
	char	   *relname;		/* qualified, quoted: for messages */
	KeyTemplate *tmpl;
	int			nkeycols;
	const AttrNumber *keycols;
	SPIPlanPtr	floor_plan;
} AssignEntry;

static HTAB *assign_entries = NULL;
static MemoryContext assign_context = NULL;

/* Statements on cache_ext.gapless_counters, prepared once per backend. */
static SPIPlanPtr gapless_plans[2][2];	/* [GaplessOp][old layout] */

/*
 * Relcache invalidation: any change to a relation an entry was derived from
 * (columns renamed or dropped, an index created or dropped, the trigger
 * replaced) means rebuilding it.  Only marks: a callback must not free what
 * an outer call may be using.
 */
static void
assign_number_relcache_callback(Datum arg, Oid relid)
{
	HASH_SEQ_STATUS status;
	AssignEntry *entry;

	if (assign_entries == NULL)
		return;
	hash_seq_init(&status, assign_entries);
	while ((entry = hash_seq_search(&status)) != NULL)
	{
		if (relid == InvalidOid || entry->relid == relid ||
			entry->query_relid == relid)
			entry->valid = false;
	}
}

void
CountersTriggerInit(void)
{
	CacheRegisterRelcacheCallback(assign_number_relcache_callback, (Datum) 0);
}

static void
ensure_entry_table(void)
{
	HASHCTL		ctl;

	if (assign_entries != NULL)
		return;
	assign_context = AllocSetContextCreate(TopMemoryContext,
										   "cache_ext assign_number",
										   ALLOCSET_SMALL_SIZES);
	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = sizeof(Oid);
	ctl.entrysize = sizeof(AssignEntry);
	ctl.hcxt = assign_context;
	assign_entries = hash_create("cache_ext assign_number triggers", 16, &ctl,
								 HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
}

static void
forget_entry(AssignEntry *entry)
{
	if (entry->floor_plan != NULL)
		SPI_freeplan(entry->floor_plan);
	if (entry->mcxt != NULL)
		MemoryContextDelete(entry->mcxt);
	entry->floor_plan = NULL;
	entry->mcxt = NULL;
	entry->valid = false;
	entry->busy = 0;
	entry->relid = InvalidOid;
	entry->query_relid = InvalidOid;
}

static bool
args_unchanged(const AssignEntry *entry, const Trigger *trigger)
{
	if (entry->nargs != trigger->tgnargs)
		return false;
	for (int i = 0; i < entry->nargs; i++)
		if (strcmp(entry->args[i], trigger->tgargs[i]) != 0)
			return false;
	return true;
}

/*
 * "OPERATOR(schema.=)": the default equality of a template column's type,
 * spelled out so the floor query does not depend on search_path.
 */
static void
append_equality_operator(StringInfo buf, Oid typid, const char *colname,
						 const char *relname)
{
	TypeCacheEntry *tce = lookup_type_cache(typid, TYPECACHE_EQ_OPR);
	HeapTuple	tp;
	Form_pg_operator oper;

	if (!OidIsValid(tce->eq_opr))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_FUNCTION),
				 errmsg("column \"%s\" of %s cannot be a key template column of assign_number",
						colname, relname),
				 errdetail("Type %s has no default equality operator, so the rows of a counter's partition cannot be found.",
						   format_type_be(typid))));
	tp = SearchSysCache1(OPEROID, ObjectIdGetDatum(tce->eq_opr));
	if (!HeapTupleIsValid(tp))
		elog(ERROR, "cache lookup failed for operator %u", tce->eq_opr);
	oper = (Form_pg_operator) GETSTRUCT(tp);
	appendStringInfo(buf, " OPERATOR(%s.%s) ",
					 quote_identifier(get_namespace_name(oper->oprnamespace)),
					 NameStr(oper->oprname));
	ReleaseSysCache(tp);
}

/*
 * Does a column of rel, by name, belong to the numbering: a template column
 * or the number column?  (By name: rel may be the partitioned table the
 * trigger was cloned from, whose attribute numbers differ.)
 */
static bool
is_numbering_column(const char *name, const AssignEntry *entry, TupleDesc leafdesc)
{
	if (strcmp(name, entry->numname) == 0)
		return true;
	for (int j = 0; j < entry->nkeycols; j++)
		if (strcmp(name, NameStr(TupleDescAttr(leafdesc, entry->keycols[j] - 1)->attname)) == 0)
			return true;
	return false;
}

/*
 * Is there on rel a unique, valid, non-partial index on plain columns whose
 * key columns all belong to (template columns, number column) and include
 * the number column?  Any such index forbids two committed rows of one
 * partition with the same number.
 */
static bool
has_covering_unique_index(Relation rel, const AssignEntry *entry, TupleDesc leafdesc)
{
	TupleDesc	tupdesc = RelationGetDescr(rel);
	List	   *indexes = RelationGetIndexList(rel);
	ListCell   *lc;
	bool		found = false;

	foreach(lc, indexes)
	{
		Relation	index = index_open(lfirst_oid(lc), AccessShareLock);
		Form_pg_index form = index->rd_index;
		bool		usable = form->indisunique && form->indisvalid &&
			form->indislive &&
			heap_attisnull(index->rd_indextuple, Anum_pg_index_indexprs, NULL) &&
			heap_attisnull(index->rd_indextuple, Anum_pg_index_indpred, NULL);
		bool		has_number = false;

		for (int k = 0; usable && k < form->indnkeyatts; k++)
		{
			AttrNumber	att = form->indkey.values[k];
			const char *name;

			if (att <= 0)
			{
				usable = false;
				break;
			}
			name = NameStr(TupleDescAttr(tupdesc, att - 1)->attname);
			usable = is_numbering_column(name, entry, leafdesc);
			if (strcmp(name, entry->numname) == 0)
				has_number = true;
		}
		index_close(index, AccessShareLock);
		if (usable && has_number)
		{
			found = true;
			break;
		}
	}
	list_free(indexes);
	return found;
}

/*
 * The statement the user should run when the unique index is missing.
 */
static char *
suggested_index(Relation rel, const AssignEntry *entry, TupleDesc leafdesc)
{
	StringInfoData buf;

	initStringInfo(&buf);
	appendStringInfo(&buf, "CREATE UNIQUE INDEX ON %s (",
					 RelationsQualifiedName(RelationGetRelid(rel)));
	for (int j = 0; j < entry->nkeycols; j++)
		appendStringInfo(&buf, "%s, ",
						 quote_identifier(NameStr(TupleDescAttr(leafdesc, entry->keycols[j] - 1)->attname)));
	appendStringInfo(&buf, "%s);", quote_identifier(entry->numname));
	return buf.data;
}

/*
 * Derive everything one trigger needs; ERROR on any bad argument.  On
 * ERROR the entry is left invalid (valid false; mcxt may already hold a
 * half-built derivation, relid and query_relid may still be InvalidOid), so
 * the next call forgets what was built and retries, reporting the same
 * problem.  The relcache callback may look at such an entry in between:
 * get_entry initialises everything it reads.
 */
static void
build_entry(AssignEntry *entry, Trigger *trigger, Relation rel)
{
	TupleDesc	tupdesc = RelationGetDescr(rel);
	MemoryContext old;
	const char *colname;
	const char *template_text;
	Form_pg_attribute numatt = NULL;
	Oid			basetype;
	StringInfoData sql;
	Oid		   *argtypes;
	SPIPlanPtr	plan;
	List	   *ancestors;
	Relation	qrel;
	int			nestlevel;

	Assert(entry->mcxt == NULL);

	if (trigger->tgnargs < 2 || trigger->tgnargs > 3)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("trigger \"%s\" on %s passes %d arguments to assign_number",
						trigger->tgname,
						RelationsQualifiedName(RelationGetRelid(rel)),
						trigger->tgnargs),
				 errdetail("assign_number takes 2 or 3 arguments."),
				 errhint("Use assign_number('column', 'key template'[, 'cache' | 'gapless']).")));
	colname = trigger->tgargs[0];
	template_text = trigger->tgargs[1];

	entry->mcxt = AllocSetContextCreate(assign_context, "cache_ext assign_number trigger",
										ALLOCSET_SMALL_SIZES);
	old = MemoryContextSwitchTo(entry->mcxt);

	entry->relid = RelationGetRelid(rel);
	entry->relname = RelationsQualifiedName(entry->relid);
	entry->nargs = trigger->tgnargs;
	entry->args = palloc(sizeof(char *) * entry->nargs);
	for (int i = 0; i < entry->nargs; i++)
		entry->args[i] = pstrdup(trigger->tgargs[i]);

	/* mode */
	entry->mode = NUMBER_CACHE;
	if (trigger->tgnargs == 3)
	{
		if (pg_strcasecmp(trigger->tgargs[2], "cache") == 0)
			entry->mode = NUMBER_CACHE;
		else if (pg_strcasecmp(trigger->tgargs[2], "gapless") == 0)
			entry->mode = NUMBER_GAPLESS;
		else
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("unknown assign_number mode \"%s\" in trigger \"%s\" on %s",
							trigger->tgargs[2], trigger->tgname, entry->relname),
					 errhint("The mode is 'cache' (the default) or 'gapless'.")));
	}

	/* the number column */
	entry->numattnum = InvalidAttrNumber;
	for (int i = 0; i < tupdesc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(tupdesc, i);

		if (!att->attisdropped && strcmp(NameStr(att->attname), colname) == 0)
		{
			numatt = att;
			entry->numattnum = att->attnum;
			break;
		}
	}
	if (numatt == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("column \"%s\" of %s does not exist", colname, entry->relname),
				 errdetail("Trigger \"%s\" numbers that column with assign_number.",
						   trigger->tgname),
				 errhint("The first argument of assign_number is the name of the number column, spelled as in the table.")));
	entry->numname = pstrdup(NameStr(numatt->attname));
	basetype = getBaseType(numatt->atttypid);
	if (basetype != INT2OID && basetype != INT4OID && basetype != INT8OID)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("column \"%s\" of %s has type %s, which assign_number cannot number",
						colname, entry->relname, format_type_be(numatt->atttypid)),
				 errhint("Number an integer column: smallint, integer or bigint (bigint is best).")));
	entry->numtype = basetype;
	entry->numdomain = (basetype != numatt->atttypid) ? numatt->atttypid : InvalidOid;
	entry->domain_extra = NULL;

	/* the template: its placeholders must be columns (TemplateParse) */
	entry->tmpl = TemplateParse(template_text, rel, entry->mcxt);
	entry->nkeycols = TemplateColumns(entry->tmpl, &entry->keycols);
	for (int j = 0; j < entry->nkeycols; j++)
		if (entry->keycols[j] == entry->numattnum)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("key template \"%s\" of trigger \"%s\" uses the number column \"%s\"",
							template_text, trigger->tgname, colname),
					 errdetail("The counter key cannot depend on the number it allocates."),
					 errhint("Name the counter after the columns that partition the numbering, such as 'invoice_seq:{year}'.")));

	/*
	 * The floor query reads the whole partitioned table when the trigger
	 * was cloned from it: numbers are per template columns, not per
	 * partition, and the unique index must hold across partitions too.
	 */
	entry->query_relid = entry->relid;
	if (trigger->tgisclone && rel->rd_rel->relispartition)
	{
		ancestors = get_partition_ancestors(entry->relid);
		if (ancestors != NIL)
			entry->query_relid = llast_oid(ancestors);
	}

	/* the unique index that makes duplicates impossible */
	qrel = (entry->query_relid == entry->relid) ? rel :
		table_open(entry->query_relid, AccessShareLock);
	if (!has_covering_unique_index(qrel, entry, tupdesc))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("assign_number needs a unique index on %s over the key template columns and \"%s\"",
						RelationsQualifiedName(entry->query_relid), colname),
				 qrel->rd_rel->relkind == RELKIND_PARTITIONED_TABLE ?
				 errdetail("Without it, a counter lost by Redis while a number from it is still uncommitted could yield a duplicate.  On a partitioned table the index must also include the partition key, so the key template must name the partition key columns.") :
				 errdetail("Without it, a counter lost by Redis while a number from it is still uncommitted could yield a duplicate."),
				 errhint("%s", suggested_index(qrel, entry, tupdesc))));
	if (qrel != rel)
		table_close(qrel, AccessShareLock);
	entry->query_owner = RelationsOwner(entry->query_relid);

	initStringInfo(&sql);
	appendStringInfo(&sql, "SELECT pg_catalog.max(%s)::pg_catalog.int8 FROM %s",
					 quote_identifier(entry->numname),
					 RelationsQualifiedName(entry->query_relid));
	argtypes = palloc(sizeof(Oid) * Max(entry->nkeycols, 1));
	for (int j = 0; j < entry->nkeycols; j++)
	{
		Form_pg_attribute att = TupleDescAttr(tupdesc, entry->keycols[j] - 1);

		appendStringInfoString(&sql, j == 0 ? " WHERE " : " AND ");
		appendStringInfoString(&sql, quote_identifier(NameStr(att->attname)));
		append_equality_operator(&sql, att->atttypid, NameStr(att->attname),
								 entry->relname);
		appendStringInfo(&sql, "$%d", j + 1);
		argtypes[j] = att->atttypid;
	}

	MemoryContextSwitchTo(old);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	nestlevel = SafeSearchPathPush();
	plan = SPI_prepare(sql.data, entry->nkeycols, argtypes);
	if (plan == NULL)
		elog(ERROR, "could not prepare \"%s\": %s", sql.data,
			 SPI_result_code_string(SPI_result));
	if (SPI_keepplan(plan) != 0)
		elog(ERROR, "SPI_keepplan failed");
	SafeSearchPathPop(nestlevel);
	SPI_finish();

	entry->floor_plan = plan;
	entry->valid = true;
}

static AssignEntry *
get_entry(Trigger *trigger, Relation rel)
{
	AssignEntry *entry;
	bool		found;

	ensure_entry_table();
	entry = hash_search(assign_entries, &trigger->tgoid, HASH_ENTER, &found);
	if (!found)
	{
		entry->valid = false;
		entry->busy = 0;
		entry->mcxt = NULL;
		entry->floor_plan = NULL;
		entry->relid = InvalidOid;
		entry->query_relid = InvalidOid;
	}
	else if (entry->mcxt != NULL && entry->valid &&
			 entry->relid == RelationGetRelid(rel) &&
			 args_unchanged(entry, trigger))
		return entry;
	else if (entry->mcxt != NULL && entry->busy > 0)
	{
		/*
		 * Invalidated while an outer call of this very trigger is running
		 * (a user-defined equality operator that inserts into the table):
		 * keep what the outer call uses; the next call rebuilds.
		 */
		return entry;
	}

	forget_entry(entry);
	build_entry(entry, trigger, rel);
	return entry;
}

/*
 * Render the counter key of a row (without the key prefix).  Returns false
 * when a template column is NULL; *nullcol then names it.
 */
static bool
render_key(AssignEntry *entry, HeapTuple tuple, TupleDesc tupdesc,
		   StringInfo key, const char **nullcol)
{
	if (TemplateRender(entry->tmpl, tuple, tupdesc, key))
		return true;
	*nullcol = "?";
	for (int j = 0; j < entry->nkeycols; j++)
		if (heap_attisnull(tuple, entry->keycols[j], tupdesc))
		{
			*nullcol = NameStr(TupleDescAttr(tupdesc, entry->keycols[j] - 1)->attname);
			break;
		}
	return false;
}

/*
 * max(number) over the rows of this row's partition, 0 when there are none
 * (numbers start at 1).  Runs as the owner of the table, rows hidden by
 * row-level security included.  Reads with the latest snapshot whatever the
 * isolation level, as the foreign-key checks do: it sees every number
 * committed before our advisory lock was granted (REPEATABLE READ and
 * SERIALIZABLE included) and, through the command counter increment, the
 * earlier rows of a multi-row INSERT.  Caller is connected to SPI.
 */
static int64
floor_of_partition(AssignEntry *entry, HeapTuple tuple, TupleDesc tupdesc)
{
	Datum	   *params;
	char	   *nulls;
	Oid			save_userid;
	int			save_sec_context;
	int			nestlevel;
	int			rc;
	bool		isnull;
	Datum		d;
	int64		floor = 0;

	params = palloc(sizeof(Datum) * (entry->nkeycols + 1));
	nulls = palloc0(entry->nkeycols + 1);
	for (int j = 0; j < entry->nkeycols; j++)
	{
		params[j] = heap_getattr(tuple, entry->keycols[j], tupdesc, &isnull);
		nulls[j] = isnull ? 'n' : ' ';
	}

	nestlevel = SafeSearchPathPush();
	GetUserIdAndSecContext(&save_userid, &save_sec_context);
	SetUserIdAndSecContext(entry->query_owner,
						   save_sec_context | SECURITY_LOCAL_USERID_CHANGE |
						   SECURITY_RESTRICTED_OPERATION | SECURITY_NOFORCE_RLS);
	rc = SPI_execute_snapshot(entry->floor_plan, params, nulls,
							  GetLatestSnapshot(), InvalidSnapshot,
							  false, false, 1);
	SetUserIdAndSecContext(save_userid, save_sec_context);
	SafeSearchPathPop(nestlevel);

	if (rc != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "floor query of assign_number on %s failed: %s",
			 entry->relname, SPI_result_code_string(rc));
	d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	if (!isnull)
		floor = DatumGetInt64(d);
	return floor;
}

/*
 * The statements on cache_ext.gapless_counters, by operation and by the
 * table's layout.  Parameters: $1 the table (regclass), $2 the key prefix,
 * $3 the rendered key, $4 a number; they return the counter's value
 * afterwards.  Every operator and function is schema-qualified: they run as
 * the owner of gapless_counters.
 *
 * A table's first number for a key also counts from a counter of 0.1.0
 * restored from a dump (tbl 0, prefix '', the rendered key: what a dump of
 * 0.1.0's table loads into this one), so that a restore never hands out a
 * number 0.1.0 had handed out and whose row was deleted since.
 *
 * The 0.1.0 layout (one row per rendered key, no table, no prefix) is still
 * served, with $3 and $4 only, between the installation of this library and
 * ALTER EXTENSION cache_ext UPDATE, so that a server upgraded first keeps
 * numbering the application's rows as 0.1.0 did; the update then copies
 * those counters to the per-table layout.
 */
typedef enum GaplessOp
{
	GAPLESS_NEXT,				/* max(counter, $4) + 1 */
	GAPLESS_SYNC				/* max(counter, $4) */
} GaplessOp;

static const char *const gapless_sql[2][2] = {
	[GAPLESS_NEXT] = {
		"INSERT INTO cache_ext.gapless_counters AS g (tbl, prefix, key, value)"
		" VALUES ($1, $2, $3, pg_catalog.int8larger($4, COALESCE("
		"   (SELECT l.value FROM cache_ext.gapless_counters l"
		"     WHERE l.tbl OPERATOR(pg_catalog.=) '0'::pg_catalog.regclass"
		"       AND l.prefix OPERATOR(pg_catalog.=) ''"
		"       AND l.key OPERATOR(pg_catalog.=) $3), $4)) OPERATOR(pg_catalog.+) 1)"
		" ON CONFLICT (tbl, prefix, key) DO UPDATE"
		" SET value = pg_catalog.int8larger(g.value, $4) OPERATOR(pg_catalog.+) 1"
		" RETURNING g.value",
		"INSERT INTO cache_ext.gapless_counters AS g (key, value)"
		" VALUES ($3, $4 OPERATOR(pg_catalog.+) 1)"
		" ON CONFLICT (key) DO UPDATE"
		" SET value = pg_catalog.int8larger(g.value, $4) OPERATOR(pg_catalog.+) 1"
		" RETURNING g.value"
	},
	[GAPLESS_SYNC] = {
		"INSERT INTO cache_ext.gapless_counters AS g (tbl, prefix, key, value)"
		" VALUES ($1, $2, $3, $4)"
		" ON CONFLICT (tbl, prefix, key) DO UPDATE"
		" SET value = pg_catalog.int8larger(g.value, $4)"
		" RETURNING g.value",
		"INSERT INTO cache_ext.gapless_counters AS g (key, value)"
		" VALUES ($3, $4)"
		" ON CONFLICT (key) DO UPDATE"
		" SET value = pg_catalog.int8larger(g.value, $4)"
		" RETURNING g.value"
	}
};

/*
 * Run one statement on cache_ext.gapless_counters, for the row of (the
 * entry's table, the key prefix in force, key), as the owner of
 * gapless_counters, with search_path pinned while it is prepared and run.
 * Returns the counter's value afterwards.  Caller is connected to SPI.
 */
static int64
gapless_statement(GaplessOp op, AssignEntry *entry, const char *key,
				  int64 value)
{
	Oid			argtypes[4] = {REGCLASSOID, TEXTOID, TEXTOID, INT8OID};
	Datum		params[4];
	Oid			nspid;
	Oid			relid;
	bool		old_layout;
	SPIPlanPtr *planp;
	Oid			save_userid;
	int			save_sec_context;
	int			nestlevel;
	int			rc;
	bool		isnull;
	Datum		d;

	nspid = get_namespace_oid("cache_ext", false);
	relid = get_relname_relid("gapless_counters", nspid);
	if (!OidIsValid(relid))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("table cache_ext.gapless_counters does not exist"),
				 errhint("Reinstall the extension: DROP EXTENSION cache_ext; CREATE EXTENSION cache_ext;")));
	/* checked at every call: the update changes the layout under us */
	old_layout = get_attnum(relid, "tbl") == InvalidAttrNumber;
	planp = &gapless_plans[op][old_layout ? 1 : 0];

	nestlevel = SafeSearchPathPush();
	if (*planp == NULL)
	{
		SPIPlanPtr	plan = SPI_prepare(gapless_sql[op][old_layout ? 1 : 0],
									   4, argtypes);

		if (plan == NULL)
			elog(ERROR, "could not prepare \"%s\": %s",
				 gapless_sql[op][old_layout ? 1 : 0],
				 SPI_result_code_string(SPI_result));
		if (SPI_keepplan(plan) != 0)
			elog(ERROR, "SPI_keepplan failed");
		*planp = plan;
	}

	/* the numbers are the table's: a cloned trigger counts for the root */
	params[0] = ObjectIdGetDatum(entry->query_relid);
	params[1] = CStringGetTextDatum(cache_ext_key_prefix ? cache_ext_key_prefix : "");
	params[2] = CStringGetTextDatum(key);
	params[3] = Int64GetDatum(value);
	GetUserIdAndSecContext(&save_userid, &save_sec_context);
	SetUserIdAndSecContext(RelationsOwner(relid),
						   save_sec_context | SECURITY_LOCAL_USERID_CHANGE |
						   SECURITY_RESTRICTED_OPERATION);
	rc = SPI_execute_plan(*planp, params, NULL, false, 1);
	SetUserIdAndSecContext(save_userid, save_sec_context);
	SafeSearchPathPop(nestlevel);

	if (rc != SPI_OK_INSERT_RETURNING || SPI_processed != 1)
		elog(ERROR, "gapless counter statement failed: %s",
			 SPI_result_code_string(rc));
	d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	if (isnull)
		elog(ERROR, "gapless counter \"%s\" is null", key);
	return DatumGetInt64(d);
}

/*
 * floor + 1 under an advisory lock on (relation, key), for when Redis is
 * unreachable.  The lock is held to the end of the transaction, so the next
 * allocation's floor query, with its fresh snapshot, sees this number once
 * committed (READ COMMITTED).  Caller is connected to SPI.
 */
static int64 number_ceiling(const AssignEntry *entry);

static int64
allocate_in_postgres(AssignEntry *entry, HeapTuple tuple, TupleDesc tupdesc,
					 const char *key, size_t keylen,
					 const char *pkey, size_t pkeylen)
{
	LOCKTAG		tag;
	int64		floor;
	int64		in_flight;

	SET_LOCKTAG_ADVISORY(tag, MyDatabaseId, entry->query_relid,
						 DatumGetUInt32(hash_any((const unsigned char *) key, keylen)),
						 ASSIGN_NUMBER_LOCK_SPACE);
	(void) LockAcquire(&tag, ExclusiveLock, false, false);

	/*
	 * Above what Redis handed out too, committed or not, and never a number
	 * a Redis answering again meanwhile hands out (counter_marks.c).
	 */
	in_flight = CounterMarkInFlight(pkey, pkeylen, number_ceiling(entry));
	floor = floor_of_partition(entry, tuple, tupdesc);
	if (floor == PG_INT64_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("no number left for key \"%s\" of %s", key, entry->relname)));
	return CounterMarkReserve(pkey, pkeylen, Max(floor, in_flight),
							  number_ceiling(entry));
}

/* The largest number the column's type can hold. */
static int64
number_ceiling(const AssignEntry *entry)
{
	switch (entry->numtype)
	{
		case INT2OID:
			return PG_INT16_MAX;
		case INT4OID:
			return PG_INT32_MAX;
		default:
			return PG_INT64_MAX;
	}
}

/*
 * A new number for a row; arranges for the Redis counter to be raised after
 * commit when Redis was not the allocator.
 */
static int64
allocate_number(AssignEntry *entry, HeapTuple tuple, TupleDesc tupdesc,
				const char *key)
{
	size_t		pkeylen;
	char	   *pkey = KeyWithPrefix(key, strlen(key), &pkeylen);
	int64		ceiling = number_ceiling(entry);
	int64		floor;
	int64		in_flight;
	uint64		sequence;
	int64		value = 0;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");

	/* numbers in flight are read before the floor query's snapshot */
	sequence = CounterMarkSequence();
	in_flight = CounterMarkInFlight(pkey, pkeylen, ceiling);
	floor = floor_of_partition(entry, tuple, tupdesc);

	if (entry->mode == NUMBER_GAPLESS)
	{
		/* floor + 1 seeds a missing counter and overtakes a stale one */
		value = gapless_statement(GAPLESS_NEXT, entry, key, floor);
		SPI_finish();
		PendingAddRaise(pkey, pkeylen, value);
		return value;
	}

	/* a table whose numbers are used up gets its error from number_datum */
	if (floor < ceiling)
	{
		RedisOutcome outcome;
		CounterStatus status = COUNTER_UNREACHABLE;
		int64		was = 0;
		int64		table_floor = floor;
		bool		taken = false;

		memset(&outcome, 0, sizeof(outcome));

		/*
		 * Above every number this cluster handed out from the key, committed
		 * or not (counter_marks.c): a Redis that went back in time
		 * (failover, FLUSHALL, restart) never repeats one.  A number that
		 * PostgreSQL allocated meanwhile is asked again, above it.
		 */
		for (int attempt = 0;; attempt++)
		{
			if (attempt > 0)
			{
				sequence = CounterMarkSequence();
				in_flight = CounterMarkInFlight(pkey, pkeylen, ceiling);
				table_floor = floor_of_partition(entry, tuple, tupdesc);
			}
			floor = Max(table_floor, in_flight);
			if (floor >= ceiling)
				break;
			status = CounterNext(pkey, pkeylen, floor, ceiling, &value, &was,
								 &outcome);
			taken = (status == COUNTER_OK || status == COUNTER_CLAMPED) &&
				value > floor && value <= ceiling &&
				CounterMarkTake(pkey, pkeylen, value, sequence);
			if (taken || attempt >= 3 ||
				!(status == COUNTER_OK || status == COUNTER_CLAMPED))
				break;
		}
		/*
		 * The script only answers in (floor, ceiling]; a Redis that did not
		 * is not trusted.
		 */
		if (taken)
		{
			SPI_finish();
			if (status == COUNTER_CLAMPED)
				ereport(WARNING,
						(errcode(ERRCODE_WARNING),
						 errmsg("counter \"%s\" was at " INT64_FORMAT ", past the largest number column \"%s\" of %s can hold; it was set back to the table's largest number",
								pkey, was, entry->numname, entry->relname),
						 errdetail("The row was numbered " INT64_FORMAT ", and the counter holds that number now.  Another table numbering from the same key, or a client, had raised the counter.",
								   value),
						 errhint("Give every table a counter key of its own: a key template or a cache_ext.key_prefix that no other table uses.")));
			return value;
		}
		if ((status == COUNTER_OK || status == COUNTER_CLAMPED) &&
			value > floor && value <= ceiling)
			ereport(DEBUG1,
					(errmsg_internal("counter \"%s\": PostgreSQL kept allocating numbers while Redis answered; numbering in PostgreSQL",
									 pkey)));
		else if (status == COUNTER_OK || status == COUNTER_CLAMPED)
			ereport(WARNING,
					(errcode(ERRCODE_EXTERNAL_ROUTINE_EXCEPTION),
					 errmsg("Redis answered " INT64_FORMAT " for counter \"%s\", not between " INT64_FORMAT " and " INT64_FORMAT "; numbering the row of %s in PostgreSQL",
							value, pkey, floor + 1, ceiling, entry->relname)));
		else if (status == COUNTER_REDIS_ERROR)
			ereport(WARNING,
					(errcode(ERRCODE_EXTERNAL_ROUTINE_EXCEPTION),
					 errmsg("Redis refused counter \"%s\"; numbering the row of %s in PostgreSQL",
							pkey, entry->relname),
					 errdetail("Redis answered: %s", outcome.first_error)));
		else if (status == COUNTER_UNREACHABLE)
			ereport(DEBUG1,
					(errmsg_internal("Redis unreachable for counter \"%s\" (%s); numbering in PostgreSQL",
									 pkey, outcome.message)));
		else
			ereport(WARNING,
					(errcode(ERRCODE_PROTOCOL_VIOLATION),
					 errmsg("Redis answered counter \"%s\" with something that is not a counter; numbering the row of %s in PostgreSQL",
							pkey, entry->relname),
					 errhint("Check what stands between PostgreSQL and Redis (a proxy) and that the server is Redis.")));
	}

	value = allocate_in_postgres(entry, tuple, tupdesc, key, strlen(key),
								 pkey, pkeylen);
	SPI_finish();
	PendingAddRaise(pkey, pkeylen, value);
	return value;
}

/*
 * An explicit number: raise the counters to it, Redis after commit.
 */
static void
sync_number(AssignEntry *entry, const char *key, int64 number)
{
	size_t		pkeylen;
	char	   *pkey = KeyWithPrefix(key, strlen(key), &pkeylen);

	if (entry->mode == NUMBER_GAPLESS)
	{
		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "SPI_connect failed");
		(void) gapless_statement(GAPLESS_SYNC, entry, key, number);
		SPI_finish();
	}
	else
		CounterMarkRaise(pkey, pkeylen, number);
	PendingAddRaise(pkey, pkeylen, number);
}

static Datum
number_datum(AssignEntry *entry, int64 value)
{
	int64		lo = entry->numtype == INT2OID ? PG_INT16_MIN :
		entry->numtype == INT4OID ? PG_INT32_MIN : PG_INT64_MIN;
	int64		hi = number_ceiling(entry);

	if (value < lo || value > hi)
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("number " INT64_FORMAT " is out of range for column \"%s\" of %s",
						value, entry->numname, entry->relname),
				 errdetail("The column has type %s.", format_type_be(entry->numtype)),
				 errhint("Make the column bigint.")));
	switch (entry->numtype)
	{
		case INT2OID:
			return Int16GetDatum((int16) value);
		case INT4OID:
			return Int32GetDatum((int32) value);
		default:
			return Int64GetDatum(value);
	}
}

static int64
number_value(AssignEntry *entry, Datum d)
{
	switch (entry->numtype)
	{
		case INT2OID:
			return DatumGetInt16(d);
		case INT4OID:
			return DatumGetInt32(d);
		default:
			return DatumGetInt64(d);
	}
}

/*
 * Did an UPDATE move the row to another counter (a template column
 * changed)?  Binary comparison: a false "changed" only costs a redundant
 * raise.
 */
static bool
key_columns_changed(AssignEntry *entry, HeapTuple oldtup, HeapTuple newtup,
					TupleDesc tupdesc)
{
	for (int j = 0; j < entry->nkeycols; j++)
	{
		Form_pg_attribute att = TupleDescAttr(tupdesc, entry->keycols[j] - 1);
		bool		oldnull;
		bool		newnull;
		Datum		o = heap_getattr(oldtup, att->attnum, tupdesc, &oldnull);
		Datum		n = heap_getattr(newtup, att->attnum, tupdesc, &newnull);

		if (oldnull != newnull)
			return true;
		if (!oldnull && !datumIsEqual(o, n, att->attbyval, att->attlen))
			return true;
	}
	return false;
}

static HeapTuple
assign_number_row(AssignEntry *entry, TriggerData *trigdata)
{
	Relation	rel = trigdata->tg_relation;
	TupleDesc	tupdesc = RelationGetDescr(rel);
	bool		inserting = TRIGGER_FIRED_BY_INSERT(trigdata->tg_event);
	HeapTuple	tuple = inserting ? trigdata->tg_trigtuple : trigdata->tg_newtuple;
	StringInfoData key;
	const char *nullcol = NULL;
	bool		isnull;
	Datum		d;
	int64		number;

	d = heap_getattr(tuple, entry->numattnum, tupdesc, &isnull);
	initStringInfo(&key);

	if (isnull)
	{
		Datum		value;
		bool		valnull = false;
		int			col = entry->numattnum;

		/* only an INSERT is numbered; an UPDATE to NULL is left alone */
		if (!inserting)
			return tuple;
		if (!render_key(entry, tuple, tupdesc, &key, &nullcol))
			ereport(ERROR,
					(errcode(ERRCODE_NOT_NULL_VIOLATION),
					 errmsg("cannot number a row of %s: column \"%s\" is null",
							entry->relname, nullcol),
					 errdetail("The counter key template \"%s\" needs it.",
							   TemplateText(entry->tmpl)),
					 errhint("Give the column a value (or a default) before inserting.")));
		number = allocate_number(entry, tuple, tupdesc, key.data);
		value = number_datum(entry, number);
		if (OidIsValid(entry->numdomain))
			domain_check(value, false, entry->numdomain, &entry->domain_extra,
						 entry->mcxt);
		return heap_modify_tuple_by_cols(tuple, tupdesc, 1, &col,
										 &value, &valnull);
	}

	number = number_value(entry, d);
	if (!inserting)
	{
		bool		oldnull;
		Datum		oldd = heap_getattr(trigdata->tg_trigtuple, entry->numattnum,
										tupdesc, &oldnull);

		if (!oldnull && number_value(entry, oldd) == number &&
			!key_columns_changed(entry, trigdata->tg_trigtuple, tuple, tupdesc))
			return tuple;
	}
	/* an explicit number in a row without a complete key has no counter */
	if (render_key(entry, tuple, tupdesc, &key, &nullcol))
		sync_number(entry, key.data, number);
	return tuple;
}

Datum
cache_ext_assign_number(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	AssignEntry *volatile entry;
	HeapTuple	result = NULL;

	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("assign_number can only be called as a trigger"),
				 errhint("Use it in CREATE TRIGGER ... BEFORE INSERT OR UPDATE ... FOR EACH ROW; call cache_ext.counter_next() for a number outside a trigger.")));
	if (!TRIGGER_FIRED_BEFORE(trigdata->tg_event) ||
		!TRIGGER_FIRED_FOR_ROW(trigdata->tg_event) ||
		!(TRIGGER_FIRED_BY_INSERT(trigdata->tg_event) ||
		  TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event)))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("trigger \"%s\" on %s must be BEFORE INSERT OR UPDATE FOR EACH ROW to use assign_number",
						trigdata->tg_trigger->tgname,
						RelationsQualifiedName(RelationGetRelid(trigdata->tg_relation))),
				 errhint("Recreate it as CREATE TRIGGER ... BEFORE INSERT OR UPDATE ON ... FOR EACH ROW EXECUTE FUNCTION cache_ext.assign_number('column', 'key template').")));

	entry = get_entry(trigdata->tg_trigger, trigdata->tg_relation);
	entry->busy++;
	PG_TRY();
	{
		result = assign_number_row(entry, trigdata);
	}
	PG_FINALLY();
	{
		entry->busy--;
	}
	PG_END_TRY();

	return PointerGetDatum(result);
}
