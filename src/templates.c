/*-------------------------------------------------------------------------
 *
 * templates.c
 *	  Key templates: 'cache_user_version:{user_id}' and friends.
 *
 *	  A template is parsed once against a relation's tuple descriptor: each
 *	  {column} placeholder is resolved to an attribute number and the
 *	  column type's output function is looked up then, so rendering a row
 *	  needs no catalog access at all.  Rendering is on the per-row path of
 *	  every invalidation trigger (a 1,000,000-row UPDATE renders a million
 *	  keys), so the common key column types (integers, text, uuid) are
 *	  formatted directly instead of through their output functions.
 *
 *	  Syntax: literal text, {column} placeholders, and "{{" / "}}" for
 *	  literal braces.  A column name is taken verbatim between the braces
 *	  (case and spaces included), the way it is spelled in pg_attribute.
 *
 *-------------------------------------------------------------------------
 */
#include "prelude.h"

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "lib/stringinfo.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/uuid.h"

#include "templates.h"

/* How a placeholder's value is turned into text. */
typedef enum RenderKind
{
	RENDER_INT2,
	RENDER_INT4,
	RENDER_INT8,
	RENDER_OID,
	RENDER_TEXT,				/* text, varchar, bpchar: the bytes as stored */
	RENDER_UUID,
	RENDER_OUTPUT_FUNCTION		/* anything else */
} RenderKind;

typedef struct TemplatePart
{
	bool		is_column;
	/* literal part: bytes in KeyTemplate.literals */
	int			offset;
	int			len;
	/* column part */
	AttrNumber	attnum;
	Oid			typid;			/* to notice a descriptor that changed */
	RenderKind	kind;
	FmgrInfo	outfunc;		/* RENDER_OUTPUT_FUNCTION only */
} TemplatePart;

struct KeyTemplate
{
	char	   *text;			/* as given */
	char	   *literals;		/* literal bytes, braces unescaped */
	int			nparts;
	TemplatePart *parts;
	int			ncolumns;		/* distinct columns, in order of first use */
	AttrNumber *columns;
	char	   *relname;		/* for messages */
};

/*
 * One lexical piece of a template, before any column is resolved: shared by
 * TemplateParse and the pattern conversions, so they agree on syntax and
 * on error messages.
 */
typedef struct TemplateToken
{
	bool		is_placeholder;
	StringInfoData text;		/* literal bytes, or the column name */
} TemplateToken;

static const char *GLOB_CHARS = "*?[]\\";

/*
 * Split template_text into literal and placeholder tokens, raising the
 * syntax errors.  Returns the number of tokens; *tokens is palloc'd in the
 * current memory context.
 */
static int
tokenize_template(const char *template_text, TemplateToken **tokens)
{
	const char *p = template_text;
	int			ntokens = 0;
	int			maxtokens = 4;
	TemplateToken *result;

	if (template_text == NULL || template_text[0] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("key template is empty"),
				 errhint("Give a key such as 'cache_user_version:{user_id}'.")));

	result = palloc(sizeof(TemplateToken) * maxtokens);

	while (*p)
	{
		TemplateToken *tok;
		bool		placeholder = (*p == '{' && p[1] != '{');

		/* Start a new token unless we continue a literal one. */
		if (placeholder || ntokens == 0 || result[ntokens - 1].is_placeholder)
		{
			if (ntokens == maxtokens)
			{
				maxtokens *= 2;
				result = repalloc(result, sizeof(TemplateToken) * maxtokens);
			}
			tok = &result[ntokens++];
			tok->is_placeholder = placeholder;
			initStringInfo(&tok->text);
		}
		else
			tok = &result[ntokens - 1];

		if (placeholder)
		{
			const char *start = ++p;

			while (*p && *p != '}' && *p != '{')
				p++;
			if (*p != '}')
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("unterminated placeholder in key template \"%s\"",
								template_text),
						 errdetail("The \"{\" at position %d has no matching \"}\".",
								   (int) (start - template_text)),
						 errhint("Close the placeholder as in {user_id}, or write \"{{\" for a literal brace.")));
			if (p == start)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("empty placeholder \"{}\" in key template \"%s\"",
								template_text),
						 errhint("Put a column name between the braces, as in {user_id}, or write \"{{}}\" for literal braces.")));
			appendBinaryStringInfo(&tok->text, start, p - start);
			p++;				/* the '}' */
		}
		else if (*p == '{')
		{
			/* "{{" */
			appendStringInfoChar(&tok->text, '{');
			p += 2;
		}
		else if (*p == '}')
		{
			if (p[1] != '}')
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("unmatched \"}\" in key template \"%s\"",
								template_text),
						 errdetail("The \"}\" at position %d closes no placeholder.",
								   (int) (p - template_text) + 1),
						 errhint("Write \"}}\" for a literal brace.")));
			appendStringInfoChar(&tok->text, '}');
			p += 2;
		}
		else
		{
			const char *start = p;

			while (*p && *p != '{' && *p != '}')
				p++;
			appendBinaryStringInfo(&tok->text, start, p - start);
		}
	}

	*tokens = result;
	return ntokens;
}

/* "a", "b", "c": the live columns of rel, for hints. */
static char *
column_list(TupleDesc tupdesc)
{
	StringInfoData buf;
	int			i;
	int			shown = 0;

	initStringInfo(&buf);
	for (i = 0; i < tupdesc->natts; i++)
	{
		Form_pg_attribute attr = TupleDescAttr(tupdesc, i);

		if (attr->attisdropped)
			continue;
		if (shown == 20)
		{
			appendStringInfoString(&buf, ", ...");
			break;
		}
		appendStringInfo(&buf, "%s%s", shown > 0 ? ", " : "",
						 quote_identifier(NameStr(attr->attname)));
		shown++;
	}
	if (shown == 0)
		appendStringInfoString(&buf, "(none)");
	return buf.data;
}

static RenderKind
choose_render_kind(Oid typid)
{
	switch (getBaseType(typid))
	{
		case INT2OID:
			return RENDER_INT2;
		case INT4OID:
			return RENDER_INT4;
		case INT8OID:
			return RENDER_INT8;
		case OIDOID:
			return RENDER_OID;
		case TEXTOID:
		case VARCHAROID:
		case BPCHAROID:
			return RENDER_TEXT;
		case UUIDOID:
			return RENDER_UUID;
		default:
			return RENDER_OUTPUT_FUNCTION;
	}
}

/*
 * TemplateParse
 *		Parse a template against rel's columns (see templates.h).
 *
 * rel may be NULL for a template that has no placeholder (a fixed key).
 */
KeyTemplate *
TemplateParse(const char *template_text, Relation rel, MemoryContext mcxt)
{
	TemplateToken *tokens;
	int			ntokens;
	KeyTemplate *tmpl;
	StringInfoData literals;
	MemoryContext oldcxt;
	int			i;

	ntokens = tokenize_template(template_text, &tokens);

	oldcxt = MemoryContextSwitchTo(mcxt);

	tmpl = palloc0(sizeof(KeyTemplate));
	tmpl->text = pstrdup(template_text);
	tmpl->relname = rel ? pstrdup(RelationGetRelationName(rel)) : NULL;
	tmpl->parts = palloc0(sizeof(TemplatePart) * ntokens);
	tmpl->columns = palloc0(sizeof(AttrNumber) * ntokens);
	initStringInfo(&literals);

	for (i = 0; i < ntokens; i++)
	{
		TemplatePart *part = &tmpl->parts[tmpl->nparts++];
		const char *name = tokens[i].text.data;
		TupleDesc	tupdesc;
		Form_pg_attribute attr = NULL;
		int			j;

		if (!tokens[i].is_placeholder)
		{
			part->is_column = false;
			part->offset = literals.len;
			part->len = tokens[i].text.len;
			appendBinaryStringInfo(&literals, tokens[i].text.data,
								   tokens[i].text.len);
			continue;
		}

		if (rel == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("key template \"%s\" has placeholder {%s} but no table to take it from",
							template_text, name),
					 errhint("Placeholders are allowed only in templates of triggers; write the complete key here.")));

		tupdesc = RelationGetDescr(rel);
		for (j = 0; j < tupdesc->natts; j++)
		{
			Form_pg_attribute candidate = TupleDescAttr(tupdesc, j);

			if (!candidate->attisdropped &&
				strcmp(NameStr(candidate->attname), name) == 0)
			{
				attr = candidate;
				break;
			}
		}
		if (attr == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_COLUMN),
					 errmsg("column \"%s\" of relation \"%s\" does not exist",
							name, RelationGetRelationName(rel)),
					 errdetail("Key template \"%s\" refers to it.", template_text),
					 errhint("Placeholders name columns of the trigger's table exactly as spelled, case included; \"%s\" has columns %s.  Fix the trigger's arguments with DROP TRIGGER and CREATE TRIGGER.",
							 RelationGetRelationName(rel), column_list(tupdesc))));

		part->is_column = true;
		part->attnum = attr->attnum;
		part->typid = attr->atttypid;
		part->kind = choose_render_kind(attr->atttypid);
		if (part->kind == RENDER_OUTPUT_FUNCTION)
		{
			Oid			outfuncoid;
			bool		isvarlena;

			getTypeOutputInfo(attr->atttypid, &outfuncoid, &isvarlena);
			fmgr_info_cxt(outfuncoid, &part->outfunc, mcxt);
		}

		for (j = 0; j < tmpl->ncolumns; j++)
			if (tmpl->columns[j] == attr->attnum)
				break;
		if (j == tmpl->ncolumns)
			tmpl->columns[tmpl->ncolumns++] = attr->attnum;
	}

	tmpl->literals = literals.data;

	MemoryContextSwitchTo(oldcxt);

	for (i = 0; i < ntokens; i++)
		pfree(tokens[i].text.data);
	pfree(tokens);

	return tmpl;
}

/* Append bytes, backslash-escaping the glob characters of a SCAN pattern. */
static void
append_glob_escaped(StringInfo out, const char *s, int len)
{
	int			i;

	for (i = 0; i < len; i++)
	{
		if (strchr(GLOB_CHARS, s[i]) != NULL)
			appendStringInfoChar(out, '\\');
		appendStringInfoChar(out, s[i]);
	}
}

static const char hexdigits[] = "0123456789abcdef";

/*
 * Append one column's value; false when it is NULL.  escape_glob: the key
 * is a SCAN pattern, so the value's glob characters must match literally.
 */
static inline bool
render_part(const KeyTemplate *tmpl, const TemplatePart *part,
			HeapTuple tuple, TupleDesc tupdesc, StringInfo out,
			bool escape_glob)
{
	Datum		value;
	bool		isnull;
	Form_pg_attribute attr;

	/*
	 * The caller parses again when the descriptor changes; this is the
	 * safety net for one that does not, so we never read a datum as the
	 * wrong type.
	 */
	if (part->attnum > tupdesc->natts ||
		(attr = TupleDescAttr(tupdesc, part->attnum - 1))->attisdropped ||
		attr->atttypid != part->typid)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("column %d of relation \"%s\" used by key template \"%s\" was dropped or changed type",
						part->attnum, tmpl->relname ? tmpl->relname : "?",
						tmpl->text),
				 errhint("Recreate the trigger so that its key templates are parsed again.")));

	value = heap_getattr(tuple, part->attnum, tupdesc, &isnull);
	if (isnull)
		return false;

	switch (part->kind)
	{
		case RENDER_INT2:
			enlargeStringInfo(out, 8);
			out->len += pg_ltoa((int32) DatumGetInt16(value), out->data + out->len);
			break;
		case RENDER_INT4:
			enlargeStringInfo(out, 12);
			out->len += pg_ltoa(DatumGetInt32(value), out->data + out->len);
			break;
		case RENDER_INT8:
			enlargeStringInfo(out, 21);
			out->len += pg_lltoa(DatumGetInt64(value), out->data + out->len);
			break;
		case RENDER_OID:
			enlargeStringInfo(out, 11);
			out->len += pg_ultoa_n(DatumGetObjectId(value), out->data + out->len);
			out->data[out->len] = '\0';
			break;
		case RENDER_TEXT:
			{
				struct varlena *orig = (struct varlena *) DatumGetPointer(value);
				struct varlena *t = pg_detoast_datum_packed(orig);

				if (escape_glob)
					append_glob_escaped(out, VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t));
				else
					appendBinaryStringInfo(out, VARDATA_ANY(t),
										   VARSIZE_ANY_EXHDR(t));
				if (t != orig)
					pfree(t);
			}
			break;
		case RENDER_UUID:
			{
				pg_uuid_t  *uuid = DatumGetUUIDP(value);
				char	   *d;
				int			i;

				enlargeStringInfo(out, 37);
				d = out->data + out->len;
				for (i = 0; i < UUID_LEN; i++)
				{
					if (i == 4 || i == 6 || i == 8 || i == 10)
						*d++ = '-';
					*d++ = hexdigits[uuid->data[i] >> 4];
					*d++ = hexdigits[uuid->data[i] & 0x0F];
				}
				*d = '\0';
				out->len = d - out->data;
			}
			break;
		case RENDER_OUTPUT_FUNCTION:
			{
				char	   *s = OutputFunctionCall((FmgrInfo *) &part->outfunc, value);

				if (escape_glob)
					append_glob_escaped(out, s, strlen(s));
				else
					appendStringInfoString(out, s);
				pfree(s);
			}
			break;
	}
	return true;
}

static inline bool
render_template(const KeyTemplate *tmpl, HeapTuple tuple, TupleDesc tupdesc,
				StringInfo out, bool escape_glob)
{
	int			start = out->len;
	int			i;

	for (i = 0; i < tmpl->nparts; i++)
	{
		const TemplatePart *part = &tmpl->parts[i];

		if (!part->is_column)
			appendBinaryStringInfo(out, tmpl->literals + part->offset, part->len);
		else if (!render_part(tmpl, part, tuple, tupdesc, out, escape_glob))
		{
			out->len = start;
			out->data[start] = '\0';
			return false;
		}
	}
	return true;
}

/*
 * TemplateRender
 *		Append the key for one row; false (out unchanged) when a referenced
 *		column is NULL.
 */
bool
TemplateRender(const KeyTemplate *tmpl, HeapTuple tuple,
			   TupleDesc tupdesc, StringInfo out)
{
	return render_template(tmpl, tuple, tupdesc, out, false);
}

/*
 * TemplateRenderPattern
 *		Like TemplateRender for a template that is itself a SCAN pattern
 *		('booking:{user_id}:*'): the literal text is kept as glob syntax and
 *		the glob characters of the column values are escaped, so a value
 *		never widens the pattern.
 */
bool
TemplateRenderPattern(const KeyTemplate *tmpl, HeapTuple tuple,
					  TupleDesc tupdesc, StringInfo out)
{
	return render_template(tmpl, tuple, tupdesc, out, true);
}

int
TemplateColumns(const KeyTemplate *tmpl, const AttrNumber **attnums)
{
	*attnums = tmpl->columns;
	return tmpl->ncolumns;
}

const char *
TemplateText(const KeyTemplate *tmpl)
{
	return tmpl->text;
}

/*
 * Template -> SCAN pattern.  keep_globs: the template is already a pattern
 * (its literal glob characters are glob syntax); otherwise they are escaped
 * so that they match only themselves.
 */
static char *
template_to_pattern(const char *template_text, bool keep_globs)
{
	TemplateToken *tokens;
	int			ntokens;
	StringInfoData buf;
	int			i;

	ntokens = tokenize_template(template_text, &tokens);
	initStringInfo(&buf);
	for (i = 0; i < ntokens; i++)
	{
		if (tokens[i].is_placeholder)
		{
			/* "a:{x}{y}" needs only one star */
			if (i == 0 || !tokens[i - 1].is_placeholder)
				appendStringInfoChar(&buf, '*');
		}
		else if (keep_globs)
			appendBinaryStringInfo(&buf, tokens[i].text.data, tokens[i].text.len);
		else
			append_glob_escaped(&buf, tokens[i].text.data, tokens[i].text.len);
		pfree(tokens[i].text.data);
	}
	pfree(tokens);
	return buf.data;
}

char *
TemplateToPattern(const char *template_text)
{
	return template_to_pattern(template_text, false);
}

char *
TemplatePatternToPattern(const char *template_text)
{
	return template_to_pattern(template_text, true);
}

char *
TemplateGlobLiteralPrefix(const char *pattern, size_t len)
{
	StringInfoData buf;
	size_t		i;

	initStringInfo(&buf);
	for (i = 0; i < len; i++)
	{
		char		c = pattern[i];

		if (c == '*' || c == '?' || c == '[')
			break;
		if (c == '\\')
		{
			if (i + 1 >= len)
				break;			/* a trailing backslash matches nothing */
			c = pattern[++i];
		}
		appendStringInfoChar(&buf, c);
	}
	return buf.data;
}

char *
TemplateLiteralPrefix(const char *template_text, bool is_pattern)
{
	TemplateToken *tokens;
	int			ntokens;
	char	   *result;
	int			i;

	ntokens = tokenize_template(template_text, &tokens);
	if (ntokens == 0 || tokens[0].is_placeholder)
		result = pstrdup("");
	else if (is_pattern)
		result = TemplateGlobLiteralPrefix(tokens[0].text.data, tokens[0].text.len);
	else
		result = pstrdup(tokens[0].text.data);
	for (i = 0; i < ntokens; i++)
		pfree(tokens[i].text.data);
	pfree(tokens);
	return result;
}

bool
TemplatePrefixesOverlap(const char *a, const char *b)
{
	size_t		la = strlen(a);
	size_t		lb = strlen(b);

	return strncmp(a, b, Min(la, lb)) == 0;
}

bool
TemplateValid(const char *template_text)
{
	const char *p = template_text;

	if (p == NULL || *p == '\0')
		return false;
	while (*p)
	{
		if (*p == '{' && p[1] == '{')
			p += 2;
		else if (*p == '{')
		{
			const char *start = ++p;

			while (*p && *p != '}' && *p != '{')
				p++;
			if (*p != '}' || p == start)
				return false;
			p++;
		}
		else if (*p == '}')
		{
			if (p[1] != '}')
				return false;
			p += 2;
		}
		else
			p++;
	}
	return true;
}
