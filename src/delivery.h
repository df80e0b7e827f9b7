/*-------------------------------------------------------------------------
 *
 * delivery.h
 *	  Getting the effects of committed transactions into Redis (delivery.c):
 *	  the commit protocol driven by pending.c's transaction callbacks, with
 *	  the hand-off to the queue (queue.h) or, without
 *	  shared_preload_libraries, the backend-local retry list.  The rest of
 *	  delivery has its own headers: effects.h (the records), plan.h (their
 *	  Redis commands), queue.h, stats.h, fallback.h, prepared.h.
 *
 *-------------------------------------------------------------------------
 */
#ifndef CACHE_EXT_DELIVERY_H
#define CACHE_EXT_DELIVERY_H


/*
 * Define the settings of delivery, and set up the backend-local retry list
 * when the library is not preloaded (_PG_init).
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
