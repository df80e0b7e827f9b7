/*-------------------------------------------------------------------------
 *
 * relations.h
 *	  Catalog facts about a relation that several files need (relations.c):
 *	  its owner, as whom cache_ext runs queries on it, and its quoted,
 *	  schema-qualified name, for generated SQL and for messages.
 *
 *-------------------------------------------------------------------------
 */
#ifndef CACHE_EXT_RELATIONS_H
#define CACHE_EXT_RELATIONS_H

/* pg_class.relowner of relid (a relation that exists: elog otherwise). */
extern Oid	RelationsOwner(Oid relid);

/*
 * "schema"."name" of relid, quoted as needed, palloc'd; an ERROR naming
 * the OID when the relation does not exist (dropped meanwhile).
 */
extern char *RelationsQualifiedName(Oid relid);

#endif							/* CACHE_EXT_RELATIONS_H */
