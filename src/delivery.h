/*-------------------------------------------------------------------------
 *
 * delivery.h
 *	  Getting the effects of committed transactions into Redis (effects.h
 *	  has their serialized form): the commit-time send, the backend-local
 *	  retry list used without shared_preload_libraries, prepared
 *	  transactions and the fallback invalidation.  Used by pending.c (the
 *	  per transaction set) and worker.c (the background worker); the
 *	  shared-memory retry/hand-off queue is declared in queue.h, the
 *	  statistics and the fallback flag in stats.h.
 *
 *-------------------------------------------------------------------------
 */
#ifndef CACHE_EXT_DELIVERY_H
#define CACHE_EXT_DELIVERY_H

#include "datatype/timestamp.h"
#include "effects.h"
#include "protocol.h"

/*
 * The settings of delivery, the statistics, the shared memory (when
 * preloaded) or the backend-local retry list (when not) (_PG_init).
 */
extern void DeliveryInit(void);

/* The settings owned by delivery. */
typedef enum DeliveryMode
{
	DELIVERY_SYNC,
	DELIVERY_ASYNC
} DeliveryMode;

extern int	cache_ext_delivery;

/*
 * The commit protocol, driven by pending.c's callbacks:
 *	 DeliveryPreCommit   at XACT_EVENT_PRE_COMMIT, with the serialized
 *						 effects of the transaction (may be none, when only
 *						 the backend-local retry list needs a try): builds
 *						 every command; may palloc and ERROR.
 *	 DeliveryCommitted   at XACT_EVENT_COMMIT: records the time; no palloc.
 *	 DeliveryAfterCommit from the resource-release callback once locks are
 *						 released: sends, or hands off; never ERRORs.
 *	 DeliveryReset		 at the end of every transaction (any outcome).
 * DeliveryWanted tells pending.c whether a transaction without effects of
 * its own still has to go through PreCommit (local retries due).
 */
extern bool DeliveryWanted(void);

/*
 * Bytes of serialized effects one transaction may commit: a quarter of the
 * shared queue; 0 (no limit) without it (pending.h).
 */
extern Size DeliveryTransactionLimit(void);
extern void DeliveryPreCommit(char *batch, Size batchlen, int nrecords);
extern void DeliveryCommitted(void);
extern void DeliveryAfterCommit(void);
extern void DeliveryReset(void);

#endif							/* CACHE_EXT_DELIVERY_H */
