/*-------------------------------------------------------------------------
 *
 * counters.h
 *	  Shared between the counter SQL functions (counters.c) and the
 *	  assign_number trigger (counters_trigger.c): the Redis side of a
 *	  counter, as one atomic Lua step per operation.
 *
 *-------------------------------------------------------------------------
 */
#ifndef CACHE_EXT_COUNTERS_H
#define CACHE_EXT_COUNTERS_H

#include "connection.h"

/* How a counter step went. */
typedef enum CounterStatus
{
	COUNTER_OK = 0,				/* *value is the counter */
	COUNTER_ABSENT,				/* the key does not exist (counter_get) */
	COUNTER_UNREACHABLE,		/* transport failure: see outcome.message */
	COUNTER_REDIS_ERROR			/* Redis answered with an error reply */
} CounterStatus;

typedef enum CounterOp
{
	COUNTER_OP_NEXT,			/* raise to arg when missing or <= arg, INCR */
	COUNTER_OP_SYNC,			/* raise to arg when missing or lower */
	COUNTER_OP_GET				/* read */
} CounterOp;

/*
 * Run one counter step on the complete (prefixed) Redis key.  A counter
 * that holds something else than a 64-bit integer, or that would overflow,
 * raises an ERROR naming the key whatever the caller is; every other
 * problem is returned, with the details in *outcome and, for an error
 * reply, its text in outcome->first_error.  Never raises for a Redis that is
 * down, so a trigger can fall back to allocating in PostgreSQL.
 */
extern CounterStatus CounterStep(CounterOp op, const char *key, size_t keylen,
								 int64 arg, int64 *value,
								 RedisOutcome *outcome);

/* counters_trigger.c: the relcache callback of the trigger's cache. */
extern void AssignNumberInit(void);

#endif							/* CACHE_EXT_COUNTERS_H */
