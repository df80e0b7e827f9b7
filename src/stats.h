/*-------------------------------------------------------------------------
 *
 * stats.h
 *	  The delivery statistics (stats.c): counters, the latency histogram
 *	  (commit to acknowledgement by Redis) and the last error, counted by
 *	  the files of delivery and by the worker, shown by cache_ext.stats
 *	  (delivery.c) and reset by cache_ext.reset_stats().
 *
 *	  They are in shared memory when the library is preloaded (shared.c
 *	  calls StatsSharedInit) and backend-local otherwise.
 *
 *-------------------------------------------------------------------------
 */
#ifndef CACHE_EXT_STATS_H
#define CACHE_EXT_STATS_H

#include "datatype/timestamp.h"

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

/* Count into the backend-local statistics, until StatsSharedInit (_PG_init). */
extern void StatsInit(void);

/* Their part of the shared memory (shared.c). */
extern Size StatsSharedSize(void);
extern void StatsSharedInit(void);

extern void StatsAdd(StatCounter c, uint64 n);
extern void StatsLatency(TimestampTz committed_at, TimestampTz now);
extern void StatsRecordError(const char *message);

/*
 * Count the connections this process opened since it last looked, by cause
 * (protocol.h: RedisConnectCount, RedisReconnectCount).
 */
extern void StatsReconnects(void);

/* A consistent copy of the statistics, for cache_ext.stats. */
typedef struct StatsReport
{
	uint64		counters[NUM_STATS];
	uint64		latency_samples;
	double		latency_ms[3];	/* p50, p90, p99; 0 without samples */
	char		last_error[256];	/* "" when none */
	TimestampTz last_error_at;
	TimestampTz stats_reset;
} StatsReport;

extern void StatsRead(StatsReport *report);

#endif							/* CACHE_EXT_STATS_H */
