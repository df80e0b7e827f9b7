/*-------------------------------------------------------------------------
 *
 * pending.h
 *	  The per-transaction set of cache effects waiting for commit.
 *
 *	  Triggers and SQL functions never talk to Redis to invalidate: they add
 *	  an effect here.  Effects are deduplicated per (kind, key) within a
 *	  transaction, forgotten when the (sub)transaction that added them rolls
 *	  back, and handed to delivery (delivery.h) once the transaction has
 *	  committed and is visible to other sessions.
 *
 *	  Keys passed here are complete Redis keys: the caller has already
 *	  applied cache_ext.key_prefix (keys.h: KeyWithPrefix).
 *
 *-------------------------------------------------------------------------
 */
#ifndef CACHE_EXT_PENDING_H
#define CACHE_EXT_PENDING_H

#include "effects.h"

/* Register the transaction callbacks (_PG_init). */
extern void PendingInit(void);

/*
 * Add an effect to the current transaction.  Must be called inside a
 * transaction; raises an ERROR (before commit, so the transaction aborts)
 * when the key is too long for the retry queue or memory runs out.
 */
extern void PendingAddBump(const char *key, size_t keylen);
extern void PendingAddDelete(const char *key, size_t keylen);
extern void PendingAddDeletePattern(const char *pattern, size_t patternlen);
extern void PendingAddBumpPattern(const char *pattern, size_t patternlen);
extern void PendingAddSet(const char *key, size_t keylen,
						  const char *value, size_t valuelen);
extern void PendingAddRaise(const char *key, size_t keylen, int64 value);

/*
 * The same, with the kind as a value: SET's value, RAISE's number as
 * decimal text (prepared transactions re-add their records with it).
 */
extern void PendingAdd(EffectKind kind, const char *key, size_t keylen,
					   const char *value, size_t vallen);

/* Number of distinct effects pending in the current transaction. */
extern int	PendingCount(void);

/*
 * One transaction may not commit more effects than a quarter of the shared
 * queue holds (with the library preloaded): a transaction that could
 * overflow the queue by itself would force a fallback invalidation of
 * every tenant's namespaces.  PRE_COMMIT and PRE_PREPARE raise a clear
 * ERROR beyond it.  A transaction carrying the effects of other, prepared
 * transactions (COMMIT PREPARED, the worker's sweep) is exempt: call this
 * when adding them.
 */
extern void PendingExemptFromLimit(void);

#endif							/* CACHE_EXT_PENDING_H */
