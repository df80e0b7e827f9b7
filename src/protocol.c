/*-------------------------------------------------------------------------
 *
 * protocol.c
 *	  The connection's third layer: RESP over the transport, and the API of
 *	  protocol.h (RedisExecute and friends).  The only file that includes
 *	  hiredis, and only for what is transport-free: redisFormatCommandArgv
 *	  encodes commands, a redisReader decodes replies.  The same code builds
 *	  against hiredis 0.14 (Debian bookworm) and 1.x (trixie); the few API
 *	  differences are marked HIREDIS_MAJOR.
 *
 *	  Each process (backend or background worker) keeps at most one
 *	  connection to Redis.  It is opened lazily on first use, reused across
 *	  transactions, and dropped when anything goes wrong with it (a timeout,
 *	  a lost connection, an interrupted round trip, a changed setting, a
 *	  failover answer: READONLY, LOADING or MASTERDOWN; Redis closed it, as
 *	  found before each reuse; the worker's poll of the sentinels announced
 *	  another primary, also found before each reuse, with one atomic read:
 *	  RedisPollPrimary, EndpointPrimaryMoved); the next call opens a new
 *	  one, resolving the host name again, or, for a redis+sentinel:// URL,
 *	  asking the sentinels again and confirming the primary with ROLE (the
 *	  Sentinel section: the rule is endpoint.c's, the round trips are done
 *	  here).  After a failed connection
 *	  attempt or a timeout, calls fail fast (the backoff), so a dead or
 *	  stalled Redis costs at most one timeout per interval instead of one
 *	  per call.  When the library is preloaded, the backoff ends when the
 *	  shared health state (health.c) says Redis answered after the failure,
 *	  and lasts while the worker's probes find it down; otherwise, and
 *	  when that state says nothing, it lasts cache_ext.reconnect_interval.
 *	  Why each connection was dropped is counted (RedisReconnectCount) for
 *	  cache_ext.stats.
 *
 *	  A round trip writes the whole pipeline and reads every reply before a
 *	  deadline of cache_ext.command_timeout, checking pending interrupts
 *	  between the transport's short blocking calls: a query cancel or
 *	  termination is honoured after the connection is dropped, by the usual
 *	  CHECK_FOR_INTERRUPTS.  Replies are copied into RedisReply and the
 *	  hiredis objects freed as soon as they are read; a reply being copied,
 *	  and the handshake's replies, are owned by file-level pointers that
 *	  RedisDisconnect frees, and every ERROR raised during a round trip
 *	  (out of memory while copying, an interrupt) drops the connection
 *	  first, so no malloc'd object leaks and no later caller reads replies
 *	  meant for another.
 *
 *	  What one reply may cost is capped (MAX_REPLY_BYTES of strings,
 *	  MAX_REPLY_ELEMENTS array elements, MAX_REPLY_DEPTH nesting, a bulk
 *	  length announced beyond the cap refused before its bytes arrive): a
 *	  hostile or broken server gets a clear error and a dropped connection,
 *	  never an unbounded allocation.  hiredis 1.x has maxelements, 0.14 has
 *	  nothing, so the caps are ours: the reader's object functions are
 *	  hiredis's own, wrapped.
 *
 *	  After commit (REDIS_EXEC_CRITICAL) nothing here allocates PostgreSQL
 *	  memory or raises: every failure is reported through RedisOutcome.
 *
 *-------------------------------------------------------------------------
 */
#include "prelude.h"

#include <ctype.h>
#include <errno.h>

#include <hiredis/hiredis.h>

#include "storage/latch.h"
#include "utils/timestamp.h"

#include "endpoint.h"
#include "health.h"
#include "protocol.h"
#include "transport.h"

/*
 * Caps on one reply.  MAX_REPLY_BYTES matches Redis's own limit on a bulk
 * string (proto-max-bulk-len, 512 MB) and keeps every copy far below
 * palloc's 1 GB; status and error lines are short in any real Redis.
 */
#define MAX_REPLY_BYTES		((size_t) 512 * 1024 * 1024)
#define MAX_REPLY_ELEMENTS	((size_t) 4 * 1024 * 1024)
#define MAX_REPLY_DEPTH		7
#define MAX_LINE_BYTES		(64 * 1024)

/* hiredis 1.x passes array lengths as size_t, 0.14 as int. */
#if HIREDIS_MAJOR >= 1
typedef size_t hiredis_array_len;
#define READER_TASK_TYPE(r) ((r)->task[(r)->ridx]->type)
#else
typedef int hiredis_array_len;
#define READER_TASK_TYPE(r) ((r)->rstack[(r)->ridx].type)
#endif

/*
 * A connection unused for longer than this is checked for a server-side
 * close before reuse (ensure_connected).  Below it, a restart cannot be
 * missed: it would have to close the connection and answer again within
 * that time of the last use (a CLIENT KILL that lands there costs that one
 * call, with its usual error or WARNING).  Calls back to back (a loop of
 * cache_ext.get) are spared the poll(): about 2.6 us, some 7% of such a
 * call on the test machine (docs/design.md).
 */
#define IDLE_CHECK_AFTER_MS	1

/* Small argv arrays are rebuilt on the stack; larger ones use malloc. */
#define STACK_ARGV 16

/* Scripts registered at _PG_init time. */
#define MAX_SCRIPTS 32
static RedisScript *scripts[MAX_SCRIPTS];
static int	nscripts = 0;

/* The connection: the transport carries it, these decode it. */
static redisReader *reader = NULL;	/* NULL when not connected */
static uint64 connection_generation;	/* ConnectionSettingsGeneration() it serves */
static TimestampTz last_used;	/* end of the last round trip */

/*
 * Backoff: since backoff_since, no connection attempt before retry_after,
 * unless the settings changed since (the backoff concerns the endpoint
 * that failed) or the shared health state says otherwise (ensure_connected).
 * retry_after is 0 once a connection succeeded.  reported_down: this
 * process told the shared state Redis was down, and tells it when Redis
 * answers again.
 */
static TimestampTz backoff_since = 0;
static TimestampTz retry_after = 0;
static uint64 retry_after_generation = 0;
static char last_failure[200] = "";
static bool reported_down = false;

/* Connection attempts, and the reasons the earlier ones ended. */
static uint64 connect_count = 0;
static uint64 reconnect_counts[REDIS_NUM_RECONNECT_CAUSES];
static RedisReconnectCause next_cause = REDIS_RECONNECT_LOST;

/*
 * hiredis objects alive while something may raise: the handshake's replies
 * (it inspects them together at the end) and the reply being copied into
 * PostgreSQL memory.  RedisDisconnect frees them.
 */
#define MAX_HANDSHAKE (2 + MAX_SCRIPTS)
static redisReply *held_replies[MAX_HANDSHAKE];
static redisReply *live_reply = NULL;

/* A failover answer was read: drop the connection after this call. */
static bool failover_seen = false;

/*
 * Indexes of the commands of the current round trip that Redis answered with
 * NOSCRIPT; they are run again with EVAL.  malloc'd, grown as needed.
 */
static int *noscript_index = NULL;
static int	noscript_count = 0;
static int	noscript_space = 0;

/* The encoded pipeline (malloc'd, reused) and the read buffer. */
static char *outbuf = NULL;
static size_t outlen = 0;
static size_t outspace = 0;
static char readbuf[65536];

/* The reader's object functions: hiredis's defaults, with our caps. */
static redisReplyObjectFunctions capped_functions;
static void *(*base_create_string) (const redisReadTask *, char *, size_t);
static void *(*base_create_array) (const redisReadTask *, hiredis_array_len);
static void *(*base_create_integer) (const redisReadTask *, long long);
static void *(*base_create_nil) (const redisReadTask *);
static size_t reply_bytes;		/* strings of the reply being read */
static size_t reply_elements;	/* its array elements */
static char cap_reason[160];	/* why a reply was refused, or "" */

bool		cache_ext_ignore_errors = false;

void
ProtocolInit(void)
{
	redisReader *probe;

	DefineCustomBoolVariable("cache_ext.ignore_errors",
							 "Turn an unreachable Redis into a WARNING and a NULL or "
							 "false result in the SQL cache API.",
							 "Like django-redis's IGNORE_EXCEPTIONS.  Error replies "
							 "from Redis still raise.",
							 &cache_ext_ignore_errors,
							 false,
							 PGC_USERSET,
							 0,
							 NULL, NULL, NULL);

	probe = redisReaderCreate();

	/* the defaults are static in hiredis; a reader made with them has them */
	if (probe == NULL)
		elog(ERROR, "out of memory");
	capped_functions = *probe->fn;
	redisReaderFree(probe);
}

void
RedisRegisterScript(RedisScript *script)
{
	if (nscripts >= MAX_SCRIPTS)
		elog(ERROR, "too many cache_ext Redis scripts registered");
	script->sha[0] = '\0';
	scripts[nscripts++] = script;
}

uint64
RedisConnectCount(void)
{
	return connect_count;
}

uint64
RedisReconnectCount(RedisReconnectCause cause)
{
	return reconnect_counts[cause];
}

/* ------------------------------------------------------ reply caps */

/* A new top-level reply starts: its budget starts afresh. */
static void
note_object(const redisReadTask *task)
{
	if (task->parent == NULL)
	{
		reply_bytes = 0;
		reply_elements = 0;
	}
}

static void *
capped_create_string(const redisReadTask *task, char *str, size_t len)
{
	note_object(task);
	if (task->type != REDIS_REPLY_STRING && task->type != REDIS_REPLY_STATUS &&
		task->type != REDIS_REPLY_ERROR)
	{
		snprintf(cap_reason, sizeof(cap_reason),
				 "a reply of RESP type %d, which cache_ext never asks for", task->type);
		return NULL;
	}
	if (len > MAX_REPLY_BYTES - reply_bytes)
	{
		snprintf(cap_reason, sizeof(cap_reason),
				 "a reply of more than %zu bytes", MAX_REPLY_BYTES);
		return NULL;
	}
	reply_bytes += len;
	return base_create_string(task, str, len);
}

static void *
capped_create_array(const redisReadTask *task, hiredis_array_len elements)
{
	int			depth = 0;

	note_object(task);
	for (const redisReadTask *t = task->parent; t != NULL; t = t->parent)
		depth++;
	if (task->type != REDIS_REPLY_ARRAY)
	{
		snprintf(cap_reason, sizeof(cap_reason),
				 "a reply of RESP type %d, which cache_ext never asks for", task->type);
		return NULL;
	}
	if (depth >= MAX_REPLY_DEPTH)
	{
		snprintf(cap_reason, sizeof(cap_reason),
				 "arrays nested more than %d deep", MAX_REPLY_DEPTH);
		return NULL;
	}
	if ((long long) elements < 0 ||
		(size_t) elements > MAX_REPLY_ELEMENTS - reply_elements)
	{
		snprintf(cap_reason, sizeof(cap_reason),
				 "a reply of more than %zu array elements", MAX_REPLY_ELEMENTS);
		return NULL;
	}
	reply_elements += elements;
	return base_create_array(task, elements);
}

static void *
capped_create_integer(const redisReadTask *task, long long value)
{
	note_object(task);
	return base_create_integer(task, value);
}

static void *
capped_create_nil(const redisReadTask *task)
{
	note_object(task);
	return base_create_nil(task);
}

#if HIREDIS_MAJOR >= 1
/* RESP3 types: a RESP2 connection never gets them from a sane server. */
static void *
refuse_double(const redisReadTask *task, double value, char *str, size_t len)
{
	snprintf(cap_reason, sizeof(cap_reason), "a RESP3 double, which cache_ext never asks for");
	return NULL;
}

static void *
refuse_bool(const redisReadTask *task, int value)
{
	snprintf(cap_reason, sizeof(cap_reason), "a RESP3 boolean, which cache_ext never asks for");
	return NULL;
}
#endif

static redisReader *
create_reader(void)
{
	redisReader *r;

	if (base_create_string == NULL)
	{
		base_create_string = capped_functions.createString;
		base_create_array = capped_functions.createArray;
		base_create_integer = capped_functions.createInteger;
		base_create_nil = capped_functions.createNil;
		capped_functions.createString = capped_create_string;
		capped_functions.createArray = capped_create_array;
		capped_functions.createInteger = capped_create_integer;
		capped_functions.createNil = capped_create_nil;
#if HIREDIS_MAJOR >= 1
		capped_functions.createDouble = refuse_double;
		capped_functions.createBool = refuse_bool;
#endif
	}
	r = redisReaderCreateWithFunctions(&capped_functions);
#if HIREDIS_MAJOR >= 1

	/*
	 * capped_create_array enforces the cap (over the whole reply, nested
	 * arrays included, which maxelements does not count) with the same
	 * message on 0.14 and 1.x; hiredis's own check would answer first, with
	 * "Multi-bulk length out of range", for the same limit.
	 */
	if (r != NULL)
		r->maxelements = 0;
#endif
	return r;
}

/*
 * Between reads, while a reply is incomplete: refuse what would buffer
 * without bound.  hiredis keeps every byte of an unfinished item in its
 * buffer; a bulk string announced as 2^62 bytes would be waited for
 * forever, a status line without an end would grow forever.  The item
 * being read starts at the reader's position, just after its type byte.
 */
static bool
pending_reply_too_large(void)
{
	size_t		avail = reader->len - reader->pos;
	const char *p = reader->buf + reader->pos;
	int			type;

	if (reader->ridx < 0)
		return avail > MAX_LINE_BYTES;	/* cannot happen: type is one byte */
	type = READER_TASK_TYPE(reader);
	if (type == REDIS_REPLY_STRING)
	{
		unsigned long long announced = 0;
		size_t		i;

		for (i = 0; i < avail && i < 24 && p[i] >= '0' && p[i] <= '9'; i++)
			announced = announced * 10 + (p[i] - '0');
		if (i >= 20 || announced > MAX_REPLY_BYTES - reply_bytes)
		{
			snprintf(cap_reason, sizeof(cap_reason),
					 "a bulk string announced as %llu bytes (the limit is %zu)",
					 announced, MAX_REPLY_BYTES);
			return true;
		}
		if (avail > MAX_REPLY_BYTES + MAX_LINE_BYTES)
		{
			snprintf(cap_reason, sizeof(cap_reason),
					 "a reply of more than %zu bytes", MAX_REPLY_BYTES);
			return true;
		}
		return false;
	}
	if (avail > MAX_LINE_BYTES)
	{
		snprintf(cap_reason, sizeof(cap_reason),
				 "a reply line longer than %d bytes", MAX_LINE_BYTES);
		return true;
	}
	return false;
}

/* ------------------------------------------------- the connection state */

static void
free_held_replies(void)
{
	for (int i = 0; i < MAX_HANDSHAKE; i++)
	{
		if (held_replies[i] != NULL)
		{
			freeReplyObject(held_replies[i]);
			held_replies[i] = NULL;
		}
	}
}

/*
 * Drop the connection.  Never raises and never allocates, so it may be
 * called from error cleanup and after commit.
 */
void
RedisDisconnect(void)
{
	free_held_replies();
	if (live_reply != NULL)
	{
		freeReplyObject(live_reply);
		live_reply = NULL;
	}
	EndpointAbandonResolution();
	if (reader != NULL || TransportIsOpen())
		next_cause = REDIS_RECONNECT_LOST;
	if (reader != NULL)
	{
		redisReaderFree(reader);
		reader = NULL;
	}
	TransportClose();
	failover_seen = false;
	if (outspace > 1024 * 1024)
	{
		/* do not keep a large pipeline's buffer */
		free(outbuf);
		outbuf = NULL;
		outspace = 0;
	}
	outlen = 0;
}

/* Drop the connection, remembering why for the next reconnection. */
static void
drop_connection(RedisReconnectCause cause)
{
	RedisDisconnect();
	next_cause = cause;
}

/*
 * Start the backoff window after a failure that cost a timeout; the
 * failure is what calls meanwhile report.  'unreachable': Redis did not
 * answer (refused, lost, timed out), as opposed to answering with a
 * refusal (authentication, SELECT) or a local failure: only that is news
 * for the shared health state, and wakes the worker to probe.
 */
static void
start_backoff(const RedisOutcome *outcome, bool unreachable)
{
	TimestampTz now = GetCurrentTimestamp();

	backoff_since = now;
	retry_after = TimestampTzPlusMilliseconds(now, cache_ext_reconnect_interval);
	retry_after_generation = ConnectionSettingsGeneration();
	strlcpy(last_failure, outcome->message, sizeof(last_failure));
	if (unreachable)
	{
		HealthReportDown(now);
		reported_down = true;
	}
}

/* ------------------------------------------------------------- replies */

/*
 * Copy one hiredis reply into *out.  Without 'copy', nothing is allocated:
 * strings are left out.  With it, palloc may raise: the caller holds the
 * reply in live_reply, so that the ERROR's cleanup frees it.
 */
static void
store_reply(redisReply *reply, RedisReply *out, bool copy)
{
	memset(out, 0, sizeof(*out));
	switch (reply->type)
	{
		case REDIS_REPLY_STRING:
			out->type = REDIS_VALUE_STRING;
			break;
		case REDIS_REPLY_STATUS:
			out->type = REDIS_VALUE_STATUS;
			break;
		case REDIS_REPLY_INTEGER:
			out->type = REDIS_VALUE_INTEGER;
			out->integer = reply->integer;
			break;
		case REDIS_REPLY_ARRAY:
			out->type = REDIS_VALUE_ARRAY;
			out->elements = reply->elements;
			break;
		case REDIS_REPLY_ERROR:
			out->type = REDIS_VALUE_ERROR;
			out->not_now = RedisErrorIsNotNow(reply->str, reply->len);
			break;
		default:
			out->type = REDIS_VALUE_NIL;
			break;
	}

	if (out->type == REDIS_VALUE_STRING || out->type == REDIS_VALUE_STATUS ||
		out->type == REDIS_VALUE_ERROR)
	{
		out->len = reply->len;
		if (copy)
		{
			out->str = palloc(reply->len + 1);
			memcpy(out->str, reply->str, reply->len);
			out->str[reply->len] = '\0';
		}
	}
	else if (out->type == REDIS_VALUE_ARRAY && copy && reply->elements > 0)
	{
		out->element = palloc(sizeof(RedisReply) * reply->elements);
		for (size_t i = 0; i < reply->elements; i++)
			store_reply(reply->element[i], &out->element[i], copy);
	}
}

/*
 * Error replies that say "not now" rather than "never": the server cannot
 * run the command at the moment (out of memory under noeviction, a script
 * or module blocking it, loading its data, not the primary, ...) and would
 * run it later unchanged.  Anything else (WRONGTYPE, a script's own error,
 * NOPERM) is the command's fault and stays so.
 */
bool
RedisErrorIsNotNow(const char *str, size_t len)
{
	static const char *const prefixes[] = {
		"LOADING", "BUSY", "READONLY", "OOM", "MASTERDOWN", "TRYAGAIN",
		"CLUSTERDOWN", "NOREPLICAS", "MISCONF", "NOSCRIPT", NULL
	};

	for (int i = 0; prefixes[i]; i++)
	{
		size_t		plen = strlen(prefixes[i]);

		/* the whole first word: BUSYKEY and BUSYGROUP are not BUSY */
		if (len >= plen && strncmp(str, prefixes[i], plen) == 0 &&
			(len == plen || str[plen] == ' '))
			return true;
	}
	return false;
}

/* An answer of a server that is no longer (or not yet) the primary. */
static bool
is_failover_error(const redisReply *reply)
{
	return (reply->len >= 8 && strncmp(reply->str, "READONLY", 8) == 0) ||
		(reply->len >= 7 && strncmp(reply->str, "LOADING", 7) == 0) ||
		(reply->len >= 10 && strncmp(reply->str, "MASTERDOWN", 10) == 0);
}

/*
 * Note an error reply in the outcome (the first one's text is kept).  A
 * NOSCRIPT answer to a script command is not an error for the caller: the
 * command is remembered and run again with EVAL.  Returns false when that
 * bookkeeping ran out of memory.
 */
static bool
count_error_reply(redisReply *reply, const RedisCommand *cmd, int index,
				  RedisOutcome *outcome)
{
	if (reply->type != REDIS_REPLY_ERROR)
		return true;
	if (is_failover_error(reply))
		failover_seen = true;
	if (cmd != NULL && cmd->script != NULL &&
		reply->len >= 8 && strncmp(reply->str, "NOSCRIPT", 8) == 0)
	{
		if (noscript_count == noscript_space)
		{
			int			space = Max(16, noscript_space * 2);
			int		   *grown = realloc(noscript_index, sizeof(int) * space);

			if (grown == NULL)
				return false;
			noscript_index = grown;
			noscript_space = space;
		}
		noscript_index[noscript_count++] = index;
		return true;
	}
	if (outcome->nerrors++ == 0)
		snprintf(outcome->first_error, sizeof(outcome->first_error), "%.*s",
				 (int) Min(reply->len, sizeof(outcome->first_error) - 1),
				 reply->str);
	return true;
}

/* ------------------------------------------------------------ commands */

static bool
append_bytes(const char *data, size_t len)
{
	if (outlen + len > outspace)
	{
		size_t		space = Max(outspace * 2, Max(outlen + len, 4096));
		char	   *grown = realloc(outbuf, space);

		if (grown == NULL)
			return false;
		outbuf = grown;
		outspace = space;
	}
	memcpy(outbuf + outlen, data, len);
	outlen += len;
	return true;
}

/*
 * Encode one command into the pipeline buffer, filling in a script's SHA
 * (or falling back to EVAL with its body when the SHA is unknown or Redis
 * forgot it).
 */
static bool
append_command(const RedisCommand *cmd, bool force_eval)
{
	const char *stack_argv[STACK_ARGV];
	size_t		stack_len[STACK_ARGV];
	const char **argv = (const char **) cmd->argv;
	size_t	   *argvlen = (size_t *) cmd->argvlen;
	char	   *encoded = NULL;
	long long	len;			/* int in hiredis 0.14, long long in 1.x */
	bool		ok;

	if (cmd->script != NULL)
	{
		if (cmd->argc <= STACK_ARGV)
		{
			argv = stack_argv;
			argvlen = stack_len;
		}
		else
		{
			argv = malloc(sizeof(char *) * cmd->argc);
			argvlen = malloc(sizeof(size_t) * cmd->argc);
			if (argv == NULL || argvlen == NULL)
			{
				free(argv);
				free(argvlen);
				return false;
			}
		}
		memcpy(argv, cmd->argv, sizeof(char *) * cmd->argc);
		memcpy(argvlen, cmd->argvlen, sizeof(size_t) * cmd->argc);
		if (force_eval || cmd->script->sha[0] == '\0')
		{
			argv[0] = "EVAL";
			argvlen[0] = 4;
			argv[1] = cmd->script->body;
			argvlen[1] = strlen(cmd->script->body);
		}
		else
		{
			argv[0] = "EVALSHA";
			argvlen[0] = 7;
			argv[1] = cmd->script->sha;
			argvlen[1] = 40;
		}
	}

	len = redisFormatCommandArgv(&encoded, cmd->argc, argv, argvlen);
	ok = len >= 0 && encoded != NULL && append_bytes(encoded, (size_t) len);
	if (encoded != NULL)
		redisFreeCommand(encoded);
	if (argv != cmd->argv && argv != stack_argv)
	{
		free(argv);
		free(argvlen);
	}
	return ok;
}

/* ----------------------------------------------------------- round trip */

static void
timeout_failure(bool hold_raw, RedisOutcome *outcome)
{
	if (hold_raw)
		ConnectionFail(outcome, REDIS_FAIL_TIMEOUT,
					   "Redis at %s did not complete the connection handshake within %d ms",
					   EndpointDescription(), cache_ext_connect_timeout);
	else
		ConnectionFail(outcome, REDIS_FAIL_TIMEOUT,
					   "Redis at %s did not answer within %d ms",
					   EndpointDescription(), cache_ext_command_timeout);
}

/*
 * Write the pipeline and read ncmds replies, all before 'deadline'.
 * Replies go to replies[] (if not NULL) or are only counted.  The handshake
 * passes hold_raw instead: the hiredis replies are then kept in
 * held_replies[] for it to inspect.  Returns false with the outcome filled
 * on failure; the caller drops the connection.
 */
static bool
round_trip(int ncmds, const RedisCommand *cmds, bool force_eval,
		   RedisReply *replies, bool copy, bool hold_raw,
		   TimestampTz deadline, RedisOutcome *outcome)
{
	size_t		written = 0;
	int			received = 0;

	/* bytes nobody asked for: a previous reply had more parts than sent */
	if (reader->pos < reader->len)
	{
		ConnectionFail(outcome, REDIS_FAIL_IO,
					   "Redis at %s sent a reply that no command asked for",
					   EndpointDescription());
		return false;
	}

	outlen = 0;
	for (int i = 0; i < ncmds; i++)
	{
		if (!append_command(&cmds[i], force_eval))
		{
			ConnectionFail(outcome, REDIS_FAIL_IO,
						   "could not encode a command for Redis at %s: out of memory",
						   EndpointDescription());
			return false;
		}
	}

	while (written < outlen)
	{
		ssize_t		n;

		if (GetCurrentTimestamp() >= deadline)
		{
			timeout_failure(hold_raw, outcome);
			return false;
		}
		ConnectionCheckInterrupts();
		n = TransportWrite(outbuf + written, outlen - written, outcome);
		if (n < 0)
			return false;
		written += n;
	}

	while (received < ncmds)
	{
		ssize_t		n;

		/* Take every complete reply already read. */
		while (received < ncmds)
		{
			void	   *reply = NULL;

			cap_reason[0] = '\0';
			if (redisReaderGetReply(reader, &reply) == REDIS_ERR)
			{
				ConnectionFail(outcome, REDIS_FAIL_IO,
							   "could not parse a reply from Redis at %s: %s",
							   EndpointDescription(),
							   cap_reason[0] ? cap_reason : reader->errstr);
				return false;
			}
			if (reply == NULL)
				break;
			if (!count_error_reply(reply, hold_raw ? NULL : &cmds[received],
								   received, outcome))
			{
				freeReplyObject(reply);
				ConnectionFail(outcome, REDIS_FAIL_IO,
							   "out of memory reading replies from Redis at %s",
							   EndpointDescription());
				return false;
			}
			if (hold_raw)
				held_replies[received] = reply;
			else
			{
				if (replies != NULL)
				{
					live_reply = reply;
					store_reply(reply, &replies[received], copy);
					live_reply = NULL;
				}
				freeReplyObject(reply);
			}
			received++;
		}
		if (received == ncmds)
			break;

		if (pending_reply_too_large())
		{
			ConnectionFail(outcome, REDIS_FAIL_IO,
						   "could not parse a reply from Redis at %s: %s",
						   EndpointDescription(), cap_reason);
			return false;
		}
		if (GetCurrentTimestamp() >= deadline)
		{
			timeout_failure(hold_raw, outcome);
			return false;
		}
		ConnectionCheckInterrupts();

		/* one blocking read of at most the transport's slice */
		n = TransportRead(readbuf, sizeof(readbuf), outcome);
		if (n < 0)
			return false;
		if (n > 0 && redisReaderFeed(reader, readbuf, (size_t) n) != REDIS_OK)
		{
			ConnectionFail(outcome, REDIS_FAIL_IO,
						   "out of memory reading replies from Redis at %s",
						   EndpointDescription());
			return false;
		}
	}
	return true;
}

/*
 * Authenticate, select the database and load the scripts not loaded yet,
 * in one round trip.  The credentials: the URL's (a session SET), or else
 * cache_ext.redis_password_file's, read at every connection.
 */
static bool
handshake(TimestampTz deadline, RedisOutcome *outcome)
{
	const RedisEndpoint *endpoint = EndpointCurrent();
	RedisCommand cmds[MAX_HANDSHAKE];
	redisReply **raw = held_replies;
	const char *auth_argv[3];
	size_t		auth_len[3];
	const char *select_argv[2];
	size_t		select_len[2];
	char		dbbuf[16];
	const char *load_argv[MAX_SCRIPTS][3];
	size_t		load_len[MAX_SCRIPTS][3];
	RedisScript *loading[MAX_SCRIPTS];
	char		file_user[256];
	char		file_password[1024];
	const char *user = endpoint->user;
	const char *password = endpoint->password;
	int			ncmds = 0;
	int			auth_pos = -1;
	int			select_pos = -1;
	int			first_load;
	int			nloading = 0;
	bool		ok = true;

	memset(cmds, 0, sizeof(cmds));
	if (password == NULL && cache_ext_redis_password_file != NULL &&
		cache_ext_redis_password_file[0] != '\0')
	{
		if (!EndpointReadPasswordFile(cache_ext_redis_password_file,
									  file_user, sizeof(file_user),
									  file_password, sizeof(file_password),
									  outcome))
			return false;
		password = file_password;
		if (file_user[0] != '\0')
			user = file_user;
	}
	if (password != NULL)
	{
		int			argc = 0;

		auth_argv[argc] = "AUTH";
		auth_len[argc++] = 4;
		if (user != NULL)
		{
			auth_argv[argc] = user;
			auth_len[argc++] = strlen(user);
		}
		auth_argv[argc] = password;
		auth_len[argc++] = strlen(password);
		cmds[ncmds].argc = argc;
		cmds[ncmds].argv = auth_argv;
		cmds[ncmds].argvlen = auth_len;
		auth_pos = ncmds++;
	}
	if (endpoint->db != 0)
	{
		snprintf(dbbuf, sizeof(dbbuf), "%d", endpoint->db);
		select_argv[0] = "SELECT";
		select_len[0] = 6;
		select_argv[1] = dbbuf;
		select_len[1] = strlen(dbbuf);
		cmds[ncmds].argc = 2;
		cmds[ncmds].argv = select_argv;
		cmds[ncmds].argvlen = select_len;
		select_pos = ncmds++;
	}
	first_load = ncmds;
	for (int i = 0; i < nscripts; i++)
	{
		if (scripts[i]->sha[0] != '\0')
			continue;
		load_argv[nloading][0] = "SCRIPT";
		load_len[nloading][0] = 6;
		load_argv[nloading][1] = "LOAD";
		load_len[nloading][1] = 4;
		load_argv[nloading][2] = scripts[i]->body;
		load_len[nloading][2] = strlen(scripts[i]->body);
		cmds[ncmds].argc = 3;
		cmds[ncmds].argv = load_argv[nloading];
		cmds[ncmds].argvlen = load_len[nloading];
		loading[nloading++] = scripts[i];
		ncmds++;
	}
	if (ncmds > 0 &&
		!round_trip(ncmds, cmds, false, NULL, false, true, deadline, outcome))
		ok = false;

	/* the secret leaves no copy behind: the encoded AUTH, the file's text */
	if (auth_pos >= 0)
		explicit_bzero(outbuf, outlen);
	explicit_bzero(file_password, sizeof(file_password));
	if (ncmds == 0)
		return true;

	if (ok && auth_pos >= 0 && raw[auth_pos]->type == REDIS_REPLY_ERROR)
	{
		/* Redis's message names no secret ("WRONGPASS invalid ...") */
		ConnectionFail(outcome, REDIS_FAIL_UNAVAILABLE,
					   "Redis at %s refused authentication: %.*s",
					   EndpointDescription(),
					   (int) Min(raw[auth_pos]->len, 100), raw[auth_pos]->str);
		ok = false;
	}
	if (ok && select_pos >= 0 && raw[select_pos]->type == REDIS_REPLY_ERROR)
	{
		ConnectionFail(outcome, REDIS_FAIL_CONFIG,
					   "Redis at %s refused SELECT %d: %.*s",
					   EndpointDescription(), endpoint->db,
					   (int) Min(raw[select_pos]->len, 100), raw[select_pos]->str);
		ok = false;
	}
	if (ok)
	{
		for (int i = 0; i < nloading; i++)
		{
			redisReply *r = raw[first_load + i];

			/* an unloadable script just runs by EVAL later */
			if (r->type == REDIS_REPLY_STRING && r->len == 40)
			{
				memcpy(loading[i]->sha, r->str, 40);
				loading[i]->sha[40] = '\0';
			}
		}
	}
	/* the handshake's errors are not the caller's error replies */
	outcome->nerrors = 0;
	outcome->first_error[0] = '\0';
	failover_seen = false;

	free_held_replies();
	return ok;
}

/* ------------------------------------------------------------ Sentinel */

/*
 * What the discovery steps below need from ensure_connected: they are
 * called back by EndpointDiscoverPrimary (endpoint.c, which owns the rule
 * for trusting the sentinels), and use this file's one connection.
 */
typedef struct DiscoveryContext
{
	bool		critical;
	bool	   *latch_seen;
	TimestampTz deadline;		/* the worker's poll: no step beyond it; or 0 */
} DiscoveryContext;

/* A step's deadline: connect_timeout from now, within the poll's. */
static TimestampTz
step_deadline(const DiscoveryContext *ctx)
{
	TimestampTz deadline = TimestampTzPlusMilliseconds(GetCurrentTimestamp(),
													   cache_ext_connect_timeout);

	if (ctx->deadline != 0 && ctx->deadline < deadline)
		deadline = ctx->deadline;
	return deadline;
}

/* Close the stream and start the reader afresh for the next server. */
static bool
reset_stream(RedisOutcome *outcome)
{
	free_held_replies();
	TransportClose();
	if (reader != NULL)
		redisReaderFree(reader);
	reader = create_reader();
	if (reader == NULL)
	{
		ConnectionFail(outcome, REDIS_FAIL_UNAVAILABLE,
					   "could not connect to Redis at %s: out of memory",
					   EndpointDescription());
		return false;
	}
	return true;
}

/* The text of a held reply, for a message (never a secret: replies only). */
static int
reply_text_len(const redisReply *r)
{
	return (int) Min(r->len, 100);
}

/* What a host name or address may hold (what a server names is checked). */
static bool
host_chars_ok(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (!isalnum((unsigned char) s[i]) && s[i] != '-' && s[i] != '.' &&
			s[i] != '_' && s[i] != ':')
			return false;
	return true;
}

/*
 * Ask one sentinel where the service's primary is: [AUTH password,]
 * SENTINEL get-master-addr-by-name SERVICE, in one round trip within
 * cache_ext.connect_timeout.  The connection to the sentinel is closed
 * again whatever the answer.
 */
static bool
sentinel_ask(const RedisEndpoint *sentinel, const char *service, char *host,
			 int *port, void *arg, RedisOutcome *outcome)
{
	DiscoveryContext *ctx = (DiscoveryContext *) arg;
	TimestampTz deadline = step_deadline(ctx);
	const char *auth_argv[2] = {"AUTH", sentinel->password};
	size_t		auth_len[2] = {4, sentinel->password ? strlen(sentinel->password) : 0};
	const char *ask_argv[3] = {"SENTINEL", "get-master-addr-by-name", service};
	size_t		ask_len[3] = {8, 23, strlen(service)};
	RedisCommand cmds[2];
	int			ncmds = 0;
	int			ask_pos;
	redisReply *r;
	bool		ok = false;

	memset(cmds, 0, sizeof(cmds));
	if (sentinel->password != NULL)
	{
		cmds[ncmds].argc = 2;
		cmds[ncmds].argv = auth_argv;
		cmds[ncmds++].argvlen = auth_len;
	}
	ask_pos = ncmds;
	cmds[ncmds].argc = 3;
	cmds[ncmds].argv = ask_argv;
	cmds[ncmds++].argvlen = ask_len;

	if (!reset_stream(outcome))
		return false;
	if (TransportConnect(sentinel, deadline, ctx->critical, ctx->latch_seen, outcome))
	{
		ok = round_trip(ncmds, cmds, false, NULL, false, true, deadline, outcome);
		if (sentinel->password != NULL)
			explicit_bzero(outbuf, outlen);
	}
	if (ok && ask_pos > 0 && held_replies[0]->type == REDIS_REPLY_ERROR)
	{
		ConnectionFail(outcome, REDIS_FAIL_UNAVAILABLE,
					   "%s refused authentication: %.*s (check cache_ext.sentinel_password)",
					   EndpointDescription(), reply_text_len(held_replies[0]),
					   held_replies[0]->str);
		ok = false;
	}
	r = ok ? held_replies[ask_pos] : NULL;
	if (ok && r->type == REDIS_REPLY_ERROR)
	{
		ConnectionFail(outcome, REDIS_FAIL_UNAVAILABLE,
					   "%s refused SENTINEL get-master-addr-by-name: %.*s",
					   EndpointDescription(), reply_text_len(r), r->str);
		ok = false;
	}
	else if (ok && r->type == REDIS_REPLY_NIL)
	{
		ConnectionFail(outcome, REDIS_FAIL_UNAVAILABLE,
					   "%s does not monitor a service named \"%s\"",
					   EndpointDescription(), service);
		ok = false;
	}
	else if (ok)
	{
		int			p = 0;

		if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
			r->element[0]->type != REDIS_REPLY_STRING ||
			r->element[1]->type != REDIS_REPLY_STRING ||
			r->element[0]->len == 0 || r->element[0]->len >= ENDPOINT_HOST_MAX ||
			strspn(r->element[1]->str, "0123456789") != r->element[1]->len ||
			r->element[1]->len == 0 || r->element[1]->len > 5 ||
			(p = atoi(r->element[1]->str)) <= 0 || p > 65535)
		{
			ConnectionFail(outcome, REDIS_FAIL_UNAVAILABLE,
						   "%s answered SENTINEL get-master-addr-by-name with something that is not an address",
						   EndpointDescription());
			ok = false;
		}
		else
		{
			memcpy(host, r->element[0]->str, r->element[0]->len);
			host[r->element[0]->len] = '\0';
			*port = p;
			if (!host_chars_ok(host, r->element[0]->len))
			{
				ConnectionFail(outcome, REDIS_FAIL_UNAVAILABLE,
							   "%s named a primary whose host is not a host name",
							   EndpointDescription());
				ok = false;
			}
		}
	}
	free_held_replies();
	TransportClose();
	return ok;
}

/*
 * The server's own word on its role: ROLE answers an array whose first
 * element is "master", "slave" or "sentinel".  A replica (or a server
 * that cannot say) is not written to.
 */
static bool
confirm_primary_role(TimestampTz deadline, char *master_host, int *master_port,
					 RedisOutcome *outcome)
{
	const char *argv[1] = {"ROLE"};
	size_t		argvlen[1] = {4};
	RedisCommand cmd = {1, argv, argvlen, NULL};
	redisReply *r;
	bool		ok;

	if (!round_trip(1, &cmd, false, NULL, false, true, deadline, outcome))
		return false;
	r = held_replies[0];
	ok = r->type == REDIS_REPLY_ARRAY && r->elements >= 1 &&
		r->element[0]->type == REDIS_REPLY_STRING &&
		r->element[0]->len == 6 && memcmp(r->element[0]->str, "master", 6) == 0;
	/* a replica: ["slave", master host, master port, state, offset] */
	if (!ok && r->type == REDIS_REPLY_ARRAY && r->elements >= 3 &&
		r->element[0]->type == REDIS_REPLY_STRING &&
		r->element[0]->len == 5 && memcmp(r->element[0]->str, "slave", 5) == 0 &&
		r->element[1]->type == REDIS_REPLY_STRING &&
		r->element[1]->len > 0 && r->element[1]->len < ENDPOINT_HOST_MAX &&
		host_chars_ok(r->element[1]->str, r->element[1]->len) &&
		r->element[2]->type == REDIS_REPLY_INTEGER &&
		r->element[2]->integer > 0 && r->element[2]->integer <= 65535)
	{
		memcpy(master_host, r->element[1]->str, r->element[1]->len);
		master_host[r->element[1]->len] = '\0';
		*master_port = (int) r->element[2]->integer;
	}
	if (!ok)
	{
		if (r->type == REDIS_REPLY_ARRAY && r->elements >= 1 &&
			r->element[0]->type == REDIS_REPLY_STRING)
			ConnectionFail(outcome, REDIS_FAIL_UNAVAILABLE,
						   "Redis at %s is not the primary (ROLE says %.*s)",
						   EndpointDescription(),
						   reply_text_len(r->element[0]), r->element[0]->str);
		else
			ConnectionFail(outcome, REDIS_FAIL_UNAVAILABLE,
						   "Redis at %s did not say it is the primary (ROLE)",
						   EndpointDescription());
	}
	outcome->nerrors = 0;
	outcome->first_error[0] = '\0';
	failover_seen = false;
	free_held_replies();
	return ok;
}

/*
 * Connect to a candidate primary named by the sentinels: the stream, the
 * handshake (AUTH with the URL's or the password file's credentials,
 * SELECT, scripts) and ROLE, within cache_ext.connect_timeout.
 */
static bool
sentinel_connect_primary(const RedisEndpoint *primary, void *arg,
						 char *master_host, int *master_port,
						 RedisOutcome *outcome)
{
	DiscoveryContext *ctx = (DiscoveryContext *) arg;
	TimestampTz deadline = step_deadline(ctx);

	*master_port = 0;
	if (!reset_stream(outcome))
		return false;
	if (TransportConnect(primary, deadline, ctx->critical, ctx->latch_seen, outcome) &&
		handshake(deadline, outcome) &&
		confirm_primary_role(deadline, master_host, master_port, outcome))
		return true;
	free_held_replies();
	TransportClose();
	return false;
}

/* ensure_connected for a redis+sentinel:// URL. */
static bool
connect_via_sentinels(bool critical, bool *latch_seen, RedisOutcome *outcome)
{
	DiscoveryContext ctx = {critical, latch_seen, 0};

	return EndpointDiscoverPrimary(sentinel_ask, sentinel_connect_primary,
								   &ctx, outcome);
}

/*
 * The worker's poll of the sentinels (EndpointPollPrimary), within one
 * connect_timeout.  Asking a sentinel needs the process's one stream, so
 * the connection to the primary is set aside meanwhile (transport and
 * reader) and taken back afterwards, unless the poll found, confirmed and
 * connected to a new primary: that connection then replaces it, as a
 * reconnection for a failover.
 */
EndpointPollResult
RedisPollPrimary(void (*before_announce) (void), RedisOutcome *outcome)
{
	DiscoveryContext ctx;
	TransportStream saved_stream;
	redisReader *saved_reader;
	volatile EndpointPollResult result = ENDPOINT_POLL_UNDECIDED;
	bool		latch_seen = false;

	memset(outcome, 0, sizeof(*outcome));
	if (EndpointCurrent()->service == NULL)
		return ENDPOINT_POLL_UNDECIDED;
	ctx.critical = false;
	ctx.latch_seen = &latch_seen;
	ctx.deadline = TimestampTzPlusMilliseconds(GetCurrentTimestamp(),
											   cache_ext_connect_timeout);

	saved_reader = reader;
	reader = NULL;
	TransportSuspend(&saved_stream);
	PG_TRY();
	{
		result = EndpointPollPrimary(sentinel_ask, sentinel_connect_primary,
									 &ctx, ctx.deadline, before_announce,
									 outcome);
	}
	PG_CATCH();
	{
		/* an interrupt: the poll's stream, then ours, are dropped */
		free_held_replies();
		TransportClose();
		if (reader != NULL)
			redisReaderFree(reader);
		reader = saved_reader;
		TransportResume(&saved_stream);
		RedisDisconnect();
		SetLatch(MyLatch);
		PG_RE_THROW();
	}
	PG_END_TRY();

	free_held_replies();
	if (result == ENDPOINT_POLL_MOVED && reader != NULL && TransportIsOpen())
	{
		TransportCloseSuspended(&saved_stream);
		if (connect_count > 0)
			reconnect_counts[saved_reader != NULL ?
							 REDIS_RECONNECT_FAILOVER : next_cause]++;
		if (saved_reader != NULL)
			redisReaderFree(saved_reader);
		connect_count++;
		connection_generation = ConnectionSettingsGeneration();
		last_used = GetCurrentTimestamp();
		retry_after = 0;
	}
	else
	{
		TransportClose();
		if (reader != NULL)
			redisReaderFree(reader);
		reader = saved_reader;
		TransportResume(&saved_stream);
	}
	if (latch_seen)
		SetLatch(MyLatch);
	return result;
}

void
RedisDropForFailover(void)
{
	if (reader != NULL)
		drop_connection(REDIS_RECONNECT_FAILOVER);
}

/*
 * Make sure we have a live connection for the current settings.
 */
static bool
ensure_connected(bool critical, RedisOutcome *outcome, bool *latch_seen)
{
	const RedisEndpoint *endpoint = EndpointCurrent();
	TimestampTz now;
	TimestampTz deadline;

	if (reader != NULL)
	{
		if (!TransportIsOpen())
			drop_connection(REDIS_RECONNECT_LOST);	/* closed by an interrupt */
		else if (connection_generation != ConnectionSettingsGeneration())
			drop_connection(REDIS_RECONNECT_SETTINGS);
		else if (endpoint->service != NULL && EndpointPrimaryMoved())
		{
			/*
			 * The worker's poll of the sentinels announced another primary
			 * (a planned failover: the old one still accepts writes until
			 * the sentinels demote it, some 10 s later): follow it now.  One
			 * atomic read while nothing was announced.
			 */
			drop_connection(REDIS_RECONNECT_FAILOVER);
		}
		else if (TimestampDifferenceExceeds(last_used, GetCurrentTimestamp(),
											IDLE_CHECK_AFTER_MS) &&
				 TransportPeerClosed())
		{
			/*
			 * Redis closed the connection while it sat unused (a restart, a
			 * CLIENT KILL, its idle timeout): a new one now, before writing.
			 * Written to, the closed connection would take the command into
			 * the socket buffer and fail at the read, and this call (a
			 * COMMIT's delivery among them) would fail although Redis
			 * answers.  One poll() without waiting, no shared state,
			 * preloaded or not (docs/design.md).  Not chosen: an "outage
			 * epoch" in the health state (it knows only the outages the
			 * worker saw, and nothing without preloading), and sending again
			 * after a reused connection failed (a counter's INCR or a lock's
			 * SET NX may have run before the close: not safe to repeat
			 * blindly).  A close that reaches this host after the poll still
			 * fails that one call: Redis went away during it.
			 */
			drop_connection(REDIS_RECONNECT_LOST);
		}
		else
			return true;
	}

	if (endpoint->host == NULL && endpoint->path == NULL)
	{
		ConnectionFail(outcome, REDIS_FAIL_CONFIG,
					   "cache_ext.redis_url is not set");
		return false;
	}

	/*
	 * In the backoff: the shared health state decides when it knows (Redis
	 * answered after our failure: retry now; the worker's probe failed just
	 * now: keep failing fast, past our own interval too), our own clock
	 * when it does not.  The worker, the prober, paces itself.
	 */
	now = GetCurrentTimestamp();
	if (retry_after != 0 &&
		retry_after_generation == ConnectionSettingsGeneration() &&
		!HealthIsProber())
	{
		HealthVerdict verdict = HealthConsult(backoff_since);

		/*
		 * No timing in the texts: they are compared by tests and
		 * deduplicated in logs.  reconnect_interval = 0 asks for no backoff
		 * at all, so the worker's word does not extend it.
		 */
		if (verdict == HEALTH_DOWN && cache_ext_reconnect_interval > 0)
		{
			outcome->kind = REDIS_FAIL_UNAVAILABLE;
			snprintf(outcome->message, sizeof(outcome->message),
					 "Redis at %s is unavailable (the cache_ext worker finds it down too): %s",
					 EndpointDescription(), last_failure);
			return false;
		}
		if (verdict == HEALTH_UNKNOWN && now < retry_after)
		{
			outcome->kind = REDIS_FAIL_UNAVAILABLE;
			snprintf(outcome->message, sizeof(outcome->message),
					 "Redis at %s is unavailable (not retried for cache_ext.reconnect_interval): %s",
					 EndpointDescription(), last_failure);
			return false;
		}
	}

	if (connect_count > 0)
		reconnect_counts[next_cause]++;
	connect_count++;
	deadline = TimestampTzPlusMilliseconds(now, cache_ext_connect_timeout);

	reader = create_reader();
	if (reader == NULL)
	{
		ConnectionFail(outcome, REDIS_FAIL_UNAVAILABLE,
					   "could not connect to Redis at %s: out of memory",
					   EndpointDescription());
		start_backoff(outcome, false);
		return false;
	}
	connection_generation = ConnectionSettingsGeneration();

	if (endpoint->service != NULL)
	{
		/* Sentinel: discovery, connection and ROLE, each step bounded */
		if (!connect_via_sentinels(critical, latch_seen, outcome))
		{
			drop_connection(outcome->kind == REDIS_FAIL_TIMEOUT ?
							REDIS_RECONNECT_TIMEOUT : REDIS_RECONNECT_LOST);
			start_backoff(outcome, outcome->kind != REDIS_FAIL_CONFIG);
			return false;
		}
		last_used = GetCurrentTimestamp();
		retry_after = 0;
		return true;
	}
	if (!TransportConnect(endpoint, deadline, critical, latch_seen, outcome))
	{
		drop_connection(GetCurrentTimestamp() >= deadline ?
						REDIS_RECONNECT_TIMEOUT : REDIS_RECONNECT_LOST);
		start_backoff(outcome, outcome->kind != REDIS_FAIL_CONFIG);
		return false;
	}
	if (!handshake(deadline, outcome))
	{
		drop_connection(GetCurrentTimestamp() >= deadline ?
						REDIS_RECONNECT_TIMEOUT : REDIS_RECONNECT_LOST);
		start_backoff(outcome, outcome->kind == REDIS_FAIL_TIMEOUT ||
					  outcome->kind == REDIS_FAIL_IO);
		return false;
	}
	EndpointNoteConnected(NULL, 0);
	last_used = GetCurrentTimestamp();
	retry_after = 0;
	return true;
}

/* RedisExecute's work; may raise only when not critical. */
static bool
execute(int ncmds, const RedisCommand *cmds, RedisReply *replies,
		bool critical, bool copy, bool *latch_seen, RedisOutcome *outcome)
{
	bool		ok;
	TimestampTz deadline;

	noscript_count = 0;
	failover_seen = false;
	ok = ensure_connected(critical, outcome, latch_seen);
	if (ok)
	{
		deadline = TimestampTzPlusMilliseconds(GetCurrentTimestamp(),
											   cache_ext_command_timeout);
		ok = round_trip(ncmds, cmds, false, replies, copy, false, deadline,
						outcome);
	}

	/*
	 * Redis forgot a script (SCRIPT FLUSH, restart, failover): run the
	 * commands that got NOSCRIPT again with EVAL and the body, which also
	 * puts the script back in Redis's cache under the same SHA.  NOSCRIPT
	 * means the first attempt did nothing, so this never repeats an effect.
	 */
	for (int i = 0; ok && i < noscript_count; i++)
	{
		int			index = noscript_index[i];

		deadline = TimestampTzPlusMilliseconds(GetCurrentTimestamp(),
											   cache_ext_command_timeout);
		ok = round_trip(1, &cmds[index], true,
						replies ? &replies[index] : NULL, copy, false,
						deadline, outcome);
	}
	noscript_count = 0;

	if (ok)
	{
		last_used = GetCurrentTimestamp();

		/* we said Redis was down: say it answers (health.c) */
		if (reported_down)
		{
			HealthReportUp(last_used);
			reported_down = false;
		}

		/*
		 * READONLY, LOADING, MASTERDOWN: this server is not the primary (a
		 * managed failover re-points the name at the new one).  The replies
		 * stand as answered (the caller retries what failed); the next call
		 * reconnects, resolving the name again.
		 */
		if (failover_seen)
			drop_connection(REDIS_RECONNECT_FAILOVER);
	}
	else if (reader != NULL)
	{
		bool		timed_out = outcome->kind == REDIS_FAIL_TIMEOUT;

		drop_connection(timed_out ? REDIS_RECONNECT_TIMEOUT : REDIS_RECONNECT_LOST);
		if (timed_out)
			start_backoff(outcome, true);
	}
	return ok;
}

bool
RedisExecute(int ncmds, const RedisCommand *cmds, RedisReply *replies,
			 int flags, RedisOutcome *outcome)
{
	bool		critical = (flags & REDIS_EXEC_CRITICAL) != 0;
	bool		copy = (flags & REDIS_EXEC_COPY_STRINGS) != 0 && !critical;
	bool		latch_seen = false;
	bool		ok;

	memset(outcome, 0, sizeof(*outcome));
	if (ncmds <= 0)
		return true;

	if (critical)
		ok = execute(ncmds, cmds, replies, true, false, &latch_seen, outcome);
	else
	{
		/*
		 * Anything raised meanwhile (out of memory copying a reply, an
		 * interrupt) leaves replies unread on the connection and hiredis
		 * objects alive: drop it all before the ERROR goes on.
		 */
		TransportEmitDeferredWarnings();
		PG_TRY();
		{
			ok = execute(ncmds, cmds, replies, false, copy, &latch_seen, outcome);
		}
		PG_CATCH();
		{
			RedisDisconnect();
			/* (latch_seen is not reliable here: set the latch anyway) */
			SetLatch(MyLatch);
			PG_RE_THROW();
		}
		PG_END_TRY();
	}

	/* whoever waits on our latch next must still see it set */
	if (latch_seen)
		SetLatch(MyLatch);
	return ok;
}

void
RedisScriptCommand(RedisCommand *cmd, RedisScript *script,
				   int nkeys, const char **keys, const size_t *keylens,
				   int nargs, const char **args, const size_t *arglens)
{
	int			argc = 3 + nkeys + nargs;
	const char **argv = palloc(sizeof(char *) * argc);
	size_t	   *argvlen = palloc(sizeof(size_t) * argc);
	char	   *nkeys_text = psprintf("%d", nkeys);
	int			pos = 0;

	/* argv[0] and argv[1] are decided at send time: EVALSHA sha / EVAL body */
	argv[pos] = "EVALSHA";
	argvlen[pos++] = 7;
	argv[pos] = script->body;
	argvlen[pos++] = strlen(script->body);
	argv[pos] = nkeys_text;
	argvlen[pos++] = strlen(nkeys_text);
	for (int i = 0; i < nkeys; i++)
	{
		argv[pos] = keys[i];
		argvlen[pos++] = keylens[i];
	}
	for (int i = 0; i < nargs; i++)
	{
		argv[pos] = args[i];
		argvlen[pos++] = arglens[i];
	}
	cmd->argc = argc;
	cmd->argv = argv;
	cmd->argvlen = argvlen;
	cmd->script = script;
}

/*
 * Raise the ERROR (or, with cache_ext.ignore_errors, the WARNING) for a
 * failed round trip.
 */
static bool
report_failure(const RedisOutcome *outcome)
{
	int			code;

	switch (outcome->kind)
	{
		case REDIS_FAIL_UNAVAILABLE:
			code = ERRCODE_SQLCLIENT_UNABLE_TO_ESTABLISH_SQLCONNECTION;
			break;
		case REDIS_FAIL_CONFIG:
			code = ERRCODE_CONFIG_FILE_ERROR;
			break;
		default:
			code = ERRCODE_CONNECTION_FAILURE;
			break;
	}

	if (cache_ext_ignore_errors && outcome->kind != REDIS_FAIL_CONFIG)
	{
		ereport(WARNING,
				(errcode(code),
				 errmsg("%s", outcome->message),
				 errdetail("cache_ext.ignore_errors is on, so the call returns NULL or false.")));
		return false;
	}
	ereport(ERROR,
			(errcode(code),
			 errmsg("%s", outcome->message),
			 errhint("Check that Redis is running at %s and that cache_ext.redis_url is right. "
					 "After a failure, calls fail at once for cache_ext.reconnect_interval.",
					 EndpointDescription())));
	return false;				/* keep compiler quiet */
}

bool
RedisPipelineOrError(int ncmds, const RedisCommand *cmds, RedisReply *replies)
{
	RedisOutcome outcome;

	if (RedisExecute(ncmds, cmds, replies, REDIS_EXEC_COPY_STRINGS, &outcome))
		return true;
	return report_failure(&outcome);
}

bool
RedisCommandOrError(int argc, const char **argv, const size_t *argvlen,
					RedisReply *reply)
{
	RedisCommand cmd;

	cmd.argc = argc;
	cmd.argv = argv;
	cmd.argvlen = argvlen;
	cmd.script = NULL;
	return RedisPipelineOrError(1, &cmd, reply);
}

void
RedisReportErrorReply(const RedisReply *reply, const char *what)
{
	ereport(ERROR,
			(errcode(ERRCODE_EXTERNAL_ROUTINE_EXCEPTION),
			 errmsg("Redis rejected %s: %s", what,
					reply->str ? reply->str : "(error reply)"),
			 errhint("The key may hold a value of another type, or a value that is not an integer.")));
}
