/*-------------------------------------------------------------------------
 *
 * effects.c
 *	  The serialized form of cache effects (effects.h): writing a record,
 *	  walking a buffer of them, naming their kinds.  No state.
 *
 *-------------------------------------------------------------------------
 */
#include "prelude.h"

#include "effects.h"

Size
EffectRecordSize(size_t keylen, size_t vallen)
{
	return MAXALIGN(EFFECT_HEADER_SIZE + keylen + 1 + vallen + 1);
}

EffectRecord *
EffectRecordWrite(char *dst, EffectKind kind, const char *key, size_t keylen,
				  const char *value, size_t vallen)
{
	EffectRecord *r = (EffectRecord *) dst;
	char	   *p;

	Assert(dst == (char *) MAXALIGN(dst));
	r->size = (uint32) EffectRecordSize(keylen, vallen);
	r->kind = (uint8) kind;
	r->flags = 0;
	r->unused = 0;
	r->keylen = (uint32) keylen;
	r->vallen = (uint32) vallen;
	r->cursor = 0;
	r->stamp = 0;
	r->committed_at = 0;
	p = EffectKey(r);
	memcpy(p, key, keylen);
	p[keylen] = '\0';
	p += keylen + 1;
	if (vallen > 0)
		memcpy(p, value, vallen);
	p[vallen] = '\0';
	/*
	 * Zero the MAXALIGN padding: these bytes are copied verbatim into
	 * cache_ext.prepared_effects, the WAL and the shared queue, and must not
	 * carry whatever the buffer held before (another transaction's keys).
	 */
	p += vallen + 1;
	memset(p, 0, dst + r->size - p);
	return r;
}

const char *
EffectKindName(EffectKind kind)
{
	switch (kind)
	{
		case EFFECT_BUMP:
			return "bump";
		case EFFECT_DELETE:
			return "delete";
		case EFFECT_DELETE_PATTERN:
			return "delete_pattern";
		case EFFECT_BUMP_PATTERN:
			return "bump_pattern";
		case EFFECT_SET:
			return "set";
		case EFFECT_RAISE:
			return "raise";
	}
	return "unknown";
}

/*
 * Split a buffer of records into an array of pointers (palloc'd).  Returns
 * the number found; a malformed buffer (a prepared_effects row tampered
 * with) stops the walk.  buf must be MAXALIGN'd (the records are used in
 * place): bytes from a tuple, such as a bytea's VARDATA_ANY, are not, and
 * must be copied first.
 */
int
EffectRecordsSplit(char *buf, Size len, EffectRecord ***out)
{
	int			cap = 16;
	int			n = 0;
	Size		off = 0;
	EffectRecord **recs = palloc(cap * sizeof(EffectRecord *));

	Assert(buf == NULL || buf == (char *) MAXALIGN(buf));

	while (off + EFFECT_HEADER_SIZE <= len)
	{
		EffectRecord *r = (EffectRecord *) (buf + off);

		if (r->size < EFFECT_HEADER_SIZE || off + r->size > len ||
			EffectRecordSize(r->keylen, r->vallen) != r->size ||
			r->kind > EFFECT_LAST_KIND)
			break;
		if (n >= cap)
		{
			cap *= 2;
			recs = repalloc(recs, cap * sizeof(EffectRecord *));
		}
		recs[n++] = r;
		off += r->size;
	}
	*out = recs;
	return n;
}
