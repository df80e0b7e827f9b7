/*-------------------------------------------------------------------------
 *
 * queue.h
 *	  The shared memory of delivery (queue.c): the retry/hand-off queue of
 *	  effects, the worker's pid and latch, and the Redis run_id it last saw.
 *	  Exists only when the library is preloaded (DeliverySharedReady).  Used
 *	  by delivery.c (producers), worker.c (the consumer) and stats.c.
 *
 *-------------------------------------------------------------------------
 */
#ifndef CACHE_EXT_QUEUE_H
#define CACHE_EXT_QUEUE_H

#include "delivery.h"

/*
 * Define cache_ext.queue_size and request the shared memory (preloaded
 * only; called by DeliveryInit).
 */
extern void QueueInit(void);

extern int	cache_ext_queue_size;	/* kB */

/*
 * Append records, all or none, after commit (never allocates or raises);
 * false, with the fallback flag raised, when they do not fit.  *was_empty
 * says whether the worker may be asleep and needs waking.
 */
extern bool DeliveryQueuePush(EffectRecord **recs, int n, uint8 flags,
							  bool *was_empty);

/*
 * Shared-memory queue, for the worker.  The worker peeks a batch of
 * records from the head (they stay in the queue, so a worker that dies
 * loses nothing), delivers them, then consumes them.
 */
extern bool DeliverySharedReady(void);
extern Size QueuePeek(char *buf, Size bufsize, int *nrecords);
extern void QueueConsume(Size bytes, int nrecords);
extern void QueueSaveCursor(Size offset, uint64 cursor);
extern uint64 QueueDepth(void);
extern void QueueUsage(uint64 *records, uint64 *bytes, uint64 *capacity);
extern void WorkerAttach(void);
extern void WorkerDetach(bool clean);
extern pid_t WorkerPid(void);
extern void WakeWorker(void);
extern bool NoteRedisRunId(const char *run_id);

#endif							/* CACHE_EXT_QUEUE_H */
