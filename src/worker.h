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

/* Register the background worker, when preloading (_PG_init). */
extern void WorkerInit(void);

#endif							/* CACHE_EXT_WORKER_H */
