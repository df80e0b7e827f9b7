/*-------------------------------------------------------------------------
 *
 * health.c
 *	  The shared health state of Redis (health.h), in shared memory when
 *	  the library is preloaded; without it every function here answers
 *	  "unknown" or does nothing, and each session goes by its own
 *	  cache_ext.reconnect_interval backoff alone (protocol.c).
 *
 *	  Why.  A process whose connection attempt or round trip failed for want
 *	  of an answer fails fast for cache_ext.reconnect_interval, so that a
 *	  dead or frozen Redis costs each session at most one timeout per
 *	  interval.  On its own clock such a session is blind to a recovery for
 *	  up to the interval, and pays a timeout again each interval while a
 *	  frozen server stays frozen.  Here, the worker is the one prober: while
 *	  Redis is down it probes at a short, bounded interval (a refused
 *	  connection costs it microseconds, a frozen server its own timeout,
 *	  paid by no committing session), and publishes "reachable since T" the
 *	  moment a probe is answered.  Any process whose round trip is answered
 *	  after a failure of its own publishes it too.  A session in its backoff
 *	  asks HealthConsult: retry at once when Redis answered after its
 *	  failure; keep failing fast, even past its interval, while the prober's
 *	  latest failed probe is recent enough to vouch for it; else (no
 *	  worker, a stale state, another endpoint) its own clock decides.
 *
 *	  The state concerns one endpoint: the worker's cache_ext.redis_url,
 *	  recorded by its EndpointIdentity() (for a Sentinel URL, the service
 *	  and its sentinels, whichever server is primary at the moment: the
 *	  description of messages changes during discovery and must not be
 *	  compared).  Reports and questions from a session whose settings name
 *	  another server are ignored and answered "unknown".
 *
 *	  The prober (the worker) leaves its latch here when it becomes the
 *	  prober, and a report of "down" sets it: this file needs nothing of the
 *	  layers above the connection, which it serves (protocol.c consults it).
 *
 *	  Locking: every field is under the spinlock HealthShared.mutex, held
 *	  for a few assignments and comparisons; nothing
 *	  here allocates or raises, so it is called after commit.
 *
 *-------------------------------------------------------------------------
 */
#include "prelude.h"

#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/shmem.h"
#include "storage/spin.h"
#include "utils/timestamp.h"

#include "connection.h"
#include "endpoint.h"
#include "health.h"

typedef struct HealthShared
{
	slock_t		mutex;
	uint64		endpoint;		/* the prober's EndpointIdentity(); 0 before */
	TimestampTz up_since;		/* answered since; 0 while down or unknown */
	TimestampTz probe_failed_at;	/* the prober's latest failed probe */
	int			vouch_ms;		/* how long a failed probe vouches for "down" */
	Latch	   *prober_latch;	/* set to wake the prober; NULL when none */
} HealthShared;

static HealthShared *health = NULL;
static bool is_prober = false;

Size
HealthSharedSize(void)
{
	return MAXALIGN(sizeof(HealthShared));
}

/* Under AddinShmemInitLock (shared.c). */
void
HealthSharedInit(void)
{
	bool		found;

	health = ShmemInitStruct("cache_ext health", sizeof(HealthShared), &found);
	if (!found)
	{
		SpinLockInit(&health->mutex);
		health->endpoint = 0;
		health->up_since = 0;
		health->probe_failed_at = 0;
		health->vouch_ms = 0;
		health->prober_latch = NULL;
	}
}

/* The prober is exiting: nobody is left to wake. */
static void
prober_exit(int code, Datum arg)
{
	SpinLockAcquire(&health->mutex);
	if (health->prober_latch == MyLatch)
		health->prober_latch = NULL;
	SpinLockRelease(&health->mutex);
}

void
HealthBecomeProber(int probe_interval_ms)
{
	if (health == NULL)
		return;
	if (!is_prober)
		before_shmem_exit(prober_exit, (Datum) 0);
	is_prober = true;
	SpinLockAcquire(&health->mutex);
	health->prober_latch = MyLatch;
	if (health->endpoint != EndpointIdentity())
	{
		/* another server: nothing known of it yet */
		health->endpoint = EndpointIdentity();
		health->up_since = 0;
		health->probe_failed_at = 0;
	}

	/*
	 * A probe starts at most probe_interval_ms after the previous one
	 * failed and fails within the connect and command timeouts; a second
	 * of slack for a loaded machine.  Past that, the prober is not probing
	 * (gone, stuck, restarting): sessions go by their own clocks.
	 */
	health->vouch_ms = probe_interval_ms + cache_ext_connect_timeout +
		cache_ext_command_timeout + 1000;
	SpinLockRelease(&health->mutex);
}

bool
HealthIsProber(void)
{
	return is_prober;
}

/* Under the spinlock: do this process's settings name the prober's server? */
static bool
same_endpoint(void)
{
	return health->endpoint != 0 && health->endpoint == EndpointIdentity();
}

void
HealthReportDown(TimestampTz at)
{
	Latch	   *wake = NULL;

	if (health == NULL)
		return;
	SpinLockAcquire(&health->mutex);
	if (same_endpoint())
	{
		/* a failure older than the latest "up" says nothing new */
		if (health->up_since != 0 && at >= health->up_since)
		{
			health->up_since = 0;
			if (!is_prober)
				wake = health->prober_latch;
		}
		if (is_prober)
			health->probe_failed_at = at;
	}
	SpinLockRelease(&health->mutex);

	/* the prober sleeps until told: it probes only while Redis is down */
	if (wake)
		SetLatch(wake);
}

void
HealthReportUp(TimestampTz at)
{
	if (health == NULL)
		return;
	SpinLockAcquire(&health->mutex);
	if (same_endpoint() && health->up_since == 0)
		health->up_since = at;
	SpinLockRelease(&health->mutex);
}

bool
HealthIsDown(void)
{
	bool		down;

	if (health == NULL)
		return false;
	SpinLockAcquire(&health->mutex);
	down = health->up_since == 0;
	SpinLockRelease(&health->mutex);
	return down;
}

HealthVerdict
HealthConsult(TimestampTz failed_at)
{
	HealthVerdict verdict = HEALTH_UNKNOWN;
	TimestampTz now;

	if (health == NULL)
		return HEALTH_UNKNOWN;
	now = GetCurrentTimestamp();
	SpinLockAcquire(&health->mutex);
	if (same_endpoint())
	{
		if (health->up_since != 0 && health->up_since > failed_at)
			verdict = HEALTH_RETRY;
		else if (health->up_since == 0 && health->probe_failed_at != 0 &&
				 !TimestampDifferenceExceeds(health->probe_failed_at, now,
											 health->vouch_ms))
			verdict = HEALTH_DOWN;
	}
	SpinLockRelease(&health->mutex);
	return verdict;
}
