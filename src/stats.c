/*-------------------------------------------------------------------------
 *
 * stats.c
 *	  The delivery statistics (stats.h): counters, the latency histogram
 *	  (commit to acknowledgement by Redis) and the last error, and
 *	  cache_ext.reset_stats().
 *
 *	  They live in shared memory when the library is preloaded, and in this
 *	  backend otherwise: StatsInit points at the local copy first, and
 *	  StatsSharedInit at the shared one when shared memory is set up.
 *
 *	  Locking: counters and the latency histogram are atomics; last_error,
 *	  its time and stats_reset are under the spinlock StatsShared.mutex.
 *
 *-------------------------------------------------------------------------
 */
#include "prelude.h"

#include <math.h>

#include "port/atomics.h"
#include "port/pg_bitutils.h"
#include "storage/shmem.h"
#include "storage/spin.h"
#include "utils/timestamp.h"

#include "protocol.h"
#include "roles.h"
#include "stats.h"

/* Latency histogram: 8 buckets per power of two of microseconds. */
#define LAT_SUB				8
#define LAT_BUCKETS			(LAT_SUB * 40)

typedef struct StatsShared
{
	pg_atomic_uint64 counters[NUM_STATS];
	pg_atomic_uint64 latency[LAT_BUCKETS];
	slock_t		mutex;			/* the fields below */
	char		last_error[256];
	TimestampTz last_error_at;
	TimestampTz stats_reset;
} StatsShared;

static StatsShared local_stats;	/* without shared memory */
static StatsShared *stats = NULL;
static uint64 last_connect_count = 0;
static uint64 last_cause_count[REDIS_NUM_RECONNECT_CAUSES];

/* The statistic of each reconnection cause (protocol.h). */
static const StatCounter cause_stat[REDIS_NUM_RECONNECT_CAUSES] = {
	[REDIS_RECONNECT_LOST] = STAT_RECONNECTS_LOST,
	[REDIS_RECONNECT_TIMEOUT] = STAT_RECONNECTS_TIMEOUT,
	[REDIS_RECONNECT_FAILOVER] = STAT_RECONNECTS_FAILOVER,
	[REDIS_RECONNECT_SETTINGS] = STAT_RECONNECTS_SETTINGS,
};

static void
stats_zero(StatsShared *s)
{
	int			i;

	for (i = 0; i < NUM_STATS; i++)
		pg_atomic_init_u64(&s->counters[i], 0);
	for (i = 0; i < LAT_BUCKETS; i++)
		pg_atomic_init_u64(&s->latency[i], 0);
	SpinLockInit(&s->mutex);
	s->last_error[0] = '\0';
	s->last_error_at = 0;
	s->stats_reset = GetCurrentTimestamp();
}

void
StatsInit(void)
{
	stats_zero(&local_stats);
	stats = &local_stats;
}

Size
StatsSharedSize(void)
{
	return MAXALIGN(sizeof(StatsShared));
}

/* Under AddinShmemInitLock (shared.c): count into shared memory from now. */
void
StatsSharedInit(void)
{
	bool		found;
	StatsShared *s = ShmemInitStruct("cache_ext statistics", sizeof(StatsShared),
									 &found);

	if (!found)
		stats_zero(s);
	stats = s;
}

void
StatsAdd(StatCounter c, uint64 n)
{
	if (n > 0)
		pg_atomic_fetch_add_u64(&stats->counters[c], n);
}

static int
latency_bucket(int64 us)
{
	int			e;
	int			idx;

	if (us < LAT_SUB)
		return us < 0 ? 0 : (int) us;
	e = pg_leftmost_one_pos64((uint64) us);	/* >= 3 */
	idx = (e - 2) * LAT_SUB + (int) ((us >> (e - 3)) & (LAT_SUB - 1));
	return Min(idx, LAT_BUCKETS - 1);
}

static double
latency_bucket_mid(int idx)
{
	int			e;
	double		lo,
				width;

	if (idx < LAT_SUB)
		return idx + 0.5;
	e = idx / LAT_SUB + 2;
	width = (double) ((uint64) 1 << (e - 3));
	lo = (LAT_SUB + idx % LAT_SUB) * width;
	return lo + width / 2;
}

void
StatsLatency(TimestampTz committed_at, TimestampTz now)
{
	if (committed_at == 0)
		return;
	pg_atomic_fetch_add_u64(&stats->latency[latency_bucket(now - committed_at)], 1);
}

void
StatsRecordError(const char *message)
{
	TimestampTz now = GetCurrentTimestamp();

	SpinLockAcquire(&stats->mutex);
	strlcpy(stats->last_error, message, sizeof(stats->last_error));
	stats->last_error_at = now;
	SpinLockRelease(&stats->mutex);
}

/* Account for connections this process opened since we last looked. */
void
StatsReconnects(void)
{
	uint64		count = RedisConnectCount();

	if (count > last_connect_count)
	{
		uint64		n = count - last_connect_count;

		/* A process's first connection is not a re-connection. */
		if (last_connect_count == 0)
			n--;
		StatsAdd(STAT_RECONNECTS, n);
		last_connect_count = count;
	}
	for (int c = 0; c < REDIS_NUM_RECONNECT_CAUSES; c++)
	{
		uint64		cause_count = RedisReconnectCount((RedisReconnectCause) c);

		if (cause_count > last_cause_count[c])
		{
			StatsAdd(cause_stat[c], cause_count - last_cause_count[c]);
			last_cause_count[c] = cause_count;
		}
	}
}

void
StatsRead(StatsReport *report)
{
	static const double pct[3] = {0.5, 0.9, 0.99};
	uint64		hist[LAT_BUCKETS];
	int			b;

	memset(report, 0, sizeof(*report));
	for (int c = 0; c < NUM_STATS; c++)
		report->counters[c] = pg_atomic_read_u64(&stats->counters[c]);
	for (b = 0; b < LAT_BUCKETS; b++)
	{
		hist[b] = pg_atomic_read_u64(&stats->latency[b]);
		report->latency_samples += hist[b];
	}
	for (int p = 0; p < 3 && report->latency_samples > 0; p++)
	{
		uint64		target = (uint64) ceil(pct[p] * report->latency_samples);
		uint64		acc = 0;

		for (b = 0; b < LAT_BUCKETS; b++)
		{
			acc += hist[b];
			if (acc >= target)
				break;
		}
		report->latency_ms[p] = latency_bucket_mid(Min(b, LAT_BUCKETS - 1)) / 1000.0;
	}

	SpinLockAcquire(&stats->mutex);
	memcpy(report->last_error, stats->last_error, sizeof(report->last_error));
	report->last_error_at = stats->last_error_at;
	report->stats_reset = stats->stats_reset;
	SpinLockRelease(&stats->mutex);
}

/* ------------------------------------------------------------ SQL level */

PG_FUNCTION_INFO_V1(cache_ext_reset_stats);
Datum
cache_ext_reset_stats(PG_FUNCTION_ARGS)
{
	int			i;

	/* cluster-wide when preloaded: operators only, as pg_stat_statements_reset() */
	RequireCacheExtAdmin("reset cache_ext statistics");
	for (i = 0; i < NUM_STATS; i++)
		pg_atomic_write_u64(&stats->counters[i], 0);
	for (i = 0; i < LAT_BUCKETS; i++)
		pg_atomic_write_u64(&stats->latency[i], 0);
	SpinLockAcquire(&stats->mutex);
	stats->last_error[0] = '\0';
	stats->last_error_at = 0;
	stats->stats_reset = GetCurrentTimestamp();
	SpinLockRelease(&stats->mutex);
	PG_RETURN_VOID();
}
