/*-------------------------------------------------------------------------
 *
 * shared.c
 *	  The shared memory of cache_ext, set up only when the library is
 *	  preloaded: one request and one startup hook (chained to the previous
 *	  ones, as pg_stat_statements does) for every part, each sized and set
 *	  up by the file that owns it, in this order:
 *
 *	  - the statistics (stats.c),
 *	  - the fallback flag (fallback.c),
 *	  - the queue and its consumer (queue.c; the queue's startup may raise
 *		the fallback flag, set up just before it),
 *	  - what the worker remembers across its restarts (worker.c),
 *	  - the health state of Redis (health.c),
 *	  - the Redis primary last connected to and the failovers seen
 *		(endpoint.c),
 *	  - the counter numbers in flight (counter_marks.c).
 *
 *	  Each part is a struct of its own (ShmemInitStruct by name) with its
 *	  own lock; a new part adds its size to the request and its init to the
 *	  startup here.  Without preloading, every part works on a backend-local
 *	  copy, or (the queue) does not exist.
 *
 *-------------------------------------------------------------------------
 */
#include "prelude.h"

#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"

#include "counters.h"
#include "endpoint.h"
#include "fallback.h"
#include "health.h"
#include "queue.h"
#include "shared.h"
#include "stats.h"
#include "worker.h"

static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

/* (ShmemInitStruct rounds each part up to a cache line.) */
static void
shared_request(void)
{
	Size		size = 0;

	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	size = add_size(size, CACHELINEALIGN(StatsSharedSize()));
	size = add_size(size, CACHELINEALIGN(FallbackSharedSize()));
	size = add_size(size, CACHELINEALIGN(QueueSharedSize()));
	size = add_size(size, CACHELINEALIGN(WorkerSharedSize()));
	size = add_size(size, CACHELINEALIGN(HealthSharedSize()));
	size = add_size(size, CACHELINEALIGN(EndpointSharedSize()));
	size = add_size(size, CACHELINEALIGN(CounterMarksSharedSize()));
	RequestAddinShmemSpace(size);
	RequestNamedLWLockTranche("cache_ext", 1);	/* the queue's lock */
}

static void
shared_startup(void)
{
	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();

	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	StatsSharedInit();
	FallbackSharedInit();
	QueueSharedInit();
	WorkerSharedInit();
	HealthSharedInit();
	EndpointSharedInit();
	CounterMarksSharedInit();
	LWLockRelease(AddinShmemInitLock);
}

void
SharedInit(void)
{
	if (!process_shared_preload_libraries_in_progress)
		return;
	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = shared_request;
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = shared_startup;
}
