/*-------------------------------------------------------------------------
 *
 * plan.h
 *	  Delivery plans (plan.c): the Redis commands that carry out a set of
 *	  effect records.  Used by the commit-time send (delivery.c), the
 *	  background worker and the fallback invalidation.
 *
 *-------------------------------------------------------------------------
 */
#ifndef CACHE_EXT_PLAN_H
#define CACHE_EXT_PLAN_H

#include "effects.h"
#include "protocol.h"

/* Register the scripts of the plans (_PG_init). */
extern void PlanInit(void);

/*
 * Everything needed to send a set of records without allocating: built
 * (palloc) before, executed (no palloc) after commit or by the worker.
 */
#define PLAN_REPAIRS	4

typedef struct DeliveryPlan
{
	int			nrecs;
	EffectRecord **recs;
	bool	   *done;
	bool	   *failed;			/* refused by Redis for good */
	/* coalesced bumps: the record whose commands stand for this one, or -1 */
	int		   *same_as;
	int			ncoalesced;
	bool		has_set;
	char		clock[24];		/* for bumps of missing keys */
	/* simple effects, one pipeline */
	int			ncmds;
	RedisCommand *cmds;
	RedisReply *replies;
	int		   *cmd_rec;		/* record of each command */
	/* patterns: one command each, cursor rewritten in place */
	int			npatterns;
	RedisCommand *pcmds;
	int		   *pattern_rec;
	char	  (*cursors)[24];
	/* SETs: the stamp argument of each record, written at send time */
	char	  (*stamps)[24];
	/*
	 * Bumps whose INCR failed (a poisoned version key): up to
	 * PLAN_REPAIRS repair commands, built with the plan (no palloc after
	 * commit), their key filled in at send time; more wait for a retry.
	 */
	int			nrepairs;		/* commands built: 0 or PLAN_REPAIRS */
	RedisCommand repair_cmds[PLAN_REPAIRS];
	RedisReply	repair_replies[PLAN_REPAIRS];
	int			repair_rec[PLAN_REPAIRS];
} DeliveryPlan;

typedef struct PlanResult
{
	bool		redis_ok;		/* no transport failure */
	bool		timed_out;		/* the failure: command_timeout elapsed */
	int			sent;
	int			failed;			/* permanent error replies */
	int			not_now;		/* "not now" error replies: left to retry */
	int			unfinished;		/* patterns out of budget */
	char		message[256];	/* transport failure */
	char		first_error[128];	/* first error reply */
	int			repaired;		/* version keys re-created from the clock */
	char		repaired_key[128];	/* the first, when a single bump's */
} PlanResult;

/*
 * Build the commands of n records (palloc).  coalesce: bumps of the same
 * key are sent once (the records of many committed transactions).
 */
extern DeliveryPlan *PlanBuild(EffectRecord **recs, int n, bool coalesce);

/*
 * Send a plan; plan->done[] and plan->failed[] tell each record's fate.
 * critical: after commit (REDIS_EXEC_CRITICAL: nothing allocates or
 * raises).  budget_ms bounds the pattern steps in total.
 */
extern void PlanExecute(DeliveryPlan *plan, bool critical, int budget_ms,
						PlanResult *res);

/*
 * Log the version keys a plan re-created from the clock (LOG only: safe
 * after commit).
 */
extern void PlanReportRepairs(const PlanResult *res);

/*
 * Deliver records outside a transaction's commit (the worker): one
 * pipeline for the simple effects, then the patterns, each round trip
 * bounded by cache_ext.command_timeout.  Records not delivered get their
 * status set to false in done[] (pattern cursors are updated in place).
 * Returns false when Redis could not be used; *message explains, and
 * *timed_out says whether that was command_timeout elapsing.  *not_now:
 * Redis answered "not now" (OOM, BUSY, ...: RedisErrorIsNotNow) to some of
 * them, which are left not done; *message says what it answered.
 */
extern bool PlanDeliver(EffectRecord **recs, int n, bool *done, bool *not_now,
						bool *timed_out, char *message, Size msglen);

#endif							/* CACHE_EXT_PLAN_H */
