/*-------------------------------------------------------------------------
 *
 * delivery.h
 *	  Getting the effects of committed transactions into Redis (effects.h
 *	  has their serialized form): the commit-time send, the backend-local
 *	  retry list used without shared_preload_libraries, prepared
 *	  transactions and the fallback invalidation.  Used by pending.c (the
 *	  per transaction set) and worker.c (the background worker); the
 *	  shared-memory retry/hand-off queue is declared in queue.h, the
 *	  statistics and the fallback flag in stats.h.
 *
 *-------------------------------------------------------------------------
 */
#ifndef CACHE_EXT_DELIVERY_H
#define CACHE_EXT_DELIVERY_H

#include "datatype/timestamp.h"
#include "effects.h"
#include "protocol.h"

/*
 * The settings of delivery, the statistics, the shared memory (when
 * preloaded) or the backend-local retry list (when not) (_PG_init).
 */
extern void DeliveryInit(void);

/* The settings owned by delivery. */
typedef enum DeliveryMode
{
	DELIVERY_SYNC,
	DELIVERY_ASYNC
} DeliveryMode;

extern int	cache_ext_delivery;

/*
 * The commit protocol, driven by pending.c's callbacks:
 *	 DeliveryPreCommit   at XACT_EVENT_PRE_COMMIT, with the serialized
 *						 effects of the transaction (may be none, when only
 *						 the backend-local retry list needs a try): builds
 *						 every command; may palloc and ERROR.
 *	 DeliveryCommitted   at XACT_EVENT_COMMIT: records the time; no palloc.
 *	 DeliveryAfterCommit from the resource-release callback once locks are
 *						 released: sends, or hands off; never ERRORs.
 *	 DeliveryReset		 at the end of every transaction (any outcome).
 * DeliveryWanted tells pending.c whether a transaction without effects of
 * its own still has to go through PreCommit (local retries due).
 */
extern bool DeliveryWanted(void);

/*
 * Bytes of serialized effects one transaction may commit: a quarter of the
 * shared queue; 0 (no limit) without it (pending.h).
 */
extern Size DeliveryTransactionLimit(void);
extern void DeliveryPreCommit(char *batch, Size batchlen, int nrecords);
extern void DeliveryCommitted(void);
extern void DeliveryAfterCommit(void);
extern void DeliveryReset(void);

/*
 * The fallback invalidation (fallback.c): bump/unlink every key of every
 * namespace (cache_ext.namespace_patterns()) and call
 * cache_ext.fallback_hooks.  Needs a transaction; raises an ERROR when
 * Redis cannot be reached.
 */
extern void RunFallbackInvalidation(const char *reason);

/*
 * Deliver records outside a transaction's commit (the worker): one
 * pipeline for the simple effects, then the patterns, each round trip
 * bounded by cache_ext.command_timeout.  Records not delivered get their
 * status set to false in done[] (pattern cursors are updated in place).
 * Returns false when Redis could not be used; *message explains.
 */
extern bool DeliverRecords(EffectRecord **recs, int n, bool *done,
						   char *message, Size msglen);

/*
 * A round trip without transport failure.  (The success value of
 * RedisFailureKind is 0 whatever its name.)
 */
#define OUTCOME_OK(o)	((int) (o).kind == 0)


/* ------------------------------------------------------------------------
 * The rest is shared by the files of delivery (delivery.c, stats.c,
 * prepared.c, fallback.c), not used by pending.c or worker.c.
 * ------------------------------------------------------------------------
 */

/*
 * LocalQueueUsage (delivery.c) reports the backend-local retry list
 * (without shared memory) to cache_ext.stats.
 */
extern void LocalQueueUsage(uint64 *records, uint64 *bytes, uint64 *capacity);

/*
 * Delivery plans (delivery.c; fallback.c runs its patterns with them).
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
	int			sent;
	int			failed;			/* permanent error replies */
	int			unfinished;		/* patterns out of budget */
	char		message[256];	/* transport failure */
	char		first_error[128];	/* first error reply */
	int			repaired;		/* version keys re-created from the clock */
	char		repaired_key[128];	/* the first, when a single bump's */
} PlanResult;

extern DeliveryPlan *DeliveryPlanBuild(EffectRecord **recs, int n,
									   bool coalesce);
extern void DeliveryPlanExecute(DeliveryPlan *plan, bool critical,
								int budget_ms, PlanResult *res);
extern void DeliveryReportRepairs(const PlanResult *res);

#endif							/* CACHE_EXT_DELIVERY_H */
