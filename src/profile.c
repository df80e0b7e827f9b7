/*-------------------------------------------------------------------------
 *
 * profile.c
 *	  The per-user cache_enabled flag.  Owns:
 *
 *	  - register_profile_table / unregister_profile_table: adopt the
 *		application's profile table (one row per user), adding the boolean
 *		flag column when missing and installing the triggers below;
 *	  - profile_flag_changed(): the row trigger (and the BEFORE TRUNCATE
 *		statement trigger) that queues, through pending, the Redis mirror
 *		cache_user_enabled:{user_id} = 1/0 and a bump of the user's
 *		namespace version cache_user_version:{user_id} whenever a user's
 *		effective flag may have changed;
 *	  - cache_enabled() / set_cache_enabled(): the SQL view of the flag;
 *	  - mirror_profiles (procedure) / resync_profiles (function): copy every
 *		profile's flag to Redis in batches, for the migration of an existing
 *		database and as a fallback hook of the fallback invalidation.
 *
 *	  The effective flag of a user is the flag of their profile row, or true
 *	  (caching enabled) when they have no profile row or the flag is NULL.
 *	  Redis mirrors the effective flag; a missing mirror key also means
 *	  enabled, so the middleware and the database agree on the default.
 *
 *	  Nothing here talks to Redis inside a writing transaction except the
 *	  back-fill, which writes values it has read under a row lock, so that
 *	  a concurrent flip is delivered after it, never overtaken by it.
 *
 *	  Privileges.  Registration and unregistration are for superusers and
 *	  members of cache_ext_admin (checked here, whatever EXECUTE grants an
 *	  install has), who must also own the table.  The registry
 *	  cache_ext.profile_tables is granted to nobody: it is read in C (a
 *	  heap scan, no SQL, no privilege needed), and written by fixed,
 *	  parameterised statements run as the extension's owner with
 *	  search_path pinned (safe_sql.h) and every operator schema-qualified.
 *	  That is the only SQL here that runs with more privileges than the
 *	  caller; the rest (the DDL of registration, cache_enabled(),
 *	  set_cache_enabled(), the back-fill, the TRUNCATE trigger) runs as the
 *	  caller, under the caller's search_path (the application's own
 *	  triggers and policies on the profile table may depend on it), and
 *	  still names its operators and casts with their schema.
 *
 *-------------------------------------------------------------------------
 */
#include "prelude.h"

#include "access/genam.h"
#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/indexing.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_index.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "nodes/parsenodes.h"
#include "storage/lmgr.h"
#include "utils/acl.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"

#include "keys.h"
#include "members.h"
#include "pending.h"
#include "protocol.h"
#include "relations.h"
#include "roles.h"
#include "safe_sql.h"

/* Names of the triggers installed on a registered table. */
#define PROFILE_ROW_TRIGGER		"cache_ext_profile_flag"
#define PROFILE_TRUNCATE_TRIGGER "cache_ext_profile_truncate"

/* The back-fill reports progress every this many profiles. */
#define PROFILE_PROGRESS_EVERY	10000

#define PROFILE_DEFAULT_BATCH	1000
#define PROFILE_MAX_BATCH		100000

/* What the registry says, for the current snapshot. */
typedef struct ProfileRegistration
{
	bool		found;
	Oid			relid;
	NameData	user_column;
	NameData	flag_column;
} ProfileRegistration;

/* Per-trigger-call cache of the resolved columns (fn_extra). */
typedef struct ProfileTriggerColumns
{
	Oid			relid;
	AttrNumber	user_attnum;
	Oid			user_type;		/* INT2OID, INT4OID or INT8OID */
	AttrNumber	flag_attnum;
} ProfileTriggerColumns;

/* The columns of cache_ext.profile_tables, as read_registration reads them. */
#define Natts_profile_tables			3
#define Anum_profile_tables_profile		1
#define Anum_profile_tables_user_column 2
#define Anum_profile_tables_flag_column 3

/*
 * The plan of the flag read of cache_enabled(), kept for the life of the
 * backend and re-prepared when the registration it was made for changes.
 * The plan cache re-plans it after DDL on the table.
 */
static SPIPlanPtr enabled_plan = NULL;
static Oid	enabled_plan_relid = InvalidOid;
static NameData enabled_plan_user;
static NameData enabled_plan_flag;

PG_FUNCTION_INFO_V1(cache_ext_register_profile_table);
PG_FUNCTION_INFO_V1(cache_ext_unregister_profile_table);
PG_FUNCTION_INFO_V1(cache_ext_profile_flag_changed);
PG_FUNCTION_INFO_V1(cache_ext_cache_enabled);
PG_FUNCTION_INFO_V1(cache_ext_set_cache_enabled);
PG_FUNCTION_INFO_V1(cache_ext_mirror_profiles);
PG_FUNCTION_INFO_V1(cache_ext_resync_profiles);

/*
 * Raise a clear error for a NULL argument of a non-strict function.
 */
static void
require_argument(FunctionCallInfo fcinfo, int argno, const char *argname,
				 const char *funcname)
{
	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("argument \"%s\" of %s must not be null",
						argname, funcname)));
}

/*
 * Is typid (or the base type of a domain over it) one of the integer types a
 * user id may have?  Returns the base type, or InvalidOid.
 */
static Oid
user_id_base_type(Oid typid)
{
	Oid			base = getBaseType(typid);

	if (base == INT2OID || base == INT4OID || base == INT8OID)
		return base;
	return InvalidOid;
}

static int64
user_id_from_datum(Datum value, Oid base_type)
{
	switch (base_type)
	{
		case INT2OID:
			return (int64) DatumGetInt16(value);
		case INT4OID:
			return (int64) DatumGetInt32(value);
		default:
			return DatumGetInt64(value);
	}
}

static const char *
relkind_description(char relkind)
{
	switch (relkind)
	{
		case RELKIND_VIEW:
			return "a view";
		case RELKIND_MATVIEW:
			return "a materialized view";
		case RELKIND_SEQUENCE:
			return "a sequence";
		case RELKIND_FOREIGN_TABLE:
			return "a foreign table";
		case RELKIND_PARTITIONED_TABLE:
			return "a partitioned table";
		case RELKIND_INDEX:
		case RELKIND_PARTITIONED_INDEX:
			return "an index";
		case RELKIND_COMPOSITE_TYPE:
			return "a composite type";
		case RELKIND_TOASTVALUE:
			return "a TOAST table";
		default:
			return "not a table";
	}
}

/*
 * Check that relid can be a profile table and that the current user owns
 * it.  Called once before and once after taking the lock (the relation may
 * have been dropped while we waited).
 */
static void
check_profile_relation(Oid relid, const char *funcname)
{
	HeapTuple	tuple;
	Form_pg_class classform;

	tuple = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	if (!HeapTupleIsValid(tuple))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation with OID %u does not exist", relid),
				 errhint("Pass the profile table to %s by name, e.g. '%s'::regclass.",
						 funcname, "core_userprofile")));
	classform = (Form_pg_class) GETSTRUCT(tuple);

	if (classform->relkind != RELKIND_RELATION)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("\"%s\" is not a table", NameStr(classform->relname)),
				 errdetail("\"%s\" is %s; %s accepts ordinary tables only.",
						   NameStr(classform->relname),
						   relkind_description(classform->relkind), funcname),
				 errhint("Register the table that holds one row per user, such as core_userprofile.")));

	if (classform->relpersistence == RELPERSISTENCE_TEMP)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("\"%s\" is a temporary table", NameStr(classform->relname)),
				 errdetail("The registration outlives the session; a temporary table does not."),
				 errhint("Register a permanent or unlogged table.")));

	if (!RelationOwnerCheck(relid, GetUserId()))
		aclcheck_error(ACLCHECK_NOT_OWNER, OBJECT_TABLE,
					   NameStr(classform->relname));

	ReleaseSysCache(tuple);
}

/*
 * Does rel have a valid, non-partial unique index on exactly the column
 * attnum?  The mirror and cache_enabled() assume one profile row per user.
 */
static bool
has_unique_index_on(Relation rel, AttrNumber attnum)
{
	List	   *indexes = RelationGetIndexList(rel);
	ListCell   *lc;
	bool		found = false;

	foreach(lc, indexes)
	{
		Oid			indexoid = lfirst_oid(lc);
		HeapTuple	tuple;
		Form_pg_index index;

		tuple = SearchSysCache1(INDEXRELID, ObjectIdGetDatum(indexoid));
		if (!HeapTupleIsValid(tuple))
			continue;
		index = (Form_pg_index) GETSTRUCT(tuple);
		if (index->indisunique && index->indisvalid &&
			index->indnkeyatts == 1 && index->indkey.values[0] == attnum &&
			heap_attisnull(tuple, Anum_pg_index_indpred, NULL) &&
			heap_attisnull(tuple, Anum_pg_index_indexprs, NULL))
			found = true;
		ReleaseSysCache(tuple);
		if (found)
			break;
	}
	list_free(indexes);
	return found;
}

/*
 * The registry, cache_ext.profile_tables.  Nothing in the schema is granted
 * to PUBLIC, and the registry is granted to nobody: every role may call
 * cache_enabled() once granted EXECUTE, so it is read here in C, which
 * needs no privilege on the table.  Writes (registration, by admins only)
 * are fixed statements with parameters, run with the rights of the
 * extension's owner, SECURITY_RESTRICTED_OPERATION, search_path pinned to
 * pg_catalog, pg_temp and every operator schema-qualified: nothing the
 * caller defined can run with those rights.  An ERROR in between is fine:
 * (sub)transaction abort restores the user and the search_path.
 */
static Oid
registry_relid(void)
{
	Oid			relid;

	relid = get_relname_relid("profile_tables",
							  get_namespace_oid("cache_ext", false));
	if (!OidIsValid(relid))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("table cache_ext.profile_tables does not exist"),
				 errhint("Reinstall the extension: DROP EXTENSION cache_ext; CREATE EXTENSION cache_ext;")));
	return relid;
}

/*
 * Read the registry (at most one row) with the given snapshot, or with the
 * statement's when snapshot is NULL.
 */
static void
read_registration(ProfileRegistration *reg, Snapshot snapshot)
{
	Relation	rel;
	TupleDesc	tupdesc;
	TableScanDesc scan;
	HeapTuple	tuple;

	memset(reg, 0, sizeof(*reg));

	if (snapshot == NULL)
		snapshot = ActiveSnapshotSet() ? GetActiveSnapshot() :
			GetTransactionSnapshot();
	snapshot = RegisterSnapshot(snapshot);

	rel = table_open(registry_relid(), AccessShareLock);
	tupdesc = RelationGetDescr(rel);
	if (tupdesc->natts != Natts_profile_tables ||
		TupleDescAttr(tupdesc, Anum_profile_tables_profile - 1)->atttypid != REGCLASSOID ||
		TupleDescAttr(tupdesc, Anum_profile_tables_user_column - 1)->atttypid != NAMEOID ||
		TupleDescAttr(tupdesc, Anum_profile_tables_flag_column - 1)->atttypid != NAMEOID)
		elog(ERROR, "cache_ext.profile_tables does not have the expected columns");

	scan = table_beginscan(rel, snapshot, 0, NULL);
	tuple = heap_getnext(scan, ForwardScanDirection);
	if (tuple != NULL)
	{
		bool		isnull;
		Datum		d;

		reg->found = true;
		d = heap_getattr(tuple, Anum_profile_tables_profile, tupdesc, &isnull);
		reg->relid = isnull ? InvalidOid : DatumGetObjectId(d);
		d = heap_getattr(tuple, Anum_profile_tables_user_column, tupdesc, &isnull);
		if (!isnull)
			namestrcpy(&reg->user_column, NameStr(*DatumGetName(d)));
		d = heap_getattr(tuple, Anum_profile_tables_flag_column, tupdesc, &isnull);
		if (!isnull)
			namestrcpy(&reg->flag_column, NameStr(*DatumGetName(d)));
	}
	table_endscan(scan);
	table_close(rel, AccessShareLock);
	UnregisterSnapshot(snapshot);
}

/*
 * Registration and unregistration serialize on the registry (SHARE ROW
 * EXCLUSIVE conflicts with itself and with the DELETE of the sql_drop
 * event trigger, not with readers), then read it afresh: a registration
 * committed while we waited is seen, not overwritten.
 */
static void
lock_registry(ProfileRegistration *reg)
{
	LockRelationOid(registry_relid(), ShareRowExclusiveLock);
	read_registration(reg, GetLatestSnapshot());
}

/*
 * A write to the registry, as the extension's owner; returns the number of
 * rows it affected.  Caller is connected to SPI.
 */
static uint64
write_registry(const char *sql, int expected, int nargs, Oid *argtypes,
			   Datum *values)
{
	Oid			owner = MembersExtensionOwner();
	Oid			save_userid;
	int			save_sec_context;
	int			nestlevel;
	int			rc;

	nestlevel = SafeSearchPathPush();
	GetUserIdAndSecContext(&save_userid, &save_sec_context);
	SetUserIdAndSecContext(owner,
						   save_sec_context | SECURITY_LOCAL_USERID_CHANGE |
						   SECURITY_RESTRICTED_OPERATION);
	rc = SPI_execute_with_args(sql, nargs, argtypes, values, NULL, false, 0);
	SetUserIdAndSecContext(save_userid, save_sec_context);
	SafeSearchPathPop(nestlevel);

	if (rc != expected)
		elog(ERROR, "SPI_execute_with_args failed (%s): %s",
			 SPI_result_code_string(rc), sql);
	return SPI_processed;
}

/* Forget every registration (left behind by a dropped table). */
static void
registry_delete_all(void)
{
	(void) write_registry("DELETE FROM cache_ext.profile_tables",
						  SPI_OK_DELETE, 0, NULL, NULL);
}

/* Forget the registration of relid; true when there was one. */
static bool
registry_delete(Oid relid)
{
	Oid			argtypes[1] = {OIDOID};
	Datum		values[1];

	values[0] = ObjectIdGetDatum(relid);
	return write_registry("DELETE FROM cache_ext.profile_tables"
						  " WHERE profile::pg_catalog.oid OPERATOR(pg_catalog.=) $1",
						  SPI_OK_DELETE, 1, argtypes, values) > 0;
}

/* Record (or update) the registration of relid. */
static void
registry_upsert(Oid relid, const char *user_column, const char *flag_column)
{
	Oid			argtypes[3] = {REGCLASSOID, NAMEOID, NAMEOID};
	Datum		values[3];
	NameData	user_name;
	NameData	flag_name;

	namestrcpy(&user_name, user_column);
	namestrcpy(&flag_name, flag_column);
	values[0] = ObjectIdGetDatum(relid);
	values[1] = NameGetDatum(&user_name);
	values[2] = NameGetDatum(&flag_name);
	(void) write_registry("INSERT INTO cache_ext.profile_tables"
						  " (profile, user_column, flag_column)"
						  " VALUES ($1, $2, $3)"
						  " ON CONFLICT (profile) DO UPDATE"
						  " SET user_column = excluded.user_column,"
						  " flag_column = excluded.flag_column",
						  SPI_OK_INSERT, 3, argtypes, values);
}

/* Run a statement as the caller (DDL on the caller's own table). */
static void
execute_or_error(const char *sql, int expected)
{
	int			rc = SPI_execute(sql, false, 0);

	if (rc != expected)
		elog(ERROR, "SPI_execute failed (%s): %s",
			 SPI_result_code_string(rc), sql);
}

/*
 * Read the registry and raise the usual error when nothing is registered
 * or the registered table is gone.
 */
static void
require_registration(ProfileRegistration *reg, const char *funcname)
{
	read_registration(reg, NULL);
	if (!reg->found)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("no profile table is registered"),
				 errdetail("%s reads the table registered with cache_ext.register_profile_table.",
						   funcname),
				 errhint("Call cache_ext.register_profile_table('core_userprofile') first.")));
	if (get_rel_name(reg->relid) == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("the registered profile table (OID %u) no longer exists",
						reg->relid),
				 errhint("Register the new profile table with cache_ext.register_profile_table.")));
	if (get_attnum(reg->relid, NameStr(reg->user_column)) <= 0 ||
		get_attnum(reg->relid, NameStr(reg->flag_column)) <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("column \"%s\" of the registered profile table %s no longer exists",
						get_attnum(reg->relid, NameStr(reg->user_column)) <= 0 ?
						NameStr(reg->user_column) : NameStr(reg->flag_column),
						RelationsQualifiedName(reg->relid)),
				 errhint("After renaming a profile column, call cache_ext.register_profile_table again with the new names.")));
}

/* Does a trigger of this name exist on relid? */
static bool
trigger_exists(Oid relid, const char *name)
{
	return OidIsValid(get_trigger_oid(relid, name, true));
}

/*
 * cache_ext.register_profile_table(profile regclass, user_column name,
 *									flag_column name) returns void
 */
Datum
cache_ext_register_profile_table(PG_FUNCTION_ARGS)
{
	const char *funcname = "cache_ext.register_profile_table";
	Oid			relid;
	char	   *user_column;
	char	   *flag_column;
	AttrNumber	user_attnum;
	AttrNumber	flag_attnum;
	Oid			user_type;
	Relation	rel;
	bool		has_unique;
	char	   *qualname;
	char	   *relname;
	ProfileRegistration reg;
	StringInfoData sql;

	RequireCacheExtAdmin("register a profile table");
	require_argument(fcinfo, 0, "profile", funcname);
	require_argument(fcinfo, 1, "user_column", funcname);
	require_argument(fcinfo, 2, "flag_column", funcname);
	relid = PG_GETARG_OID(0);
	user_column = pstrdup(NameStr(*PG_GETARG_NAME(1)));
	flag_column = pstrdup(NameStr(*PG_GETARG_NAME(2)));

	if (user_column[0] == '\0' || flag_column[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("column names passed to %s must not be empty", funcname)));
	if (strcmp(user_column, flag_column) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("user_column and flag_column are both \"%s\"", user_column),
				 errhint("The flag needs a column of its own, such as cache_enabled.")));

	/*
	 * Adding the column needs ACCESS EXCLUSIVE (briefly: no rewrite); the
	 * triggers need only SHARE ROW EXCLUSIVE, which lets readers through.
	 * Take the right one from the start rather than upgrading later.
	 */
	check_profile_relation(relid, funcname);
	flag_attnum = get_attnum(relid, flag_column);
	LockRelationOid(relid, flag_attnum == InvalidAttrNumber ?
					AccessExclusiveLock : ShareRowExclusiveLock);
	check_profile_relation(relid, funcname);

	relname = get_rel_name(relid);
	qualname = RelationsQualifiedName(relid);

	user_attnum = get_attnum(relid, user_column);
	if (user_attnum < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("user column \"%s\" is a system column", user_column),
				 errhint("Pass the name of the column holding the user id as user_column.")));
	if (user_attnum == InvalidAttrNumber)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("column \"%s\" of relation \"%s\" does not exist",
						user_column, relname),
				 errhint("Pass the name of the column holding the user id as user_column.")));
	user_type = get_atttype(relid, user_attnum);
	if (!OidIsValid(user_id_base_type(user_type)))
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("user column \"%s\" of relation \"%s\" has type %s",
						user_column, relname, format_type_be(user_type)),
				 errdetail("The user id goes into Redis keys and into cache_ext.cache_enabled(bigint)."),
				 errhint("Use a smallint, integer or bigint user id column.")));

	flag_attnum = get_attnum(relid, flag_column);
	if (flag_attnum < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("flag column \"%s\" is a system column", flag_column),
				 errhint("Pass the name of a boolean column, such as cache_enabled.")));
	if (flag_attnum != InvalidAttrNumber &&
		getBaseType(get_atttype(relid, flag_attnum)) != BOOLOID)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("flag column \"%s\" of relation \"%s\" has type %s",
						flag_column, relname,
						format_type_be(get_atttype(relid, flag_attnum))),
				 errhint("Use a boolean column, or name a column that does not exist yet and it will be added as boolean NOT NULL DEFAULT true.")));

	rel = table_open(relid, NoLock);
	has_unique = has_unique_index_on(rel, user_attnum);
	table_close(rel, NoLock);
	if (!has_unique)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TABLE_DEFINITION),
				 errmsg("user column \"%s\" of relation \"%s\" has no unique index",
						user_column, relname),
				 errdetail("The Redis mirror holds one flag per user, so the table must hold at most one profile row per user."),
				 errhint("Add a unique constraint: ALTER TABLE %s ADD UNIQUE (%s).",
						 qualname, quote_identifier(user_column))));

	SPI_connect();

	lock_registry(&reg);
	if (reg.found && reg.relid != relid)
	{
		if (get_rel_name(reg.relid) != NULL)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_IN_USE),
					 errmsg("another profile table is already registered: %s",
							RelationsQualifiedName(reg.relid)),
					 errdetail("The cache_user_enabled mirror has room for one profile table."),
					 errhint("Call cache_ext.unregister_profile_table('%s') first.",
							 RelationsQualifiedName(reg.relid))));
		/* Left behind by a dropped table: forget it. */
		registry_delete_all();
	}
	else if (reg.found &&
			 strcmp(NameStr(reg.user_column), user_column) == 0 &&
			 strcmp(NameStr(reg.flag_column), flag_column) == 0 &&
			 flag_attnum != InvalidAttrNumber &&
			 trigger_exists(relid, PROFILE_ROW_TRIGGER) &&
			 trigger_exists(relid, PROFILE_TRUNCATE_TRIGGER))
	{
		/* Already registered exactly like this: change nothing. */
		SPI_finish();
		PG_RETURN_VOID();
	}

	initStringInfo(&sql);

	if (flag_attnum == InvalidAttrNumber)
	{
		/*
		 * A constant default is stored in the catalog (PostgreSQL 11+), so
		 * this does not rewrite the table, NOT NULL included.
		 */
		appendStringInfo(&sql,
						 "ALTER TABLE %s ADD COLUMN %s boolean NOT NULL DEFAULT true",
						 qualname, quote_identifier(flag_column));
		execute_or_error(sql.data, SPI_OK_UTILITY);
		ereport(NOTICE,
				(errmsg("added column \"%s\" boolean NOT NULL DEFAULT true to table %s",
						flag_column, qualname)));
	}

	/* (Re)install both triggers, for the columns given now. */
	if (trigger_exists(relid, PROFILE_ROW_TRIGGER))
	{
		resetStringInfo(&sql);
		appendStringInfo(&sql, "DROP TRIGGER %s ON %s",
						 PROFILE_ROW_TRIGGER, qualname);
		execute_or_error(sql.data, SPI_OK_UTILITY);
	}
	if (trigger_exists(relid, PROFILE_TRUNCATE_TRIGGER))
	{
		resetStringInfo(&sql);
		appendStringInfo(&sql, "DROP TRIGGER %s ON %s",
						 PROFILE_TRUNCATE_TRIGGER, qualname);
		execute_or_error(sql.data, SPI_OK_UTILITY);
	}

	resetStringInfo(&sql);
	appendStringInfo(&sql,
					 "CREATE TRIGGER %s AFTER INSERT OR DELETE OR UPDATE OF %s, %s"
					 " ON %s FOR EACH ROW"
					 " EXECUTE FUNCTION cache_ext.profile_flag_changed(%s, %s)",
					 PROFILE_ROW_TRIGGER,
					 quote_identifier(user_column), quote_identifier(flag_column),
					 qualname,
					 quote_literal_cstr(user_column), quote_literal_cstr(flag_column));
	execute_or_error(sql.data, SPI_OK_UTILITY);

	resetStringInfo(&sql);
	appendStringInfo(&sql,
					 "CREATE TRIGGER %s BEFORE TRUNCATE ON %s FOR EACH STATEMENT"
					 " EXECUTE FUNCTION cache_ext.profile_flag_changed(%s, %s)",
					 PROFILE_TRUNCATE_TRIGGER, qualname,
					 quote_literal_cstr(user_column), quote_literal_cstr(flag_column));
	execute_or_error(sql.data, SPI_OK_UTILITY);

	registry_upsert(relid, user_column, flag_column);

	SPI_finish();

	/*
	 * A column we just added holds the default everywhere, which is what a
	 * missing mirror key means too; flags that predate the registration are
	 * unknown to Redis until the back-fill runs.
	 */
	if (flag_attnum != InvalidAttrNumber)
		ereport(NOTICE,
				(errmsg("the existing flags of table %s are not mirrored to Redis yet",
						qualname),
				 errhint("Run CALL cache_ext.mirror_profiles(); to copy them.")));
	PG_RETURN_VOID();
}

/*
 * cache_ext.unregister_profile_table(profile regclass) returns void
 *
 * Removes the triggers and the registration; the flag column and its data
 * stay, they belong to the application.
 */
Datum
cache_ext_unregister_profile_table(PG_FUNCTION_ARGS)
{
	const char *funcname = "cache_ext.unregister_profile_table";
	Oid			relid;
	char	   *qualname;
	bool		did_something = false;
	ProfileRegistration reg;
	StringInfoData sql;

	RequireCacheExtAdmin("unregister a profile table");
	require_argument(fcinfo, 0, "profile", funcname);
	relid = PG_GETARG_OID(0);

	check_profile_relation(relid, funcname);
	LockRelationOid(relid, ShareRowExclusiveLock);
	check_profile_relation(relid, funcname);
	qualname = RelationsQualifiedName(relid);

	SPI_connect();
	lock_registry(&reg);
	initStringInfo(&sql);

	if (trigger_exists(relid, PROFILE_ROW_TRIGGER))
	{
		appendStringInfo(&sql, "DROP TRIGGER %s ON %s",
						 PROFILE_ROW_TRIGGER, qualname);
		execute_or_error(sql.data, SPI_OK_UTILITY);
		did_something = true;
	}
	if (trigger_exists(relid, PROFILE_TRUNCATE_TRIGGER))
	{
		resetStringInfo(&sql);
		appendStringInfo(&sql, "DROP TRIGGER %s ON %s",
						 PROFILE_TRUNCATE_TRIGGER, qualname);
		execute_or_error(sql.data, SPI_OK_UTILITY);
		did_something = true;
	}

	if (registry_delete(relid))
		did_something = true;

	SPI_finish();

	if (!did_something)
		ereport(NOTICE,
				(errmsg("table %s is not registered as a profile table, skipping",
						qualname)));
	PG_RETURN_VOID();
}

/*
 * Queue the mirror of one user's effective flag and a bump of their
 * namespace version, both delivered after commit by pending.  Always both:
 * the bump is what keeps a re-enabled user from reading entries cached
 * before, and the SET is what the middleware reads.  Both are SETs (never a
 * DEL) so that "last value wins" inside pending orders them correctly.
 */
static void
queue_profile_effect(int64 user_id, bool enabled)
{
	char		buf[64];
	int			len;
	char	   *key;
	size_t		keylen;

	len = snprintf(buf, sizeof(buf), MIRROR_KEY_PREFIX INT64_FORMAT, user_id);
	key = KeyWithPrefix(buf, len, &keylen);
	PendingAddSet(key, keylen, enabled ? "1" : "0", 1);

	key = KeyUserVersion(user_id, &keylen);
	PendingAddBump(key, keylen);
}

/*
 * Resolve the trigger's column arguments against the relation, once per
 * query (fn_extra).
 */
static ProfileTriggerColumns *
resolve_trigger_columns(FunctionCallInfo fcinfo, TriggerData *trigdata)
{
	ProfileTriggerColumns *cols = (ProfileTriggerColumns *) fcinfo->flinfo->fn_extra;
	Relation	rel = trigdata->tg_relation;
	Trigger    *trigger = trigdata->tg_trigger;
	TupleDesc	tupdesc = RelationGetDescr(rel);
	AttrNumber	user_attnum;
	AttrNumber	flag_attnum;
	Oid			user_type;

	if (cols != NULL && cols->relid == RelationGetRelid(rel))
		return cols;

	if (trigger->tgnargs != 2)
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("trigger \"%s\" on \"%s\" must pass two arguments to cache_ext.profile_flag_changed",
						trigger->tgname, RelationGetRelationName(rel)),
				 errhint("Install the trigger with cache_ext.register_profile_table.")));

	user_attnum = SPI_fnumber(tupdesc, trigger->tgargs[0]);
	flag_attnum = SPI_fnumber(tupdesc, trigger->tgargs[1]);
	if (user_attnum <= 0 || flag_attnum <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("column \"%s\" of relation \"%s\" named by trigger \"%s\" does not exist",
						user_attnum <= 0 ? trigger->tgargs[0] : trigger->tgargs[1],
						RelationGetRelationName(rel), trigger->tgname),
				 errhint("After renaming a profile column, call cache_ext.register_profile_table again with the new names.")));

	user_type = user_id_base_type(TupleDescAttr(tupdesc, user_attnum - 1)->atttypid);
	if (!OidIsValid(user_type) ||
		getBaseType(TupleDescAttr(tupdesc, flag_attnum - 1)->atttypid) != BOOLOID)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("profile columns \"%s\" and \"%s\" of relation \"%s\" no longer have integer and boolean types",
						trigger->tgargs[0], trigger->tgargs[1],
						RelationGetRelationName(rel)),
				 errhint("Call cache_ext.register_profile_table again after changing the column types.")));

	cols = MemoryContextAlloc(fcinfo->flinfo->fn_mcxt, sizeof(*cols));
	cols->relid = RelationGetRelid(rel);
	cols->user_attnum = user_attnum;
	cols->user_type = user_type;
	cols->flag_attnum = flag_attnum;
	fcinfo->flinfo->fn_extra = cols;
	return cols;
}

/* Read (user id, effective flag) from a row; false when the user is NULL. */
static bool
read_profile_row(ProfileTriggerColumns *cols, HeapTuple tuple, TupleDesc tupdesc,
				 int64 *user_id, bool *enabled)
{
	bool		isnull;
	Datum		value;

	value = heap_getattr(tuple, cols->user_attnum, tupdesc, &isnull);
	if (isnull)
		return false;
	*user_id = user_id_from_datum(value, cols->user_type);

	value = heap_getattr(tuple, cols->flag_attnum, tupdesc, &isnull);
	*enabled = isnull ? true : DatumGetBool(value);
	return true;
}

/*
 * BEFORE TRUNCATE: every profile disappears and every user falls back to the
 * default (enabled).  Only users whose effective flag changes need a
 * message: those with a false flag.  The rows are still there to read.
 */
static void
profile_truncate(Relation rel, ProfileTriggerColumns *cols, Trigger *trigger)
{
	StringInfoData sql;
	int			rc;
	uint64		i;

	SPI_connect();
	initStringInfo(&sql);
	appendStringInfo(&sql,
					 "SELECT %s::pg_catalog.int8 FROM %s WHERE %s IS FALSE AND %s IS NOT NULL",
					 quote_identifier(trigger->tgargs[0]),
					 RelationsQualifiedName(RelationGetRelid(rel)),
					 quote_identifier(trigger->tgargs[1]),
					 quote_identifier(trigger->tgargs[0]));
	rc = SPI_execute(sql.data, true, 0);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "SPI_execute failed (%s): %s",
			 SPI_result_code_string(rc), sql.data);
	for (i = 0; i < SPI_processed; i++)
	{
		bool		isnull;
		Datum		value = SPI_getbinval(SPI_tuptable->vals[i],
										  SPI_tuptable->tupdesc, 1, &isnull);

		if (!isnull)
			queue_profile_effect(DatumGetInt64(value), true);
	}
	SPI_finish();
}

/*
 * cache_ext.profile_flag_changed() trigger, args (user_column, flag_column)
 *
 * AFTER INSERT OR DELETE OR UPDATE OF user, flag ... FOR EACH ROW:
 *	 INSERT (u, f)					 -> mirror u = f
 *	 DELETE (u, f)					 -> mirror u = true (no profile: default)
 *	 UPDATE same u, flag changed	 -> mirror u = new f
 *	 UPDATE same u, flag unchanged	 -> nothing
 *	 UPDATE user id moved u0 -> u1	 -> mirror u0 = true, u1 = new f
 * BEFORE TRUNCATE ... FOR EACH STATEMENT: every disabled user -> true.
 * Each mirror also bumps the user's namespace version.  A NULL user id has
 * no key and is skipped; a NULL flag counts as true.
 */
Datum
cache_ext_profile_flag_changed(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	ProfileTriggerColumns *cols;
	TupleDesc	tupdesc;
	int64		old_user;
	int64		new_user;
	bool		old_enabled;
	bool		new_enabled;
	bool		has_old;
	bool		has_new;

	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("cache_ext.profile_flag_changed() must be called as a trigger"),
				 errhint("Install it with cache_ext.register_profile_table.")));

	cols = resolve_trigger_columns(fcinfo, trigdata);
	tupdesc = RelationGetDescr(trigdata->tg_relation);

	if (TRIGGER_FIRED_BY_TRUNCATE(trigdata->tg_event))
	{
		profile_truncate(trigdata->tg_relation, cols, trigdata->tg_trigger);
		return PointerGetDatum(NULL);
	}

	if (!TRIGGER_FIRED_FOR_ROW(trigdata->tg_event) ||
		!TRIGGER_FIRED_AFTER(trigdata->tg_event))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("cache_ext.profile_flag_changed() must fire AFTER ... FOR EACH ROW or BEFORE TRUNCATE"),
				 errhint("Install it with cache_ext.register_profile_table.")));

	if (TRIGGER_FIRED_BY_INSERT(trigdata->tg_event))
	{
		if (read_profile_row(cols, trigdata->tg_trigtuple, tupdesc,
							 &new_user, &new_enabled))
			queue_profile_effect(new_user, new_enabled);
	}
	else if (TRIGGER_FIRED_BY_DELETE(trigdata->tg_event))
	{
		if (read_profile_row(cols, trigdata->tg_trigtuple, tupdesc,
							 &old_user, &old_enabled))
			queue_profile_effect(old_user, true);
	}
	else if (TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event))
	{
		has_old = read_profile_row(cols, trigdata->tg_trigtuple, tupdesc,
								   &old_user, &old_enabled);
		has_new = read_profile_row(cols, trigdata->tg_newtuple, tupdesc,
								   &new_user, &new_enabled);
		if (has_old && has_new && old_user == new_user)
		{
			if (old_enabled != new_enabled)
				queue_profile_effect(new_user, new_enabled);
		}
		else
		{
			/* The row moved to another user (or to/from NULL). */
			if (has_old)
				queue_profile_effect(old_user, true);
			if (has_new)
				queue_profile_effect(new_user, new_enabled);
		}
	}

	return PointerGetDatum(NULL);
}

/*
 * cache_ext.cache_enabled(user_id bigint) returns boolean
 *
 * The user's effective flag: false only when their profile row says false.
 */
Datum
cache_ext_cache_enabled(PG_FUNCTION_ARGS)
{
	const char *funcname = "cache_ext.cache_enabled";
	ProfileRegistration reg;
	Datum		values[1];
	int			rc;
	bool		isnull;
	bool		result;

	require_argument(fcinfo, 0, "user_id", funcname);
	values[0] = PG_GETARG_DATUM(0);

	SPI_connect();
	require_registration(&reg, funcname);

	if (enabled_plan == NULL ||
		enabled_plan_relid != reg.relid ||
		strcmp(NameStr(enabled_plan_user), NameStr(reg.user_column)) != 0 ||
		strcmp(NameStr(enabled_plan_flag), NameStr(reg.flag_column)) != 0)
	{
		StringInfoData sql;
		Oid			argtypes[1] = {INT8OID};
		SPIPlanPtr	plan;

		if (enabled_plan != NULL)
		{
			SPI_freeplan(enabled_plan);
			enabled_plan = NULL;
		}

		/* NOT EXISTS: no row, or a NULL flag, both mean enabled. */
		initStringInfo(&sql);
		appendStringInfo(&sql,
						 "SELECT NOT EXISTS (SELECT FROM %s"
						 " WHERE %s OPERATOR(pg_catalog.=) $1 AND %s IS FALSE)",
						 RelationsQualifiedName(reg.relid),
						 quote_identifier(NameStr(reg.user_column)),
						 quote_identifier(NameStr(reg.flag_column)));
		plan = SPI_prepare(sql.data, 1, argtypes);
		if (plan == NULL)
			elog(ERROR, "SPI_prepare failed (%s): %s",
				 SPI_result_code_string(SPI_result), sql.data);
		SPI_keepplan(plan);
		enabled_plan = plan;
		enabled_plan_relid = reg.relid;
		enabled_plan_user = reg.user_column;
		enabled_plan_flag = reg.flag_column;
	}

	rc = SPI_execute_plan(enabled_plan, values, NULL, true, 1);
	if (rc != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "reading the profile flag failed: %s",
			 SPI_result_code_string(rc));
	result = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0],
										SPI_tuptable->tupdesc, 1, &isnull));
	SPI_finish();

	PG_RETURN_BOOL(result);
}

/*
 * cache_ext.set_cache_enabled(user_id bigint, enabled boolean) returns void
 *
 * An UPDATE of the profile row, so the trigger does the mirroring exactly as
 * for any other UPDATE.  A user without a profile row is an error: we do not
 * know how to create the application's rows.
 */
Datum
cache_ext_set_cache_enabled(PG_FUNCTION_ARGS)
{
	const char *funcname = "cache_ext.set_cache_enabled";
	ProfileRegistration reg;
	StringInfoData sql;
	Oid			argtypes[2] = {INT8OID, BOOLOID};
	Datum		values[2];
	int			rc;
	int64		user_id;

	require_argument(fcinfo, 0, "user_id", funcname);
	require_argument(fcinfo, 1, "enabled", funcname);
	user_id = PG_GETARG_INT64(0);
	values[0] = PG_GETARG_DATUM(0);
	values[1] = PG_GETARG_DATUM(1);

	SPI_connect();
	require_registration(&reg, funcname);

	/* Only rows whose flag differs: an unchanged flag sends nothing anyway. */
	initStringInfo(&sql);
	appendStringInfo(&sql,
					 "UPDATE %s SET %s = $2 WHERE %s OPERATOR(pg_catalog.=) $1",
					 RelationsQualifiedName(reg.relid),
					 quote_identifier(NameStr(reg.flag_column)),
					 quote_identifier(NameStr(reg.user_column)));
	rc = SPI_execute_with_args(sql.data, 2, argtypes, values, NULL, false, 0);
	if (rc != SPI_OK_UPDATE)
		elog(ERROR, "SPI_execute_with_args failed (%s): %s",
			 SPI_result_code_string(rc), sql.data);
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_NO_DATA_FOUND),
				 errmsg("user " INT64_FORMAT " has no row in profile table %s",
						user_id, RelationsQualifiedName(reg.relid)),
				 errdetail("A user without a profile row has caching enabled."),
				 errhint("Insert the user's profile row first; its trigger mirrors the flag.")));
	SPI_finish();

	PG_RETURN_VOID();
}

/*
 * One batch of the back-fill: the next batch_size ($1) profiles whose user
 * column satisfies 'condition', in user order, locked FOR SHARE.  ORDER BY
 * names the table's column (p.), never the int8 output column, so that the
 * unique index provides the order and LIMIT stops early.
 */
static char *
backfill_batch_query(const ProfileRegistration *reg, const char *qualname,
					 const char *condition)
{
	const char *user_column = quote_identifier(NameStr(reg->user_column));

	return psprintf("SELECT p.%s::pg_catalog.int8 AS user_id_,"
					" p.%s IS NOT FALSE AS enabled_ FROM %s AS p"
					" WHERE p.%s %s ORDER BY p.%s LIMIT $1 FOR SHARE",
					user_column,
					quote_identifier(NameStr(reg->flag_column)),
					qualname, user_column, condition, user_column);
}

/*
 * Mirror every profile's effective flag to Redis, batch_size rows per
 * pipeline, walking the unique user column (keyset pagination).
 *
 * Each batch is read FOR SHARE and sent before the locks go: a concurrent
 * flip of one of these rows waits for us, commits after our SET has landed
 * and is delivered after it, so the back-fill never overwrites a newer
 * value with an older one.  When nonatomic (CALL outside a transaction
 * block) every batch commits, so the locks are held one batch at a time; in
 * an atomic context they are held to the end of the caller's transaction.
 *
 * Versions are not touched: the mirror only copies, and a missing version
 * key reads as version 0 in the middleware.
 *
 * Returns the number of profiles mirrored; -1 when nothing is registered
 * and missing_ok.
 */
static int64
mirror_every_profile(int batch_size, bool nonatomic, bool missing_ok, int progress_level)
{
	ProfileRegistration reg;
	MemoryContext batch_cxt;
	MemoryContext old_cxt;
	char	   *qualname;
	char	   *first_sql;
	char	   *next_sql;
	Oid			argtypes[2] = {INT4OID, INT8OID};
	int64		total = 0;
	int64		last_user = 0;
	int64		next_report = PROFILE_PROGRESS_EVERY;
	bool		first = true;

	if (batch_size < 1 || batch_size > PROFILE_MAX_BATCH)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("batch_size must be between 1 and %d, not %d",
						PROFILE_MAX_BATCH, batch_size),
				 errdetail("One batch is one Redis pipeline, built in memory, and one round of row locks."),
				 errhint("Batches of 1000 to 10000 profiles are efficient.")));

	SPI_connect_ext(nonatomic ? SPI_OPT_NONATOMIC : 0);

	read_registration(&reg, NULL);
	if (!reg.found && missing_ok)
	{
		SPI_finish();
		return -1;
	}
	if (!reg.found || get_rel_name(reg.relid) == NULL)
		require_registration(&reg, "cache_ext.mirror_profiles");

	/*
	 * Everything that must survive the per-batch commits lives in the SPI
	 * procedure context (a child of the portal's context when nonatomic).
	 */
	qualname = RelationsQualifiedName(reg.relid);
	first_sql = backfill_batch_query(&reg, qualname, "IS NOT NULL");
	next_sql = backfill_batch_query(&reg, qualname, "OPERATOR(pg_catalog.>) $2");

	batch_cxt = AllocSetContextCreate(CurrentMemoryContext,
									  "cache_ext mirror_profiles batch",
									  ALLOCSET_DEFAULT_SIZES);

	for (;;)
	{
		Datum		values[2];
		int			rc;
		uint64		nrows;
		uint64		i;
		RedisCommand *cmds;
		RedisReply *replies;
		bool		sent;

		CHECK_FOR_INTERRUPTS();

		values[0] = Int32GetDatum(batch_size);
		values[1] = Int64GetDatum(last_user);
		rc = SPI_execute_with_args(first ? first_sql : next_sql,
								   first ? 1 : 2, argtypes, values, NULL,
								   false, 0);
		if (rc != SPI_OK_SELECT)
			elog(ERROR, "reading the profile table failed: %s",
				 SPI_result_code_string(rc));
		nrows = SPI_processed;
		if (nrows == 0)
		{
			SPI_freetuptable(SPI_tuptable);
			break;
		}

		old_cxt = MemoryContextSwitchTo(batch_cxt);
		cmds = palloc(sizeof(RedisCommand) * nrows);
		replies = palloc0(sizeof(RedisReply) * nrows);
		for (i = 0; i < nrows; i++)
		{
			HeapTuple	tuple = SPI_tuptable->vals[i];
			bool		isnull;
			int64		user_id;
			bool		enabled;
			char		buf[64];
			int			len;
			const char **argv = palloc(sizeof(char *) * 3);
			size_t	   *argvlen = palloc(sizeof(size_t) * 3);

			user_id = DatumGetInt64(SPI_getbinval(tuple, SPI_tuptable->tupdesc,
												  1, &isnull));
			enabled = DatumGetBool(SPI_getbinval(tuple, SPI_tuptable->tupdesc,
												 2, &isnull));
			len = snprintf(buf, sizeof(buf), MIRROR_KEY_PREFIX INT64_FORMAT,
						   user_id);
			argv[0] = "SET";
			argvlen[0] = 3;
			argv[1] = KeyWithPrefix(buf, len, &argvlen[1]);
			argv[2] = enabled ? "1" : "0";
			argvlen[2] = 1;
			cmds[i].argc = 3;
			cmds[i].argv = argv;
			cmds[i].argvlen = argvlen;
			cmds[i].script = NULL;
			last_user = user_id;
		}
		SPI_freetuptable(SPI_tuptable);

		/* the replies are copied into the current context: this batch's */
		sent = RedisPipelineOrError((int) nrows, cmds, replies);
		MemoryContextSwitchTo(old_cxt);
		MemoryContextReset(batch_cxt);
		if (!sent)
		{
			/* cache_ext.ignore_errors: a WARNING has been given. */
			ereport(WARNING,
					(errmsg("mirroring profiles stopped after " INT64_FORMAT " profiles: Redis is unavailable",
							total),
					 errhint("Run CALL cache_ext.mirror_profiles() again once Redis is back.")));
			break;
		}
		total += nrows;
		first = false;

		if (total >= next_report)
		{
			ereport(progress_level,
					(errmsg("mirrored " INT64_FORMAT " profiles so far (up to user id " INT64_FORMAT ")",
							total, last_user)));
			next_report = (total / PROFILE_PROGRESS_EVERY + 1) * PROFILE_PROGRESS_EVERY;
		}

		if (nonatomic)
			SPI_commit();

		if (nrows < (uint64) batch_size)
			break;
	}

	MemoryContextDelete(batch_cxt);
	SPI_finish();

	ereport(progress_level,
			(errmsg("mirrored " INT64_FORMAT " profiles of table %s to Redis",
					total, qualname)));
	return total;
}

/*
 * CALL cache_ext.mirror_profiles(batch_size integer DEFAULT 1000,
 *								  INOUT mirrored bigint DEFAULT NULL)
 *
 * The migration step: commits after every batch when called outside a
 * transaction block, so a large table is never one giant transaction.
 */
Datum
cache_ext_mirror_profiles(PG_FUNCTION_ARGS)
{
	bool		nonatomic;
	int64		total;
	TupleDesc	tupdesc;
	Datum		values[1];
	bool		nulls[1] = {false};

	require_argument(fcinfo, 0, "batch_size", "cache_ext.mirror_profiles");

	nonatomic = fcinfo->context != NULL &&
		IsA(fcinfo->context, CallContext) &&
		!castNode(CallContext, fcinfo->context)->atomic;

	total = mirror_every_profile(PG_GETARG_INT32(0), nonatomic, false, NOTICE);

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	tupdesc = BlessTupleDesc(tupdesc);
	values[0] = Int64GetDatum(total);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}

/*
 * cache_ext.resync_profiles() returns bigint
 *
 * The fallback resync hook: the same back-fill in the caller's transaction,
 * quiet (progress at DEBUG1, LOG at the end), and 0 when no profile table is
 * registered rather than an error.
 */
Datum
cache_ext_resync_profiles(PG_FUNCTION_ARGS)
{
	int64		total;

	total = mirror_every_profile(PROFILE_DEFAULT_BATCH, false, true, DEBUG1);
	if (total < 0)
		PG_RETURN_INT64(0);
	ereport(LOG,
			(errmsg("cache_ext: resynchronised the cache_enabled mirror of " INT64_FORMAT " profiles",
					total)));
	PG_RETURN_INT64(total);
}
