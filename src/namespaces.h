/*-------------------------------------------------------------------------
 *
 * namespaces.h
 *	  The namespaces of the fallback invalidation: every Redis SCAN pattern
 *	  it bumps or deletes, each with the key prefix it is applied with.
 *
 *	  They come from trusted sources only: the default namespace of user
 *	  versions, the rows of cache_ext.trigger_namespaces (recorded when a
 *	  superuser or a cache_ext_admin member creates an invalidation trigger,
 *	  with the key prefix in force then) and of cache_ext.extra_namespaces
 *	  (written by cache_ext_admin).  The triggers of other roles are listed
 *	  by cache_ext.namespace_patterns() as not reached, never used.
 *
 *-------------------------------------------------------------------------
 */
#ifndef CACHE_EXT_NAMESPACES_H
#define CACHE_EXT_NAMESPACES_H

#include "nodes/pg_list.h"

typedef struct FallbackNamespace
{
	bool		bump;			/* bump version keys; false: delete keys */
	char	   *pattern;		/* SCAN pattern without the key prefix */
	char	   *key_prefix;		/* applied with it; NULL when not reached */
	char	   *source;			/* where it comes from, for people */
} FallbackNamespace;

/*
 * The namespaces, sorted by kind, pattern and prefix.  include_unreached:
 * also the namespaces of invalidation triggers no trusted source lists.
 * Reads the tables and pg_trigger in C (no SQL); needs a transaction.
 */
extern List *NamespacesCollect(bool include_unreached);

/* prefix (glob characters escaped) followed by pattern, palloc'd. */
extern char *NamespacePatternWithPrefix(const char *key_prefix,
										const char *pattern, size_t *len);

/*
 * Does cache_ext.trigger_namespaces or cache_ext.extra_namespaces list
 * (kind, pattern, key_prefix)?
 */
extern bool NamespaceListed(bool bump, const char *pattern, const char *key_prefix);

/*
 * Record a namespace of a trigger the current user (a superuser or a
 * cache_ext_admin member) has just created, unless it is there already.
 */
extern void NamespaceRegister(bool bump, const char *pattern,
							  const char *key_prefix, const char *trigger_name);

#endif							/* CACHE_EXT_NAMESPACES_H */
