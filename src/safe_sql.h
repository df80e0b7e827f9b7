/*-------------------------------------------------------------------------
 *
 * safe_sql.h
 *	  The search_path of SQL that cache_ext runs with more privileges than
 *	  its caller (as a table's owner or as the extension's owner).
 *
 *	  Such SQL text names every relation, function, cast and operator with
 *	  its schema (OPERATOR(pg_catalog.+), pg_catalog.int8larger(...),
 *	  ::pg_catalog.int8), AND is prepared and executed between
 *	  SafeSearchPathPush() and SafeSearchPathPop(), which pin search_path to
 *	  "pg_catalog, pg_temp".  Both, because a name the text leaves to
 *	  resolution (an implicit cast, a type of a parameter) would otherwise
 *	  resolve in the caller's schemas, and because a kept plan is
 *	  re-analysed under the search_path in force when it is executed if
 *	  that differs from the one it was prepared under.  Pinned at both
 *	  times, a plan is never re-analysed under a path a caller chose.
 *
 *	  The pin is a GUC nest level, like a function's SET clause: an ERROR
 *	  in between restores the caller's search_path when the
 *	  (sub)transaction aborts.
 *
 *-------------------------------------------------------------------------
 */
#ifndef CACHE_EXT_SAFE_SQL_H
#define CACHE_EXT_SAFE_SQL_H

#define CACHE_EXT_SAFE_SEARCH_PATH	"pg_catalog, pg_temp"

/* Pin search_path; returns the nest level to pass to SafeSearchPathPop. */
static inline int
SafeSearchPathPush(void)
{
	int			nestlevel = NewGUCNestLevel();

#if PG_VERSION_NUM >= 170000
	RestrictSearchPath();
#else
	(void) set_config_option("search_path", CACHE_EXT_SAFE_SEARCH_PATH,
							 PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE,
							 true, 0, false);
#endif
	return nestlevel;
}

/* Give the caller its search_path back. */
static inline void
SafeSearchPathPop(int nestlevel)
{
	AtEOXact_GUC(true, nestlevel);
}

#endif							/* CACHE_EXT_SAFE_SQL_H */
