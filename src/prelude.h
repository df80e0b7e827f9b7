/*-------------------------------------------------------------------------
 *
 * prelude.h
 *	  The prelude every cache_ext source file includes first: the PostgreSQL
 *	  headers used everywhere, the differences between the PostgreSQL majors
 *	  we build for, and the rules every file follows.  It declares nothing
 *	  of cache_ext's own: each subsystem declares its functions, its init
 *	  included, in its own header, and cache_ext.c (_PG_init) is the one
 *	  place that calls the inits.
 *
 *	  Names: the exported functions of a header share one prefix naming its
 *	  concept (Queue*, Stats*, Template*, Redis* for the API of
 *	  protocol.h, ...), an init is named after its file (QueueInit,
 *	  ProtocolInit), static functions are snake_case, and SQL-callable
 *	  functions are cache_ext_<sql name>.
 *
 *-------------------------------------------------------------------------
 */
#ifndef CACHE_EXT_PRELUDE_H
#define CACHE_EXT_PRELUDE_H

#include "postgres.h"

#include "fmgr.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/elog.h"
#include "utils/guc.h"
#include "utils/memutils.h"

/*
 * The rule for SQL that cache_ext runs itself.  Nothing runs with more
 * privileges than its caller (as a table's or the extension's owner, in the
 * background worker, in an event trigger) unless
 *	 - its search_path is pinned to "pg_catalog, pg_temp" while it is
 *	   prepared and executed (safe_sql.h: SafeSearchPathPush/Pop), and
 *	 - every relation, function, cast and operator in its text is
 *	   schema-qualified: OPERATOR(pg_catalog.=), pg_catalog.int8larger(...),
 *	   ::pg_catalog.int8, names from quote_qualified_identifier(),
 * the way PostgreSQL's ri_triggers.c builds its queries.  Where catalog or
 * table calls in C do the job (syscache, systable scans, heap inserts), they
 * are preferred to SPI.  Code owned by a non-superuser is never run with a
 * superuser's rights: the worker calls fallback hooks as their owners.
 * test/check_sql_rule.py checks the text part over all of src/ in the suite.
 */

/*
 * The rule for settings: each GUC is defined by the init of the file that
 * owns what it configures, and its variable is declared in that file's
 * header (cache_ext.redis_url in endpoint.c, cache_ext.tls_* in
 * transport.c, the time limits in connection.c, cache_ext.key_prefix in
 * keys.c, cache_ext.queue_size in queue.c, ...).  Whoever reads a setting
 * includes its owner's header; a new setting goes where its behaviour is.
 * _PG_init reserves the prefix once every init has run.
 */

#if PG_VERSION_NUM < 150000
#error "cache_ext requires PostgreSQL 15 or later"
#endif

/*
 * Differences between the PostgreSQL majors we build for (15 and 17 are
 * tested: test/run_tests.sh and test/run_tests.sh --pg 17).  Each is a
 * macro here, so that the code says what it means once, for every major.
 * The headers a macro needs are included where it is used.
 */

/* 17 ties wait event sets to a resource owner (NULL: session lifetime). */
#if PG_VERSION_NUM >= 170000
#define CreateWaitEventSetCompat(nevents) CreateWaitEventSet(NULL, (nevents))
#else
#define CreateWaitEventSetCompat(nevents) CreateWaitEventSet(TopMemoryContext, (nevents))
#endif

/* PostgreSQL 16 folded the per-object ACL checks into object_aclcheck. */
#if PG_VERSION_NUM >= 160000
#define FunctionAclCheckCompat(fn, role) \
	object_aclcheck(ProcedureRelationId, (fn), (role), ACL_EXECUTE)
#else
#define FunctionAclCheckCompat(fn, role) pg_proc_aclcheck((fn), (role), ACL_EXECUTE)
#endif

/*
 * Memory of settings: what a check hook hands to the GUC machinery (a new
 * string value, an "extra") is freed by it.  15 frees with free(), 16 and
 * later keep settings in their own memory context (guc_malloc, guc_free):
 * a malloc'd extra there makes the postmaster FATAL with "pfree called with
 * invalid pointer" at its first reload.
 */
#if PG_VERSION_NUM >= 160000
#define GucMallocCompat(size) guc_malloc(LOG, (size))
#define GucStrdupCompat(s) guc_strdup(LOG, (s))
#define GucFreeCompat(p) guc_free(p)
#else
#define GucMallocCompat(size) malloc(size)
#define GucStrdupCompat(s) strdup(s)
#define GucFreeCompat(p) free(p)
#endif

/*
 * The local transaction id of this backend's current transaction
 * (storage/proc.h): 17 moved it into MyProc->vxid.
 */
#if PG_VERSION_NUM >= 170000
#define MyLocalTransactionId() (MyProc->vxid.lxid)
#else
#define MyLocalTransactionId() (MyProc->lxid)
#endif

/*
 * Whether ROLEID owns the relation RELID (utils/acl.h, catalog/pg_class.h):
 * 16 replaced the per-catalog ownership checks by object_ownercheck().
 */
#if PG_VERSION_NUM >= 160000
#define RelationOwnerCheck(relid, roleid) \
	object_ownercheck(RelationRelationId, (relid), (roleid))
#else
#define RelationOwnerCheck(relid, roleid) pg_class_ownercheck((relid), (roleid))
#endif

/*
 * This backend's slot among the PGPROCs (storage/proc.h): 17 names it
 * MyProcNumber, 15 and 16 keep it in MyProc->pgprocno.
 */
#if PG_VERSION_NUM >= 170000
#define MyProcSlotNumber() ((int) MyProcNumber)
#else
#define MyProcSlotNumber() (MyProc->pgprocno)
#endif

/*
 * What the module exports: only what PostgreSQL looks up by name.  16 and
 * later build modules with -fvisibility=hidden and declare PGDLLEXPORT both
 * the function of PG_FUNCTION_INFO_V1 and its pg_finfo_ record (and
 * _PG_init).  On 15 the Makefile hides symbols the same way and makes
 * PGDLLEXPORT mean default visibility, and here PG_FUNCTION_INFO_V1 also
 * declares the function PGDLLEXPORT, as 16's fmgr.h does.  The workers'
 * mains and _PG_init are declared PGDLLEXPORT where they are defined.
 * test/check_exports.sh checks the built library.
 */
#if PG_VERSION_NUM < 160000
#undef PG_FUNCTION_INFO_V1
#define PG_FUNCTION_INFO_V1(funcname) \
extern PGDLLEXPORT Datum funcname(PG_FUNCTION_ARGS); \
extern PGDLLEXPORT const Pg_finfo_record *CppConcat(pg_finfo_,funcname)(void); \
const Pg_finfo_record * \
CppConcat(pg_finfo_,funcname) (void) \
{ \
	static const Pg_finfo_record finfo = {1}; \
	return &finfo; \
} \
extern int no_such_variable
#endif

#endif							/* CACHE_EXT_PRELUDE_H */
