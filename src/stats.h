/*-------------------------------------------------------------------------
 *
 * stats.h
 *	  The delivery statistics (cache_ext.stats) and the "fallback needed"
 *	  flag, which lives beside them.  Used by the files of delivery and by
 *	  worker.c.
 *
 *	  The statistics are in shared memory when the library is preloaded
 *	  (the queue's shared struct embeds them and its startup calls
 *	  StatsAttach), and backend-local otherwise.
 *
 *-------------------------------------------------------------------------
 */
#ifndef CACHE_EXT_STATS_H
#define CACHE_EXT_STATS_H

#include "datatype/timestamp.h"
#include "port/atomics.h"
#include "storage/spin.h"

typedef enum StatCounter
{
	STAT_COMMITTED,				/* effects of committed transactions */
	STAT_SENT,					/* acknowledged by Redis */
	STAT_COALESCED,				/* bumps folded into another of the same key */
	STAT_ASYNC,					/* handed to the worker (async) */
	STAT_RETRY_QUEUED,			/* queued after a failed attempt */
	STAT_RETRIED,				/* delivered by a retry */
	STAT_FAILED,				/* error replies (not retried) */
	STAT_DROPPED,				/* could not be queued */
	STAT_FALLBACKS,				/* fallback invalidations performed */
	STAT_RECONNECTS,			/* connections re-opened */
	STAT_PREPARED,				/* stored by PREPARE TRANSACTION */
	STAT_PATTERN_STEPS,			/* SCAN steps run for patterns */
	STAT_COMMIT_FAILURES,		/* commits whose delivery failed */
	STAT_RECONNECTS_LOST,		/* re-opened: the connection failed */
	STAT_RECONNECTS_TIMEOUT,	/* re-opened: after a timeout */
	STAT_RECONNECTS_FAILOVER,	/* re-opened: READONLY/LOADING/MASTERDOWN */
	STAT_RECONNECTS_SETTINGS,	/* re-opened: connection settings changed */
	NUM_STATS
} StatCounter;

/* Latency histogram: 8 buckets per power of two of microseconds. */
#define LAT_SUB				8
#define LAT_BUCKETS			(LAT_SUB * 40)

typedef struct DeliveryStats
{
	pg_atomic_uint64 counters[NUM_STATS];
	pg_atomic_uint64 latency[LAT_BUCKETS];
	pg_atomic_uint64 fallback_requested;	/* requests made */
	pg_atomic_uint64 fallback_done;	/* requests covered by a completed run */
	slock_t		mutex;			/* the fields below */
	char		last_error[256];
	TimestampTz last_error_at;
	char		fallback_reason[256];
	TimestampTz last_fallback_at;
	TimestampTz stats_reset;
} DeliveryStats;

/*
 * Set up the backend-local statistics (DeliveryInit); DeliveryStatsInit prepares
 * a DeliveryStats in shared memory, StatsAttach makes it the one counted
 * into from then on.
 */
extern void StatsInit(void);
extern void DeliveryStatsInit(DeliveryStats *s);
extern void StatsAttach(DeliveryStats *s);

extern void DeliveryStatAdd(StatCounter c, uint64 n);
extern void DeliveryStatLatency(TimestampTz committed_at, TimestampTz now);
extern void StatsRecordError(const char *message);
extern void StatsReconnects(void);
extern void StatsRecordFallback(void);

/*
 * The fallback flag: a fallback invalidation is owed (effects were lost).
 * FallbackMark before a run, FallbackDone with that mark once it succeeded.
 */
extern bool FallbackNeeded(void);
extern void SetFallbackNeeded(const char *why);
extern uint64 FallbackMark(void);
extern void FallbackDone(uint64 mark);
extern void FallbackReason(char *buf, Size len);

#endif							/* CACHE_EXT_STATS_H */
