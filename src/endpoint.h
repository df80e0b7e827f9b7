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

/* A parsed cache_ext.redis_url.  Strings are malloc'd, never palloc'd. */
typedef struct RedisEndpoint
{
	bool		is_unix;		/* unix socket rather than TCP */
	bool		tls;			/* rediss:// */
	char	   *host;			/* TCP host (name or address), or NULL */
	int			port;			/* TCP port */
	char	   *path;			/* unix socket path, or NULL */
	char	   *user;			/* ACL user (Redis 6+), or NULL */
	char	   *password;		/* or NULL; never printed anywhere */
	int			db;				/* SELECT index, 0 by default */
} RedisEndpoint;

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
 * Parse redis://, rediss:// or unix:// URLs.  Returns false with a message
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

#endif							/* CACHE_EXT_ENDPOINT_H */
