/*-------------------------------------------------------------------------
 *
 * effects.h
 *	  Cache effects, the unit of everything cache_ext sends after commit:
 *	  their kinds, and their one serialized form (effects.c).  The same
 *	  bytes live in a transaction's commit batch (pending.c), in the shared
 *	  queue (queue.c), in the backend-local retry list (delivery.c) and in
 *	  cache_ext.prepared_effects.effects (prepared.c), so moving an effect
 *	  is a memcpy.
 *
 *-------------------------------------------------------------------------
 */
#ifndef CACHE_EXT_EFFECTS_H
#define CACHE_EXT_EFFECTS_H

#include "datatype/timestamp.h"

typedef enum EffectKind
{
	EFFECT_BUMP = 0,			/* increment a namespace version key */
	EFFECT_DELETE,				/* UNLINK one key */
	EFFECT_DELETE_PATTERN,		/* SCAN MATCH + UNLINK every matching key */
	EFFECT_BUMP_PATTERN,		/* SCAN MATCH + bump every matching version
								 * key (TRUNCATE, fallback invalidation) */
	EFFECT_SET,					/* SET key value (mirrors); last value wins */
	EFFECT_RAISE				/* raise an integer counter to at least value;
								 * the largest value wins */
} EffectKind;

#define EFFECT_LAST_KIND		EFFECT_RAISE

/*
 * Limits of one effect, so that any effect fits in the retry queue (whose
 * smallest size is 4 MB).  Keys are limited by keys.h
 * (CACHE_EXT_MAX_FULL_KEY_LEN, prefix included).
 */
#define CACHE_EXT_MAX_VALUE_LEN		(512 * 1024)

/*
 * One serialized effect.  The key and the value follow the header, each
 * NUL terminated; a RAISE carries its number as decimal text in the value.
 */
typedef struct EffectRecord
{
	uint32		size;			/* whole record, MAXALIGN'd */
	uint8		kind;			/* EffectKind */
	uint8		flags;			/* EFFECT_FLAG_* */
	uint16		unused;
	uint32		keylen;
	uint32		vallen;
	uint64		cursor;			/* SCAN cursor reached by a pattern effect */
	uint64		stamp;			/* commit LSN of the transaction (orders SETs) */
	TimestampTz committed_at;	/* for the latency histogram */
} EffectRecord;

#define EFFECT_FLAG_RETRY		0x01	/* queued after a failed attempt */

#define EFFECT_HEADER_SIZE		MAXALIGN(sizeof(EffectRecord))
#define EffectKey(r)			((char *) (r) + EFFECT_HEADER_SIZE)
#define EffectValue(r)			(EffectKey(r) + (r)->keylen + 1)
#define EffectIsPattern(r) \
	((r)->kind == EFFECT_DELETE_PATTERN || (r)->kind == EFFECT_BUMP_PATTERN)

/* Bytes of a record with this key and value (MAXALIGN'd). */
extern Size EffectRecordSize(size_t keylen, size_t vallen);

/*
 * Write a record at dst (MAXALIGN'd, EffectRecordSize bytes), padding
 * zeroed; returns it.
 */
extern EffectRecord *EffectRecordWrite(char *dst, EffectKind kind,
									   const char *key, size_t keylen,
									   const char *value, size_t vallen);

/*
 * Split a MAXALIGN'd buffer of records into a palloc'd array of pointers
 * into it; returns the number of records.  A malformed buffer stops the
 * walk.
 */
extern int	EffectRecordsSplit(char *buf, Size len, EffectRecord ***out);

/* "bump", "delete", ... (cache_ext.pending_effects(), the debug door). */
extern const char *EffectKindName(EffectKind kind);

#endif							/* CACHE_EXT_EFFECTS_H */
