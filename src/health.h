/*-------------------------------------------------------------------------
 *
 * health.h
 *	  The shared health state of Redis (health.c): whether the Redis server
 *	  of cache_ext.redis_url answers, as the processes that talk to it last
 *	  found, so that a session in its reconnect backoff learns at once that
 *	  Redis is back, and keeps failing fast while the worker finds it still
 *	  down.
 *
 *-------------------------------------------------------------------------
 */
#ifndef CACHE_EXT_HEALTH_H
#define CACHE_EXT_HEALTH_H

#include "datatype/timestamp.h"

/* Its part of the shared memory (shared.c), when preloading. */
extern Size HealthSharedSize(void);
extern void HealthSharedInit(void);

/*
 * The worker, at its start and after every configuration reload: it is
 * the prober of the endpoint it serves (its cache_ext.redis_url), probing
 * every probe_interval_ms while Redis is down, each probe bounded by its
 * connect and command timeouts.
 */
extern void HealthBecomeProber(int probe_interval_ms);

/* Is this process the prober (it then ignores its own backoff)? */
extern bool HealthIsProber(void);

/*
 * Reports, from any process, about the endpoint of its current settings
 * (ignored unless it is the prober's).  Down: a connection attempt or a
 * round trip failed for want of an answer (refused, lost, timed out); the
 * prober is woken.  Up: a round trip was answered.  Neither allocates nor
 * raises: they are called after commit.
 */
extern void HealthReportDown(TimestampTz at);
extern void HealthReportUp(TimestampTz at);

/* Has Redis been reported down (or not yet found up) since it was last up? */
extern bool HealthIsDown(void);

/*
 * What a process in its reconnect backoff since failed_at should do.
 * Never allocates or raises.
 */
typedef enum HealthVerdict
{
	HEALTH_UNKNOWN,				/* no shared state for this endpoint, or
								 * none fresh: go by your own clock */
	HEALTH_RETRY,				/* Redis answered after failed_at: retry now */
	HEALTH_DOWN					/* the prober found Redis down just now:
								 * keep failing fast */
} HealthVerdict;

extern HealthVerdict HealthConsult(TimestampTz failed_at);

#endif							/* CACHE_EXT_HEALTH_H */
