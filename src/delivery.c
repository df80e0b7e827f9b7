/*-------------------------------------------------------------------------
 *
 * delivery.c
 *	  Getting the effects of committed transactions into Redis (delivery.h):
 *	  the commit-time send, the hand-off to the shared-memory queue used for
 *	  retries and for the asynchronous delivery, the backend-local retry
 *	  list used when the library is not preloaded, and the settings
 *	  cache_ext.delivery and cache_ext.debug_delivery_delay.  The rest of
 *	  delivery has a file each: the records (effects.c), the Redis commands
 *	  of a set of records (plan.c), the queue (queue.c), the statistics
 *	  (stats.c), prepared transactions (prepared.c), the fallback
 *	  invalidation (fallback.c).
 *
 *	  Commit-time send (cache_ext.delivery = sync).  Everything that needs
 *	  memory is built at pre-commit: the plan (plan.c) of the transaction's
 *	  effects, one pipeline for the simple ones and one script command per
 *	  pattern.  After commit, once the locks are released,
 *	  DeliveryAfterCommit sends the pipeline with
 *	  REDIS_EXEC_CRITICAL (no palloc, no ERROR; interrupts are held off by
 *	  CommitTransaction), bounded by cache_ext.command_timeout, and then runs
 *	  the patterns, one SCAN step of COUNT 1000 per round trip, for at most
 *	  cache_ext.command_timeout in total: a pattern not finished by then
 *	  (a very large keyspace) continues in the background worker from the
 *	  cursor reached.  What could not be delivered is copied into the queue
 *	  and the worker retries it; the client gets a WARNING.
 *
 *	  Asynchronous hand-off (cache_ext.delivery = async): the serialized
 *	  effects are copied into the queue under one short LWLock hold, and the
 *	  worker's latch is set if the queue was empty; the worker pipelines the
 *	  effects of many transactions together.
 *
 *	  Order.  Bumps, deletes and raises commute, so a retried effect may
 *	  arrive after a newer one.  SETs do not: a transaction with a SET that
 *	  commits while the queue is not empty queues its effects behind the
 *	  others instead of sending them directly (it loses read-your-writes for
 *	  that commit, which only happens while Redis is or was just in trouble).
 *
 *-------------------------------------------------------------------------
 */
#include "prelude.h"

#include "access/htup_details.h"
#include "access/xlog.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "storage/ipc.h"
#include "utils/acl.h"
#include "utils/timestamp.h"

#include "connection.h"
#include "delivery.h"
#include "effects.h"
#include "endpoint.h"
#include "fallback.h"
#include "keys.h"
#include "plan.h"
#include "protocol.h"
#include "queue.h"
#include "stats.h"

/* ---------------------------------------------------------------- settings */

int			cache_ext_delivery = DELIVERY_SYNC;
int			cache_ext_debug_delivery_delay = 0;	/* ms, tests only */

static const struct config_enum_entry delivery_options[] = {
	{"sync", DELIVERY_SYNC, false},
	{"async", DELIVERY_ASYNC, false},
	{NULL, 0, false}
};

/* Backend-local retry list (no shared memory): at most this many bytes. */
#define LOCAL_QUEUE_MAX		(1024 * 1024)

/* ------------------------------------------- backend-local retry list */

/*
 * Without shared memory, effects that could not be delivered wait here and
 * are retried at this backend's next commits (with a backoff).  Bounded:
 * what does not fit is lost, as is what is still here when the backend
 * exits and Redis is still unreachable; both are WARNINGs telling to run
 * cache_ext.run_fallback().
 */
typedef struct LocalQueue
{
	char	   *buf;
	Size		len;
	int			nrecords;
	TimestampTz next_attempt;
	int			backoff_ms;
} LocalQueue;

static LocalQueue local_queue;
static MemoryContext LocalQueueContext = NULL;

static void
local_queue_backoff(void)
{
	int			base = Max(cache_ext_reconnect_interval, 100);

	local_queue.backoff_ms = local_queue.backoff_ms == 0 ? base :
		Min(local_queue.backoff_ms * 2, 30000);
	local_queue.next_attempt = TimestampTzPlusMilliseconds(GetCurrentTimestamp(),
														   local_queue.backoff_ms);
}

static void local_queue_exit(int code, Datum arg);

/* Records and bytes in the list, and its limit (cache_ext.stats). */
static void
local_queue_usage(uint64 *records, uint64 *bytes, uint64 *capacity)
{
	*records = local_queue.nrecords;
	*bytes = local_queue.len;
	*capacity = LOCAL_QUEUE_MAX;
}

/*
 * Replace the local list by the given records (those of the old list that
 * are still undelivered, then new ones).  After commit: no ERROR, so the
 * allocation is NO_OOM and an overflow is a WARNING.
 */
static void
local_queue_replace(EffectRecord **recs, int n)
{
	Size		total = 0;
	Size		kept = 0;
	int			i;
	int			nkept = 0;
	int			lost = 0;
	char	   *buf = NULL;

	for (i = 0; i < n; i++)
		total += recs[i]->size;
	if (total > 0)
	{
		buf = MemoryContextAllocExtended(LocalQueueContext,
										 Min(total, LOCAL_QUEUE_MAX),
										 MCXT_ALLOC_NO_OOM);
	}
	for (i = 0; i < n; i++)
	{
		if (buf != NULL && kept + recs[i]->size <= LOCAL_QUEUE_MAX)
		{
			memcpy(buf + kept, recs[i], recs[i]->size);
			((EffectRecord *) (buf + kept))->flags |= EFFECT_FLAG_RETRY;
			kept += recs[i]->size;
			nkept++;
		}
		else
			lost++;
	}
	if (local_queue.buf)
		pfree(local_queue.buf);
	local_queue.buf = buf;
	local_queue.len = kept;
	local_queue.nrecords = nkept;
	if (nkept == 0)
		local_queue.backoff_ms = 0;
	if (lost > 0)
	{
		StatsAdd(STAT_DROPPED, lost);
		FallbackRequest("this backend's retry list was full");
		ereport(WARNING,
				(errcode(ERRCODE_CONNECTION_FAILURE),
				 errmsg("cache_ext lost %d cache invalidation(s): the retry list of this backend is full", lost),
				 errdetail("cache_ext is not in shared_preload_libraries, so undelivered invalidations are kept by each backend, up to %d kB.",
						   LOCAL_QUEUE_MAX / 1024),
				 errhint("Once Redis is reachable, run SELECT cache_ext.run_fallback(); to invalidate every namespace, and preload cache_ext to have a background worker retry instead.")));
	}
}

/* PlanDeliver, turning an ERROR (an interrupt) into a failure. */
static void
deliver_records_quietly(EffectRecord **recs, int n, bool *done,
						char *message, Size msglen)
{
	bool		not_now;
	bool		timed_out;

	PG_TRY();
	{
		(void) PlanDeliver(recs, n, done, &not_now, &timed_out, message, msglen);
	}
	PG_CATCH();
	{
		FlushErrorState();
		strlcpy(message, "interrupted", msglen);
	}
	PG_END_TRY();
}

/* Backend exit: one last bounded attempt, then say loudly what is lost. */
static void
local_queue_exit(int code, Datum arg)
{
	EffectRecord **recs;
	int			n;
	bool	   *done;
	char		message[256] = "";
	int			i;
	int			left = 0;

	if (local_queue.nrecords == 0 || QueueReady())
		return;
	n = EffectRecordsSplit(local_queue.buf, local_queue.len, &recs);
	done = palloc0(Max(n, 1) * sizeof(bool));
	deliver_records_quietly(recs, n, done, message, sizeof(message));
	for (i = 0; i < n; i++)
		if (!done[i])
			left++;
	if (left > 0)
		ereport(WARNING,
				(errcode(ERRCODE_CONNECTION_FAILURE),
				 errmsg("cache_ext lost %d undelivered cache invalidation(s) at backend exit: %s",
						left, message),
				 errdetail("cache_ext is not in shared_preload_libraries, so undelivered invalidations live in the backend that made them."),
				 errhint("Once Redis is reachable, run SELECT cache_ext.run_fallback(); to invalidate every namespace.")));
	local_queue.nrecords = 0;
}

/* --------------------------------------------------- the commit protocol */

typedef struct CommitState
{
	bool		active;
	bool		async;
	int			nrecs;			/* local retries first, then the batch */
	int			nlocal;
	EffectRecord **recs;
	DeliveryPlan *plan;
	TimestampTz committed_at;
	XLogRecPtr	commit_lsn;		/* orders the SETs of conflicting transactions */
} CommitState;

static CommitState commit_state;

/*
 * After commit: queue records for the worker, or count them as dropped,
 * raise the fallback flag (the worker, woken, pays it once Redis answers)
 * and say loudly they are lost.
 */
static bool
hand_to_queue(EffectRecord **recs, int n, uint8 flags)
{
	bool		was_empty;

	if (QueuePush(recs, n, flags, &was_empty))
	{
		if (was_empty)
			QueueWakeConsumer();
		return true;
	}
	StatsAdd(STAT_DROPPED, n);
	FallbackRequest("the delivery queue (cache_ext.queue_size) was full");
	QueueWakeConsumer();
	ereport(WARNING,
			(errcode(ERRCODE_INSUFFICIENT_RESOURCES),
			 errmsg("cache_ext dropped %d cache effect(s): the delivery queue is full", n),
			 errdetail("Every namespace will be invalidated once Redis is reachable."),
			 errhint("Raise cache_ext.queue_size, or check why the background worker cannot keep up.")));
	return false;
}

Size
DeliveryTransactionLimit(void)
{
	if (!QueueReady())
		return 0;
	return (Size) cache_ext_queue_size * 1024 / 4;
}

bool
DeliveryWanted(void)
{
	return !QueueReady() && local_queue.nrecords > 0 &&
		GetCurrentTimestamp() >= local_queue.next_attempt;
}

void
DeliveryPreCommit(char *batch, Size batchlen, int nrecords)
{
	EffectRecord **brecs = NULL;
	int			nb = 0;
	int			nl = 0;
	EffectRecord **lrecs = NULL;
	int			i;

	memset(&commit_state, 0, sizeof(commit_state));
	if (batch != NULL)
		nb = EffectRecordsSplit(batch, batchlen, &brecs);
	Assert(nb == nrecords);
	if (!QueueReady() && local_queue.nrecords > 0)
		nl = EffectRecordsSplit(local_queue.buf, local_queue.len, &lrecs);

	commit_state.nrecs = nl + nb;
	commit_state.nlocal = nl;
	commit_state.recs = palloc(Max(nl + nb, 1) * sizeof(EffectRecord *));
	for (i = 0; i < nl; i++)
		commit_state.recs[i] = lrecs[i];
	for (i = 0; i < nb; i++)
		commit_state.recs[nl + i] = brecs[i];

	commit_state.async = cache_ext_delivery == DELIVERY_ASYNC && QueueReady();
	if (!commit_state.async)
		commit_state.plan = PlanBuild(commit_state.recs, commit_state.nrecs,
											   false);
	commit_state.active = true;
}

void
DeliveryCommitted(void)
{
	commit_state.committed_at = GetCurrentTimestamp();
	commit_state.commit_lsn = XactLastCommitEnd;
}

/*
 * After commit, locks released, interrupts held off: send or hand off.
 * No palloc (except the NO_OOM local list), no ERROR.
 */
void
DeliveryAfterCommit(void)
{
	CommitState *cs = &commit_state;
	EffectRecord **batch;
	int			nb;
	PlanResult	res;
	int			i,
				nleft = 0;

	if (!cs->active)
		return;
	cs->active = false;
	batch = cs->recs + cs->nlocal;

	/*
	 * Tests only: stand for a backend descheduled between releasing its
	 * locks and sending, so that a later transaction delivers first.
	 */
	if (cache_ext_debug_delivery_delay > 0)
		pg_usleep(cache_ext_debug_delivery_delay * 1000L);
	nb = cs->nrecs - cs->nlocal;
	for (i = 0; i < nb; i++)
	{
		batch[i]->committed_at = cs->committed_at;
		batch[i]->stamp = cs->commit_lsn;
	}
	StatsAdd(STAT_COMMITTED, nb);

	if (cs->async)
	{
		if (hand_to_queue(batch, nb, 0))
			StatsAdd(STAT_ASYNC, nb);
		return;
	}

	/* A SET must not overtake older queued effects. */
	if (QueueReady() && cs->plan->has_set && QueueDepth() > 0)
	{
		(void) hand_to_queue(batch, nb, 0);
		return;
	}

	PlanExecute(cs->plan, true, cache_ext_command_timeout, &res);
	StatsAdd(STAT_SENT, res.sent);
	StatsAdd(STAT_FAILED, res.failed);
	PlanReportRepairs(&res);

	/* Gather what is left, in order, reusing the records array. */
	for (i = 0; i < cs->nrecs; i++)
		if (!cs->plan->done[i])
			cs->recs[nleft++] = cs->recs[i];

	if (QueueReady())
	{
		if (nleft > 0 && hand_to_queue(cs->recs, nleft, EFFECT_FLAG_RETRY))
			StatsAdd(STAT_RETRY_QUEUED, nleft);
	}
	else if (nleft > 0 || cs->nlocal > 0)
	{
		int			fresh = 0;

		for (i = 0; i < nleft; i++)
			if (!(cs->recs[i]->flags & EFFECT_FLAG_RETRY))
				fresh++;
		StatsAdd(STAT_RETRY_QUEUED, fresh);
		local_queue_replace(cs->recs, nleft);
		if (nleft > 0)
			local_queue_backoff();
	}

	if (!res.redis_ok)
	{
		StatsAdd(STAT_COMMIT_FAILURES, 1);
		StatsRecordError(res.message);
		ereport(WARNING,
				(errcode(ERRCODE_CONNECTION_FAILURE),
				 errmsg("cache_ext could not deliver %d cache invalidation(s) after commit: %s",
						nleft, res.message),
				 errdetail("The transaction is committed; the invalidations will be retried %s.",
						   QueueReady() ? "by the cache_ext background worker" :
						   "at this session's next commits (cache_ext is not preloaded)")));
	}
	else if (res.not_now > 0)
	{
		char		msg[256];

		/*
		 * OOM, BUSY, READONLY, ...: Redis answers but not now; what it
		 * refused is queued like after a timeout, and said the same way
		 * (read-your-writes is lost for this commit).
		 */
		snprintf(msg, sizeof(msg), "Redis answered an error: %s", res.first_error);
		StatsRecordError(msg);
		ereport(WARNING,
				(errcode(ERRCODE_CONNECTION_FAILURE),
				 errmsg("cache_ext could not deliver %d cache invalidation(s) after commit: Redis answered %s",
						nleft, res.first_error),
				 errdetail("The transaction is committed; the invalidations will be retried %s.",
						   QueueReady() ? "by the cache_ext background worker" :
						   "at this session's next commits (cache_ext is not preloaded)")));
	}
	if (res.redis_ok && res.failed > 0)
	{
		char		msg[256];

		snprintf(msg, sizeof(msg), "Redis answered an error: %s", res.first_error);
		StatsRecordError(msg);
		ereport(WARNING,
				(errcode(ERRCODE_CONNECTION_FAILURE),
				 errmsg("cache_ext: Redis refused %d cache effect(s) after commit: %s",
						res.failed, res.first_error),
				 errdetail("The transaction is committed; these effects are not retried."),
				 errhint("Check that the keys named by the invalidation templates hold integers or strings.")));
	}
}

void
DeliveryReset(void)
{
	memset(&commit_state, 0, sizeof(commit_state));
}

/* ------------------------------------------------------------ SQL level */

/*
 * cache_ext.delivery_stats(), the row of the view cache_ext.stats: the
 * statistics (stats.c), the fallback flag (fallback.c), the queue or this
 * backend's retry list, and the delivery mode.
 *
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
	"last_fallback_at", "fallback_reason", "worker_pid", "stats_reset",
	"redis_primary", "failovers", "last_failover_at"
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
	StatsReport st;
	char		fallback_reason[256];
	TimestampTz last_fallback_at;
	pid_t		worker_pid;
	EndpointPrimaryReport primary;
	uint64		depth,
				used,
				capacity;

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	memset(nulls, 0, sizeof(nulls));

	StatsRead(&st);
	FallbackReason(fallback_reason, sizeof(fallback_reason));
	last_fallback_at = FallbackLastRun();
	worker_pid = QueueConsumerPid();

	values[i++] = CStringGetTextDatum(QueueReady() ? "cluster" : "backend");
	values[i++] = CStringGetTextDatum(cache_ext_delivery == DELIVERY_ASYNC ? "async" : "sync");
	values[i++] = Int64GetDatum(st.counters[STAT_COMMITTED]);
	values[i++] = Int64GetDatum(st.counters[STAT_SENT]);
	values[i++] = Int64GetDatum(st.counters[STAT_COALESCED]);
	values[i++] = Int64GetDatum(st.counters[STAT_ASYNC]);
	values[i++] = Int64GetDatum(st.counters[STAT_RETRY_QUEUED]);
	values[i++] = Int64GetDatum(st.counters[STAT_RETRIED]);
	values[i++] = Int64GetDatum(st.counters[STAT_FAILED]);
	values[i++] = Int64GetDatum(st.counters[STAT_DROPPED]);
	values[i++] = Int64GetDatum(st.counters[STAT_FALLBACKS]);
	values[i++] = BoolGetDatum(FallbackNeeded());
	if (QueueReady())
		QueueUsage(&depth, &used, &capacity);
	else
		local_queue_usage(&depth, &used, &capacity);
	values[i++] = Int64GetDatum((int64) depth);
	values[i++] = Int64GetDatum((int64) used);
	values[i++] = Int64GetDatum((int64) capacity);
	values[i++] = Int64GetDatum(st.counters[STAT_RECONNECTS]);
	values[i++] = Int64GetDatum(st.counters[STAT_RECONNECTS_LOST]);
	values[i++] = Int64GetDatum(st.counters[STAT_RECONNECTS_TIMEOUT]);
	values[i++] = Int64GetDatum(st.counters[STAT_RECONNECTS_FAILOVER]);
	values[i++] = Int64GetDatum(st.counters[STAT_RECONNECTS_SETTINGS]);
	values[i++] = Int64GetDatum(st.counters[STAT_COMMIT_FAILURES]);
	values[i++] = Int64GetDatum(st.counters[STAT_PREPARED]);
	values[i++] = Int64GetDatum(st.counters[STAT_PATTERN_STEPS]);
	if (st.last_error[0])
	{
		values[i++] = CStringGetTextDatum(st.last_error);
		values[i++] = TimestampTzGetDatum(st.last_error_at);
	}
	else
	{
		nulls[i++] = true;
		nulls[i++] = true;
	}
	values[i++] = Int64GetDatum((int64) st.latency_samples);
	for (int p = 0; p < 3; p++)
	{
		if (st.latency_samples > 0)
			values[i++] = Float8GetDatum(st.latency_ms[p]);
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
	values[i++] = TimestampTzGetDatum(st.stats_reset);
	EndpointReadPrimary(&primary);
	if (primary.primary[0])
		values[i++] = CStringGetTextDatum(primary.primary);
	else
		nulls[i++] = true;
	values[i++] = Int64GetDatum((int64) primary.failovers);
	if (primary.last_failover_at != 0)
		values[i++] = TimestampTzGetDatum(primary.last_failover_at);
	else
		nulls[i++] = true;
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

/* ------------------------------------------------------------------ init */

void
DeliveryInit(void)
{
	bool		preloaded = process_shared_preload_libraries_in_progress;

	DefineCustomEnumVariable("cache_ext.delivery",
							 "How invalidations reach Redis after commit.",
							 "sync: before COMMIT returns, after the locks are released "
							 "(read-your-writes). async: handed to the background worker, "
							 "COMMIT does not wait (needs shared_preload_libraries; "
							 "otherwise behaves as sync).",
							 &cache_ext_delivery,
							 DELIVERY_SYNC,
							 delivery_options,
							 PGC_USERSET,
							 0,
							 NULL, NULL, NULL);

	DefineCustomIntVariable("cache_ext.debug_delivery_delay",
							"Testing only: sleep this long after commit before delivering.",
							"Lets tests make a transaction deliver after a later one.",
							&cache_ext_debug_delivery_delay,
							0, 0, 10000,
							PGC_SUSET,
							GUC_UNIT_MS | GUC_NOT_IN_SAMPLE,
							NULL, NULL, NULL);

	if (!preloaded)
	{
		/* Set up now what the after-commit path must not create. */
		LocalQueueContext = AllocSetContextCreate(TopMemoryContext,
												  "cache_ext local retry list",
												  ALLOCSET_SMALL_SIZES);
		before_shmem_exit(local_queue_exit, (Datum) 0);
	}
}
