/*-------------------------------------------------------------------------
 *
 * prepared.h
 *	  Cache effects of prepared transactions (two-phase commit), kept in
 *	  cache_ext.prepared_effects from PREPARE TRANSACTION until the
 *	  transaction commits (prepared.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef CACHE_EXT_PREPARED_H
#define CACHE_EXT_PREPARED_H

/* Install the hook that catches COMMIT PREPARED (_PG_init). */
extern void PreparedInit(void);

/*
 * PREPARE TRANSACTION: store the serialized effects of the transaction as
 * a row of cache_ext.prepared_effects, written by the prepared transaction
 * itself (pending.c calls it at XACT_EVENT_PRE_PREPARE).
 */
extern void PreparedStore(char *batch, Size batchlen, int nrecords);

/*
 * Move committed rows of cache_ext.prepared_effects into the current
 * transaction's pending set (they are delivered when it commits); returns
 * the number of effects.  Needs a transaction.
 */
extern int64 PreparedDeliver(bool missing_ok);

#endif							/* CACHE_EXT_PREPARED_H */
