/*-------------------------------------------------------------------------
 *
 * shared.h
 *	  The shared memory of cache_ext (shared.c), when the library is
 *	  preloaded.
 *
 *-------------------------------------------------------------------------
 */
#ifndef CACHE_EXT_SHARED_H
#define CACHE_EXT_SHARED_H

/* Install the shared memory hooks when preloading (_PG_init). */
extern void SharedInit(void);

#endif							/* CACHE_EXT_SHARED_H */
