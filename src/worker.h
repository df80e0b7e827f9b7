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
extern char *cache_ext_database;

#endif							/* CACHE_EXT_WORKER_H */
