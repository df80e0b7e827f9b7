/*-------------------------------------------------------------------------
 *
 * worker.h
 *	  The cache_ext background worker (worker.c): its entry points are
 *	  called by the postmaster only.
 *
 *-------------------------------------------------------------------------
 */
#ifndef CACHE_EXT_WORKER_H
#define CACHE_EXT_WORKER_H

/*
 * Define the worker's settings, and register the background worker when
 * preloading (_PG_init).
 */
extern void WorkerInit(void);

extern int	cache_ext_worker_batch_delay;	/* ms */

/* Its part of the shared memory (shared.c): the last Redis run_id seen. */
extern Size WorkerSharedSize(void);
extern void WorkerSharedInit(void);
extern char *cache_ext_database;

#endif							/* CACHE_EXT_WORKER_H */
