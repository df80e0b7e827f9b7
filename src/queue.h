/*-------------------------------------------------------------------------
 *
 * queue.h
 *	  The queue of effects waiting for the background worker (queue.c):
 *	  retries and asynchronous hand-offs, in shared memory.  It exists only
 *	  when the library is preloaded (QueueReady).  delivery.c produces, the
 *	  worker consumes and registers itself as the consumer, so that
 *	  producers can wake it.
 *
 *-------------------------------------------------------------------------
 */
#ifndef CACHE_EXT_QUEUE_H
#define CACHE_EXT_QUEUE_H

#include "effects.h"

/* Define cache_ext.queue_size when preloading (_PG_init). */
extern void QueueInit(void);

extern int	cache_ext_queue_size;	/* kB */

/* Its part of the shared memory (shared.c). */
extern Size QueueSharedSize(void);
extern void QueueSharedInit(void);

/* Is there a queue (the library is preloaded)? */
extern bool QueueReady(void);

/*
 * Append records, all or none, after commit (never allocates or raises);
 * false when they do not fit.  *was_empty says whether the consumer may be
 * asleep and needs waking.
 */
extern bool QueuePush(EffectRecord **recs, int n, uint8 flags,
					  bool *was_empty);

/*
 * For the consumer: it peeks a batch of records from the head (they stay
 * in the queue, so a worker that dies loses nothing), delivers them, then
 * consumes them; a pattern's progress is saved in its record.
 */
extern Size QueuePeek(char *buf, Size bufsize, int *nrecords);
extern void QueueConsume(Size bytes, int nrecords);
extern void QueueSaveCursor(Size offset, uint64 cursor);

/* Records queued (0 without a queue), and the usage for cache_ext.stats. */
extern uint64 QueueDepth(void);
extern void QueueUsage(uint64 *records, uint64 *bytes, uint64 *capacity);

/* The consumer (the background worker) and how to wake it. */
extern void QueueAttachConsumer(void);
extern void QueueDetachConsumer(void);
extern pid_t QueueConsumerPid(void);
extern void QueueWakeConsumer(void);

#endif							/* CACHE_EXT_QUEUE_H */
