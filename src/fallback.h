/*-------------------------------------------------------------------------
 *
 * fallback.h
 *	  The fallback invalidation (fallback.c): the flag that says one is
 *	  owed because cache effects were lost, and the run that pays it.
 *
 *-------------------------------------------------------------------------
 */
#ifndef CACHE_EXT_FALLBACK_H
#define CACHE_EXT_FALLBACK_H

#include "datatype/timestamp.h"

/* Use the backend-local flag, until FallbackSharedInit (_PG_init). */
extern void FallbackInit(void);

/* Its part of the shared memory (shared.c). */
extern Size FallbackSharedSize(void);
extern void FallbackSharedInit(void);

/*
 * The flag: a fallback invalidation is owed (effects were lost, 'why').
 * FallbackRequest never raises or allocates (after commit too); whoever
 * can, wakes the worker to pay it (a full queue does).  A run notes
 * FallbackMark before it starts and FallbackDone with that mark once it
 * succeeded.
 */
extern void FallbackRequest(const char *why);
extern bool FallbackNeeded(void);
extern uint64 FallbackMark(void);
extern void FallbackDone(uint64 mark);
extern void FallbackReason(char *buf, Size len);	/* of the latest request */
extern TimestampTz FallbackLastRun(void);	/* 0 when none completed */

/*
 * Run it: bump/unlink every key of every namespace
 * (cache_ext.namespace_patterns()) and call cache_ext.fallback_hooks.
 * Needs a transaction; raises an ERROR when Redis cannot be reached.
 */
extern void FallbackRun(const char *reason);

#endif							/* CACHE_EXT_FALLBACK_H */
