/*-------------------------------------------------------------------------
 *
 * counters.c
 *	  Counters that never hand out the same number twice: the SQL functions
 *	  counter_next, counter_sync and counter_get, and the one Lua script
 *	  behind them (also used by the assign_number trigger in
 *	  counters_trigger.c).
 *
 *	  Each operation is a single script run, so it is atomic in Redis with
 *	  respect to every other client, including an application that INCRs the
 *	  same key directly: Redis runs a script and an INCR one after the other,
 *	  never interleaved, so they cannot both see the same value.
 *
 *	  Values travel as decimal strings and are compared as strings inside
 *	  the script: Lua numbers are doubles, and a counter above 2^53 must not
 *	  be rounded.
 *
 *-------------------------------------------------------------------------
 */
#include "prelude.h"

#include "counters.h"
#include "keys.h"
#include "protocol.h"

PG_FUNCTION_INFO_V1(cache_ext_counter_next);
PG_FUNCTION_INFO_V1(cache_ext_counter_sync);
PG_FUNCTION_INFO_V1(cache_ext_counter_get);

/*
 * KEYS[1] = the counter, ARGV[1] = 'next' | 'sync' | 'get', ARGV[2] = the
 * floor (next) or the value (sync), a canonical decimal integer, and for
 * 'next' optionally ARGV[3] = the ceiling: the largest number the caller
 * can use.
 *
 * Returns the counter as a bulk string, nil for a missing key (get), or an
 * array {problem, detail} when the key holds something that is not a 64-bit
 * integer counter, so that the caller can name the key in its own error
 * (an error reply would only carry Redis's wording).  SET ... KEEPTTL keeps
 * whatever expiry the application gave its counter.
 *
 * With a ceiling, a counter already at or above it (raised by another table
 * numbering from the same key, or by a client) could only yield numbers the
 * caller cannot store: it is set back to the floor before the increment,
 * and the reply is {'clamped', the value it held, the new counter}.
 */
static RedisScript counter_script = {
	"cache_ext counter",
	REDIS_LUA_INTEGERS
	"local function lt(a, b) return cmp(a, b) < 0 end\n"
	"local key, op, bound, ceiling = KEYS[1], ARGV[1], ARGV[2], ARGV[3]\n"
	"local kind = redis.call('TYPE', key)['ok']\n"
	"if kind ~= 'none' and kind ~= 'string' then return {'wrongtype', kind} end\n"
	"local cur = redis.call('GET', key)\n"
	"if cur and not isint64(cur) then return {'notint', ''} end\n"
	"if op == 'get' then return cur end\n"
	"if op == 'next' then\n"
	"  local was\n"
	"  if cur and ceiling and not lt(cur, ceiling) then\n"
	"    was = cur\n"
	"    cur = nil\n"
	"  end\n"
	"  if not cur or not lt(bound, cur) then\n"
	"    cur = bound\n"
	"    redis.call('SET', key, cur, 'KEEPTTL')\n"
	"  end\n"
	"  if cur == '9223372036854775807' then return {'overflow', cur} end\n"
	"  redis.call('INCR', key)\n"
	"  if was then return {'clamped', was, redis.call('GET', key)} end\n"
	"  return redis.call('GET', key)\n"
	"end\n"
	"if not cur or lt(cur, bound) then\n"
	"  redis.call('SET', key, bound, 'KEEPTTL')\n"
	"  return bound\n"
	"end\n"
	"return cur\n",
	""
};

/*
 * Parse a canonical decimal int64 as the script returns it.
 */
static bool
parse_counter(const char *s, size_t len, int64 *value)
{
	char		buf[32];
	char	   *end;
	long long	v;

	if (s == NULL || len == 0 || len >= sizeof(buf))
		return false;
	memcpy(buf, s, len);
	buf[len] = '\0';
	errno = 0;
	v = strtoll(buf, &end, 10);
	if (errno != 0 || *end != '\0')
		return false;
	*value = (int64) v;
	return true;
}

/*
 * Raise the error for a counter key whose content is unusable.
 */
static void
report_bad_counter(const RedisReply *reply, const char *key)
{
	const char *problem = "";
	const char *detail = "";

	if (reply->elements >= 1 && reply->element[0].str != NULL)
		problem = reply->element[0].str;
	if (reply->elements >= 2 && reply->element[1].str != NULL)
		detail = reply->element[1].str;

	if (strcmp(problem, "wrongtype") == 0)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("Redis key \"%s\" is not a counter", key),
				 errdetail("It holds a Redis %s, not an integer string.", detail),
				 errhint("Use another key for the counter, or delete this one.")));
	if (strcmp(problem, "notint") == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				 errmsg("Redis key \"%s\" does not hold an integer counter", key),
				 errdetail("Its value is not a 64-bit integer."),
				 errhint("Delete the key or store an integer in it; assign_number primes a missing counter from the table.")));
	if (strcmp(problem, "overflow") == 0)
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("counter \"%s\" is out of range", key),
				 errdetail("Its value %s is the largest bigint; it cannot be incremented.", detail),
				 errhint("Start a new counter under another key.")));
	ereport(ERROR,
			(errcode(ERRCODE_PROTOCOL_VIOLATION),
			 errmsg("unexpected reply \"%s\" from the counter script for key \"%s\"",
					problem, key),
			 errhint("Check what stands between PostgreSQL and Redis (a proxy) and that the server is Redis.")));
}

/*
 * The script call for one counter step; argv palloc'd.  ceiling (a buffer
 * of 32 bytes) is NULL for no ceiling.
 */
static void
build_counter_command(RedisCommand *cmd, CounterOp op, const char **key,
					  size_t *keylen, char *bound, size_t boundsize, int64 arg,
					  char *ceiling, int64 ceiling_value)
{
	const char *args[3];
	size_t		arglens[3];
	int			nargs = 2;

	switch (op)
	{
		case COUNTER_OP_NEXT:
			args[0] = "next";
			break;
		case COUNTER_OP_SYNC:
			args[0] = "sync";
			break;
		case COUNTER_OP_GET:
		default:
			args[0] = "get";
			break;
	}
	arglens[0] = strlen(args[0]);
	snprintf(bound, boundsize, INT64_FORMAT, arg);
	args[1] = bound;
	arglens[1] = strlen(bound);
	if (ceiling != NULL)
	{
		snprintf(ceiling, 32, INT64_FORMAT, ceiling_value);
		args[2] = ceiling;
		arglens[2] = strlen(ceiling);
		nargs = 3;
	}

	RedisScriptCommand(cmd, &counter_script, 1, key, keylen, nargs, args,
					   arglens);
}

/*
 * ERROR for an answer the counter script never gives (a broken or hostile
 * server, a proxy in between): no number is taken from it.
 */
static void
report_unexpected_reply(const char *key, size_t keylen)
{
	ereport(ERROR,
			(errcode(ERRCODE_PROTOCOL_VIOLATION),
			 errmsg("Redis answered the counter step on key \"%s\" with something that is not a counter",
					pnstrdup(key, keylen)),
			 errdetail("The counter script answers with the counter as a decimal string."),
			 errhint("Check what stands between PostgreSQL and Redis (a proxy) and that the server is Redis.")));
}

/*
 * The reply {'clamped', was, counter} of a 'next' with a ceiling?  Fills
 * *was and *value.
 */
static bool
clamped_reply(const RedisReply *reply, int64 *was, int64 *value)
{
	if (reply->elements != 3 || reply->element[0].str == NULL ||
		strcmp(reply->element[0].str, "clamped") != 0)
		return false;
	return parse_counter(reply->element[1].str, reply->element[1].len, was) &&
		parse_counter(reply->element[2].str, reply->element[2].len, value);
}

/*
 * Turn the script's reply into a status and value; ERROR for a key that
 * does not hold a usable counter.  *was is set for COUNTER_CLAMPED only
 * (and may be NULL when the step had no ceiling).
 */
static CounterStatus
interpret_reply(const RedisReply *reply, const char *key, size_t keylen,
				int64 *value, int64 *was)
{
	switch (reply->type)
	{
		case REDIS_VALUE_NIL:
			return COUNTER_ABSENT;
		case REDIS_VALUE_STRING:
			if (!parse_counter(reply->str, reply->len, value))
				return COUNTER_BAD_REPLY;
			return COUNTER_OK;
		case REDIS_VALUE_INTEGER:
		case REDIS_VALUE_STATUS:

			/*
			 * The script answers with a bulk string (exact above 2^53);
			 * anything else is not its answer, and a number taken from it
			 * could repeat one already handed out.
			 */
			return COUNTER_BAD_REPLY;
		case REDIS_VALUE_ARRAY:
			if (was != NULL && clamped_reply(reply, was, value))
				return COUNTER_CLAMPED;
			report_bad_counter(reply, pnstrdup(key, keylen));
			break;
		case REDIS_VALUE_ERROR:
			return COUNTER_REDIS_ERROR;
	}
	return COUNTER_REDIS_ERROR;
}

CounterStatus
CounterNext(const char *key, size_t keylen, int64 floor, int64 ceiling,
			int64 *value, int64 *was, RedisOutcome *outcome)
{
	RedisCommand cmd;
	RedisReply	reply;
	char		bound[32];
	char		ceilbuf[32];

	build_counter_command(&cmd, COUNTER_OP_NEXT, &key, &keylen,
						  bound, sizeof(bound), floor, ceilbuf, ceiling);
	memset(&reply, 0, sizeof(reply));
	if (!RedisExecute(1, &cmd, &reply, REDIS_EXEC_COPY_STRINGS, outcome))
		return COUNTER_UNREACHABLE;
	/* an error reply's text is in outcome->first_error already (protocol.c) */
	return interpret_reply(&reply, key, keylen, value, was);
}

/*
 * The SQL functions' step: Redis failures are reported the way the rest of
 * the cache API reports them (an ERROR, or a WARNING and NULL under
 * cache_ext.ignore_errors).  Returns false for NULL.
 */
static bool counter_step_attempt(CounterOp op, text *keyarg, int64 arg,
								 int64 *value, int attempt);

/*
 * How often counter_next asks Redis again because PostgreSQL numbered the
 * same key meanwhile.  That race only happens while the two allocators
 * overlap (the end of an outage); a bound keeps a pathological case from
 * recursing without end.
 */
#define COUNTER_MARK_MAX_ATTEMPTS 64

static bool
counter_step_or_error(CounterOp op, text *keyarg, int64 arg, int64 *value)
{
	return counter_step_attempt(op, keyarg, arg, value, 1);
}

static bool
counter_step_attempt(CounterOp op, text *keyarg, int64 arg, int64 *value,
					 int attempt)
{
	RedisCommand cmd;
	RedisReply	reply;
	char		bound[32];
	size_t		keylen;
	const char *key = KeyWithPrefixText(keyarg, &keylen);
	uint64		sequence = 0;

	/*
	 * next: above every number handed out from the key by this cluster
	 * (counter_marks.c), so that a Redis that went back in time never
	 * repeats one.
	 */
	if (op == COUNTER_OP_NEXT)
	{
		sequence = CounterMarkSequence();
		arg = Max(arg, CounterMarkInFlight(key, keylen, PG_INT64_MAX));
	}
	build_counter_command(&cmd, op, &key, &keylen, bound, sizeof(bound), arg,
						  NULL, 0);
	memset(&reply, 0, sizeof(reply));
	if (!RedisPipelineOrError(1, &cmd, &reply))
		return false;
	switch (interpret_reply(&reply, key, keylen, value, NULL))
	{
		case COUNTER_OK:
			if (op == COUNTER_OP_NEXT)
			{
				if (*value <= arg)
					ereport(ERROR,
							(errcode(ERRCODE_PROTOCOL_VIOLATION),
							 errmsg("Redis answered counter_next on key \"%s\" with %lld, not above the floor %lld",
									pnstrdup(key, keylen), (long long) *value, (long long) arg),
							 errhint("Check what stands between PostgreSQL and Redis (a proxy) and that the server is Redis.")));
				/* PostgreSQL allocated it meanwhile: ask again, above */
				if (!CounterMarkTake(key, keylen, *value, sequence))
				{
					if (attempt >= COUNTER_MARK_MAX_ATTEMPTS)
						ereport(ERROR,
								(errcode(ERRCODE_LOCK_NOT_AVAILABLE),
								 errmsg("counter_next on key \"%s\" raced with PostgreSQL's numbering %d times",
										pnstrdup(key, keylen), attempt),
								 errhint("Retry the transaction; numbering by assign_number and counter_next on the same key at once is settling after a Redis outage.")));
					CHECK_FOR_INTERRUPTS();
					return counter_step_attempt(op, keyarg, arg, value,
												attempt + 1);
				}
			}
			return true;
		case COUNTER_REDIS_ERROR:
			RedisReportErrorReply(&reply,
								  psprintf("the counter step on key \"%s\"",
										   pnstrdup(key, keylen)));
			break;
		case COUNTER_ABSENT:
			/* only 'get' answers nil: a missing counter */
			if (op != COUNTER_OP_GET)
				report_unexpected_reply(key, keylen);
			break;
		case COUNTER_BAD_REPLY:
			report_unexpected_reply(key, keylen);
			break;
		default:
			break;
	}
	return false;
}

static text *
counter_key_arg(FunctionCallInfo fcinfo)
{
	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("counter key must not be null"),
				 errhint("Pass the counter's key, such as 'invoice_seq:2024'.")));
	return PG_GETARG_TEXT_PP(0);
}

static int64
counter_int8_arg(FunctionCallInfo fcinfo, int argno, const char *name)
{
	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("counter %s must not be null", name),
				 errhint("Pass an integer; counter_next's floor is 0 when omitted.")));
	return PG_GETARG_INT64(argno);
}

/*
 * counter_next(key, floor) -> the counter after one atomic "raise to floor
 * if missing or not above it, then increment": always > floor.
 */
Datum
cache_ext_counter_next(PG_FUNCTION_ARGS)
{
	text	   *keyarg = counter_key_arg(fcinfo);
	int64		floor = counter_int8_arg(fcinfo, 1, "floor");
	int64		value = 0;

	if (floor == PG_INT64_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("counter floor must be less than %lld",
						(long long) PG_INT64_MAX),
				 errdetail("The result of counter_next is always greater than its floor.")));

	if (!counter_step_or_error(COUNTER_OP_NEXT, keyarg, floor, &value))
		PG_RETURN_NULL();
	/* the script only answers above the floor: anything else is no answer */
	if (value <= floor)
		ereport(ERROR,
				(errcode(ERRCODE_PROTOCOL_VIOLATION),
				 errmsg("Redis answered counter_next on key \"%s\" with %lld, not above the floor %lld",
						text_to_cstring(keyarg), (long long) value, (long long) floor),
				 errhint("Check what stands between PostgreSQL and Redis (a proxy) and that the server is Redis.")));
	PG_RETURN_INT64(value);
}

/*
 * counter_sync(key, value) -> the counter after raising it to value when it
 * was lower or missing.
 */
Datum
cache_ext_counter_sync(PG_FUNCTION_ARGS)
{
	text	   *keyarg = counter_key_arg(fcinfo);
	int64		target = counter_int8_arg(fcinfo, 1, "value");
	int64		value = 0;

	if (!counter_step_or_error(COUNTER_OP_SYNC, keyarg, target, &value))
		PG_RETURN_NULL();
	/* the script never leaves the counter below the value */
	if (value < target)
		ereport(ERROR,
				(errcode(ERRCODE_PROTOCOL_VIOLATION),
				 errmsg("Redis answered counter_sync on key \"%s\" with %lld, below the value %lld",
						text_to_cstring(keyarg), (long long) value, (long long) target),
				 errhint("Check what stands between PostgreSQL and Redis (a proxy) and that the server is Redis.")));
	PG_RETURN_INT64(value);
}

/*
 * counter_get(key) -> the counter, NULL when the key does not exist.
 */
Datum
cache_ext_counter_get(PG_FUNCTION_ARGS)
{
	text	   *keyarg = counter_key_arg(fcinfo);
	int64		value = 0;

	if (!counter_step_or_error(COUNTER_OP_GET, keyarg, 0, &value))
		PG_RETURN_NULL();
	PG_RETURN_INT64(value);
}

/* Register the counter script (_PG_init). */
void
CountersInit(void)
{
	RedisRegisterScript(&counter_script);
}
