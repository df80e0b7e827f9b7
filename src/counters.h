/*-------------------------------------------------------------------------
 *
 * counters.h
 *	  The counters: the SQL functions (counters.c) and the assign_number
 *	  trigger (counters_trigger.c), which share the Redis side of a
 *	  counter, one atomic Lua step per operation (CounterNext).
 *
 *-------------------------------------------------------------------------
 */
#ifndef CACHE_EXT_COUNTERS_H
#define CACHE_EXT_COUNTERS_H

#include "protocol.h"

/* How a counter step went. */
typedef enum CounterStatus
{
	COUNTER_OK = 0,				/* *value is the counter */
	COUNTER_CLAMPED,			/* the counter was at or above the ceiling:
								 * it was set back to the floor, then
								 * incremented; *value is the counter, *was
								 * what it held */
	COUNTER_ABSENT,				/* the key does not exist (counter_get) */
	COUNTER_UNREACHABLE,		/* transport failure: see outcome.message */
	COUNTER_REDIS_ERROR,		/* Redis answered with an error reply */
	COUNTER_BAD_REPLY			/* an answer the script never gives (a
								 * broken server or a proxy in between): no
								 * number may be taken from it */
} CounterStatus;

typedef enum CounterOp
{
	COUNTER_OP_NEXT,			/* raise to arg when missing or <= arg, INCR */
	COUNTER_OP_SYNC,			/* raise to arg when missing or lower */
	COUNTER_OP_GET				/* read */
} CounterOp;

/*
 * The next number of a counter, on the complete (prefixed) Redis key, for
 * a caller that can use numbers in (floor, ceiling]: one atomic step that
 * raises a counter missing or not above floor to floor, sets a counter at
 * or above ceiling back to floor (COUNTER_CLAMPED, *was = what it held),
 * then increments it.  A counter that holds something else than a 64-bit
 * integer, or that would overflow, raises an ERROR naming the key whatever
 * the caller is; every other problem is returned, with the details in
 * *outcome and, for an error reply, its text in outcome->first_error.
 * Never raises for a Redis that is down, so a trigger can fall back to
 * allocating in PostgreSQL.
 */
extern CounterStatus CounterNext(const char *key, size_t keylen,
								 int64 floor, int64 ceiling,
								 int64 *value, int64 *was,
								 RedisOutcome *outcome);

/*
 * The numbers in flight (counter_marks.c): what the transactions still
 * running took from a counter (complete Redis key), so that a Redis that
 * went back in time never hands it out again.
 *	 CounterMarkInFlight: the largest, PG_INT64_MIN for none (or one at or
 *	   above 'ceiling'); read it BEFORE the floor query's snapshot, and
 *	   pass max(floor, it) as the floor.
 *	 CounterMarkSequence: read first, before CounterMarkInFlight.
 *	 CounterMarkTake: publish a number Redis answered; false when
 *	   PostgreSQL allocated it (or anything) since 'sequence': allocate
 *	   again, from a new CounterMarkSequence, in-flight read and floor.
 *	 CounterMarkReserve: a number allocated in PostgreSQL above the floor
 *	   and every number in flight (above 'ceiling' when none is left: the
 *	   caller reports it out of range).
 *	 CounterMarkRaise: publish an explicit number.
 * None raises an ERROR.
 */
extern int64 CounterMarkInFlight(const char *key, size_t keylen, int64 ceiling);
extern uint64 CounterMarkSequence(void);
extern bool CounterMarkTake(const char *key, size_t keylen, int64 value,
							uint64 sequence);
extern int64 CounterMarkReserve(const char *key, size_t keylen, int64 floor,
								int64 ceiling);
extern void CounterMarkRaise(const char *key, size_t keylen, int64 value);

/*
 * CounterMarkNewAllocator: every Redis allocation that read
 * CounterMarkSequence before this call allocates again (its
 * CounterMarkTake fails).  Called by the worker before it announces a new
 * Redis primary (endpoint.c), while sessions may still be allocating on
 * the old one, still writable: each allocation kept is then either on the
 * new primary with the numbers in flight read after this call, or
 * published before it.
 */
extern void CounterMarkNewAllocator(void);
extern Size CounterMarksSharedSize(void);
extern void CounterMarksSharedInit(void);

/*
 * Inits, called by _PG_init: the script of counters.c, and the relcache
 * callback of the assign_number trigger's per-backend cache
 * (counters_trigger.c).
 */
extern void CountersInit(void);
extern void CountersTriggerInit(void);

#endif							/* CACHE_EXT_COUNTERS_H */
