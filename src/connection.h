/*-------------------------------------------------------------------------
 *
 * connection.h
 *	  The ground floor of the connection to Redis, shared by its three
 *	  layers and by their callers: endpoint.c (where Redis is: URL, name
 *	  resolution), transport.c (the byte stream: socket, TLS; the only file
 *	  including OpenSSL) and protocol.c (RESP, pipelines, scripts; the only
 *	  file including hiredis, and the API the rest of cache_ext uses,
 *	  protocol.h).  Each layer uses only the ones below it.
 *
 *	  What they share, in connection.c: the time limits
 *	  (cache_ext.connect_timeout, command_timeout, reconnect_interval), the
 *	  generation of the connection settings (a change makes every process
 *	  reconnect), how an attempt failed (RedisOutcome, filled by
 *	  ConnectionFail without palloc, so that it works after commit), and the
 *	  one bounded wait every layer waits with.
 *
 *-------------------------------------------------------------------------
 */
#ifndef CACHE_EXT_CONNECTION_H
#define CACHE_EXT_CONNECTION_H

#include "datatype/timestamp.h"

/* Define the time limits (_PG_init). */
extern void ConnectionInit(void);

extern int	cache_ext_connect_timeout;	/* ms */
extern int	cache_ext_command_timeout;	/* ms */
extern int	cache_ext_reconnect_interval;	/* ms */

/*
 * The generation of the connection settings: it changes whenever
 * cache_ext.redis_url, a TLS setting or the password file setting does
 * (their assign hooks call ConnectionSettingChanged or
 * ConnectionNoteSetting), so that the connection and the TLS context know
 * to be made anew.
 */
extern uint64 ConnectionSettingsGeneration(void);
extern void ConnectionSettingChanged(void);

/*
 * For the assign hook of a string setting of the connection: *seen is the
 * value last seen (malloc'd); a different newval replaces it and changes
 * the generation.  Never raises.
 */
extern void ConnectionNoteSetting(const char *newval, char **seen);

typedef enum RedisFailureKind
{
	REDIS_SUCCESS = 0,
	REDIS_FAIL_UNAVAILABLE,		/* could not connect, or inside the backoff */
	REDIS_FAIL_TIMEOUT,			/* command_timeout elapsed */
	REDIS_FAIL_IO,				/* connection lost or protocol error */
	REDIS_FAIL_CONFIG			/* cache_ext.redis_url is unusable */
} RedisFailureKind;

/*
 * Outcome of a round trip.  The message never contains a password; it
 * names the endpoint as host:port.  Filled without palloc.
 */
typedef struct RedisOutcome
{
	RedisFailureKind kind;
	char		message[256];
	int			nerrors;		/* error replies among the results */
	char		first_error[128];	/* text of the first error reply */
} RedisOutcome;

/*
 * Fill the outcome of a failure: its kind and message (the message never
 * holds a password).  No palloc, never raises.
 */
extern void ConnectionFail(RedisOutcome *outcome, RedisFailureKind kind,
						   const char *fmt,...) pg_attribute_printf(3, 4);

/*
 * Wait until the socket 'fd' is ready for 'events' (WL_SOCKET_READABLE /
 * WL_SOCKET_WRITEABLE; 0 with fd -1: just sleep) or until 'deadline' or
 * max_ms (-1: none), whichever comes first.  Returns the ready events, 0
 * otherwise.  Not 'critical': on the latch and the socket, honouring query
 * cancel, statement_timeout, termination (ConnectionCheckInterrupts raises
 * the ERROR) and postmaster death; *latch_seen tells that the latch was
 * reset (the caller sets it again for whoever waits next).  'critical'
 * (after commit, where nothing may be palloc'd and interrupts are held
 * off): with poll(), in slices of at most 100 ms.
 */
extern int	ConnectionWait(int fd, int events, TimestampTz deadline, long max_ms,
						   bool critical, bool *latch_seen);

/*
 * A pending query cancel or termination raises its ERROR here, where
 * interrupts can be processed (never after commit).  RedisExecute catches
 * every ERROR raised during a round trip and drops the connection before
 * it goes on, so no layer is left half-way.
 */
extern void ConnectionCheckInterrupts(void);

#endif							/* CACHE_EXT_CONNECTION_H */
