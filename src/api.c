/*-------------------------------------------------------------------------
 *
 * api.c
 *	  The SQL cache API: what the application does with its cache today,
 *	  callable from SQL.  get/set/add/incr/delete/delete_many/ttl, token
 *	  locks, stream cursors, and a superuser-only raw command.
 *
 *	  Each function is one round trip through the connection layer.  Keys
 *	  are prefixed with cache_ext.key_prefix: set per role by a superuser
 *	  (the setting is PGC_SUSET), it is what keeps tenants sharing a Redis
 *	  apart, so every key argument goes through KeyWithPrefix and no
 *	  function here takes a pattern.
 *
 *	  Locks: the key of a lock holds the SHA-256 digest of its token, never
 *	  the token, so a role that can read the key (get() with the same
 *	  prefix) still cannot release someone else's lock.  With cache_ext.ignore_errors, an
 *	  unreachable Redis makes a function return NULL (false for the
 *	  booleans, nothing for the void ones) after a WARNING; error replies
 *	  always raise.
 *
 *-------------------------------------------------------------------------
 */
#include "prelude.h"

#include "catalog/pg_type.h"
#include "common/hashfn.h"
#include "common/sha2.h"
#include "mb/pg_wchar.h"
#include "port/pg_bswap.h"
#include "utils/array.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"

#include "api.h"
#include "keys.h"
#include "protocol.h"

/* Redis refuses bulk strings above proto-max-bulk-len, 512 MB by default. */
#define MAX_VALUE_LEN	(512 * 1024 * 1024)

/* Bytes of randomness in a lock token (hex-encoded: twice as many chars). */
#define LOCK_TOKEN_BYTES 16

/*
 * Compare-and-delete: only the holder of the token releases the lock.
 * ARGV[1] is the digest of the token (lock_digest).
 */
static RedisScript lock_release_script = {
	"lock_release",
	"if redis.call('GET', KEYS[1]) == ARGV[1] then "
	"return redis.call('DEL', KEYS[1]) else return 0 end",
	""
};

/*
 * Advance a stream cursor and store the event that advanced it, in one
 * atomic step: readers never see a cursor without its event.
 */
static RedisScript cursor_bump_script = {
	"cursor_bump",
	"local cursor = redis.call('INCR', KEYS[1]) "
	"if #ARGV > 0 then redis.call('SET', KEYS[2], ARGV[1]) end "
	"return cursor",
	""
};

PG_FUNCTION_INFO_V1(cache_ext_ping);
PG_FUNCTION_INFO_V1(cache_ext_get);
PG_FUNCTION_INFO_V1(cache_ext_get_bytea);
PG_FUNCTION_INFO_V1(cache_ext_set);
PG_FUNCTION_INFO_V1(cache_ext_set_bytea);
PG_FUNCTION_INFO_V1(cache_ext_add);
PG_FUNCTION_INFO_V1(cache_ext_incr);
PG_FUNCTION_INFO_V1(cache_ext_delete);
PG_FUNCTION_INFO_V1(cache_ext_delete_many);
PG_FUNCTION_INFO_V1(cache_ext_ttl);
PG_FUNCTION_INFO_V1(cache_ext_lock_acquire);
PG_FUNCTION_INFO_V1(cache_ext_lock_release);
PG_FUNCTION_INFO_V1(cache_ext_cursor_bump);
PG_FUNCTION_INFO_V1(cache_ext_cursor_get);
PG_FUNCTION_INFO_V1(cache_ext_cursor_last_event);
PG_FUNCTION_INFO_V1(cache_ext_cursor_reset);
PG_FUNCTION_INFO_V1(cache_ext_command);

void
ApiInit(void)
{
	RedisRegisterScript(&lock_release_script);
	RedisRegisterScript(&cursor_bump_script);
}

/*
 * Argument helpers
 */

/* The prefixed key from argument argno, which must not be NULL. */
static char *
key_argument(FunctionCallInfo fcinfo, int argno, const char *argname,
			 size_t *keylen)
{
	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s must not be null", argname)));
	return KeyWithPrefixText(PG_GETARG_TEXT_PP(argno), keylen);
}

/*
 * The TTL from argument argno: NULL means no expiry (-1 returned); zero or
 * negative is refused, since Redis would either refuse it or delete the key.
 */
static int
ttl_argument(FunctionCallInfo fcinfo, int argno, bool required)
{
	int32		ttl;

	if (PG_ARGISNULL(argno))
	{
		if (required)
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("ttl_seconds must not be null"),
					 errhint("A lock needs an expiry so that a crashed holder cannot keep it forever.")));
		return -1;
	}
	ttl = PG_GETARG_INT32(argno);
	if (ttl <= 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("ttl_seconds must be positive, not %d", ttl),
				 errhint("Pass NULL for no expiry, or use cache_ext.delete() to remove a key now.")));
	return ttl;
}

static void
check_value_size(size_t len)
{
	if (len > MAX_VALUE_LEN)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("cache value is too large"),
				 errdetail("The value is %zu bytes; Redis accepts at most %d bytes.",
						   len, MAX_VALUE_LEN),
				 errhint("Store large objects elsewhere and cache a reference to them.")));
}

/* Run one command; false when Redis is unreachable and errors are ignored. */
static bool
run_command(int argc, const char **argv, const size_t *argvlen,
			RedisReply *reply, const char *what)
{
	if (!RedisCommandOrError(argc, argv, argvlen, reply))
		return false;
	if (reply->type == REDIS_VALUE_ERROR)
		RedisReportErrorReply(reply, what);
	return true;
}

static bool
run_script(RedisScript *script, int nkeys, const char **keys,
		   const size_t *keylens, int nargs, const char **args,
		   const size_t *arglens, RedisReply *reply, const char *what)
{
	RedisCommand cmd;

	RedisScriptCommand(&cmd, script, nkeys, keys, keylens, nargs, args, arglens);
	if (!RedisPipelineOrError(1, &cmd, reply))
		return false;
	if (reply->type == REDIS_VALUE_ERROR)
		RedisReportErrorReply(reply, what);
	return true;
}

/* An integer reply, or an ERROR naming the key. */
static int64
integer_reply(const RedisReply *reply, const char *key)
{
	if (reply->type == REDIS_VALUE_INTEGER)
		return reply->integer;
	ereport(ERROR,
			(errcode(ERRCODE_EXTERNAL_ROUTINE_EXCEPTION),
			 errmsg("unexpected reply from Redis for key \"%s\"", key),
			 errdetail("An integer reply was expected.")));
	return 0;					/* keep compiler quiet */
}

/* Parse a string reply holding an integer (GET of a counter). */
static int64
integer_from_string(const RedisReply *reply, const char *key)
{
	int64		value;
	char	   *end;

	errno = 0;
	value = strtoi64(reply->str, &end, 10);
	if (reply->len == 0 || *end != '\0' || errno != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				 errmsg("Redis key \"%s\" does not hold an integer", key),
				 errdetail("It holds \"%.40s\".", reply->str),
				 errhint("Delete or reset the key if it was written by something else.")));
	return value;
}

/*
 * The hex SHA-256 digest of a lock token, what the lock's key holds.
 */
static void
lock_digest(const char *token, size_t len, char *out)
{
	bytea	   *data = palloc(VARHDRSZ + len);
	bytea	   *digest;
	int			i;

	SET_VARSIZE(data, VARHDRSZ + len);
	memcpy(VARDATA(data), token, len);
	digest = DatumGetByteaPP(DirectFunctionCall1(sha256_bytea, PointerGetDatum(data)));
	Assert(VARSIZE_ANY_EXHDR(digest) == PG_SHA256_DIGEST_LENGTH);
	for (i = 0; i < PG_SHA256_DIGEST_LENGTH; i++)
		snprintf(out + 2 * i, 3, "%02x", (unsigned char) VARDATA_ANY(digest)[i]);
}

/*
 * SQL functions
 */

Datum
cache_ext_ping(PG_FUNCTION_ARGS)
{
	const char *argv[] = {"PING"};
	size_t		argvlen[] = {4};
	RedisReply	reply;

	if (!run_command(1, argv, argvlen, &reply, "PING"))
		PG_RETURN_NULL();
	PG_RETURN_TEXT_P(cstring_to_text_with_len(reply.str, reply.len));
}

/*
 * GET key.  Returns false when Redis was unreachable and errors are ignored;
 * otherwise the caller looks at reply->type (NIL when the key is absent).
 */
static bool
get_key(const char *key, size_t keylen, RedisReply *reply)
{
	const char *argv[2] = {"GET", key};
	size_t		argvlen[2] = {3, keylen};

	return run_command(2, argv, argvlen, reply, "GET");
}

/* GET of the key argument; true when a value was found. */
static bool
get_value(FunctionCallInfo fcinfo, RedisReply *reply, char **key)
{
	size_t		keylen;

	*key = key_argument(fcinfo, 0, "key", &keylen);
	return get_key(*key, keylen, reply) && reply->type == REDIS_VALUE_STRING;
}

Datum
cache_ext_get(PG_FUNCTION_ARGS)
{
	RedisReply	reply;
	char	   *key;

	if (!get_value(fcinfo, &reply, &key))
		PG_RETURN_NULL();

	/* text must be valid in the database encoding and hold no NUL byte */
	if (!pg_verifymbstr(reply.str, reply.len, true))
		ereport(ERROR,
				(errcode(ERRCODE_CHARACTER_NOT_IN_REPERTOIRE),
				 errmsg("value of Redis key \"%s\" is not valid %s text", key,
						GetDatabaseEncodingName()),
				 errhint("Values written as bytes (for example pickled by django-redis) "
						 "can be read with cache_ext.get_bytea().")));
	PG_RETURN_TEXT_P(cstring_to_text_with_len(reply.str, reply.len));
}

Datum
cache_ext_get_bytea(PG_FUNCTION_ARGS)
{
	RedisReply	reply;
	char	   *key;
	bytea	   *result;

	if (!get_value(fcinfo, &reply, &key))
		PG_RETURN_NULL();
	result = palloc(VARHDRSZ + reply.len);
	SET_VARSIZE(result, VARHDRSZ + reply.len);
	memcpy(VARDATA(result), reply.str, reply.len);
	PG_RETURN_BYTEA_P(result);
}

/*
 * SET key value [EX ttl] [NX].  Returns true when the value was stored
 * (always, without NX).
 */
static bool
store_value(FunctionCallInfo fcinfo, bool only_if_absent, bool *stored)
{
	size_t		keylen;
	char	   *key = key_argument(fcinfo, 0, "key", &keylen);
	bytea	   *value;
	int			ttl;
	char		ttlbuf[16];
	const char *argv[6];
	size_t		argvlen[6];
	int			argc = 0;
	RedisReply	reply;

	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("value must not be null"),
				 errhint("Use cache_ext.delete() to remove a key.")));
	/* text and bytea share their representation */
	value = PG_GETARG_BYTEA_PP(1);
	check_value_size(VARSIZE_ANY_EXHDR(value));
	ttl = ttl_argument(fcinfo, 2, false);

	argv[argc] = "SET";
	argvlen[argc++] = 3;
	argv[argc] = key;
	argvlen[argc++] = keylen;
	argv[argc] = VARDATA_ANY(value);
	argvlen[argc++] = VARSIZE_ANY_EXHDR(value);
	if (ttl > 0)
	{
		snprintf(ttlbuf, sizeof(ttlbuf), "%d", ttl);
		argv[argc] = "EX";
		argvlen[argc++] = 2;
		argv[argc] = ttlbuf;
		argvlen[argc++] = strlen(ttlbuf);
	}
	if (only_if_absent)
	{
		argv[argc] = "NX";
		argvlen[argc++] = 2;
	}
	if (!run_command(argc, argv, argvlen, &reply, "SET"))
		return false;
	*stored = reply.type == REDIS_VALUE_STATUS;
	return true;
}

Datum
cache_ext_set(PG_FUNCTION_ARGS)
{
	bool		stored;

	store_value(fcinfo, false, &stored);
	PG_RETURN_VOID();
}

Datum
cache_ext_set_bytea(PG_FUNCTION_ARGS)
{
	bool		stored;

	store_value(fcinfo, false, &stored);
	PG_RETURN_VOID();
}

Datum
cache_ext_add(PG_FUNCTION_ARGS)
{
	bool		stored = false;

	store_value(fcinfo, true, &stored);
	PG_RETURN_BOOL(stored);
}

Datum
cache_ext_incr(PG_FUNCTION_ARGS)
{
	size_t		keylen;
	char	   *key = key_argument(fcinfo, 0, "key", &keylen);
	int64		delta;
	char		deltabuf[32];
	const char *argv[3];
	size_t		argvlen[3];
	RedisReply	reply;

	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("delta must not be null")));
	delta = PG_GETARG_INT64(1);
	snprintf(deltabuf, sizeof(deltabuf), INT64_FORMAT, delta);

	argv[0] = "INCRBY";
	argvlen[0] = 6;
	argv[1] = key;
	argvlen[1] = keylen;
	argv[2] = deltabuf;
	argvlen[2] = strlen(deltabuf);
	if (!run_command(3, argv, argvlen, &reply, "INCRBY"))
		PG_RETURN_NULL();
	PG_RETURN_INT64(integer_reply(&reply, key));
}

Datum
cache_ext_delete(PG_FUNCTION_ARGS)
{
	size_t		keylen;
	char	   *key = key_argument(fcinfo, 0, "key", &keylen);
	const char *argv[2] = {"UNLINK", key};
	size_t		argvlen[2] = {6, keylen};
	RedisReply	reply;

	if (!run_command(2, argv, argvlen, &reply, "UNLINK"))
		PG_RETURN_BOOL(false);
	PG_RETURN_BOOL(integer_reply(&reply, key) > 0);
}

/*
 * UNLINK every key of the array in one command (one round trip).
 */
Datum
cache_ext_delete_many(PG_FUNCTION_ARGS)
{
	ArrayType  *keys;
	Datum	   *elements;
	bool	   *nulls;
	int			nelements;
	const char **argv;
	size_t	   *argvlen;
	RedisReply	reply;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("keys must not be null")));
	keys = PG_GETARG_ARRAYTYPE_P(0);
	if (ARR_NDIM(keys) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("keys must be a one-dimensional array")));
	deconstruct_array(keys, TEXTOID, -1, false, TYPALIGN_INT,
					  &elements, &nulls, &nelements);
	if (nelements == 0)
		PG_RETURN_INT64(0);

	argv = palloc(sizeof(char *) * (nelements + 1));
	argvlen = palloc(sizeof(size_t) * (nelements + 1));
	argv[0] = "UNLINK";
	argvlen[0] = 6;
	for (int i = 0; i < nelements; i++)
	{
		if (nulls[i])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("keys must not contain null (element %d is null)", i + 1)));
		argv[i + 1] = KeyWithPrefixText(DatumGetTextPP(elements[i]),
										&argvlen[i + 1]);
	}
	if (!run_command(nelements + 1, argv, argvlen, &reply, "UNLINK"))
		PG_RETURN_NULL();
	PG_RETURN_INT64(integer_reply(&reply, "(many)"));
}

/*
 * Seconds left before the key expires; -1 when it never expires; NULL when
 * it does not exist.
 */
Datum
cache_ext_ttl(PG_FUNCTION_ARGS)
{
	size_t		keylen;
	char	   *key = key_argument(fcinfo, 0, "key", &keylen);
	const char *argv[2] = {"TTL", key};
	size_t		argvlen[2] = {3, keylen};
	RedisReply	reply;
	int64		ttl;

	if (!run_command(2, argv, argvlen, &reply, "TTL"))
		PG_RETURN_NULL();
	ttl = integer_reply(&reply, key);
	if (ttl == -2)
		PG_RETURN_NULL();
	PG_RETURN_INT32((int32) Min(ttl, PG_INT32_MAX));
}

/*
 * Locks
 */

Datum
cache_ext_lock_acquire(PG_FUNCTION_ARGS)
{
	size_t		keylen;
	char	   *key = key_argument(fcinfo, 0, "name", &keylen);
	int			ttl = ttl_argument(fcinfo, 1, true);
	uint8		random_bytes[LOCK_TOKEN_BYTES];
	char		token[LOCK_TOKEN_BYTES * 2 + 1];
	char		digest[PG_SHA256_DIGEST_STRING_LENGTH];
	char		ttlbuf[16];
	const char *argv[6];
	size_t		argvlen[6];
	RedisReply	reply;

	if (!pg_strong_random(random_bytes, sizeof(random_bytes)))
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not generate a random lock token")));
	for (int i = 0; i < LOCK_TOKEN_BYTES; i++)
		snprintf(token + 2 * i, 3, "%02x", random_bytes[i]);
	snprintf(ttlbuf, sizeof(ttlbuf), "%d", ttl);
	lock_digest(token, LOCK_TOKEN_BYTES * 2, digest);

	argv[0] = "SET";
	argvlen[0] = 3;
	argv[1] = key;
	argvlen[1] = keylen;
	argv[2] = digest;
	argvlen[2] = PG_SHA256_DIGEST_LENGTH * 2;
	argv[3] = "NX";
	argvlen[3] = 2;
	argv[4] = "EX";
	argvlen[4] = 2;
	argv[5] = ttlbuf;
	argvlen[5] = strlen(ttlbuf);
	if (!run_command(6, argv, argvlen, &reply, "SET NX"))
		PG_RETURN_NULL();
	if (reply.type != REDIS_VALUE_STATUS)
		PG_RETURN_NULL();		/* held by someone else */
	PG_RETURN_TEXT_P(cstring_to_text(token));
}

Datum
cache_ext_lock_release(PG_FUNCTION_ARGS)
{
	size_t		keylen;
	char	   *key = key_argument(fcinfo, 0, "name", &keylen);
	text	   *token;
	char		digest[PG_SHA256_DIGEST_STRING_LENGTH];
	const char *args[1];
	size_t		arglens[1];
	RedisReply	reply;

	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("token must not be null"),
				 errhint("Pass the token lock_acquire() returned.")));
	token = PG_GETARG_TEXT_PP(1);
	lock_digest(VARDATA_ANY(token), VARSIZE_ANY_EXHDR(token), digest);
	args[0] = digest;
	arglens[0] = PG_SHA256_DIGEST_LENGTH * 2;
	if (!run_script(&lock_release_script, 1, (const char **) &key, &keylen,
					1, args, arglens, &reply, "the lock release"))
		PG_RETURN_BOOL(false);
	PG_RETURN_BOOL(integer_reply(&reply, key) == 1);
}

/*
 * Stream cursors: {stream}:stream:cursor and {stream}:stream:last_event.
 */
static void
cursor_keys(FunctionCallInfo fcinfo, char **keys, size_t *keylens)
{
	text	   *stream;
	char	   *name;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("stream must not be null")));
	stream = PG_GETARG_TEXT_PP(0);
	if (VARSIZE_ANY_EXHDR(stream) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("stream must not be empty"),
				 errhint("Pass a stream name such as 'calendar_reminders'.")));
	name = text_to_cstring(stream);
	keys[0] = psprintf("%s:stream:cursor", name);
	keys[1] = psprintf("%s:stream:last_event", name);
	keys[0] = KeyWithPrefix(keys[0], strlen(keys[0]), &keylens[0]);
	keys[1] = KeyWithPrefix(keys[1], strlen(keys[1]), &keylens[1]);
}

Datum
cache_ext_cursor_bump(PG_FUNCTION_ARGS)
{
	char	   *keys[2];
	size_t		keylens[2];
	const char *args[1];
	size_t		arglens[1];
	int			nargs = 0;
	RedisReply	reply;

	cursor_keys(fcinfo, keys, keylens);
	if (!PG_ARGISNULL(1))
	{
		args[0] = DatumGetCString(DirectFunctionCall1(jsonb_out,
													  PG_GETARG_DATUM(1)));
		arglens[0] = strlen(args[0]);
		check_value_size(arglens[0]);
		nargs = 1;
	}
	if (!run_script(&cursor_bump_script, 2, (const char **) keys, keylens,
					nargs, args, arglens, &reply, "the cursor bump"))
		PG_RETURN_NULL();
	PG_RETURN_INT64(integer_reply(&reply, keys[0]));
}

Datum
cache_ext_cursor_get(PG_FUNCTION_ARGS)
{
	char	   *keys[2];
	size_t		keylens[2];
	RedisReply	reply;

	cursor_keys(fcinfo, keys, keylens);
	if (!get_key(keys[0], keylens[0], &reply))
		PG_RETURN_NULL();
	if (reply.type != REDIS_VALUE_STRING)
		PG_RETURN_INT64(0);
	PG_RETURN_INT64(integer_from_string(&reply, keys[0]));
}

Datum
cache_ext_cursor_last_event(PG_FUNCTION_ARGS)
{
	char	   *keys[2];
	size_t		keylens[2];
	RedisReply	reply;

	cursor_keys(fcinfo, keys, keylens);
	if (!get_key(keys[1], keylens[1], &reply) ||
		reply.type != REDIS_VALUE_STRING)
		PG_RETURN_NULL();
	if (!pg_verifymbstr(reply.str, reply.len, true))
		ereport(ERROR,
				(errcode(ERRCODE_CHARACTER_NOT_IN_REPERTOIRE),
				 errmsg("last event of stream key \"%s\" is not valid text", keys[1])));
	PG_RETURN_DATUM(DirectFunctionCall1(jsonb_in, CStringGetDatum(reply.str)));
}

Datum
cache_ext_cursor_reset(PG_FUNCTION_ARGS)
{
	char	   *keys[2];
	size_t		keylens[2];
	const char *argv[3];
	size_t		argvlen[3];
	RedisReply	reply;

	cursor_keys(fcinfo, keys, keylens);
	argv[0] = "UNLINK";
	argvlen[0] = 6;
	argv[1] = keys[0];
	argvlen[1] = keylens[0];
	argv[2] = keys[1];
	argvlen[2] = keylens[1];
	run_command(3, argv, argvlen, &reply, "UNLINK");
	PG_RETURN_VOID();
}

/*
 * Raw command, for superusers: troubleshooting and tests.  Keys are passed
 * as they are (no prefix).  The reply is rendered as text: strings and
 * status replies as they are, integers in decimal, nil as NULL, arrays as a
 * JSON array of those.
 */
static void
render_reply(StringInfo out, const RedisReply *reply, bool nested)
{
	switch (reply->type)
	{
		case REDIS_VALUE_NIL:
			appendStringInfoString(out, nested ? "null" : "");
			break;
		case REDIS_VALUE_INTEGER:
			appendStringInfo(out, "%lld", reply->integer);
			break;
		case REDIS_VALUE_ARRAY:
			appendStringInfoChar(out, '[');
			for (size_t i = 0; i < reply->elements; i++)
			{
				if (i > 0)
					appendStringInfoString(out, ", ");
				render_reply(out, &reply->element[i], true);
			}
			appendStringInfoChar(out, ']');
			break;
		default:
			if (nested)
				escape_json(out, reply->str);
			else
				appendBinaryStringInfo(out, reply->str, reply->len);
			break;
	}
}

Datum
cache_ext_command(PG_FUNCTION_ARGS)
{
	ArrayType  *args;
	Datum	   *elements;
	bool	   *nulls;
	int			nelements;
	const char **argv;
	size_t	   *argvlen;
	RedisReply	reply;
	StringInfoData out;

	if (!superuser())
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied for cache_ext.command"),
				 errdetail("Raw Redis commands are reserved to superusers.")));
	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("command must not be null")));
	args = PG_GETARG_ARRAYTYPE_P(0);
	deconstruct_array(args, TEXTOID, -1, false, TYPALIGN_INT,
					  &elements, &nulls, &nelements);
	if (nelements == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("command must not be empty"),
				 errhint("Pass the command and its arguments, as in cache_ext.command('GET', 'key').")));
	argv = palloc(sizeof(char *) * nelements);
	argvlen = palloc(sizeof(size_t) * nelements);
	for (int i = 0; i < nelements; i++)
	{
		text	   *arg;

		if (nulls[i])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("command arguments must not be null (argument %d is null)", i + 1)));
		arg = DatumGetTextPP(elements[i]);
		argv[i] = VARDATA_ANY(arg);
		argvlen[i] = VARSIZE_ANY_EXHDR(arg);
	}
	if (!RedisCommandOrError(nelements, argv, argvlen, &reply))
		PG_RETURN_NULL();
	if (reply.type == REDIS_VALUE_ERROR)
		ereport(ERROR,
				(errcode(ERRCODE_EXTERNAL_ROUTINE_EXCEPTION),
				 errmsg("Redis error: %s", reply.str)));
	if (reply.type == REDIS_VALUE_NIL)
		PG_RETURN_NULL();
	initStringInfo(&out);
	render_reply(&out, &reply, false);
	PG_RETURN_TEXT_P(cstring_to_text_with_len(out.data, out.len));
}
