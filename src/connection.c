/*-------------------------------------------------------------------------
 *
 * connection.c
 *	  The connection room: the only file that includes hiredis.
 *
 *	  Each process (backend or background worker) keeps at most one
 *	  connection to Redis.  It is opened lazily on first use, reused across
 *	  transactions, and dropped when anything goes wrong with it (a timeout,
 *	  a lost connection, an interrupted round trip, a changed
 *	  cache_ext.redis_url); the next call opens a new one.  After a failed
 *	  connection attempt or a timeout, calls fail fast for
 *	  cache_ext.reconnect_interval, so a dead or stalled Redis costs at most
 *	  one timeout per interval instead of one per call.
 *
 *	  connect() is non-blocking, waited for on a WaitEventSet (latch, socket,
 *	  postmaster death).  Once connected, the socket is blocking with kernel
 *	  send/receive timeouts of IO_SLICE_MS: a reply costs one read() instead
 *	  of a wait plus a read, every call returns within the slice, and a
 *	  signal interrupts it at once (socket calls with a timeout are never
 *	  restarted).  A round trip writes the whole pipeline and reads every
 *	  reply before a deadline of cache_ext.command_timeout, checking pending
 *	  interrupts between calls: a query cancel or termination is honoured
 *	  after the connection is cleaned up, by the usual CHECK_FOR_INTERRUPTS.  hiredis replies are copied into
 *	  RedisReply and freed as soon as they are read, so no malloc'd hiredis
 *	  object is ever alive across anything that can raise an ERROR.
 *
 *	  After commit (REDIS_EXEC_CRITICAL) nothing here allocates PostgreSQL
 *	  memory or raises: a connect then waits with poll() unless the wait
 *	  event set already exists, and every failure is reported through
 *	  RedisOutcome.
 *
 *-------------------------------------------------------------------------
 */
#include "cache_ext.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>

#include <hiredis/hiredis.h>

#include "storage/latch.h"
#include "utils/timestamp.h"
#include "utils/wait_event.h"
#include "pgstat.h"

#include "connection.h"
#include "settings.h"

typedef struct RedisConnection
{
	redisContext *ctx;			/* NULL when not connected */
	WaitEventSet *wait_set;		/* latch + postmaster death + socket, or
								 * NULL when not created yet */
	int			socket_pos;		/* position of the socket in wait_set */
	uint32		socket_events;	/* events the socket is waited for now */
	uint64		generation;		/* RedisEndpointGeneration() it serves */
	TimestampTz last_used;		/* end of the last round trip */
} RedisConnection;

/*
 * A connection idle for longer than this is checked for a server-side close
 * before reuse; a busy one is not (the check is a syscall per round trip).
 */
#define IDLE_CHECK_AFTER_MS	1000

static RedisConnection connection;

/*
 * Backoff: no connection attempt before retry_after, unless the URL changed
 * since (the backoff concerns the endpoint that failed).
 */
static TimestampTz retry_after = 0;
static uint64 retry_after_generation = 0;
static char last_failure[200] = "";

static uint64 connect_count = 0;

/* Scripts registered by the rooms at _PG_init time. */
#define MAX_SCRIPTS 32
static RedisScript *scripts[MAX_SCRIPTS];
static int	nscripts = 0;

/*
 * Longest single blocking read() or write() on the socket: the deadline and
 * pending interrupts are checked at least this often.
 */
#define IO_SLICE_MS 20

/* Small argv arrays are rebuilt on the stack; larger ones use malloc. */
#define STACK_ARGV 16

/*
 * hiredis replies the handshake holds while it waits for the rest; owned
 * here so that RedisDisconnect frees them when a cancel unwinds the wait.
 */
#define MAX_HANDSHAKE (2 + MAX_SCRIPTS)
static redisReply *held_replies[MAX_HANDSHAKE];

/*
 * Indexes of the commands of the current round trip that Redis answered with
 * NOSCRIPT; they are run again with EVAL.  malloc'd, grown as needed.
 */
static int *noscript_index = NULL;
static int	noscript_count = 0;
static int	noscript_space = 0;

static void set_failure(RedisOutcome *outcome, RedisFailureKind kind,
						const char *fmt,...) pg_attribute_printf(3, 4);

void
ConnectionInit(void)
{
	memset(&connection, 0, sizeof(connection));
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

static void
set_failure(RedisOutcome *outcome, RedisFailureKind kind, const char *fmt,...)
{
	va_list		args;

	outcome->kind = kind;
	va_start(args, fmt);
	vsnprintf(outcome->message, sizeof(outcome->message), fmt, args);
	va_end(args);
	strlcpy(last_failure, outcome->message, sizeof(last_failure));
}

/*
 * Drop the connection.  Never raises and never allocates, so it may be
 * called from error cleanup and after commit.
 */
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

void
RedisDisconnect(void)
{
	free_held_replies();
	if (connection.wait_set != NULL)
	{
		FreeWaitEventSet(connection.wait_set);
		connection.wait_set = NULL;
	}
	if (connection.ctx != NULL)
	{
		redisFree(connection.ctx);
		connection.ctx = NULL;
	}
}

/* Start the backoff window after a failure that cost a timeout. */
static void
start_backoff(void)
{
	retry_after = TimestampTzPlusMilliseconds(GetCurrentTimestamp(),
											  cache_ext_reconnect_interval);
	retry_after_generation = RedisEndpointGeneration();
}

/*
 * Create the wait event set for the current socket.  It lives in
 * TopMemoryContext until the connection is dropped.  Skipped after commit
 * (palloc is forbidden there); waits then fall back to poll().
 */
static void
create_wait_set(void)
{
	WaitEventSet *set;

	set = CreateWaitEventSetCompat(3);
	AddWaitEventToSet(set, WL_LATCH_SET, PGINVALID_SOCKET, MyLatch, NULL);
	AddWaitEventToSet(set, WL_EXIT_ON_PM_DEATH, PGINVALID_SOCKET, NULL, NULL);
	connection.socket_pos = AddWaitEventToSet(set, WL_SOCKET_READABLE,
											  connection.ctx->fd, NULL, NULL);
	connection.socket_events = WL_SOCKET_READABLE;
	connection.wait_set = set;
}

/*
 * Honour a pending cancel or termination while a round trip is under way:
 * drop the half-used connection first (its replies would arrive out of
 * order for the next caller), then let CHECK_FOR_INTERRUPTS raise.
 */
static void
process_interrupts(void)
{
	if (!INTERRUPTS_PENDING_CONDITION() || !INTERRUPTS_CAN_BE_PROCESSED())
		return;

	PG_TRY();
	{
		CHECK_FOR_INTERRUPTS();
	}
	PG_CATCH();
	{
		RedisDisconnect();
		PG_RE_THROW();
	}
	PG_END_TRY();
}

/*
 * Wait until the socket is ready for 'events' (WL_SOCKET_READABLE and/or
 * WL_SOCKET_WRITEABLE) or the deadline passes.  Returns the ready events, or
 * 0 on timeout.  *latch_seen is set when the latch was reset here, so the
 * caller can set it again for whoever waits on it next.
 */
static int
wait_for_socket(int events, TimestampTz deadline, bool *latch_seen)
{
	for (;;)
	{
		long		timeout_ms;

		timeout_ms = TimestampDifferenceMilliseconds(GetCurrentTimestamp(),
													 deadline);
		if (timeout_ms <= 0)
			return 0;

		if (connection.wait_set != NULL)
		{
			WaitEvent	event;
			int			n;

			if (connection.socket_events != (uint32) events)
			{
				ModifyWaitEvent(connection.wait_set, connection.socket_pos,
								events, NULL);
				connection.socket_events = events;
			}
			n = WaitEventSetWait(connection.wait_set, timeout_ms, &event, 1,
								 PG_WAIT_EXTENSION);
			if (n == 0)
				continue;		/* timeout: the next iteration returns 0 */
			if (event.events & WL_LATCH_SET)
			{
				ResetLatch(MyLatch);
				*latch_seen = true;
				process_interrupts();
				continue;
			}
			if (event.events & (WL_SOCKET_READABLE | WL_SOCKET_WRITEABLE))
				return event.events & (WL_SOCKET_READABLE | WL_SOCKET_WRITEABLE);
		}
		else
		{
			/*
			 * No wait event set (after commit, where interrupts are held off
			 * anyway): plain poll(), which a signal also wakes up.
			 */
			struct pollfd pfd;
			int			rc;

			pfd.fd = connection.ctx->fd;
			pfd.events = 0;
			if (events & WL_SOCKET_READABLE)
				pfd.events |= POLLIN;
			if (events & WL_SOCKET_WRITEABLE)
				pfd.events |= POLLOUT;
			pfd.revents = 0;
			rc = poll(&pfd, 1, (int) Min(timeout_ms, 100));
			if (rc < 0 && errno != EINTR)
				return WL_SOCKET_READABLE;	/* let the read report the error */
			if (rc <= 0)
			{
				process_interrupts();
				continue;
			}
			rc = 0;
			if (pfd.revents & (POLLIN | POLLERR | POLLHUP))
				rc |= WL_SOCKET_READABLE;
			if (pfd.revents & (POLLOUT | POLLERR | POLLHUP))
				rc |= WL_SOCKET_WRITEABLE;
			return rc & events ? rc & events : events;
		}
	}
}

/*
 * True when an idle connection has been closed by the server (Redis
 * restarted, or its client timeout closed us).  An idle connection has
 * nothing to read; if the socket is readable, it is EOF or garbage, and
 * either way the connection is useless.  The poll() saves the caller a
 * spurious error after a Redis restart; it is skipped for a connection
 * used within IDLE_CHECK_AFTER_MS, where it would only cost a syscall per
 * call (a restart inside that window costs one failed call, which is
 * reported, and the next call reconnects).
 */
static bool
idle_connection_is_dead(TimestampTz now)
{
	struct pollfd pfd;

	if (!TimestampDifferenceExceeds(connection.last_used, now,
									IDLE_CHECK_AFTER_MS))
		return false;
	pfd.fd = connection.ctx->fd;
	pfd.events = POLLIN;
	pfd.revents = 0;
	return poll(&pfd, 1, 0) != 0;
}

/*
 * Copy one hiredis reply into *out.  Without 'copy', nothing is allocated:
 * strings are left out.  Error replies are counted in the outcome.
 */
static void
store_reply(redisReply *reply, RedisReply *out, bool copy,
			RedisOutcome *outcome)
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
			store_reply(reply->element[i], &out->element[i], copy, outcome);
	}
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

/*
 * Hand one command to hiredis's output buffer, filling in a script's SHA
 * (or falling back to EVAL with its body when the SHA is unknown or Redis
 * forgot it).
 */
static bool
append_command(const RedisCommand *cmd, bool force_eval)
{
	const char *stack_argv[STACK_ARGV];
	size_t		stack_len[STACK_ARGV];
	const char **argv;
	size_t	   *argvlen;
	int			rc;

	if (cmd->script == NULL)
		return redisAppendCommandArgv(connection.ctx, cmd->argc, cmd->argv,
									  cmd->argvlen) == REDIS_OK;

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
	rc = redisAppendCommandArgv(connection.ctx, cmd->argc, argv, argvlen);
	if (argv != stack_argv)
	{
		free(argv);
		free(argvlen);
	}
	return rc == REDIS_OK;
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
	redisContext *c = connection.ctx;
	int			done = 0;
	int			received = 0;

	for (int i = 0; i < ncmds; i++)
	{
		if (!append_command(&cmds[i], force_eval))
		{
			set_failure(outcome, REDIS_FAIL_IO,
						"could not queue a command for Redis at %s: %s",
						RedisEndpointDescription(),
						c->err ? c->errstr : "out of memory");
			return false;
		}
	}

	while (received < ncmds)
	{
		if (!done && redisBufferWrite(c, &done) == REDIS_ERR)
		{
			set_failure(outcome, REDIS_FAIL_IO,
						"lost the connection to Redis at %s while writing: %s",
						RedisEndpointDescription(), c->errstr);
			return false;
		}

		/* Take every complete reply already read. */
		while (received < ncmds)
		{
			void	   *reply = NULL;

			if (redisGetReplyFromReader(c, &reply) == REDIS_ERR)
			{
				set_failure(outcome, REDIS_FAIL_IO,
							"could not parse a reply from Redis at %s: %s",
							RedisEndpointDescription(), c->errstr);
				return false;
			}
			if (reply == NULL)
				break;
			if (!count_error_reply(reply, hold_raw ? NULL : &cmds[received],
								   received, outcome))
			{
				freeReplyObject(reply);
				set_failure(outcome, REDIS_FAIL_IO,
							"out of memory reading replies from Redis at %s",
							RedisEndpointDescription());
				return false;
			}
			if (hold_raw)
				held_replies[received] = reply;
			else
			{
				if (replies != NULL)
					store_reply(reply, &replies[received], copy, outcome);
				freeReplyObject(reply);
			}
			received++;
		}
		if (received == ncmds)
			break;

		if (GetCurrentTimestamp() >= deadline)
		{
			if (hold_raw)
				set_failure(outcome, REDIS_FAIL_TIMEOUT,
							"Redis at %s did not complete the connection handshake within %d ms",
							RedisEndpointDescription(), cache_ext_connect_timeout);
			else
				set_failure(outcome, REDIS_FAIL_TIMEOUT,
							"Redis at %s did not answer within %d ms",
							RedisEndpointDescription(), cache_ext_command_timeout);
			return false;
		}
		process_interrupts();

		/*
		 * Once connected, the socket is blocking with short kernel send and
		 * receive timeouts (see make_socket_blocking): one read() both
		 * waits for the reply and takes it.  It returns at the latest after
		 * IO_SLICE_MS, and at once with EINTR when a signal (query cancel,
		 * statement_timeout, termination) arrives, because the kernel never
		 * restarts socket calls that have a timeout; the loop then checks
		 * the deadline and the interrupts.  hiredis treats both the timeout
		 * (EAGAIN) and EINTR as "nothing read yet".
		 */
		if (done)
		{
			int			rc;

			pgstat_report_wait_start(PG_WAIT_EXTENSION);
			rc = redisBufferRead(c);
			pgstat_report_wait_end();
			if (rc == REDIS_ERR)
			{
				set_failure(outcome, REDIS_FAIL_IO,
							"lost the connection to Redis at %s: %s",
							RedisEndpointDescription(), c->errstr);
				return false;
			}
		}
	}
	return true;
}

/*
 * After connect(): make the socket blocking, with send and receive
 * timeouts of IO_SLICE_MS (or command_timeout, if shorter).  A blocking
 * read() costs one system call per reply where waiting on the socket first
 * costs two, and the timeouts keep every call short and interruptible.
 */
static bool
make_socket_blocking(RedisOutcome *outcome)
{
	int			fd = connection.ctx->fd;
	int			flags = fcntl(fd, F_GETFL);
	int			slice_ms = Min(IO_SLICE_MS, cache_ext_command_timeout);
	struct timeval tv;

	tv.tv_sec = slice_ms / 1000;
	tv.tv_usec = (slice_ms % 1000) * 1000;
	/* (hiredis's redisSetTimeout refuses contexts made non-blocking) */
	if (flags < 0 || fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) < 0 ||
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 ||
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0)
	{
		set_failure(outcome, REDIS_FAIL_IO,
					"could not configure the socket to Redis at %s: %s",
					RedisEndpointDescription(), strerror(errno));
		return false;
	}
	return true;
}

/*
 * Wait for a non-blocking connect() to finish.
 */
static bool
finish_connect(TimestampTz deadline, RedisOutcome *outcome, bool *latch_seen)
{
	int			err = 0;
	socklen_t	errlen = sizeof(err);

	if (wait_for_socket(WL_SOCKET_WRITEABLE, deadline, latch_seen) == 0)
	{
		set_failure(outcome, REDIS_FAIL_UNAVAILABLE,
					"could not connect to Redis at %s: timed out after %d ms",
					RedisEndpointDescription(), cache_ext_connect_timeout);
		return false;
	}
	if (getsockopt(connection.ctx->fd, SOL_SOCKET, SO_ERROR, &err, &errlen) < 0)
		err = errno;
	if (err != 0)
	{
		set_failure(outcome, REDIS_FAIL_UNAVAILABLE,
					"could not connect to Redis at %s: %s",
					RedisEndpointDescription(), strerror(err));
		return false;
	}
	return true;
}

/*
 * Authenticate, select the database and load the scripts not loaded yet,
 * in one round trip.
 */
static bool
handshake(TimestampTz deadline, bool critical, RedisOutcome *outcome)
{
	const RedisEndpoint *endpoint = CurrentRedisEndpoint();
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
	int			ncmds = 0;
	int			auth_pos = -1;
	int			select_pos = -1;
	int			first_load;
	int			nloading = 0;
	bool		ok = true;

	memset(cmds, 0, sizeof(cmds));
	if (endpoint->password != NULL)
	{
		int			argc = 0;

		auth_argv[argc] = "AUTH";
		auth_len[argc++] = 4;
		if (endpoint->user != NULL)
		{
			auth_argv[argc] = endpoint->user;
			auth_len[argc++] = strlen(endpoint->user);
		}
		auth_argv[argc] = endpoint->password;
		auth_len[argc++] = strlen(endpoint->password);
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
	if (ncmds == 0)
		return true;

	if (!round_trip(ncmds, cmds, false, NULL, false, true, deadline, outcome))
		ok = false;

	if (ok && auth_pos >= 0 && raw[auth_pos]->type == REDIS_REPLY_ERROR)
	{
		/* Redis's message names no secret ("WRONGPASS invalid ...") */
		set_failure(outcome, REDIS_FAIL_UNAVAILABLE,
					"Redis at %s refused authentication: %.*s",
					RedisEndpointDescription(),
					(int) Min(raw[auth_pos]->len, 100), raw[auth_pos]->str);
		ok = false;
	}
	if (ok && select_pos >= 0 && raw[select_pos]->type == REDIS_REPLY_ERROR)
	{
		set_failure(outcome, REDIS_FAIL_CONFIG,
					"Redis at %s refused SELECT %d: %.*s",
					RedisEndpointDescription(), endpoint->db,
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

	free_held_replies();
	return ok;
}

/*
 * Make sure we have a live connection for the current URL.
 */
static bool
ensure_connected(bool critical, RedisOutcome *outcome, bool *latch_seen)
{
	const RedisEndpoint *endpoint = CurrentRedisEndpoint();
	TimestampTz now;
	TimestampTz deadline;

	if (connection.ctx != NULL)
	{
		if (connection.generation == RedisEndpointGeneration() &&
			!idle_connection_is_dead(GetCurrentTimestamp()))
		{
			if (connection.wait_set == NULL && !critical)
				create_wait_set();
			return true;
		}
		RedisDisconnect();
	}

	if (endpoint->host == NULL && endpoint->path == NULL)
	{
		set_failure(outcome, REDIS_FAIL_CONFIG,
					"cache_ext.redis_url is not set");
		return false;
	}

	now = GetCurrentTimestamp();
	if (now < retry_after && retry_after_generation == RedisEndpointGeneration())
	{
		/* no timing in the text: it is compared by tests and deduplicated in logs */
		outcome->kind = REDIS_FAIL_UNAVAILABLE;
		snprintf(outcome->message, sizeof(outcome->message),
				 "Redis at %s is unavailable (not retried for cache_ext.reconnect_interval): %s",
				 RedisEndpointDescription(), last_failure);
		return false;
	}

	if (endpoint->is_unix)
		connection.ctx = redisConnectUnixNonBlock(endpoint->path);
	else
		connection.ctx = redisConnectNonBlock(endpoint->host, endpoint->port);
	connect_count++;
	if (connection.ctx == NULL)
	{
		set_failure(outcome, REDIS_FAIL_UNAVAILABLE,
					"could not connect to Redis at %s: out of memory",
					RedisEndpointDescription());
		start_backoff();
		return false;
	}
	if (connection.ctx->err)
	{
		set_failure(outcome, REDIS_FAIL_UNAVAILABLE,
					"could not connect to Redis at %s: %s",
					RedisEndpointDescription(), connection.ctx->errstr);
		RedisDisconnect();
		start_backoff();
		return false;
	}
	connection.generation = RedisEndpointGeneration();

	if (!critical)
	{
		/* palloc may fail here: don't leak the socket if it does */
		PG_TRY();
		{
			create_wait_set();
		}
		PG_CATCH();
		{
			RedisDisconnect();
			PG_RE_THROW();
		}
		PG_END_TRY();
	}

	deadline = TimestampTzPlusMilliseconds(now, cache_ext_connect_timeout);
	if (!finish_connect(deadline, outcome, latch_seen) ||
		!make_socket_blocking(outcome) ||
		!handshake(deadline, critical, outcome))
	{
		RedisDisconnect();
		start_backoff();
		return false;
	}
	return true;
}

bool
RedisExecute(int ncmds, const RedisCommand *cmds, RedisReply *replies,
			 int flags, RedisOutcome *outcome)
{
	bool		critical = (flags & REDIS_EXEC_CRITICAL) != 0;
	bool		copy = (flags & REDIS_EXEC_COPY_STRINGS) != 0 && !critical;
	bool		latch_seen = false;
	bool		ok;
	TimestampTz deadline;

	memset(outcome, 0, sizeof(*outcome));
	if (ncmds <= 0)
		return true;

	noscript_count = 0;
	ok = ensure_connected(critical, outcome, &latch_seen);
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
		connection.last_used = GetCurrentTimestamp();
	if (!ok && connection.ctx != NULL)
	{
		RedisDisconnect();
		if (outcome->kind == REDIS_FAIL_TIMEOUT)
			start_backoff();
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
					 RedisEndpointDescription())));
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
ReportRedisErrorReply(const RedisReply *reply, const char *what)
{
	ereport(ERROR,
			(errcode(ERRCODE_EXTERNAL_ROUTINE_EXCEPTION),
			 errmsg("Redis rejected %s: %s", what,
					reply->str ? reply->str : "(error reply)"),
			 errhint("The key may hold a value of another type, or a value that is not an integer.")));
}
