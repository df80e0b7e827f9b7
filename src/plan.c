/*-------------------------------------------------------------------------
 *
 * plan.c
 *	  Delivery plans (plan.h): the Redis commands that carry out a set of
 *	  effects, built with palloc beforehand and sent without allocating
 *	  (after commit, by the worker, by the fallback invalidation), and the
 *	  Lua scripts behind them.
 *
 *	  A bump is SET key <clock in µs> NX + INCR key, so that a missing
 *	  version key comes back from the clock and never from 1; delete is
 *	  UNLINK; set is a script that keeps a later transaction's value
 *	  (mirror_script); raise is a script; a pattern is one script command
 *	  run once per SCAN step of COUNT 1000, its cursor kept in the record,
 *	  for at most the budget of the call.  Error replies that mean "not
 *	  now" (RedisErrorIsNotNow: OOM, BUSY, READONLY, LOADING, ...) leave an
 *	  effect to be retried, and PlanDeliver tells the worker, which backs
 *	  off; others count it as failed (logged, never retried, so that one
 *	  bad key never blocks the queue); a bump refused because its version
 *	  key cannot be
 *	  increased re-creates the key from the clock (repair_script).
 *
 *-------------------------------------------------------------------------
 */
#include "prelude.h"

#include "utils/timestamp.h"

#include "effects.h"
#include "plan.h"
#include "protocol.h"
#include "stats.h"

/* SCAN COUNT of one pattern step: bounds how long Redis is blocked. */
#define PATTERN_SCAN_COUNT	"1000"

/* ----------------------------------------------------------------- scripts */

/*
 * Lua shared by the scripts of the plans: the integer helpers of
 * protocol.h (cmp, isint, isint64); clock() is the Redis clock in
 * microseconds, as a string (about 1.8e15 today); bump() is the pattern's
 * and the repair's bump of one version key.
 */
#define LUA_HELPERS \
	REDIS_LUA_INTEGERS \
	"local function clock()\n" \
	"  local t = redis.call('TIME')\n" \
	"  return t[1] .. string.format('%06d', tonumber(t[2]))\n" \
	"end\n" \
	"-- max(current + 1, clock): the fallback's bump.  A value that cannot\n" \
	"-- be increased (the 64-bit maximum, or a number beyond it) is\n" \
	"-- re-created from the clock: returns 1 then, 0 otherwise.\n" \
	"local function bump(k)\n" \
	"  local cur = redis.call('GET', k)\n" \
	"  local now = clock()\n" \
	"  if cur and isint(cur) and cmp(cur, now) >= 0 then\n" \
	"    if cmp(cur, '9223372036854775807') < 0 then\n" \
	"      redis.call('INCR', k)\n" \
	"      return 0\n" \
	"    end\n" \
	"    redis.call('SET', k, now)\n" \
	"    return 1\n" \
	"  end\n" \
	"  redis.call('SET', k, now)\n" \
	"  return 0\n" \
	"end\n"

/*
 * Raise an integer to at least ARGV[1] (a canonical decimal integer),
 * exactly over the whole int64 range.
 */
static RedisScript raise_script = {
	"cache_ext raise",
	LUA_HELPERS
	"local cur = redis.call('GET', KEYS[1])\n"
	"if cur then\n"
	"  if not isint(cur) then\n"
	"    return redis.error_reply('ERR cache_ext raise: the value of the key is not an integer')\n"
	"  end\n"
	"  if cmp(cur, ARGV[1]) >= 0 then return 0 end\n"
	"end\n"
	"redis.call('SET', KEYS[1], ARGV[1], 'KEEPTTL')\n"
	"return 1\n",
	""
};

/*
 * A version key whose INCR failed (it holds the 64-bit maximum, or
 * something that is not a number): re-created from the clock, as a missing
 * one is, so that one poisoned key never leaves a bump undelivered.  1 when
 * re-created; 0 when it had become an ordinary version meanwhile (bumped);
 * WRONGTYPE when it is not a string at all (that stays an error).
 */
static RedisScript repair_script = {
	"cache_ext repair version",
	LUA_HELPERS
	"local t = redis.call('TYPE', KEYS[1])['ok']\n"
	"if t ~= 'string' and t ~= 'none' then\n"
	"  return redis.error_reply('WRONGTYPE cache_ext: the version key holds a ' .. t)\n"
	"end\n"
	"local cur = redis.call('GET', KEYS[1])\n"
	"if cur and isint(cur) and cmp(cur, '9223372036854775807') < 0 then\n"
	"  return bump(KEYS[1])\n"
	"end\n"
	"redis.call('SET', KEYS[1], clock())\n"
	"return 1\n",
	""
};

/*
 * A mirror SET (EFFECT_SET), applied only if no later transaction's SET of
 * the same key got there first.  Delivery happens after the row lock is
 * released, so a transaction that waited for that lock can commit and send
 * before the first one's round trip: the stamp, "L" and the commit LSN in
 * 16 hex digits (a later commit of a conflicting transaction has a larger
 * LSN; fixed width, so strings compare like numbers, and never an integer,
 * so pattern bumps leave it alone), is kept next to the key for a minute,
 * far longer than that race can last, then expires.
 * KEYS[1] the key, KEYS[2] its stamp key; ARGV: value, stamp, TTL in ms.
 */
#define MIRROR_STAMP_SUFFIX		":cache_ext_stamp"
#define MIRROR_STAMP_TTL_MS		"60000"
#define MIRROR_STAMP_LEN		17

static RedisScript mirror_script = {
	"cache_ext mirror set",
	"local cur = redis.call('GET', KEYS[2])\n"
	"if cur and cur > ARGV[2] then return 0 end\n"
	"redis.call('SET', KEYS[1], ARGV[1])\n"
	"redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3])\n"
	"return 1\n",
	""
};

/*
 * One SCAN step of a pattern: unlink or bump the keys found (bump: only
 * integers, so that a pattern reaching a cache entry leaves it alone).
 * The reply is the next SCAN cursor (0 when the iteration is complete)
 * times 1024 (PATTERN_REPAIRED_BITS), plus the number of version keys the
 * step re-created from the clock (at most 1023).  Cursors stay below the
 * table size of Redis's keyspace dictionary, far below 2^43 for any real
 * keyspace, so the Lua number (a double, exact to 2^53) is exact.
 */
#define PATTERN_REPAIRED_BITS	10

static RedisScript pattern_script = {
	"cache_ext pattern",
	LUA_HELPERS
	"local r = redis.call('SCAN', ARGV[2], 'MATCH', ARGV[1], 'COUNT', " PATTERN_SCAN_COUNT ")\n"
	"local keys = r[2]\n"
	"local repaired = 0\n"
	"if ARGV[3] == 'delete' then\n"
	"  for i = 1, #keys, 500 do\n"
	"    redis.call('UNLINK', unpack(keys, i, math.min(i + 499, #keys)))\n"
	"  end\n"
	"else\n"
	"  for _, k in ipairs(keys) do\n"
	"    if redis.call('TYPE', k)['ok'] == 'string' and isint(redis.call('GET', k)) then\n"
	"      repaired = repaired + bump(k)\n"
	"    end\n"
	"  end\n"
	"end\n"
	"return tonumber(r[1]) * 1024 + math.min(repaired, 1023)\n",
	""
};

/* ------------------------------------------------------- delivery plans */

static const char *const pattern_modes[] = {"delete", "bump"};
static const size_t pattern_mode_lens[] = {6, 4};

/* qsort comparator: bumps of the same key together, in queue order. */
static int
compare_bumps(const void *a, const void *b, void *arg)
{
	EffectRecord **recs = (EffectRecord **) arg;
	int			ia = *(const int *) a;
	int			ib = *(const int *) b;
	const EffectRecord *ra = recs[ia];
	const EffectRecord *rb = recs[ib];
	int			c;

	if (ra->keylen != rb->keylen)
		return ra->keylen < rb->keylen ? -1 : 1;
	c = memcmp(EffectKey(ra), EffectKey(rb), ra->keylen);
	if (c != 0)
		return c;
	return ia < ib ? -1 : (ia > ib ? 1 : 0);
}

/*
 * Coalesce bumps of the same key: the worker's batches hold the effects of
 * many transactions, all committed and visible by now, and one INCR after
 * all of them invalidates what two would.  Sets plan->same_as[i] to the
 * first record of its key for every later bump of that key (-1 for all
 * other records) and counts them in plan->ncoalesced.
 */
static void
coalesce_bumps(DeliveryPlan *plan)
{
	EffectRecord **recs = plan->recs;
	int		   *idx = palloc(Max(plan->nrecs, 1) * sizeof(int));
	int			nbumps = 0;
	int			i;

	for (i = 0; i < plan->nrecs; i++)
		if (recs[i]->kind == EFFECT_BUMP)
			idx[nbumps++] = i;
	if (nbumps > 1)
		qsort_arg(idx, nbumps, sizeof(int), compare_bumps, recs);
	for (i = 1; i < nbumps; i++)
	{
		const EffectRecord *prev = recs[idx[i - 1]];
		const EffectRecord *cur = recs[idx[i]];

		if (prev->keylen == cur->keylen &&
			memcmp(EffectKey(prev), EffectKey(cur), cur->keylen) == 0)
		{
			int			first = plan->same_as[idx[i - 1]];

			plan->same_as[idx[i]] = first >= 0 ? first : idx[i - 1];
			plan->ncoalesced++;
		}
	}
	pfree(idx);
}

DeliveryPlan *
PlanBuild(EffectRecord **recs, int n, bool coalesce)
{
	DeliveryPlan *plan = palloc0(sizeof(DeliveryPlan));
	int			i;

	plan->nrecs = n;
	plan->recs = recs;
	plan->done = palloc0(Max(n, 1) * sizeof(bool));
	plan->failed = palloc0(Max(n, 1) * sizeof(bool));
	/* a bump is two commands */
	plan->cmds = palloc0(Max(2 * n, 1) * sizeof(RedisCommand));
	plan->replies = palloc0(Max(2 * n, 1) * sizeof(RedisReply));
	plan->cmd_rec = palloc(Max(2 * n, 1) * sizeof(int));
	/* Unix time in microseconds, for version keys that do not exist. */
	snprintf(plan->clock, sizeof(plan->clock), INT64_FORMAT,
			 (int64) GetCurrentTimestamp() +
			 (int64) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * USECS_PER_DAY);
	plan->pcmds = palloc0(Max(n, 1) * sizeof(RedisCommand));
	plan->pattern_rec = palloc(Max(n, 1) * sizeof(int));
	plan->cursors = palloc(Max(n, 1) * sizeof(*plan->cursors));
	plan->stamps = palloc0(Max(n, 1) * sizeof(*plan->stamps));
	plan->same_as = palloc(Max(n, 1) * sizeof(int));
	for (i = 0; i < n; i++)
		plan->same_as[i] = -1;
	if (coalesce)
		coalesce_bumps(plan);

	for (i = 0; i < n; i++)
	{
		EffectRecord *r = recs[i];
		const char *key = EffectKey(r);
		size_t		keylen = r->keylen;
		const char *val = EffectValue(r);
		size_t		vallen = r->vallen;

		if (plan->same_as[i] >= 0)
			continue;			/* sent by the first bump of its key */
		if (EffectIsPattern(r))
		{
			int			p = plan->npatterns++;
			const char *args[3];
			size_t		arglens[3];
			int			mode = r->kind == EFFECT_BUMP_PATTERN ? 1 : 0;
			RedisCommand *cmd = &plan->pcmds[p];

			snprintf(plan->cursors[p], sizeof(plan->cursors[p]), "%020llu",
					 (unsigned long long) r->cursor);
			args[0] = key;
			arglens[0] = keylen;
			args[1] = plan->cursors[p];
			arglens[1] = 20;
			args[2] = pattern_modes[mode];
			arglens[2] = pattern_mode_lens[mode];
			RedisScriptCommand(cmd, &pattern_script, 0, NULL, NULL, 3, args, arglens);
			/* Make sure the cursor argument is our buffer, rewritten later. */
			((const char **) cmd->argv)[cmd->argc - 2] = plan->cursors[p];
			plan->pattern_rec[p] = i;
			continue;
		}

		plan->cmd_rec[plan->ncmds] = i;
		switch ((EffectKind) r->kind)
		{
			case EFFECT_BUMP:
				{
					/*
					 * SET key clock NX, INCR key: two of Redis's cheapest
					 * commands (a Lua script costs several times more
					 * Redis CPU, which the benchmarks showed).
					 */
					RedisCommand *cmd = &plan->cmds[plan->ncmds];
					const char **argv = palloc(6 * sizeof(char *));
					size_t	   *argvlen = palloc(6 * sizeof(size_t));

					argv[0] = "SET";
					argvlen[0] = 3;
					argv[1] = key;
					argvlen[1] = keylen;
					argv[2] = plan->clock;
					argvlen[2] = strlen(plan->clock);
					argv[3] = "NX";
					argvlen[3] = 2;
					cmd->argc = 4;
					cmd->argv = argv;
					cmd->argvlen = argvlen;
					cmd->script = NULL;
					plan->ncmds++;
					plan->cmd_rec[plan->ncmds] = i;
					cmd = &plan->cmds[plan->ncmds];
					argv[4] = "INCR";
					argvlen[4] = 4;
					argv[5] = key;
					argvlen[5] = keylen;
					cmd->argc = 2;
					cmd->argv = argv + 4;
					cmd->argvlen = argvlen + 4;
					cmd->script = NULL;
				}
				break;
			case EFFECT_RAISE:
				RedisScriptCommand(&plan->cmds[plan->ncmds], &raise_script,
								   1, &key, &keylen, 1, &val, &vallen);
				break;
			case EFFECT_DELETE:
				{
					RedisCommand *cmd = &plan->cmds[plan->ncmds];
					const char **argv = palloc(2 * sizeof(char *));
					size_t	   *argvlen = palloc(2 * sizeof(size_t));

					argv[0] = "UNLINK";
					argvlen[0] = 6;
					argv[1] = key;
					argvlen[1] = keylen;
					cmd->argc = 2;
					cmd->argv = argv;
					cmd->argvlen = argvlen;
					cmd->script = NULL;
				}
				break;
			case EFFECT_SET:
				{
					const char *keys[2];
					size_t		keylens[2];
					const char *args[3];
					size_t		arglens[3];
					size_t		suffixlen = strlen(MIRROR_STAMP_SUFFIX);
					char	   *stampkey = palloc(keylen + suffixlen + 1);
					RedisCommand *cmd = &plan->cmds[plan->ncmds];

					memcpy(stampkey, key, keylen);
					memcpy(stampkey + keylen, MIRROR_STAMP_SUFFIX, suffixlen + 1);
					keys[0] = key;
					keylens[0] = keylen;
					keys[1] = stampkey;
					keylens[1] = keylen + suffixlen;
					/* the stamp is known after commit: written at send time */
					args[0] = val;
					arglens[0] = vallen;
					args[1] = plan->stamps[i];
					arglens[1] = MIRROR_STAMP_LEN;
					args[2] = MIRROR_STAMP_TTL_MS;
					arglens[2] = strlen(MIRROR_STAMP_TTL_MS);
					RedisScriptCommand(cmd, &mirror_script, 2, keys, keylens,
									   3, args, arglens);
					plan->has_set = true;
				}
				break;
			default:
				elog(ERROR, "unexpected cache_ext effect kind %d", r->kind);
		}
		plan->ncmds++;
	}

	/* Repairs of poisoned version keys, ready in case a bump fails. */
	for (i = 0; i < n; i++)
	{
		if (recs[i]->kind == EFFECT_BUMP)
		{
			const char *nokey = "";
			size_t		nokeylen = 0;

			for (plan->nrepairs = 0; plan->nrepairs < PLAN_REPAIRS; plan->nrepairs++)
				RedisScriptCommand(&plan->repair_cmds[plan->nrepairs], &repair_script,
								   1, &nokey, &nokeylen, 0, NULL, NULL);
			break;
		}
	}
	return plan;
}

/*
 * Redis could not be used for a round trip of the plan: say so in res.
 * After commit too (no palloc, never raises).
 */
static void
note_transport_failure(PlanResult *res, const RedisOutcome *outcome)
{
	res->redis_ok = false;
	res->timed_out = outcome->kind == REDIS_FAIL_TIMEOUT;
	strlcpy(res->message, outcome->message, sizeof(res->message));
}

/*
 * Bumps refused for good: when the INCR of a version key failed, the key
 * holds something a bump cannot increase (the 64-bit maximum, a value that
 * is not a number): re-create it from the clock (repair_script) instead of
 * leaving the invalidation undelivered.  Up to PLAN_REPAIRS per round trip;
 * the others are left not done, so that they are retried.  After commit
 * too (no palloc: the commands were built with the plan).  False when Redis
 * could not be reached.
 */
static bool
repair_version_keys(DeliveryPlan *plan, int flags, int nerrors, PlanResult *res)
{
	RedisOutcome outcome;
	int			nrep = 0;
	int			nfixed = 0;
	int			i;

	for (i = 0; i < plan->nrecs; i++)
	{
		EffectRecord *r = plan->recs[i];
		RedisCommand *cmd;

		if (!plan->failed[i] || r->kind != EFFECT_BUMP || plan->same_as[i] >= 0)
			continue;
		if (nrep >= plan->nrepairs)
		{
			plan->done[i] = plan->failed[i] = false;	/* next time */
			continue;
		}
		cmd = &plan->repair_cmds[nrep];
		((const char **) cmd->argv)[3] = EffectKey(r);
		((size_t *) cmd->argvlen)[3] = r->keylen;
		plan->repair_rec[nrep++] = i;
	}
	if (nrep == 0)
		return true;
	if (!RedisExecute(nrep, plan->repair_cmds, plan->repair_replies, flags, &outcome))
	{
		for (i = 0; i < nrep; i++)
			plan->done[plan->repair_rec[i]] = plan->failed[plan->repair_rec[i]] = false;
		note_transport_failure(res, &outcome);
		return false;
	}
	for (i = 0; i < nrep; i++)
	{
		int			rec = plan->repair_rec[i];

		if (plan->repair_replies[i].type != REDIS_VALUE_INTEGER)
			continue;			/* WRONGTYPE: stays refused */
		plan->failed[rec] = false;
		nfixed++;
		if (plan->repair_replies[i].integer == 1 && res->repaired++ == 0)
			strlcpy(res->repaired_key, EffectKey(plan->recs[rec]),
					sizeof(res->repaired_key));
	}
	/* every error reply of the pipeline was a repaired bump */
	if (nfixed == nerrors)
		res->first_error[0] = '\0';
	return true;
}

/*
 * Send a plan.  critical: after commit (REDIS_EXEC_CRITICAL; nothing here
 * allocates or raises).  budget_ms bounds the pattern steps in total.
 */
void
PlanExecute(DeliveryPlan *plan, bool critical, int budget_ms, PlanResult *res)
{
	RedisOutcome outcome;
	int			flags = critical ? REDIS_EXEC_CRITICAL : 0;
	TimestampTz start = GetCurrentTimestamp();
	TimestampTz now;
	int			i;

	memset(res, 0, sizeof(*res));
	res->redis_ok = true;

	/* The stamps of SETs: commit LSNs, known only now (see mirror_script). */
	if (plan->has_set)
		for (i = 0; i < plan->nrecs; i++)
			if (plan->recs[i]->kind == EFFECT_SET)
				snprintf(plan->stamps[i], sizeof(plan->stamps[i]), "L%016llX",
						 (unsigned long long) plan->recs[i]->stamp);

	if (plan->ncmds > 0)
	{
		bool		ok = RedisExecute(plan->ncmds, plan->cmds, plan->replies,
									  flags, &outcome);

		StatsReconnects();
		if (!ok)
		{
			note_transport_failure(res, &outcome);
			return;
		}
		now = GetCurrentTimestamp();
		/* A record is done unless one of its commands failed "not now". */
		for (i = 0; i < plan->ncmds; i++)
			plan->done[plan->cmd_rec[i]] = true;
		for (i = 0; i < plan->ncmds; i++)
		{
			int			rec = plan->cmd_rec[i];

			if (plan->replies[i].type != REDIS_VALUE_ERROR)
				continue;
			if (res->first_error[0] == '\0')
				strlcpy(res->first_error, outcome.first_error,
						sizeof(res->first_error));
			if (plan->replies[i].not_now)
			{
				plan->done[rec] = false;	/* retried */
				res->not_now++;
			}
			else
				plan->failed[rec] = true;	/* never retried */
		}
		if (!repair_version_keys(plan, flags, outcome.nerrors, res))
			return;
		/* Coalesced bumps share the fate of the bump that was sent. */
		for (i = 0; i < plan->nrecs; i++)
			if (plan->same_as[i] >= 0)
			{
				plan->done[i] = plan->done[plan->same_as[i]];
				plan->failed[i] = plan->failed[plan->same_as[i]];
			}
		/* Patterns are not done yet here: they are counted below. */
		for (i = 0; i < plan->nrecs; i++)
		{
			EffectRecord *r = plan->recs[i];

			if (!plan->done[i])
				continue;
			if (plan->failed[i])
			{
				res->failed++;
				continue;
			}
			res->sent++;
			StatsLatency(r->committed_at, now);
			if (r->flags & EFFECT_FLAG_RETRY)
				StatsAdd(STAT_RETRIED, 1);
		}
	}

	for (i = 0; i < plan->npatterns; i++)
	{
		EffectRecord *r = plan->recs[plan->pattern_rec[i]];
		RedisReply	reply;

		for (;;)
		{
			if (budget_ms >= 0 &&
				TimestampDifferenceExceeds(start, GetCurrentTimestamp(), budget_ms))
			{
				res->unfinished++;
				break;
			}
			snprintf(plan->cursors[i], sizeof(plan->cursors[i]), "%020llu",
					 (unsigned long long) r->cursor);
			if (!RedisExecute(1, &plan->pcmds[i], &reply, flags, &outcome))
			{
				StatsReconnects();
				note_transport_failure(res, &outcome);
				return;
			}
			StatsAdd(STAT_PATTERN_STEPS, 1);
			if (reply.type != REDIS_VALUE_INTEGER)
			{
				if (res->first_error[0] == '\0')
					strlcpy(res->first_error, outcome.first_error,
							sizeof(res->first_error));
				if (reply.not_now)
					res->not_now++;
				else
				{
					res->failed++;
					plan->done[plan->pattern_rec[i]] = true;
				}
				break;
			}
			r->cursor = (uint64) reply.integer >> PATTERN_REPAIRED_BITS;
			res->repaired += (int) (reply.integer & ((1 << PATTERN_REPAIRED_BITS) - 1));
			if (r->cursor == 0)
			{
				plan->done[plan->pattern_rec[i]] = true;
				res->sent++;
				StatsLatency(r->committed_at, GetCurrentTimestamp());
				if (r->flags & EFFECT_FLAG_RETRY)
					StatsAdd(STAT_RETRIED, 1);
				break;
			}
			if (!critical)
				CHECK_FOR_INTERRUPTS();
		}
	}
}

/*
 * Log the version keys a plan re-created from the clock (repair_version_keys
 * and the pattern script).  LOG only: ereport at that level neither raises
 * nor needs memory beyond ErrorContext's, so this is safe after commit.
 */
void
PlanReportRepairs(const PlanResult *res)
{
	if (res->repaired == 0)
		return;
	if (res->repaired_key[0] != '\0')
		ereport(LOG,
				(errmsg("cache_ext re-created version key \"%s\" from the clock%s",
						res->repaired_key, res->repaired > 1 ? " (and others)" : ""),
				 errdetail("It held something a bump cannot increase: the 64-bit integer maximum, a number beyond it, or text.")));
	else
		ereport(LOG,
				(errmsg("cache_ext re-created %d version key(s) from the clock", res->repaired),
				 errdetail("They held the 64-bit integer maximum, or a number beyond it.")));
}

bool
PlanDeliver(EffectRecord **recs, int n, bool *done, bool *not_now,
			bool *timed_out, char *message, Size msglen)
{
	DeliveryPlan *plan = PlanBuild(recs, n, true);
	PlanResult	res;
	int			i;

	PlanExecute(plan, false, 1000, &res);
	StatsAdd(STAT_SENT, res.sent);
	StatsAdd(STAT_COALESCED, plan->ncoalesced);
	StatsAdd(STAT_FAILED, res.failed);
	for (i = 0; i < n; i++)
		done[i] = plan->done[i];
	PlanReportRepairs(&res);
	if (!res.redis_ok)
	{
		strlcpy(message, res.message, msglen);
		StatsRecordError(res.message);
	}
	else if (res.first_error[0])
	{
		snprintf(message, msglen, "Redis answered an error: %s", res.first_error);
		StatsRecordError(message);
		/* "not now" only: the caller says it, at its own pace */
		if (res.failed > 0)
			ereport(LOG,
					(errmsg("cache_ext: Redis refused %d cache effect(s): %s",
							res.failed, res.first_error)));
	}
	*not_now = res.redis_ok && res.not_now > 0;
	*timed_out = res.timed_out;
	return res.redis_ok;
}

/* Register the scripts (_PG_init). */
void
PlanInit(void)
{
	RedisRegisterScript(&raise_script);
	RedisRegisterScript(&mirror_script);
	RedisRegisterScript(&pattern_script);
	RedisRegisterScript(&repair_script);
}
