/*-------------------------------------------------------------------------
 *
 * protocol.h
 *	  The only door to Redis (protocol.c, the connection's third layer; see
 *	  connection.h for the layers).  One connection per process, opened
 *	  lazily, reused across transactions, re-opened after a failure with a
 *	  backoff.  Commands are argv arrays (binary safe) sent as one pipeline;
 *	  every wait is bounded by cache_ext.connect_timeout /
 *	  cache_ext.command_timeout and can be cancelled (query cancel,
 *	  statement_timeout, termination).
 *
 *	  Replies are copied out of hiredis into RedisReply structs before the
 *	  hiredis objects are freed, so no hiredis allocation ever outlives a
 *	  call and nothing leaks when an ERROR unwinds the stack.
 *
 *-------------------------------------------------------------------------
 */
#ifndef CACHE_EXT_PROTOCOL_H
#define CACHE_EXT_PROTOCOL_H

#include "connection.h"
#include "endpoint.h"

typedef enum RedisReplyType
{
	REDIS_VALUE_NIL = 0,
	REDIS_VALUE_STRING,
	REDIS_VALUE_STATUS,			/* +OK and friends */
	REDIS_VALUE_INTEGER,
	REDIS_VALUE_ARRAY,
	REDIS_VALUE_ERROR			/* -ERR ..., -WRONGTYPE ..., -NOSCRIPT ... */
} RedisReplyType;

typedef struct RedisReply
{
	RedisReplyType type;
	long long	integer;		/* REDIS_VALUE_INTEGER */
	char	   *str;			/* STRING/STATUS/ERROR: palloc'd, NUL
								 * terminated; NULL when not copied */
	size_t		len;
	bool		not_now;		/* ERROR: a "not now" (RedisErrorIsNotNow) */
	size_t		elements;		/* REDIS_VALUE_ARRAY */
	struct RedisReply *element; /* palloc'd array of elements */
} RedisReply;

/* A Lua script, loaded once per process and run by EVALSHA. */
typedef struct RedisScript
{
	const char *name;			/* for messages */
	const char *body;			/* Lua source */
	char		sha[41];		/* filled by the connection; "" when unknown */
} RedisScript;

/*
 * One command: argv[0] is the command name.  Commands built by
 * RedisScriptCommand carry their script, so that the connection can fill in
 * the SHA and fall back to EVAL; set script to NULL for plain commands.
 */
typedef struct RedisCommand
{
	int			argc;
	const char **argv;
	const size_t *argvlen;
	RedisScript *script;
} RedisCommand;

/*
 * Define cache_ext.ignore_errors and take hiredis's default reply
 * functions, wrapped later with our caps (_PG_init).
 */
extern void ProtocolInit(void);

/* An unreachable Redis: a WARNING and NULL in the SQL cache API. */
extern bool cache_ext_ignore_errors;

/* Flags for RedisExecute */
#define REDIS_EXEC_COPY_STRINGS	0x01	/* palloc copies of string payloads */
#define REDIS_EXEC_CRITICAL		0x02	/* called where palloc and ERROR are
										 * forbidden (after commit): never
										 * allocate from PostgreSQL memory */

/*
 * Send ncmds commands in one pipeline and read their replies.
 *
 * replies: caller-provided array of ncmds RedisReply, or NULL to discard the
 * replies (the outcome still counts error replies).  Without
 * REDIS_EXEC_COPY_STRINGS nothing is palloc'd: type and integer are filled,
 * str stays NULL.  With it, strings and nested arrays are palloc'd in
 * CurrentMemoryContext.
 *
 * Never raises an ERROR itself (with REDIS_EXEC_CRITICAL and without
 * REDIS_EXEC_COPY_STRINGS it may be used after commit, with interrupts held
 * off); a pending query cancel or termination is honoured while waiting,
 * after the connection has been cleaned up, by the usual
 * CHECK_FOR_INTERRUPTS() ERROR.  Returns true when every reply was read
 * (error replies included; see outcome->nerrors): outcome->kind is then
 * REDIS_SUCCESS, and any other kind comes with false.
 */
extern bool RedisExecute(int ncmds, const RedisCommand *cmds,
						 RedisReply *replies, int flags,
						 RedisOutcome *outcome);

/*
 * Lua helpers for scripts that handle integers kept as decimal text (Lua
 * numbers are doubles, and a counter above 2^53 must not be rounded), put
 * at the start of a script's body:
 *	 isint(s)	a canonical decimal integer of at most 20 characters: any
 *				64-bit integer, and the numbers just beyond, which a bump
 *				re-creates from the clock;
 *	 cmp(a, b)	-1, 0 or 1, exact for any two canonical integers;
 *	 isint64(s)	isint(s) within the 64-bit range (a counter).
 */
#define REDIS_LUA_INTEGERS \
	"local function cmp(a, b)\n" \
	"  local na, nb = a:sub(1, 1) == '-', b:sub(1, 1) == '-'\n" \
	"  if na ~= nb then if na then return -1 else return 1 end end\n" \
	"  local r\n" \
	"  if #a ~= #b then if #a < #b then r = -1 else r = 1 end\n" \
	"  elseif a == b then return 0\n" \
	"  elseif a < b then r = -1 else r = 1 end\n" \
	"  if na then r = -r end\n" \
	"  return r\n" \
	"end\n" \
	"local function isint(s)\n" \
	"  return #s <= 20 and (s == '0' or string.match(s, '^-?[1-9]%d*$') ~= nil)\n" \
	"end\n" \
	"local function isint64(s)\n" \
	"  return isint(s) and cmp(s, '-9223372036854775808') >= 0 and\n" \
	"    cmp(s, '9223372036854775807') <= 0\n" \
	"end\n"

/*
 * Build a command running a registered script by EVALSHA:
 * EVALSHA sha nkeys key... arg...; argv arrays palloc'd.  When Redis answers
 * NOSCRIPT (SCRIPT FLUSH, failover), RedisExecute re-runs that command with
 * EVAL and the script body, transparently.
 */
extern void RedisScriptCommand(RedisCommand *cmd, RedisScript *script,
							   int nkeys, const char **keys, const size_t *keylens,
							   int nargs, const char **args, const size_t *arglens);

/*
 * Register a script at _PG_init time (static storage).  Registered scripts
 * are loaded with SCRIPT LOAD, pipelined with the connection handshake.
 */
extern void RedisRegisterScript(RedisScript *script);

/*
 * Conveniences for SQL-callable functions: run one command (or a pipeline)
 * and ERROR on failure, with class 08 errcodes naming the endpoint.  When
 * cache_ext.ignore_errors is on, an unreachable Redis gives a WARNING and a
 * false return instead (error replies always raise, after the replies are
 * in palloc'd memory).
 */
extern bool RedisCommandOrError(int argc, const char **argv, const size_t *argvlen,
								RedisReply *reply);
extern bool RedisPipelineOrError(int ncmds, const RedisCommand *cmds,
								 RedisReply *replies);

/* ERROR for an error reply, naming what we were doing. */
extern void RedisReportErrorReply(const RedisReply *reply, const char *what);

/*
 * Does an error reply's text say "not now" (OOM, BUSY, LOADING, READONLY,
 * ...: the command would run later unchanged) rather than "never"
 * (WRONGTYPE, a script's error)?  RedisReply.not_now has the answer for
 * replies of RedisExecute.
 */
extern bool RedisErrorIsNotNow(const char *str, size_t len);

/* Drop the connection (next use reconnects).  Safe anywhere. */
extern void RedisDisconnect(void);

/*
 * Drop it because the server is no longer the primary (its ROLE says
 * replica): the next use discovers the primary again.  Safe anywhere.
 */
extern void RedisDropForFailover(void);

/*
 * The worker's poll of the sentinels of a redis+sentinel:// URL
 * (EndpointPollPrimary: majority, ROLE, within one connect_timeout),
 * without losing the process's connection to the primary unless the poll
 * moved it to a new one; before_announce as in EndpointPollPrimary.
 * Never raises by itself; an interrupt drops the
 * connection before its ERROR goes on.
 */
extern EndpointPollResult RedisPollPrimary(void (*before_announce) (void),
										   RedisOutcome *outcome);

/* Count of (re)connections made by this process, for statistics. */
extern uint64 RedisConnectCount(void);

/*
 * Why this process re-opened its connection, counted per cause: every
 * connection attempt after the first has exactly one.
 */
typedef enum RedisReconnectCause
{
	REDIS_RECONNECT_LOST = 0,	/* connection failed, closed, or a round trip
								 * was interrupted; or the attempt before
								 * failed */
	REDIS_RECONNECT_TIMEOUT,	/* a round trip or attempt timed out */
	REDIS_RECONNECT_FAILOVER,	/* READONLY, LOADING or MASTERDOWN answer, or
								 * a ROLE that says replica */
	REDIS_RECONNECT_SETTINGS,	/* redis_url, TLS or password file changed */
	REDIS_NUM_RECONNECT_CAUSES
} RedisReconnectCause;

extern uint64 RedisReconnectCount(RedisReconnectCause cause);

#endif							/* CACHE_EXT_PROTOCOL_H */
