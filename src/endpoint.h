/*-------------------------------------------------------------------------
 *
 * endpoint.h
 *	  Where Redis is: the parsed cache_ext.redis_url, and the addresses its
 *	  host name resolves to now.  The first layer of the connection
 *	  (endpoint, transport, protocol); no network traffic happens here
 *	  except the resolver's.
 *
 *-------------------------------------------------------------------------
 */
#ifndef CACHE_EXT_ENDPOINT_H
#define CACHE_EXT_ENDPOINT_H

#include <sys/socket.h>

#include "datatype/timestamp.h"

#include "connection.h"

/*
 * A parsed cache_ext.redis_url.  Strings are malloc'd, never palloc'd.  For
 * redis+sentinel:// and rediss+sentinel:// URLs, host holds the sentinels
 * as written ("h1:26379,h2:26379": EndpointSentinels splits it), service
 * the name they monitor, and user, password and db are the primary's.
 */
typedef struct RedisEndpoint
{
	bool		is_unix;		/* unix socket rather than TCP */
	bool		tls;			/* rediss://, rediss+sentinel:// */
	char	   *host;			/* TCP host (name or address), or NULL */
	int			port;			/* TCP port */
	char	   *path;			/* unix socket path, or NULL */
	char	   *user;			/* ACL user (Redis 6+), or NULL */
	char	   *password;		/* or NULL; never printed anywhere */
	int			db;				/* SELECT index, 0 by default */
	char	   *service;		/* Sentinel service name, or NULL */
} RedisEndpoint;

#define ENDPOINT_MAX_SENTINELS 16
#define ENDPOINT_HOST_MAX 256

/*
 * Define cache_ext.redis_url and cache_ext.redis_password_file (_PG_init).
 * The password file and the URL's password (a session SET) are never
 * shown: see endpoint.c.
 */
extern void EndpointInit(void);

extern char *cache_ext_redis_url;
extern char *cache_ext_redis_password_file;

/*
 * The endpoint of the current cache_ext.redis_url (with the password a
 * session SET gave, which the stored setting never holds).
 */
extern const RedisEndpoint *EndpointCurrent(void);

/* "host:port" or "unix:/path", for messages; never includes credentials. */
extern const char *EndpointDescription(void);

/*
 * What cache_ext.redis_url names, as a 64-bit hash (never 0) unchanged
 * until the setting changes: of host and port, of the unix path, or of a
 * Sentinel service with its whole list of sentinels (never the primary
 * discovered, unlike EndpointDescription while discovery runs).  The shared
 * health state is kept per identity.
 */
extern uint64 EndpointIdentity(void);

/*
 * The sentinels of a Sentinel endpoint, in the URL's order: fills hosts[]
 * and ports[] (ENDPOINT_MAX_SENTINELS entries each), returns their count
 * (0 for an endpoint without Sentinel).
 */
extern int	EndpointSentinels(const RedisEndpoint *endpoint,
							  char hosts[][ENDPOINT_HOST_MAX], int *ports);

/*
 * Parse redis://, rediss://, unix://, redis+sentinel:// or
 * rediss+sentinel:// URLs.  Returns false with a message
 * in *error (a static string that never quotes the URL, which may hold a
 * password) when the URL is malformed.
 */
extern bool EndpointParseUrl(const char *url, RedisEndpoint *endpoint,
							 const char **error);
extern void EndpointFree(RedisEndpoint *endpoint);

/*
 * The URL without its password, for storage in the setting (NULL when out
 * of memory); malloc'd.  Sets *had_password.
 */
extern char *EndpointUrlWithoutPassword(const char *url, bool *had_password);

/*
 * Read cache_ext.redis_password_file: its first line is "password",
 * "user:password" or ":password" (a password with a colon in it).  The
 * file must be a regular file owned by the server's user and not readable
 * by group or others, like ~/.pgpass.  Its contents never appear in any
 * message.  user is "" when the file names none.  No palloc.
 */
extern bool EndpointReadPasswordFile(const char *path, char *user, size_t userlen,
									 char *password, size_t passwordlen,
									 RedisOutcome *outcome);

/* True for an IPv4 or IPv6 literal: it never goes through the resolver. */
extern bool EndpointHostIsAddress(const char *host);

/* The addresses one resolution gave, in the resolver's order. */
#define ENDPOINT_MAX_ADDRESSES 16
typedef struct RedisAddressList
{
	int			count;
	struct sockaddr_storage addr[ENDPOINT_MAX_ADDRESSES];
	socklen_t	addrlen[ENDPOINT_MAX_ADDRESSES];
} RedisAddressList;

/*
 * Resolve host:port into 'list' before 'deadline'.  A numeric address is
 * converted without the resolver.  The wait honours query cancel,
 * statement_timeout and termination (the connection is dropped first);
 * with 'critical' (after commit) nothing is palloc'd and nothing raises.
 * Returns false with the outcome filled.
 */
extern bool EndpointResolve(const char *host, int port, RedisAddressList *list,
							TimestampTz deadline, bool critical,
							bool *latch_seen, RedisOutcome *outcome);

/*
 * Give up the resolution under way, if any (an interrupt unwinds it): the
 * request is cancelled, or parked until the resolver finishes with it.
 * Never raises, never allocates.
 */
extern void EndpointAbandonResolution(void);

/* "ip" or "[ip6]" of an address, for messages. */
extern void EndpointFormatAddress(const struct sockaddr_storage *addr,
								  char *buf, size_t buflen);

/* ------------------------------------------------ Sentinel discovery */

/*
 * cache_ext.sentinel_password: the password the sentinels require (AUTH),
 * or NULL.  The setting shows a mask; the secret is kept here only.
 */
extern const char *EndpointSentinelPassword(void);

/*
 * The two network steps of discovery, done by the protocol layer (which
 * owns the connection): ask one sentinel for the service's primary (fills
 * host, of ENDPOINT_HOST_MAX, and *port), and connect to a candidate
 * primary, leaving the connection open only when its ROLE says master
 * (when ROLE says replica, the primary it replicates from is put in
 * master_host, of ENDPOINT_HOST_MAX, and *master_port; else *master_port is
 * 0).  Each is bounded by cache_ext.connect_timeout and fills the outcome
 * on failure.
 */
typedef bool (*EndpointAskSentinel) (const RedisEndpoint *sentinel,
									 const char *service, char *host,
									 int *port, void *arg,
									 RedisOutcome *outcome);
typedef bool (*EndpointConnectPrimary) (const RedisEndpoint *primary,
										void *arg, char *master_host,
										int *master_port,
										RedisOutcome *outcome);

/*
 * Find the primary of the current Sentinel endpoint and connect to it
 * (endpoint.c states the rule for trusting the sentinels' answers).
 * Returns false with the outcome filled when no sentinel named a primary
 * whose ROLE confirms it.  Never raises or pallocs by itself.
 */
extern bool EndpointDiscoverPrimary(EndpointAskSentinel ask,
									EndpointConnectPrimary connect,
									void *arg, RedisOutcome *outcome);

/*
 * The worker's poll of the sentinels (about once a second, Sentinel URLs
 * only): the same rule as EndpointDiscoverPrimary, kept within one
 * cache_ext.connect_timeout in all (the 'ask' and 'connect' steps must
 * bound their own waits by the deadline handed to them through 'arg').
 * Acts only on an address named by a majority of the sentinels: when it
 * is not the primary announced last, connects to it and, when its ROLE
 * says master, announces it to every process (EndpointPrimaryMoved) and
 * leaves the connection open for the caller.  before_announce (if not
 * NULL) runs just before every announcement.  Never raises or pallocs.
 */
typedef enum EndpointPollResult
{
	ENDPOINT_POLL_UNDECIDED,	/* no majority within the time: nobody moves */
	ENDPOINT_POLL_SAME,			/* the majority names the announced primary */
	ENDPOINT_POLL_MOVED,		/* a new primary, confirmed, announced,
								 * connected to */
	ENDPOINT_POLL_REFUSED		/* the majority's address is not a primary
								 * (ROLE) or does not answer: nobody moves */
} EndpointPollResult;

extern EndpointPollResult EndpointPollPrimary(EndpointAskSentinel ask,
											  EndpointConnectPrimary connect,
											  void *arg, TimestampTz deadline,
											  void (*before_announce) (void),
											  RedisOutcome *outcome);

/*
 * Before a process reuses its connection to a primary found through
 * Sentinel: true when the worker has announced another primary for the
 * same sentinels and service since this process connected (then it
 * reconnects).  One atomic read while nothing was announced, so it costs
 * no system call and no lock on the path of every command.
 */
extern bool EndpointPrimaryMoved(void);

/*
 * The server a connection was made to: the primary found by discovery, or
 * the URL's host.  Records a change of primary under the same URL as a
 * failover (shared memory when preloaded).  Never raises or allocates.
 */
extern void EndpointNoteConnected(const char *host, int port);

/* What cache_ext.stats shows: copies under the lock. */
typedef struct EndpointPrimaryReport
{
	char		primary[ENDPOINT_HOST_MAX + 16];	/* "host:port" or "" */
	uint64		failovers;		/* changes of primary seen */
	TimestampTz last_failover_at;	/* 0 when none */
} EndpointPrimaryReport;

extern void EndpointReadPrimary(EndpointPrimaryReport *report);

/* Their part of the shared memory (shared.c). */
extern Size EndpointSharedSize(void);
extern void EndpointSharedInit(void);

#endif							/* CACHE_EXT_ENDPOINT_H */
