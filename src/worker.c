/*-------------------------------------------------------------------------
 *
 * worker.c
 *	  The cache_ext background worker (only when preloaded): drains the
 *	  shared delivery queue (retries and asynchronous hand-offs) in
 *	  pipelines of many transactions' effects, probes Redis while it is
 *	  unreachable and publishes when it answers again (the shared health
 *	  state, health.c), performs the fallback invalidation when effects were lost,
 *	  delivers the effects of committed prepared transactions, warns when
 *	  Redis's eviction policy can evict version keys, and for a
 *	  redis+sentinel:// URL asks the sentinels about once a second and
 *	  announces a new primary to every process (poll_sentinels).
 *
 *	  Draining the queue needs no database, so the worker has none: the SQL
 *	  work (fallback invalidation, prepared transactions) is done by a
 *	  short-lived helper worker connected to cache_ext.database, started
 *	  when a fallback is owed and every 30 s for the prepared sweep.  A
 *	  missing database thus never stops the queue from draining.
 *
 *	  The helper runs as the bootstrap superuser: it pins its search_path,
 *	  does nothing in a database where the extension is not installed
 *	  (members.h), runs no SQL text of its own, and runs the fallback hooks
 *	  as their owners (fallback.c).
 *
 *-------------------------------------------------------------------------
 */
#include "prelude.h"

#include <ctype.h>

#include "access/xact.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/proc.h"
#include "storage/shmem.h"
#include "storage/spin.h"
#include "tcop/tcopprot.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "connection.h"
#include "counters.h"
#include "effects.h"
#include "fallback.h"
#include "endpoint.h"
#include "health.h"
#include "members.h"
#include "plan.h"
#include "prepared.h"
#include "protocol.h"
#include "queue.h"
#include "stats.h"
#include "transaction.h"
#include "worker.h"

PGDLLEXPORT void cache_ext_worker_main(Datum main_arg);
PGDLLEXPORT void cache_ext_sql_worker_main(Datum main_arg);

/* Batch buffer: larger than the largest record. */
#define WORKER_BATCH_BYTES	(2 * 1024 * 1024)
#define WORKER_BATCH_RECORDS 10000
#define IDLE_WAKEUP_MS		5000
#define SQL_SWEEP_MS		30000	/* prepared-effects sweep */
#define SERVER_CHECK_MS		5000	/* Redis run_id check */
#define SENTINEL_CHECK_MS	1000	/* the sentinels polled; failovers seen */
#define SENTINEL_POLL_MAX_MS	8000	/* the poll's interval at most */
#define MAX_SQL_BACKOFF_MS	60000
#define WORKER_LINGER_BELOW	256	/* effects: enough for a good pipeline */

/*
 * While Redis does not answer, the worker tries again this often: a
 * refused connection costs it microseconds, a frozen server its own
 * timeout (paid by no committing session).  Short, so that Redis is known
 * to answer again within about this long (the recovery targets: 200 ms
 * after a pause, 1 s after a restart); fixed, because a longer wait
 * protects no one.  The failure is logged once, then every FAILURE_LOG_MS.
 */
#define PROBE_INTERVAL_MS	100
#define FAILURE_LOG_MS		10000

/*
 * While Redis answers "not now" to the head of the queue (OOM under
 * noeviction, BUSY, ...: RedisErrorIsNotNow), the worker waits before
 * sending it again, from NOT_NOW_BACKOFF_MIN_MS doubling up to
 * NOT_NOW_BACKOFF_MAX_MS, and sends at most NOT_NOW_BATCH records: Redis
 * answers, so nothing is gained by asking more often or more at once, and
 * a tight loop would burn the worker's CPU and Redis's.  The cap bounds
 * how late the queue resumes once Redis accepts again.
 */
#define NOT_NOW_BACKOFF_MIN_MS	100
#define NOT_NOW_BACKOFF_MAX_MS	1000
#define NOT_NOW_BATCH		16

typedef enum DrainResult
{
	DRAIN_OK,					/* the queue is empty, or 100 batches sent */
	DRAIN_NOT_NOW,				/* Redis answered "not now" to its head */
	DRAIN_FAILED				/* Redis could not be used */
} DrainResult;

static int	not_now_backoff_ms = 0; /* 0: the last batch was accepted */

/*
 * The most records one batch holds.  A batch is one pipeline, which must be
 * written and answered within cache_ext.command_timeout; over a slow link,
 * or to a slow server, a full one may never make it, and sent again as it
 * was it would time out again, for ever, while the backlog grows.  So a
 * batch that timed out is sent again halved (down to one record), and the
 * limit doubles again after BATCH_GROW_AFTER full batches went through, so
 * that a link that got faster is used fully again.  Its halving is logged
 * at most every FAILURE_LOG_MS.
 */
#define BATCH_GROW_AFTER	8
static int	batch_limit = WORKER_BATCH_RECORDS;
static int	batch_full_runs = 0;	/* full batches through since a change */
static TimestampTz batch_shrink_logged_at = 0;

/*
 * The poll of the sentinels (poll_sentinels): its interval, doubled up to
 * SENTINEL_POLL_MAX_MS while it cannot decide, and the last thing it
 * logged (each is said once).
 */
static int	sentinel_poll_ms = SENTINEL_CHECK_MS;
static char sentinel_poll_said[256] = "";

static uint64 policy_checked_at_connect = 0;
static TimestampTz failure_logged_at = 0;	/* 0: Redis answered since */

/*
 * What the worker remembers across its restarts: the run_id of the Redis
 * server it last saw, under the spinlock.
 */
typedef struct WorkerShared
{
	slock_t		mutex;
	char		redis_run_id[48];
	char		redis_replid[48];	/* master_replid: new at every promotion */
	uint64		failovers_seen;	/* EndpointReadPrimary's count, last seen */
} WorkerShared;

static WorkerShared *worker_shared = NULL;

int			cache_ext_worker_batch_delay = 5;	/* ms */
char	   *cache_ext_database = NULL;

void
WorkerInit(void)
{
	BackgroundWorker worker;

	DefineCustomIntVariable("cache_ext.worker_batch_delay",
							"Least time between two pipelines of the background worker.",
							"A commit after a quiet period is sent at once; the commits within "
							"this delay after a pipeline share the next one, so that under load "
							"the worker and Redis are woken at most once per delay, at the price "
							"of up to this much latency in async delivery.  0 sends at once.",
							&cache_ext_worker_batch_delay,
							5, 0, 1000,
							PGC_SIGHUP,
							GUC_UNIT_MS,
							NULL, NULL, NULL);

	DefineCustomStringVariable("cache_ext.database",
							   "Database the cache_ext background worker connects to.",
							   "Used for the fallback invalidation (cache_ext.namespace_patterns()) "
							   "and to deliver the effects of committed prepared transactions.",
							   &cache_ext_database,
							   "postgres",
							   PGC_SIGHUP,
							   0,
							   NULL, NULL, NULL);

	/* a background worker can only be registered while preloading */
	if (!process_shared_preload_libraries_in_progress)
		return;

	memset(&worker, 0, sizeof(worker));
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
	worker.bgw_restart_time = 5;
	snprintf(worker.bgw_library_name, BGW_MAXLEN, "cache_ext");
	snprintf(worker.bgw_function_name, BGW_MAXLEN, "cache_ext_worker_main");
	snprintf(worker.bgw_name, BGW_MAXLEN, "cache_ext delivery worker");
	snprintf(worker.bgw_type, BGW_MAXLEN, "cache_ext delivery");
	worker.bgw_notify_pid = 0;
	RegisterBackgroundWorker(&worker);
}

Size
WorkerSharedSize(void)
{
	return MAXALIGN(sizeof(WorkerShared));
}

/* Under AddinShmemInitLock (shared.c). */
void
WorkerSharedInit(void)
{
	bool		found;

	worker_shared = ShmemInitStruct("cache_ext worker", sizeof(WorkerShared),
									&found);
	if (!found)
	{
		SpinLockInit(&worker_shared->mutex);
		worker_shared->redis_run_id[0] = '\0';
		worker_shared->redis_replid[0] = '\0';
		worker_shared->failovers_seen = 0;
	}
}

static void
worker_exit(int code, Datum arg)
{
	QueueDetachConsumer();
}

/*
 * Records an identity of the Redis server (run_id, replication id) in the
 * shared slot; true when it differs from a previously recorded one.
 */
static bool
remember_identity(char *slot, size_t slot_size, const char *value)
{
	bool		changed;

	SpinLockAcquire(&worker_shared->mutex);
	changed = slot[0] != '\0' && strcmp(slot, value) != 0;
	strlcpy(slot, value, slot_size);
	SpinLockRelease(&worker_shared->mutex);
	return changed;
}

/*
 * The run_id of the Redis server after connecting.  A different one than
 * before means Redis restarted or failed over: its version keys may be
 * older than what was issued (a snapshot, a stale replica), so a fallback
 * invalidation is owed.
 */
static void
note_redis_run_id(const char *run_id)
{
	if (remember_identity(worker_shared->redis_run_id,
						  sizeof(worker_shared->redis_run_id), run_id))
	{
		FallbackRequest("the Redis server restarted or failed over (its run_id changed), so version keys may have gone back in time");
		ereport(LOG,
				(errmsg("cache_ext: the Redis server at %s restarted or failed over; every namespace will be invalidated",
						EndpointDescription())));
	}
}

/*
 * The replication id of the primary: Redis draws a new one at every
 * promotion (a replica that becomes the primary, a demoted primary promoted
 * back after it resynchronized from another one), even when the server, and
 * so its run_id, stayed the same.  A different one means the data may have
 * gone back in time: fallback owed.
 */
static void
note_redis_replid(const char *replid)
{
	if (remember_identity(worker_shared->redis_replid,
						  sizeof(worker_shared->redis_replid), replid))
	{
		FallbackRequest("the Redis primary changed (a promotion: its master_replid changed), so version keys may have gone back in time");
		ereport(LOG,
				(errmsg("cache_ext: a Redis replica was promoted at %s; every namespace will be invalidated",
						EndpointDescription())));
	}
}

/*
 * A session or the worker found a new primary through Sentinel
 * (endpoint.c counts the changes): the fallback is owed at once, whichever
 * process reconnected first, and whether or not the worker's own
 * connection has noticed yet.
 */
static void
check_failovers_seen(void)
{
	EndpointPrimaryReport report;
	bool		changed;

	EndpointReadPrimary(&report);
	SpinLockAcquire(&worker_shared->mutex);
	changed = report.failovers != worker_shared->failovers_seen;
	worker_shared->failovers_seen = report.failovers;
	SpinLockRelease(&worker_shared->mutex);
	if (changed)
	{
		FallbackRequest("Sentinel failed the Redis primary over, so version keys may have gone back in time");
		ereport(LOG,
				(errmsg("cache_ext: the Redis primary is now %s (Sentinel failover); every namespace will be invalidated",
						report.primary)));
	}
}

/*
 * A planned failover (SENTINEL FAILOVER) leaves the old primary writable
 * until the sentinels demote it at their next INFO to it, some 10 s later:
 * sessions connected to it see no error and would keep writing there.  So
 * the worker asks the sentinels about once a second (RedisPollPrimary, the
 * discovery rule of endpoint.c restricted to a majority's answer confirmed
 * by ROLE) and announces a new primary in shared memory; every process
 * compares that announcement with its own connection before each use and
 * follows it (EndpointPrimaryMoved), and check_failovers_seen owes the
 * fallback.  Only for redis+sentinel:// URLs.
 *
 * What it costs the queue: each poll is bounded by one connect_timeout in
 * all, and the queue is not drained meanwhile.  Answering sentinels cost
 * a connection and a round trip each (a majority of them: two of three);
 * the connection to the primary is kept.  A frozen sentinel costs up to
 * connect_timeout on the poll that asks it, once (later polls ask it after
 * the others, and need it no more while a majority answers); a majority
 * frozen or unreachable costs up to connect_timeout per poll, so the
 * interval then doubles up to SENTINEL_POLL_MAX_MS: async effects wait up
 * to connect_timeout longer, once per interval.  Nobody moves then:
 * sessions find a new primary by themselves when their connection fails,
 * as before.
 */
static void
poll_sentinels(void)
{
	RedisOutcome outcome;
	EndpointPollResult result;

	/*
	 * Sessions still on the old primary and sessions already on the new
	 * one would allocate numbers from two Redis servers at once: every
	 * Redis allocation begun before the announcement allocates again
	 * (counter_marks.c).
	 */
	result = RedisPollPrimary(CounterMarkNewAllocator, &outcome);

	switch (result)
	{
		case ENDPOINT_POLL_SAME:
			sentinel_poll_ms = SENTINEL_CHECK_MS;
			sentinel_poll_said[0] = '\0';
			break;
		case ENDPOINT_POLL_MOVED:
			sentinel_poll_ms = SENTINEL_CHECK_MS;
			sentinel_poll_said[0] = '\0';
			ereport(LOG,
					(errmsg("cache_ext: the sentinels name %s as the Redis primary, confirmed by ROLE; every session follows it",
							EndpointDescription())));
			break;
		case ENDPOINT_POLL_UNDECIDED:
		case ENDPOINT_POLL_REFUSED:
			sentinel_poll_ms = Min(sentinel_poll_ms * 2, SENTINEL_POLL_MAX_MS);
			if (strcmp(sentinel_poll_said, outcome.message) != 0)
			{
				strlcpy(sentinel_poll_said, outcome.message, sizeof(sentinel_poll_said));
				ereport(LOG,
						(errmsg("cache_ext: the sentinels' answer moves no session: %s",
								outcome.message),
						 errdetail("Only an address named by a majority of the sentinels and whose ROLE says master is followed.")));
			}
			break;
	}
}

/* The text after "field:" in an INFO reply, up to the line's end. */
static bool
info_field(const char *info, const char *field, char *out, int outlen)
{
	const char *p = strstr(info, field);
	int			n = 0;

	if (p == NULL)
		return false;
	p += strlen(field);
	while (n < outlen - 1 && isalnum((unsigned char) p[n]))
	{
		out[n] = p[n];
		n++;
	}
	out[n] = '\0';
	return n > 0;
}

/*
 * After every (re)connection: note the server's run_id (a new one means a
 * restart or failover: fallback owed, see note_redis_run_id) and warn when
 * maxmemory-policy is one of the allkeys-* policies, which can evict
 * version keys.
 */
static void
check_redis_server(bool always)
{
	const char *argv1[3] = {"CONFIG", "GET", "maxmemory-policy"};
	size_t		argvlen1[3] = {6, 3, 16};
	const char *argv2[2] = {"INFO", "server"};
	size_t		argvlen2[2] = {4, 6};
	const char *argv3[2] = {"INFO", "replication"};
	size_t		argvlen3[2] = {4, 11};
	const char *argv4[1] = {"ROLE"};
	size_t		argvlen4[1] = {4};
	RedisCommand cmds[4] = {{3, argv1, argvlen1, NULL}, {2, argv2, argvlen2, NULL},
	{2, argv3, argvlen3, NULL}, {1, argv4, argvlen4, NULL}};
	RedisReply	replies[4];
	RedisOutcome outcome;
	bool		reconnected;

	if (!always && RedisConnectCount() == policy_checked_at_connect)
		return;
	if (!RedisExecute(4, cmds, replies, REDIS_EXEC_COPY_STRINGS, &outcome))
		return;

	/*
	 * A server that says it is a replica was demoted while we were
	 * connected (reads still work on it, so nothing else would tell): drop
	 * the connection, the next use finds the primary, and judge nothing by
	 * what this one answered.
	 */
	if (replies[3].type == REDIS_VALUE_ARRAY && replies[3].elements >= 1 &&
		replies[3].element[0].str != NULL &&
		strcmp(replies[3].element[0].str, "master") != 0)
	{
		ereport(LOG,
				(errmsg("cache_ext: Redis at %s is no longer the primary (ROLE says %s); reconnecting",
						EndpointDescription(), replies[3].element[0].str)));
		RedisDropForFailover();
		return;
	}
	if (replies[2].type == REDIS_VALUE_STRING && replies[2].str != NULL)
	{
		char		replid[48];

		if (info_field(replies[2].str, "master_replid:", replid, sizeof(replid)))
			note_redis_replid(replid);
	}
	reconnected = RedisConnectCount() != policy_checked_at_connect;
	policy_checked_at_connect = RedisConnectCount();

	if (replies[1].type == REDIS_VALUE_STRING && replies[1].str != NULL)
	{
		const char *p = strstr(replies[1].str, "run_id:");

		if (p != NULL)
		{
			char		run_id[48];
			int			n = 0;

			p += 7;
			while (n < (int) sizeof(run_id) - 1 && isalnum((unsigned char) p[n]))
			{
				run_id[n] = p[n];
				n++;
			}
			run_id[n] = '\0';
			if (n > 0)
				note_redis_run_id(run_id);
		}
	}

	if (!reconnected)
		return;
	if (replies[0].type == REDIS_VALUE_ARRAY && replies[0].elements == 2 &&
		replies[0].element[1].str != NULL)
	{
		const char *policy = replies[0].element[1].str;

		if (strncmp(policy, "allkeys-", 8) == 0)
			ereport(WARNING,
					(errmsg("cache_ext: Redis at %s uses maxmemory-policy %s, which can evict version keys",
							EndpointDescription(), policy),
					 errdetail("cache_ext re-creates a lost version key from the clock, but every entry of that namespace is invalidated each time it is evicted."),
					 errhint("Use a volatile-* policy (cache entries with a TTL are evicted, version keys without one are kept) or noeviction.")));
		else
			ereport(DEBUG1,
					(errmsg("cache_ext: Redis maxmemory-policy is %s", policy)));
	}
	else if (replies[0].type == REDIS_VALUE_ERROR)
		ereport(LOG,
				(errmsg("cache_ext: could not check Redis's maxmemory-policy: %s",
						outcome.first_error)));
}

static void
do_fallback(void *arg)
{
	FallbackRun((const char *) arg);
}

/*
 * Is the extension installed in this database (members.h)?  A schema
 * called cache_ext alone is not enough: anyone who may create schemas
 * here could have made one, with a look-alike namespace_patterns() or
 * fallback_hooks.  When a fallback is owed, say loudly that it cannot be
 * done here.
 */
static void
check_installed(void *arg)
{
	bool	   *installed = (bool *) arg;

	*installed = OidIsValid(MembersExtension(true, NULL));
	if (!*installed && FallbackNeeded())
		MembersReportMissing(LOG, "run the owed fallback invalidation");
}

static void
do_prepared(void *arg)
{
	int64		n = PreparedDeliver(true);

	if (n > 0)
		ereport(LOG,
				(errmsg("cache_ext: picked up %lld effect(s) of committed prepared transactions",
						(long long) n)));
}

/*
 * Say that Redis could not be used: once, then every FAILURE_LOG_MS while
 * it lasts (the worker retries every PROBE_INTERVAL_MS).
 */
static void
log_failure(const char *what, const char *message)
{
	TimestampTz now = GetCurrentTimestamp();

	if (failure_logged_at != 0 &&
		!TimestampDifferenceExceeds(failure_logged_at, now, FAILURE_LOG_MS))
		return;
	ereport(LOG,
			(errmsg("cache_ext: %s: %s", what, message),
			 errdetail("%llu effect(s) are waiting in the queue.",
					   (unsigned long long) QueueDepth())));
	failure_logged_at = now;
}

/*
 * The probe while Redis is down (health.c): one round trip that a frozen
 * server, a paused one (CLIENT PAUSE ... WRITE included) and one still
 * loading its data do not answer.  PUBLISH to a channel of our own changes
 * nothing and is held by CLIENT PAUSE WRITE like a write; an error reply
 * that is not a "not now" (NOPERM for a restricted user) is an answer.
 */
static bool
probe_redis(bool *unusable)
{
	const char *argv[3] = {"PUBLISH", "cache_ext:probe", ""};
	size_t		argvlen[3] = {7, 15, 0};
	RedisCommand cmd = {3, argv, argvlen, NULL};
	RedisReply	reply;
	RedisOutcome outcome;

	*unusable = false;
	if (!RedisExecute(1, &cmd, &reply, 0, &outcome))
	{
		/* no URL, a bad password file: probing often changes nothing */
		*unusable = outcome.kind == REDIS_FAIL_CONFIG;
		log_failure("Redis does not answer, will probe it again", outcome.message);
		return false;
	}
	/*
	 * Answering but not ready (LOADING, BUSY, MASTERDOWN: the list of
	 * RedisErrorIsNotNow, whose write-only refusals PUBLISH never gets).
	 */
	if (reply.type == REDIS_VALUE_ERROR && reply.not_now)
	{
		log_failure("Redis is not ready, will probe it again", outcome.first_error);
		return false;
	}
	return true;
}

/*
 * When the worker last sent a batch of queued effects to Redis (0: not
 * yet), for linger_for_batch.
 */
static TimestampTz last_batch_sent_at = 0;

/*
 * Fewer effects are queued than make a good pipeline, and a batch delay is
 * set: what is queued waits for the next batch (linger_for_batch).
 */
static bool
queue_is_trickle(void)
{
	return cache_ext_worker_batch_delay > 0 &&
		QueueDepth() < WORKER_LINGER_BELOW;
}

/*
 * Let a trickle of effects become a batch: cache_ext.worker_batch_delay is
 * the least time between two batches while fewer than WORKER_LINGER_BELOW
 * effects are queued.  A commit that comes when the worker has sent
 * nothing for that long goes at once (a lone commit is not delayed at
 * all); the commits that follow within the delay share the next pipeline,
 * sent when the delay since the previous one has passed.  So the worker
 * and Redis are woken at most once per delay, whatever the commit rate,
 * and no effect waits longer than the delay (plus a round trip).
 *
 * The wait lasts until that deadline whatever sets the latch meanwhile:
 * producers set it when they find the queue empty, which under load
 * happens right after each batch is consumed, while the worker is still
 * finishing its round trip.  Returning at the first latch sent a pipeline
 * of a few effects every round trip (about 1,000 per second here, each
 * waking the worker and Redis), the opposite of what the delay is for.  A
 * shutdown request, a reload and the postmaster's death still end the
 * wait (CHECK_FOR_INTERRUPTS, WL_EXIT_ON_PM_DEATH).
 */
static void
linger_for_batch(void)
{
	TimestampTz deadline;

	if (last_batch_sent_at == 0 || QueueDepth() == 0 || !queue_is_trickle())
		return;
	deadline = TimestampTzPlusMilliseconds(last_batch_sent_at,
										   cache_ext_worker_batch_delay);
	/* the wall clock may have gone back: never more than one delay */
	deadline = Min(deadline,
				   TimestampTzPlusMilliseconds(GetCurrentTimestamp(),
											   cache_ext_worker_batch_delay));
	for (;;)
	{
		long		remaining_ms;

		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending)
			return;				/* the delay may have changed: send now */
		remaining_ms = TimestampDifferenceMilliseconds(GetCurrentTimestamp(),
													   deadline);
		if (remaining_ms <= 0)
			return;
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 remaining_ms, PG_WAIT_EXTENSION);
	}
}

/* A batch of n records timed out: the next ones hold at most half as many. */
static void
shrink_batches(int n)
{
	TimestampTz now = GetCurrentTimestamp();

	batch_full_runs = 0;
	if (n <= 1 || n / 2 >= batch_limit)
		return;
	batch_limit = n / 2;
	if (batch_shrink_logged_at != 0 &&
		!TimestampDifferenceExceeds(batch_shrink_logged_at, now, FAILURE_LOG_MS))
		return;
	ereport(LOG,
			(errmsg("cache_ext: a batch of %d queued cache effects did not complete within cache_ext.command_timeout (%d ms); the worker sends at most %d at once until batches go through again",
					n, cache_ext_command_timeout, batch_limit),
			 errhint("If the link to Redis is slow, raise cache_ext.command_timeout.")));
	batch_shrink_logged_at = now;
}

/* A batch of n records went through: grow the limit back after a while. */
static void
grow_batches(int n)
{
	if (batch_limit >= WORKER_BATCH_RECORDS || n < batch_limit)
		return;
	if (++batch_full_runs < BATCH_GROW_AFTER)
		return;
	batch_full_runs = 0;
	batch_limit = Min(batch_limit * 2, WORKER_BATCH_RECORDS);
}

/*
 * Deliver what the queue holds, batch after batch while a backlog remains
 * (WORKER_LINGER_BELOW effects or more; with a batch delay, fewer wait for
 * the next linger_for_batch).  DRAIN_FAILED: Redis
 * could not be used; DRAIN_NOT_NOW: it answered "not now" to the head of
 * the queue (the batch delivered nothing).  The caller backs off in both.
 * A batch delivered in part (a "not now" further on) is progress: the next
 * batch starts at its first record not done.
 */
static DrainResult
drain_queue(char *buf, MemoryContext batchcxt)
{
	int			batches = 0;

	for (;;)
	{
		int			n;
		Size		len = QueuePeek(buf, WORKER_BATCH_BYTES, &n);
		EffectRecord **recs;
		bool	   *done;
		Size		off = 0;
		Size		consumed = 0;
		int			nconsumed = 0;
		int			i;
		char		message[256] = "";
		bool		ok;
		bool		not_now = false;
		bool		timed_out = false;
		MemoryContext old;

		if (len == 0)
			return DRAIN_OK;
		if (n > batch_limit)
			n = batch_limit;
		/* after a "not now": a few records, to see whether Redis accepts */
		if (not_now_backoff_ms > 0 && n > NOT_NOW_BATCH)
			n = NOT_NOW_BATCH;

		old = MemoryContextSwitchTo(batchcxt);
		recs = palloc(n * sizeof(EffectRecord *));
		done = palloc0(n * sizeof(bool));
		for (i = 0; i < n; i++)
		{
			recs[i] = (EffectRecord *) (buf + off);
			off += recs[i]->size;
		}
		last_batch_sent_at = GetCurrentTimestamp();
		ok = PlanDeliver(recs, n, done, &not_now, &timed_out, message,
						 sizeof(message));
		MemoryContextSwitchTo(old);

		/* Remove the delivered prefix; keep pattern progress of the rest. */
		off = 0;
		for (i = 0; i < n; i++)
		{
			if (!done[i])
				break;
			off += recs[i]->size;
		}
		consumed = off;
		nconsumed = i;
		for (; i < n; i++)
		{
			if (recs[i]->cursor != 0)
				QueueSaveCursor(off, recs[i]->cursor);
			off += recs[i]->size;
		}
		QueueConsume(consumed, nconsumed);
		MemoryContextReset(batchcxt);

		if (!ok)
		{
			if (timed_out)
				shrink_batches(n);
			log_failure("could not deliver queued cache effects, will retry", message);
			return DRAIN_FAILED;
		}
		if (not_now && nconsumed == 0)
		{
			log_failure("Redis refuses the queued cache effects for now, will retry", message);
			return DRAIN_NOT_NOW;
		}
		not_now_backoff_ms = 0;
		if (!not_now)
			grow_batches(n);
		if (++batches >= 100)
			return DRAIN_OK;	/* let the main loop look at signals */
		/* what arrived meanwhile waits for a batch (linger_for_batch) */
		if (queue_is_trickle())
			return DRAIN_OK;
		CHECK_FOR_INTERRUPTS();
	}
}

/*
 * The SQL helper: a short-lived dynamic background worker connected to
 * cache_ext.database that runs the fallback invalidation when one is owed
 * and delivers committed rows of cache_ext.prepared_effects, then exits.
 * Kept out of the main worker so that a missing or misnamed database never
 * stops the queue from draining: the helper fails (loudly), the main
 * worker carries on and tries again later.
 */
void
cache_ext_sql_worker_main(Datum main_arg)
{
	bool		installed = false;

	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnection(cache_ext_database, NULL, 0);

	/*
	 * This process is the bootstrap superuser: nothing on the database's
	 * search_path ("$user", public, an ALTER DATABASE SET of its owner) may
	 * take part in what it runs.  (What it runs resolves no name through
	 * the path anyway: see fallback.c and prepared.c.)
	 */
	SetConfigOption("search_path", "pg_catalog, pg_temp", PGC_SUSET, PGC_S_OVERRIDE);

	/* Nothing at all in a database without the extension. */
	if (!RunInTransaction(check_installed, &installed, "cache_ext: looking for the extension") ||
		!installed)
		proc_exit(0);

	if (FallbackNeeded())
	{
		uint64		mark = FallbackMark();
		char		reason[256];

		FallbackReason(reason, sizeof(reason));
		if (RunInTransaction(do_fallback, reason, "cache_ext fallback invalidation"))
			FallbackDone(mark);
	}
	(void) RunInTransaction(do_prepared, NULL, "cache_ext prepared effects");
	proc_exit(0);
}

static bool
launch_sql_worker(BackgroundWorkerHandle **handle)
{
	BackgroundWorker worker;

	memset(&worker, 0, sizeof(worker));
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
	worker.bgw_restart_time = BGW_NEVER_RESTART;
	snprintf(worker.bgw_library_name, BGW_MAXLEN, "cache_ext");
	snprintf(worker.bgw_function_name, BGW_MAXLEN, "cache_ext_sql_worker_main");
	snprintf(worker.bgw_name, BGW_MAXLEN, "cache_ext fallback and prepared effects");
	snprintf(worker.bgw_type, BGW_MAXLEN, "cache_ext sql");
	worker.bgw_notify_pid = MyProcPid;	/* its exit sets our latch */
	return RegisterDynamicBackgroundWorker(&worker, handle);
}

void
cache_ext_worker_main(Datum main_arg)
{
	char	   *buf;
	MemoryContext batchcxt;
	TimestampTz next_attempt = 0;
	TimestampTz next_sql = 0;
	TimestampTz next_server_check = 0;
	TimestampTz next_sentinel_poll = 0;
	int			sql_backoff_ms = 0;
	BackgroundWorkerHandle *sql_worker = NULL;
	bool		sql_for_fallback = false;

	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();

	if (!QueueReady())
		ereport(ERROR,
				(errmsg("cache_ext background worker started without shared memory")));

	/*
	 * No database (shared catalogs only, like the autovacuum launcher): the
	 * worker still appears in pg_stat_activity and answers
	 * pg_terminate_backend().
	 */
	BackgroundWorkerInitializeConnection(NULL, NULL, 0);

	QueueAttachConsumer();
	before_shmem_exit(worker_exit, (Datum) 0);

	buf = MemoryContextAllocHuge(TopMemoryContext, WORKER_BATCH_BYTES);
	batchcxt = AllocSetContextCreate(TopMemoryContext, "cache_ext worker batch",
									 ALLOCSET_DEFAULT_SIZES);

	ereport(LOG,
			(errmsg("cache_ext delivery worker started (%llu effect(s) queued, SQL work in database \"%s\")",
					(unsigned long long) QueueDepth(), cache_ext_database)));
	HealthBecomeProber(PROBE_INTERVAL_MS);

	for (;;)
	{
		TimestampTz now;
		long		timeout_ms = IDLE_WAKEUP_MS;
		bool		ok = true;
		bool		more = false;
		bool		unusable = false;
		DrainResult drained = DRAIN_OK;

		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
			HealthBecomeProber(PROBE_INTERVAL_MS);	/* maybe another server */
		}

		/* The SQL helper finished: did the fallback it was started for? */
		if (sql_worker != NULL)
		{
			pid_t		pid;

			if (GetBackgroundWorkerPid(sql_worker, &pid) == BGWH_STOPPED)
			{
				pfree(sql_worker);
				sql_worker = NULL;
				if (sql_for_fallback && FallbackNeeded())
				{
					sql_backoff_ms = sql_backoff_ms == 0 ? 1000 :
						Min(sql_backoff_ms * 2, MAX_SQL_BACKOFF_MS);
					next_sql = TimestampTzPlusMilliseconds(GetCurrentTimestamp(),
														   sql_backoff_ms);
					ereport(LOG,
							(errmsg("cache_ext: the fallback invalidation did not complete; retrying in %d ms",
									sql_backoff_ms),
							 errhint("Check the log above, and that cache_ext.database (\"%s\") exists and has the extension.",
									 cache_ext_database)));
				}
				else if (sql_for_fallback)
					sql_backoff_ms = 0;
			}
		}

		/* never for a URL without sentinels */
		if (EndpointCurrent()->service != NULL &&
			GetCurrentTimestamp() >= next_sentinel_poll)
		{
			poll_sentinels();
			next_sentinel_poll = TimestampTzPlusMilliseconds(GetCurrentTimestamp(),
															 sentinel_poll_ms);
		}
		check_failovers_seen();
		now = GetCurrentTimestamp();
		if (now >= next_attempt)
		{
			linger_for_batch();

			/*
			 * Redis was reported down (by us, by a session), or not yet
			 * found up: probe it first, so that sessions in their backoff
			 * retry as soon as it answers, before the queue is drained.
			 */
			if (HealthIsDown())
			{
				ok = probe_redis(&unusable);
				if (ok)
					HealthReportUp(GetCurrentTimestamp());
			}
			if (ok)
			{
				drained = drain_queue(buf, batchcxt);
				ok = drained != DRAIN_FAILED;
			}
			more = drained == DRAIN_OK && ok && QueueDepth() > 0;

			if (ok && now >= next_server_check)
			{
				MemoryContext old = MemoryContextSwitchTo(batchcxt);

				check_redis_server(true);
				MemoryContextSwitchTo(old);
				MemoryContextReset(batchcxt);
				next_server_check = TimestampTzPlusMilliseconds(now, SERVER_CHECK_MS);
			}
			else if (ok)
			{
				MemoryContext old = MemoryContextSwitchTo(batchcxt);

				check_redis_server(false);
				MemoryContextSwitchTo(old);
				MemoryContextReset(batchcxt);
			}

			if (drained == DRAIN_NOT_NOW)
			{
				/* Redis answers: no health report, a backoff of our own */
				not_now_backoff_ms = not_now_backoff_ms == 0 ? NOT_NOW_BACKOFF_MIN_MS :
					Min(not_now_backoff_ms * 2, NOT_NOW_BACKOFF_MAX_MS);
				next_attempt = TimestampTzPlusMilliseconds(GetCurrentTimestamp(),
														   not_now_backoff_ms);
			}
			else if (ok)
			{
				if (failure_logged_at != 0)
					ereport(LOG,
							(errmsg("cache_ext: Redis at %s answers again",
									EndpointDescription())));
				failure_logged_at = 0;
				next_attempt = 0;
			}
			else
			{
				HealthReportDown(GetCurrentTimestamp());
				next_attempt = TimestampTzPlusMilliseconds(GetCurrentTimestamp(),
														   unusable ? SERVER_CHECK_MS :
														   PROBE_INTERVAL_MS);
			}
			StatsReconnects();
		}

		/*
		 * SQL work: the fallback as soon as it is owed and Redis answers,
		 * the prepared-transactions sweep every SQL_SWEEP_MS (COMMIT
		 * PREPARED delivers by itself; the sweep is a safety net).
		 */
		now = GetCurrentTimestamp();
		if (sql_worker == NULL && ok && next_attempt == 0 &&
			((FallbackNeeded() && now >= next_sql) ||
			 now >= TimestampTzPlusMilliseconds(next_sql, SQL_SWEEP_MS)))
		{
			sql_for_fallback = FallbackNeeded();
			if (!launch_sql_worker(&sql_worker))
			{
				sql_worker = NULL;
				ereport(LOG,
						(errmsg("cache_ext: could not start the SQL helper worker"),
						 errhint("Raise max_worker_processes.")));
			}
			next_sql = now;
		}

		if (more)
			continue;
		if (next_attempt != 0)
		{
			long		secs;
			int			usecs;

			TimestampDifference(GetCurrentTimestamp(), next_attempt, &secs, &usecs);
			timeout_ms = Max(1, secs * 1000 + usecs / 1000);
		}
		/* a failover a session found is paid within a second; the poll */
		if (EndpointCurrent()->service != NULL)
		{
			long		poll_in_ms;

			timeout_ms = Min(timeout_ms, SENTINEL_CHECK_MS);
			poll_in_ms = TimestampDifferenceMilliseconds(GetCurrentTimestamp(),
														 next_sentinel_poll);
			timeout_ms = Min(timeout_ms, Max(1, poll_in_ms));
		}
		(void) WaitLatch(MyLatch,
						 WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 timeout_ms, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
	}
}
