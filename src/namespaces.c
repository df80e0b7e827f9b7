/*-------------------------------------------------------------------------
 *
 * namespaces.c
 *	  The namespaces of the fallback invalidation (namespaces.h) and the SQL
 *	  function that lists them, cache_ext.namespace_patterns().
 *
 *	  The fallback runs with more rights than any tenant (in the background
 *	  worker as the bootstrap superuser, or for an administrator), for every
 *	  tenant of the Redis database at once, so nothing a tenant writes may
 *	  steer it.  Its namespaces are read here, in C, from the extension's
 *	  own tables (members.h: a look-alike table is never read) and from
 *	  pg_trigger; no SQL text runs, so no search_path or operator of anyone
 *	  else's can take part.  The one write, recording a namespace of a
 *	  trusted role's new trigger, runs as that role with the search_path
 *	  pinned.
 *
 *-------------------------------------------------------------------------
 */
#include "prelude.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/tableam.h"
#include "catalog/pg_trigger.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "executor/tuptable.h"
#include "funcapi.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/tuplestore.h"

#include "keys.h"
#include "members.h"
#include "namespaces.h"
#include "relations.h"
#include "roles.h"
#include "safe_sql.h"
#include "templates.h"


/* The attribute number of a column by name, or InvalidAttrNumber. */
static AttrNumber
column_number(TupleDesc desc, const char *name)
{
	int			i;

	for (i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute attr = TupleDescAttr(desc, i);

		if (!attr->attisdropped && strcmp(NameStr(attr->attname), name) == 0)
			return attr->attnum;
	}
	return InvalidAttrNumber;
}

/* A text column of a slot as a C string; NULL when null or missing. */
static char *
slot_text(TupleTableSlot *slot, AttrNumber attnum)
{
	bool		isnull;
	Datum		d;

	if (attnum == InvalidAttrNumber)
		return NULL;
	d = slot_getattr(slot, attnum, &isnull);
	return isnull ? NULL : TextDatumGetCString(d);
}

/*
 * Call fn for every row of one of the extension's namespace tables, with
 * its kind, pattern, key prefix and (trigger_namespaces only) trigger.
 * Nothing happens when the extension or the table is missing.
 */
typedef void (*NamespaceRowFn) (const char *kind, const char *pattern,
								const char *key_prefix, const char *trigger,
								void *arg);

static void
scan_namespace_table(const char *relname, NamespaceRowFn fn, void *arg)
{
	Oid			relid = MembersRelation(relname);
	Relation	rel;
	TupleDesc	desc;
	TupleTableSlot *slot;
	TableScanDesc scan;
	AttrNumber	kind_att,
				pattern_att,
				prefix_att,
				trigger_att;
	bool		pushed = false;

	if (!OidIsValid(relid))
		return;
	if (!ActiveSnapshotSet())
	{
		PushActiveSnapshot(GetTransactionSnapshot());
		pushed = true;
	}
	rel = table_open(relid, AccessShareLock);
	desc = RelationGetDescr(rel);
	kind_att = column_number(desc, "kind");
	pattern_att = column_number(desc, "pattern");
	prefix_att = column_number(desc, "key_prefix");
	trigger_att = column_number(desc, "trigger_name");
	slot = table_slot_create(rel, NULL);
	scan = table_beginscan(rel, GetActiveSnapshot(), 0, NULL);
	while (table_scan_getnextslot(scan, ForwardScanDirection, slot))
	{
		char	   *kind = slot_text(slot, kind_att);
		char	   *pattern = slot_text(slot, pattern_att);
		char	   *prefix = slot_text(slot, prefix_att);

		if (kind == NULL || pattern == NULL)
			continue;
		fn(kind, pattern, prefix ? prefix : "", slot_text(slot, trigger_att), arg);
	}
	table_endscan(scan);
	ExecDropSingleTupleTableSlot(slot);
	table_close(rel, AccessShareLock);
	if (pushed)
		PopActiveSnapshot();
}

/* ------------------------------------------------------------ collection */

typedef struct Collector
{
	List	   *list;
	const char *source;			/* of the table being read */
} Collector;

static bool
same_namespace(const FallbackNamespace *ns, bool bump, const char *pattern,
			   const char *key_prefix)
{
	return ns->bump == bump && strcmp(ns->pattern, pattern) == 0 &&
		(key_prefix == NULL ? ns->key_prefix == NULL :
		 ns->key_prefix != NULL && strcmp(ns->key_prefix, key_prefix) == 0);
}

static void
add_namespace(List **list, bool bump, const char *pattern,
			  const char *key_prefix, char *source)
{
	FallbackNamespace *ns;
	ListCell   *lc;

	foreach(lc, *list)
	{
		if (same_namespace(lfirst(lc), bump, pattern, key_prefix))
			return;
	}
	ns = palloc(sizeof(FallbackNamespace));
	ns->bump = bump;
	ns->pattern = pstrdup(pattern);
	ns->key_prefix = key_prefix ? pstrdup(key_prefix) : NULL;
	ns->source = source;
	*list = lappend(*list, ns);
}

static void
collect_row(const char *kind, const char *pattern, const char *key_prefix,
			const char *trigger, void *arg)
{
	Collector  *c = (Collector *) arg;
	char	   *literal = TemplateGlobLiteralPrefix(pattern, strlen(pattern));

	/* The tables' CHECK constraints refuse both; a guard all the same. */
	if (literal[0] == '\0' ||
		(strcmp(kind, "bump") != 0 && strcmp(kind, "delete") != 0))
		return;
	add_namespace(&c->list, strcmp(kind, "bump") == 0, pattern, key_prefix,
				  trigger ? psprintf("trigger %s", trigger) : pstrdup(c->source));
}

/* Is (bump, pattern) reached with some prefix? */
static bool
pattern_reached(List *list, bool bump, const char *pattern)
{
	ListCell   *lc;

	foreach(lc, list)
	{
		FallbackNamespace *ns = lfirst(lc);

		if (ns->key_prefix != NULL && ns->bump == bump &&
			strcmp(ns->pattern, pattern) == 0)
			return true;
	}
	return false;
}

/*
 * The namespaces of this database's invalidation triggers that the list
 * does not reach: added with no prefix, for cache_ext.namespace_patterns().
 */
static void
collect_unreached_triggers(List **list)
{
	Oid			fns[3];
	Relation	rel;
	SysScanDesc scan;
	HeapTuple	tup;

	fns[0] = MembersFunction("bump_version");
	fns[1] = MembersFunction("invalidate_on_truncate");
	fns[2] = MembersFunction("invalidate_keys");

	rel = table_open(TriggerRelationId, AccessShareLock);
	scan = systable_beginscan(rel, InvalidOid, false, NULL, 0, NULL);
	while (HeapTupleIsValid(tup = systable_getnext(scan)))
	{
		Form_pg_trigger tg = (Form_pg_trigger) GETSTRUCT(tup);
		bool		is_delete = tg->tgfoid == fns[2];
		bool		isnull;
		Datum		d;
		bytea	   *args;
		const char *p;
		const char *end;
		char	   *relname;
		int			j;

		if (!OidIsValid(tg->tgfoid) ||
			(tg->tgfoid != fns[0] && tg->tgfoid != fns[1] && !is_delete))
			continue;
		relname = RelationsQualifiedName(tg->tgrelid);
		if (tg->tgnargs == 0)
		{
			if (!is_delete &&
				!pattern_reached(*list, true, USER_VERSION_KEY_PREFIX "*"))
				add_namespace(list, true, USER_VERSION_KEY_PREFIX "*", NULL,
							  psprintf("trigger %s ON %s (not registered)",
									   quote_identifier(NameStr(tg->tgname)), relname));
			continue;
		}
		d = heap_getattr(tup, Anum_pg_trigger_tgargs, RelationGetDescr(rel), &isnull);
		if (isnull)
			continue;
		args = DatumGetByteaPP(d);
		p = VARDATA_ANY(args);
		end = p + VARSIZE_ANY_EXHDR(args);
		/* tgargs: each argument followed by a NUL */
		for (j = 0; j < tg->tgnargs && p < end; j++)
		{
			size_t		len = strnlen(p, end - p);
			char	   *arg = pnstrdup(p, len);
			char	   *pattern;

			p += len + 1;
			if (!TemplateValid(arg))
				continue;		/* refused when it fires */
			pattern = (is_delete && strchr(arg, '*') != NULL)
				? TemplatePatternToPattern(arg)
				: TemplateToPattern(arg);
			if (!pattern_reached(*list, !is_delete, pattern))
				add_namespace(list, !is_delete, pattern, NULL,
							  psprintf("trigger %s ON %s (not registered)",
									   quote_identifier(NameStr(tg->tgname)), relname));
		}
	}
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
}

static int
compare_namespaces(const ListCell *a, const ListCell *b)
{
	const FallbackNamespace *x = lfirst(a);
	const FallbackNamespace *y = lfirst(b);
	int			c;

	if (x->bump != y->bump)
		return x->bump ? -1 : 1;	/* 'bump' before 'delete' */
	if ((c = strcmp(x->pattern, y->pattern)) != 0)
		return c;
	if (x->key_prefix == NULL || y->key_prefix == NULL)
		return (x->key_prefix == NULL) - (y->key_prefix == NULL);
	if ((c = strcmp(x->key_prefix, y->key_prefix)) != 0)
		return c;
	return strcmp(x->source, y->source);
}

List *
NamespacesCollect(bool include_unreached)
{
	Collector	c;

	c.list = NIL;
	/* the user versions of bump_user() and the profiles, always */
	add_namespace(&c.list, true, USER_VERSION_KEY_PREFIX "*",
				  cache_ext_key_prefix ? cache_ext_key_prefix : "",
				  pstrdup("default (cache_user_version, this session's key prefix)"));
	c.source = "cache_ext.trigger_namespaces";
	scan_namespace_table("trigger_namespaces", collect_row, &c);
	c.source = "cache_ext.extra_namespaces";
	scan_namespace_table("extra_namespaces", collect_row, &c);
	if (include_unreached)
		collect_unreached_triggers(&c.list);
	list_sort(c.list, compare_namespaces);
	return c.list;
}

char *
NamespacePatternWithPrefix(const char *key_prefix, const char *pattern,
						   size_t *len)
{
	StringInfoData buf;
	const char *p;

	initStringInfo(&buf);
	/* the prefix matches only itself (as KeyPatternWithPrefix does) */
	for (p = key_prefix; *p; p++)
	{
		if (strchr("*?[]\\", *p) != NULL)
			appendStringInfoChar(&buf, '\\');
		appendStringInfoChar(&buf, *p);
	}
	appendStringInfoString(&buf, pattern);
	*len = buf.len;
	return buf.data;
}

/* ------------------------------------------------------- registration */

typedef struct ListedProbe
{
	const char *kind;
	const char *pattern;
	const char *key_prefix;
	bool		found;
} ListedProbe;

static void
probe_row(const char *kind, const char *pattern, const char *key_prefix,
		  const char *trigger, void *arg)
{
	ListedProbe *probe = (ListedProbe *) arg;

	if (strcmp(kind, probe->kind) == 0 && strcmp(pattern, probe->pattern) == 0 &&
		strcmp(key_prefix, probe->key_prefix) == 0)
		probe->found = true;
}

bool
NamespaceListed(bool bump, const char *pattern, const char *key_prefix)
{
	ListedProbe probe;

	probe.kind = bump ? "bump" : "delete";
	probe.pattern = pattern;
	probe.key_prefix = key_prefix;
	probe.found = false;
	scan_namespace_table("trigger_namespaces", probe_row, &probe);
	if (!probe.found)
		scan_namespace_table("extra_namespaces", probe_row, &probe);
	return probe.found;
}

void
NamespaceRegister(bool bump, const char *pattern, const char *key_prefix,
				  const char *trigger_name)
{
	Oid			relid = MembersRelation("trigger_namespaces");
	Oid			types[4] = {TEXTOID, TEXTOID, TEXTOID, TEXTOID};
	Datum		values[4];
	char	   *sql;
	int			nest;
	int			rc;

	if (!OidIsValid(relid))
		return;					/* an install older than its library */
	values[0] = CStringGetTextDatum(bump ? "bump" : "delete");
	values[1] = CStringGetTextDatum(pattern);
	values[2] = CStringGetTextDatum(key_prefix);
	values[3] = CStringGetTextDatum(trigger_name);
	sql = psprintf("INSERT INTO %s (kind, pattern, key_prefix, trigger_name) "
				   "VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
				   RelationsQualifiedName(relid));

	/*
	 * As the current user (who created the trigger), with nothing of anyone
	 * else's on the search_path; the text has no operator or function.
	 */
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	nest = SafeSearchPathPush();
	rc = SPI_execute_with_args(sql, 4, types, values, NULL, false, 0);
	if (rc != SPI_OK_INSERT)
		elog(ERROR, "could not record a namespace in cache_ext.trigger_namespaces: %s",
			 SPI_result_code_string(rc));
	SafeSearchPathPop(nest);
	SPI_finish();
}

/* ------------------------------------------------------------ SQL level */

/*
 * cache_ext.namespace_patterns() → (kind, pattern, key_prefix, source,
 * reached): what the fallback invalidation in this database reaches, and
 * the invalidation triggers whose namespaces it does not.  Administrators
 * only: it names every tenant's key prefix.
 */
PG_FUNCTION_INFO_V1(cache_ext_namespace_patterns);
Datum
cache_ext_namespace_patterns(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	List	   *list;
	ListCell   *lc;

	RequireCacheExtAdmin("list the namespaces of the fallback invalidation");
	InitMaterializedSRF(fcinfo, 0);
	list = NamespacesCollect(true);
	foreach(lc, list)
	{
		FallbackNamespace *ns = lfirst(lc);
		Datum		values[5];
		bool		nulls[5] = {false, false, false, false, false};

		values[0] = CStringGetTextDatum(ns->bump ? "bump" : "delete");
		values[1] = CStringGetTextDatum(ns->pattern);
		if (ns->key_prefix)
			values[2] = CStringGetTextDatum(ns->key_prefix);
		else
			nulls[2] = true;
		values[3] = CStringGetTextDatum(ns->source);
		values[4] = BoolGetDatum(ns->key_prefix != NULL);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}
