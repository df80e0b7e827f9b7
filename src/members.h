/*-------------------------------------------------------------------------
 *
 * members.h
 *	  Which objects are cache_ext's own: the extension installed in the
 *	  current database and its member objects (pg_depend deptype 'e').
 *
 *	  Code that runs with more rights than its caller (the background
 *	  worker, the fallback invalidation, the event trigger) trusts a table
 *	  or function named cache_ext.something only when it is a member of the
 *	  installed extension: a schema called cache_ext in a database without
 *	  the extension, or an object someone slipped into the schema, is
 *	  ignored.  Lookups go through the catalogs in C, never through SQL
 *	  text or the search_path.
 *
 *-------------------------------------------------------------------------
 */
#ifndef CACHE_EXT_MEMBERS_H
#define CACHE_EXT_MEMBERS_H

/*
 * The installed extension, or InvalidOid.  missing_ok false: an ERROR
 * that says so, and names a look-alike schema cache_ext when there is one
 * ('what' completes "cannot ...", e.g. "run the fallback invalidation").
 */
extern Oid	MembersExtension(bool missing_ok, const char *what);

/*
 * The owner of the installed extension, as whom fixed statements on its
 * tables run; an ERROR when it is not installed.
 */
extern Oid	MembersExtensionOwner(void);

/*
 * A table (or view) of the extension by name; InvalidOid when the
 * extension is missing or has no such member.
 */
extern Oid	MembersRelation(const char *relname);

/* A function of the extension by name (ours have no overloads). */
extern Oid	MembersFunction(const char *proname);

/* Is fn the extension's function proname? */
extern bool MembersIsFunction(Oid fn, const char *proname);

/*
 * Log (at elevel) that the extension is missing in this database, naming
 * a look-alike schema; for the worker, which must not raise.
 */
extern void MembersReportMissing(int elevel, const char *what);

#endif							/* CACHE_EXT_MEMBERS_H */
