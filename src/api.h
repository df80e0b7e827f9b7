/*-------------------------------------------------------------------------
 *
 * api.h
 *	  The SQL cache API (api.c): its functions are called by SQL only.
 *
 *-------------------------------------------------------------------------
 */
#ifndef CACHE_EXT_API_H
#define CACHE_EXT_API_H

/* Register the Lua scripts of the API (_PG_init). */
extern void ApiInit(void);

#endif							/* CACHE_EXT_API_H */
