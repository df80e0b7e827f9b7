/*-------------------------------------------------------------------------
 *
 * templates.h
 *	  Key templates such as 'cache_user_version:{user_id}': parsed once
 *	  against a relation's tuple descriptor, rendered per row without any
 *	  catalog access.  Used by the invalidation triggers, assign_number and
 *	  the profile triggers.
 *
 *-------------------------------------------------------------------------
 */
#ifndef CACHE_EXT_TEMPLATES_H
#define CACHE_EXT_TEMPLATES_H

#include "access/htup.h"
#include "access/tupdesc.h"
#include "lib/stringinfo.h"
#include "utils/relcache.h"

typedef struct KeyTemplate KeyTemplate;

/*
 * Parse a template against rel's columns; allocations in mcxt (keep the
 * result in fn_extra-lifetime memory).  A malformed template or a
 * placeholder naming no column of rel raises a clear ERROR naming the table,
 * the column and the template.  "{{" and "}}" stand for literal braces.
 */
extern KeyTemplate *TemplateParse(const char *template_text, Relation rel,
								  MemoryContext mcxt);

/*
 * Append the key for one row to out (the unprefixed key; the caller applies
 * cache_ext.key_prefix).  Returns false, leaving out unchanged, when a
 * referenced column is NULL in this row (the key is skipped).
 */
extern bool TemplateRender(const KeyTemplate *tmpl, HeapTuple tuple,
						   TupleDesc tupdesc, StringInfo out);

/*
 * Like TemplateRender, for a template that is itself a SCAN pattern
 * ('booking:{user_id}:*', used by invalidate_keys): literal text is kept as
 * glob syntax, glob characters in column values are escaped.
 */
extern bool TemplateRenderPattern(const KeyTemplate *tmpl, HeapTuple tuple,
								  TupleDesc tupdesc, StringInfo out);

/* Columns the template references (attribute numbers, in order of use). */
extern int	TemplateColumns(const KeyTemplate *tmpl, const AttrNumber **attnums);

/* The template text as given. */
extern const char *TemplateText(const KeyTemplate *tmpl);

/*
 * The template with every placeholder replaced by '*', as a SCAN pattern
 * (literal glob characters escaped), palloc'd: what the fallback
 * invalidation and TRUNCATE use to reach every key of a template.
 */
extern char *TemplateToPattern(const char *template_text);

/*
 * Like TemplateToPattern for a template that is already a pattern: its
 * literal glob characters are kept, placeholders become '*'.
 */
extern char *TemplatePatternToPattern(const char *template_text);

/*
 * Is the template well formed (what TemplateParse would not refuse for
 * its syntax)?  Never raises: for code listing the templates of existing
 * triggers, where one bad template must not hide the others.
 */
extern bool TemplateValid(const char *template_text);

/*
 * The literal text every key of a template starts with: what comes before
 * its first placeholder (braces unescaped), and, for a template that is a
 * SCAN pattern (is_pattern), before its first glob character.  palloc'd;
 * "" when the template starts with a placeholder or a glob.  A template
 * whose keys start with nothing fixed could name any key of the Redis
 * database: invalidation triggers refuse it (triggers.c).
 */
extern char *TemplateLiteralPrefix(const char *template_text, bool is_pattern);

/*
 * The literal text every key matching a SCAN pattern starts with (backslash
 * escapes resolved), palloc'd; "" when it starts with *, ? or [.
 */
extern char *TemplateGlobLiteralPrefix(const char *pattern, size_t len);

/*
 * May a key starting with literal a and one starting with literal b be the
 * same key?  (One is a prefix of the other.)
 */
extern bool TemplatePrefixesOverlap(const char *a, const char *b);

#endif							/* CACHE_EXT_TEMPLATES_H */
