/*-------------------------------------------------------------------------
 *
 * members.c
 *	  The objects of the installed cache_ext extension (members.h): found
 *	  through pg_extension and pg_depend, never by name alone.
 *
 *	  Every lookup is a catalog index scan or a syscache probe in the
 *	  current transaction; nothing is cached across transactions, so a
 *	  DROP EXTENSION / CREATE EXTENSION is seen at once.
 *
 *-------------------------------------------------------------------------
 */
#include "prelude.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "catalog/dependency.h"
#include "catalog/indexing.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_extension.h"
#include "catalog/pg_proc.h"
#include "commands/dbcommands.h"
#include "commands/extension.h"
#include "utils/catcache.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"

#include "members.h"

#define EXTENSION_NAME	"cache_ext"

/*
 * The schema (pg_extension.extnamespace) and the owner (extowner) of an
 * installed extension; InvalidOid for both when it is gone.
 */
static void
extension_schema_and_owner(Oid extoid, Oid *nsp, Oid *owner)
{
	Relation	rel;
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	tup;

	*nsp = *owner = InvalidOid;
	rel = table_open(ExtensionRelationId, AccessShareLock);
	ScanKeyInit(&key, Anum_pg_extension_oid, BTEqualStrategyNumber, F_OIDEQ,
				ObjectIdGetDatum(extoid));
	scan = systable_beginscan(rel, ExtensionOidIndexId, true, NULL, 1, &key);
	tup = systable_getnext(scan);
	if (HeapTupleIsValid(tup))
	{
		*nsp = ((Form_pg_extension) GETSTRUCT(tup))->extnamespace;
		*owner = ((Form_pg_extension) GETSTRUCT(tup))->extowner;
	}
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
}

static Oid
extension_schema(Oid extoid)
{
	Oid			nsp,
				owner;

	extension_schema_and_owner(extoid, &nsp, &owner);
	return nsp;
}

void
MembersReportMissing(int elevel, const char *what)
{
	Oid			nsp = get_namespace_oid(EXTENSION_NAME, true);
	char	   *dbname = get_database_name(MyDatabaseId);

	ereport(elevel,
			(errcode(ERRCODE_UNDEFINED_OBJECT),
			 errmsg("cache_ext is not installed in database \"%s\": cannot %s",
					dbname ? dbname : "?", what),
			 OidIsValid(nsp) ?
			 errdetail("Schema \"%s\" exists there but does not belong to the extension; its objects are ignored.",
					   EXTENSION_NAME) : 0,
			 errhint("Run CREATE EXTENSION cache_ext in that database, or point cache_ext.database at one where it is installed.")));
}

Oid
MembersExtension(bool missing_ok, const char *what)
{
	Oid			extoid = get_extension_oid(EXTENSION_NAME, true);

	if (!OidIsValid(extoid) && !missing_ok)
		MembersReportMissing(ERROR, what);
	return extoid;
}

Oid
MembersExtensionOwner(void)
{
	Oid			extoid = get_extension_oid(EXTENSION_NAME, true);
	Oid			nsp,
				owner = InvalidOid;

	if (OidIsValid(extoid))
		extension_schema_and_owner(extoid, &nsp, &owner);
	if (!OidIsValid(owner))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("extension \"%s\" is not installed in this database",
						EXTENSION_NAME),
				 errhint("Run CREATE EXTENSION %s.", EXTENSION_NAME)));
	return owner;
}

Oid
MembersRelation(const char *relname)
{
	Oid			extoid = get_extension_oid(EXTENSION_NAME, true);
	Oid			relid;

	if (!OidIsValid(extoid))
		return InvalidOid;
	relid = get_relname_relid(relname, extension_schema(extoid));
	if (!OidIsValid(relid) ||
		getExtensionOfObject(RelationRelationId, relid) != extoid)
		return InvalidOid;
	return relid;
}

Oid
MembersFunction(const char *proname)
{
	Oid			extoid = get_extension_oid(EXTENSION_NAME, true);
	Oid			nsp;
	CatCList   *list;
	Oid			result = InvalidOid;
	int			i;

	if (!OidIsValid(extoid))
		return InvalidOid;
	nsp = extension_schema(extoid);
	list = SearchSysCacheList1(PROCNAMEARGSNSP, CStringGetDatum(proname));
	for (i = 0; i < list->n_members; i++)
	{
		Form_pg_proc proc = (Form_pg_proc) GETSTRUCT(&list->members[i]->tuple);

		if (proc->pronamespace == nsp &&
			getExtensionOfObject(ProcedureRelationId, proc->oid) == extoid)
		{
			result = proc->oid;
			break;
		}
	}
	ReleaseSysCacheList(list);
	return result;
}

bool
MembersIsFunction(Oid fn, const char *proname)
{
	Oid			extoid = get_extension_oid(EXTENSION_NAME, true);
	char	   *name;

	if (!OidIsValid(extoid) || !OidIsValid(fn))
		return false;
	name = get_func_name(fn);
	if (name == NULL || strcmp(name, proname) != 0)
		return false;
	return getExtensionOfObject(ProcedureRelationId, fn) == extoid;
}
