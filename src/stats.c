/*-------------------------------------------------------------------------
 *
 * stats.c
 *	  The delivery statistics (stats.h, shown by cache_ext.stats): counters,
 *	  the latency histogram (commit to acknowledgement by Redis), the last
 *	  error, and the "fallback needed" flag.
 *
 *	  They live in shared memory when the library is preloaded (the queue's
 *	  shared struct embeds them and its startup attaches them), and in this
 *	  backend otherwise: DeliveryInit points at the local copy first.
 *	  The flag is kept here rather than with the queue because it exists
 *	  without shared memory too (a backend's full retry list raises it).
 *
 *	  Locking: counters, the latency histogram and the fallback flag are
 *	  atomics; last_error, the fallback reason and the timestamps are under
 *	  the spinlock (DeliveryStats.mutex), which the queue also uses for the
 *	  worker's pid and latch and the Redis run_id.
 *
 *-------------------------------------------------------------------------
 */
#include "prelude.h"

#include <math.h>

#include "access/htup_details.h"
#include "funcapi.h"
#include "port/atomics.h"
#include "storage/spin.h"
#include "utils/timestamp.h"

#include "delivery.h"
#include "protocol.h"
#include "queue.h"
#include "roles.h"
#include "stats.h"

static DeliveryStats local_stats;	/* without shared memory */
static DeliveryStats *stats = NULL;
static uint64 last_connect_count = 0;
static uint64 last_cause_count[REDIS_NUM_RECONNECT_CAUSES];

/* The statistic of each reconnection cause (connection.h). */
static const StatCounter cause_stat[REDIS_NUM_RECONNECT_CAUSES] = {
	[REDIS_RECONNECT_LOST] = STAT_RECONNECTS_LOST,
	[REDIS_RECONNECT_TIMEOUT] = STAT_RECONNECTS_TIMEOUT,
	[REDIS_RECONNECT_FAILOVER] = STAT_RECONNECTS_FAILOVER,
	[REDIS_RECONNECT_SETTINGS] = STAT_RECONNECTS_SETTINGS,
};

void
DeliveryStatAdd(StatCounter c, uint64 n)
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
DeliveryStatLatency(TimestampTz committed_at, TimestampTz now)
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
		DeliveryStatAdd(STAT_RECONNECTS, n);
		last_connect_count = count;
	}
	for (int c = 0; c < REDIS_NUM_RECONNECT_CAUSES; c++)
	{
		uint64		cause_count = RedisReconnectCount((RedisReconnectCause) c);

		if (cause_count > last_cause_count[c])
		{
			DeliveryStatAdd(cause_stat[c], cause_count - last_cause_count[c]);
			last_cause_count[c] = cause_count;
		}
	}
}

void
DeliveryStatsInit(DeliveryStats *s)
{
	int			i;

	for (i = 0; i < NUM_STATS; i++)
		pg_atomic_init_u64(&s->counters[i], 0);
	for (i = 0; i < LAT_BUCKETS; i++)
		pg_atomic_init_u64(&s->latency[i], 0);
	pg_atomic_init_u64(&s->fallback_requested, 0);
	pg_atomic_init_u64(&s->fallback_done, 0);
	SpinLockInit(&s->mutex);
	s->last_error[0] = '\0';
	s->last_error_at = 0;
	s->fallback_reason[0] = '\0';
	s->last_fallback_at = 0;
	s->stats_reset = GetCurrentTimestamp();
}

/* Count into the backend-local statistics (until StatsAttach). */
void
StatsInit(void)
{
	DeliveryStatsInit(&local_stats);
	stats = &local_stats;
}

/* Count into s from now on: the statistics in shared memory. */
void
StatsAttach(DeliveryStats *s)
{
	stats = s;
}

/* A fallback invalidation was performed. */
void
StatsRecordFallback(void)
{
	DeliveryStatAdd(STAT_FALLBACKS, 1);
	SpinLockAcquire(&stats->mutex);
	stats->last_fallback_at = GetCurrentTimestamp();
	SpinLockRelease(&stats->mutex);
}

/*
 * The fallback flag is a pair of counters, so that it stays raised while a
 * fallback runs and a request made during a run is not swallowed by it:
 * a run covers the requests made before it started (FallbackMark), and
 * FallbackDone records that once it succeeded.
 */
bool
FallbackNeeded(void)
{
	return pg_atomic_read_u64(&stats->fallback_requested) >
		pg_atomic_read_u64(&stats->fallback_done);
}

void
SetFallbackNeeded(const char *why)
{
	SpinLockAcquire(&stats->mutex);
	strlcpy(stats->fallback_reason, why, sizeof(stats->fallback_reason));
	SpinLockRelease(&stats->mutex);
	pg_atomic_fetch_add_u64(&stats->fallback_requested, 1);
	if (DeliverySharedReady())
		WakeWorker();
}

uint64
FallbackMark(void)
{
	return pg_atomic_read_u64(&stats->fallback_requested);
}

void
FallbackDone(uint64 mark)
{
	uint64		done = pg_atomic_read_u64(&stats->fallback_done);

	while (done < mark &&
		   !pg_atomic_compare_exchange_u64(&stats->fallback_done, &done, mark))
		;
}

/* Why the pending fallback is owed (copied into buf). */
void
FallbackReason(char *buf, Size len)
{
	SpinLockAcquire(&stats->mutex);
	strlcpy(buf, stats->fallback_reason, len);
	SpinLockRelease(&stats->mutex);
}

/* ------------------------------------------------------------ SQL level */

/*
 * The columns delivery_stats() computes, in the order it computes them.  The
 * row returned is matched to the function's declared result BY NAME: the
 * SQL of an older version (a server runs this library before ALTER
 * EXTENSION cache_ext UPDATE) declares fewer columns, and a column this
 * library does not know is NULL.  Filling by position would write past an
 * older, shorter row.
 */
static const char *const stats_columns[] = {
	"scope", "delivery", "effects_committed", "effects_sent",
	"effects_coalesced", "effects_async", "effects_retry_queued",
	"effects_retried", "effects_failed", "effects_dropped", "fallbacks",
	"fallback_pending", "queue_depth", "queue_bytes", "queue_capacity",
	"reconnects", "reconnects_lost", "reconnects_timeout",
	"reconnects_failover", "reconnects_settings", "commit_failures",
	"effects_prepared", "pattern_steps", "last_error", "last_error_at",
	"latency_samples", "latency_p50_ms", "latency_p90_ms", "latency_p99_ms",
	"last_fallback_at", "fallback_reason", "worker_pid", "stats_reset"
};
#define NUM_STATS_COLUMNS lengthof(stats_columns)

PG_FUNCTION_INFO_V1(cache_ext_delivery_stats);
Datum
cache_ext_delivery_stats(PG_FUNCTION_ARGS)
{
	TupleDesc	tupdesc;
	Datum		values[NUM_STATS_COLUMNS];
	bool		nulls[NUM_STATS_COLUMNS];
	Datum	   *row_values;
	bool	   *row_nulls;
	int			i = 0;
	uint64		hist[LAT_BUCKETS];
	uint64		nsamples = 0;
	char		last_error[256];
	char		fallback_reason[256];
	TimestampTz last_error_at,
				last_fallback_at,
				stats_reset;
	pid_t		worker_pid;
	uint64		depth,
				used,
				capacity;
	int			b;
	double		pct[3] = {0.5, 0.9, 0.99};
	double		pv[3] = {0, 0, 0};
	int			p;

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	memset(nulls, 0, sizeof(nulls));

	for (b = 0; b < LAT_BUCKETS; b++)
	{
		hist[b] = pg_atomic_read_u64(&stats->latency[b]);
		nsamples += hist[b];
	}
	for (p = 0; p < 3 && nsamples > 0; p++)
	{
		uint64		target = (uint64) ceil(pct[p] * nsamples);
		uint64		acc = 0;

		for (b = 0; b < LAT_BUCKETS; b++)
		{
			acc += hist[b];
			if (acc >= target)
				break;
		}
		pv[p] = latency_bucket_mid(Min(b, LAT_BUCKETS - 1)) / 1000.0;
	}

	SpinLockAcquire(&stats->mutex);
	memcpy(last_error, stats->last_error, sizeof(last_error));
	memcpy(fallback_reason, stats->fallback_reason, sizeof(fallback_reason));
	last_error_at = stats->last_error_at;
	last_fallback_at = stats->last_fallback_at;
	stats_reset = stats->stats_reset;
	SpinLockRelease(&stats->mutex);
	worker_pid = WorkerPid();

	values[i++] = CStringGetTextDatum(DeliverySharedReady() ? "cluster" : "backend");
	values[i++] = CStringGetTextDatum(cache_ext_delivery == DELIVERY_ASYNC ? "async" : "sync");
	values[i++] = Int64GetDatum(pg_atomic_read_u64(&stats->counters[STAT_COMMITTED]));
	values[i++] = Int64GetDatum(pg_atomic_read_u64(&stats->counters[STAT_SENT]));
	values[i++] = Int64GetDatum(pg_atomic_read_u64(&stats->counters[STAT_COALESCED]));
	values[i++] = Int64GetDatum(pg_atomic_read_u64(&stats->counters[STAT_ASYNC]));
	values[i++] = Int64GetDatum(pg_atomic_read_u64(&stats->counters[STAT_RETRY_QUEUED]));
	values[i++] = Int64GetDatum(pg_atomic_read_u64(&stats->counters[STAT_RETRIED]));
	values[i++] = Int64GetDatum(pg_atomic_read_u64(&stats->counters[STAT_FAILED]));
	values[i++] = Int64GetDatum(pg_atomic_read_u64(&stats->counters[STAT_DROPPED]));
	values[i++] = Int64GetDatum(pg_atomic_read_u64(&stats->counters[STAT_FALLBACKS]));
	values[i++] = BoolGetDatum(FallbackNeeded());
	if (DeliverySharedReady())
		QueueUsage(&depth, &used, &capacity);
	else
		LocalQueueUsage(&depth, &used, &capacity);
	values[i++] = Int64GetDatum((int64) depth);
	values[i++] = Int64GetDatum((int64) used);
	values[i++] = Int64GetDatum((int64) capacity);
	values[i++] = Int64GetDatum(pg_atomic_read_u64(&stats->counters[STAT_RECONNECTS]));
	values[i++] = Int64GetDatum(pg_atomic_read_u64(&stats->counters[STAT_RECONNECTS_LOST]));
	values[i++] = Int64GetDatum(pg_atomic_read_u64(&stats->counters[STAT_RECONNECTS_TIMEOUT]));
	values[i++] = Int64GetDatum(pg_atomic_read_u64(&stats->counters[STAT_RECONNECTS_FAILOVER]));
	values[i++] = Int64GetDatum(pg_atomic_read_u64(&stats->counters[STAT_RECONNECTS_SETTINGS]));
	values[i++] = Int64GetDatum(pg_atomic_read_u64(&stats->counters[STAT_COMMIT_FAILURES]));
	values[i++] = Int64GetDatum(pg_atomic_read_u64(&stats->counters[STAT_PREPARED]));
	values[i++] = Int64GetDatum(pg_atomic_read_u64(&stats->counters[STAT_PATTERN_STEPS]));
	if (last_error[0])
	{
		values[i++] = CStringGetTextDatum(last_error);
		values[i++] = TimestampTzGetDatum(last_error_at);
	}
	else
	{
		nulls[i++] = true;
		nulls[i++] = true;
	}
	values[i++] = Int64GetDatum((int64) nsamples);
	for (p = 0; p < 3; p++)
	{
		if (nsamples > 0)
			values[i++] = Float8GetDatum(pv[p]);
		else
			nulls[i++] = true;
	}
	if (last_fallback_at != 0)
		values[i++] = TimestampTzGetDatum(last_fallback_at);
	else
		nulls[i++] = true;
	if (fallback_reason[0])
		values[i++] = CStringGetTextDatum(fallback_reason);
	else
		nulls[i++] = true;
	if (worker_pid != 0)
		values[i++] = Int32GetDatum(worker_pid);
	else
		nulls[i++] = true;
	values[i++] = TimestampTzGetDatum(stats_reset);
	Assert(i == NUM_STATS_COLUMNS);

	row_values = palloc0(Max(tupdesc->natts, 1) * sizeof(Datum));
	row_nulls = palloc(Max(tupdesc->natts, 1) * sizeof(bool));
	for (int att = 0; att < tupdesc->natts; att++)
	{
		const char *name = NameStr(TupleDescAttr(tupdesc, att)->attname);

		row_nulls[att] = true;
		for (int c = 0; c < (int) NUM_STATS_COLUMNS; c++)
		{
			if (strcmp(name, stats_columns[c]) == 0)
			{
				row_values[att] = values[c];
				row_nulls[att] = nulls[c];
				break;
			}
		}
	}
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, row_values, row_nulls)));
}

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
