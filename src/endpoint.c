/*-------------------------------------------------------------------------
 *
 * endpoint.c
 *	  Where Redis is: the settings cache_ext.redis_url,
 *	  cache_ext.redis_password_file and cache_ext.sentinel_password, parsing
 *	  the URL, reading the password file, and resolving the host name into
 *	  addresses at every connection attempt (a managed Redis's name is
 *	  re-pointed at another server on failover, so a resolution is never
 *	  cached).  For redis+sentinel:// URLs, the discovery of the primary:
 *	  the rule for trusting the sentinels' answers (EndpointDiscoverPrimary,
 *	  and the worker's poll EndpointPollPrimary, whose network steps
 *	  protocol.c performs through callbacks), and the primary last
 *	  connected to with the failovers seen and the primary the worker's poll
 *	  announced, in shared memory when preloaded (EndpointShared, under its
 *	  spinlock; the announcement's epoch is an atomic read without it).
 *
 *	  Name resolution must not block past cache_ext.connect_timeout and must
 *	  let a query cancel, statement_timeout or termination through, which a
 *	  plain getaddrinfo() does not.  The choices were:
 *	  - glibc's getaddrinfo_a(): the lookup runs in a helper thread of glibc
 *	    that blocks every signal (glibc sysdeps/nptl/gai_misc.h,
 *	    __gai_create_helper_thread, fills the signal mask before
 *	    pthread_create), so PostgreSQL's signal handlers keep running in
 *	    this thread only; the lookup honours nsswitch.conf and /etc/hosts
 *	    exactly like libpq's; no new dependency.
 *	  - c-ares: sockets we could wait for on the WaitEventSet and no thread,
 *	    but a new library to install and its own reading of the resolver
 *	    configuration (no nsswitch modules).
 *	  We use getaddrinfo_a without notification (SIGEV_NONE): the request
 *	  is polled with gai_error() between short waits on the latch, so
 *	  interrupts are honoured within a few milliseconds.  On timeout or
 *	  interrupt the request is cancelled with gai_cancel(); a request the
 *	  helper thread is already working on cannot be cancelled, so it is
 *	  parked (its memory stays valid) and freed once it completes, checked
 *	  at the next resolution.  At most MAX_PARKED lookups may hang at once;
 *	  beyond that, connection attempts fail at once rather than pile up
 *	  threads.  A numeric address never goes through the resolver.
 *
 *	  Nothing here pallocs or raises (it runs after commit too): requests
 *	  and results are malloc'd, messages go into RedisOutcome.
 *
 *-------------------------------------------------------------------------
 */
#include "prelude.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "port/atomics.h"
#include "storage/shmem.h"
#include "storage/spin.h"
#include "tcop/tcopprot.h"
#include "utils/timestamp.h"

#include "connection.h"
#include "endpoint.h"

/* ------------------------------------------------------------ URL parsing */

static char *
malloc_strndup(const char *s, size_t len)
{
	char	   *copy = malloc(len + 1);

	if (copy == NULL)
		return NULL;
	memcpy(copy, s, len);
	copy[len] = '\0';
	return copy;
}

/*
 * Decode %XX escapes in place (user names and passwords may contain ':' or
 * '@').  Returns false on a malformed escape.
 */
static bool
percent_decode(char *s)
{
	char	   *out = s;

	while (*s)
	{
		if (*s == '%')
		{
			int			hi,
						lo;

			if (!isxdigit((unsigned char) s[1]) || !isxdigit((unsigned char) s[2]))
				return false;
			hi = isdigit((unsigned char) s[1]) ? s[1] - '0' : (tolower((unsigned char) s[1]) - 'a' + 10);
			lo = isdigit((unsigned char) s[2]) ? s[2] - '0' : (tolower((unsigned char) s[2]) - 'a' + 10);
			*out++ = (char) (hi * 16 + lo);
			s += 3;
		}
		else
			*out++ = *s++;
	}
	*out = '\0';
	return true;
}

static bool
parse_nonnegative_int(const char *s, size_t len, int max, int *result)
{
	long		value = 0;

	if (len == 0)
		return false;
	for (size_t i = 0; i < len; i++)
	{
		if (!isdigit((unsigned char) s[i]))
			return false;
		value = value * 10 + (s[i] - '0');
		if (value > max)
			return false;
	}
	*result = (int) value;
	return true;
}

void
EndpointFree(RedisEndpoint *endpoint)
{
	free(endpoint->host);
	free(endpoint->path);
	free(endpoint->user);
	free(endpoint->service);
	if (endpoint->password)
	{
		/* do not leave the secret lying around in freed memory */
		explicit_bzero(endpoint->password, strlen(endpoint->password));
		free(endpoint->password);
	}
	memset(endpoint, 0, sizeof(*endpoint));
}

/*
 * Where the authority's credentials end: the last '@' before the path (for
 * unix:// URLs, before the socket path, which starts with '/').  NULL when
 * the URL has no credentials.
 */
static const char *
find_credentials_end(const char *rest, bool is_unix)
{
	const char *at = NULL;

	for (const char *p = rest; *p && (is_unix || (*p != '/' && *p != '?')); p++)
	{
		if (*p == '@')
			at = p;
		if (is_unix && *p == '/' && at == NULL)
			break;
	}
	return at;
}

/* The scheme: sets *rest past "://", returns false for an unknown one. */
static bool
parse_scheme(const char *url, const char **rest, bool *is_unix, bool *tls,
			 bool *sentinel)
{
	*is_unix = false;
	*tls = false;
	*sentinel = false;
	if (strncmp(url, "redis://", 8) == 0)
		*rest = url + 8;
	else if (strncmp(url, "rediss://", 9) == 0)
	{
		*rest = url + 9;
		*tls = true;
	}
	else if (strncmp(url, "redis+sentinel://", 17) == 0)
	{
		*rest = url + 17;
		*sentinel = true;
	}
	else if (strncmp(url, "rediss+sentinel://", 18) == 0)
	{
		*rest = url + 18;
		*tls = true;
		*sentinel = true;
	}
	else if (strncmp(url, "unix://", 7) == 0)
	{
		*rest = url + 7;
		*is_unix = true;
	}
	else
		return false;
	return true;
}

/*
 * One "host[:port]" (IPv6 in brackets) of len bytes at s, into host (a
 * buffer of ENDPOINT_HOST_MAX) and *port (default_port when absent).
 */
static bool
parse_host_port(const char *s, size_t len, int default_port, char *host,
				int *port, const char **error)
{
	const char *end = s + len;
	const char *after;
	size_t		hostlen;

	if (len > 0 && s[0] == '[')
	{
		const char *close = memchr(s, ']', len);
		struct in6_addr a6;

		if (close == NULL || close == s + 1 || close - s - 1 >= ENDPOINT_HOST_MAX)
		{
			*error = "an IPv6 host must be written in brackets, as in [::1]";
			return false;
		}
		memcpy(host, s + 1, close - s - 1);
		host[close - s - 1] = '\0';
		if (inet_pton(AF_INET6, host, &a6) != 1)
		{
			*error = "the text in brackets is not an IPv6 address";
			return false;
		}
		after = close + 1;
	}
	else
	{
		const char *colon = memchr(s, ':', len);

		hostlen = colon ? (size_t) (colon - s) : len;
		if (hostlen == 0)
		{
			*error = "the URL names no host";
			return false;
		}
		if (hostlen > 253)
		{
			*error = "the host name is longer than 253 characters";
			return false;
		}
		memcpy(host, s, hostlen);
		host[hostlen] = '\0';
		for (const char *p = host; *p; p++)
		{
			if (!isalnum((unsigned char) *p) && *p != '-' && *p != '.' && *p != '_')
			{
				*error = "the host name contains a character that no host name has";
				return false;
			}
		}
		after = s + hostlen;
	}
	*port = default_port;
	if (after < end)
	{
		if (*after != ':' ||
			!parse_nonnegative_int(after + 1, end - after - 1, 65535, port) ||
			*port == 0)
		{
			*error = "the port must be a number from 1 to 65535";
			return false;
		}
	}
	return true;
}

/*
 * The part of a redis+sentinel:// URL after the credentials:
 * host1[:port1][,host2[:port2]...]/SERVICE[/DB].  The sentinels' list is
 * kept as written in endpoint->host (EndpointSentinels splits it), the
 * service in endpoint->service.
 */
static bool
parse_sentinel_part(const char *rest, RedisEndpoint *endpoint, const char **error)
{
	size_t		listlen = strcspn(rest, "/?");
	const char *service;
	size_t		servicelen;
	int			count = 0;
	const char *p = rest;

	if (listlen == 0)
	{
		*error = "a Sentinel URL names its sentinels, as in redis+sentinel://host1:26379,host2:26379/mymaster";
		return false;
	}
	while (p < rest + listlen)
	{
		size_t		itemlen = strcspn(p, ",/?");
		char		host[ENDPOINT_HOST_MAX];
		int			port;

		if (!parse_host_port(p, itemlen, 26379, host, &port, error))
			return false;
		if (++count > ENDPOINT_MAX_SENTINELS)
		{
			*error = "a Sentinel URL names at most 16 sentinels";
			return false;
		}
		p += itemlen;
		if (*p == ',')
		{
			p++;
			if (p == rest + listlen)
			{
				*error = "the URL names no host";
				return false;
			}
		}
	}
	endpoint->host = malloc_strndup(rest, listlen);
	rest += listlen;
	if (*rest != '/' || rest[1] == '\0' || rest[1] == '/')
	{
		*error = "a Sentinel URL names the monitored service after the sentinels, as in redis+sentinel://host:26379/mymaster";
		return false;
	}
	service = rest + 1;
	servicelen = strcspn(service, "/?");
	for (size_t i = 0; i < servicelen; i++)
	{
		if (!isalnum((unsigned char) service[i]) && service[i] != '-' &&
			service[i] != '.' && service[i] != '_')
		{
			*error = "the service name may hold letters, digits, '-', '.' and '_' only";
			return false;
		}
	}
	if (servicelen > 128)
	{
		*error = "the service name is longer than 128 characters";
		return false;
	}
	endpoint->service = malloc_strndup(service, servicelen);
	rest = service + servicelen;
	if (*rest == '/')
	{
		size_t		dblen = strlen(rest + 1);

		if (dblen > 0 &&
			!parse_nonnegative_int(rest + 1, dblen, INT_MAX, &endpoint->db))
		{
			*error = "the database must be a non-negative number, as in redis+sentinel://host:26379/mymaster/0";
			return false;
		}
		rest += 1 + dblen;
	}
	if (*rest != '\0')
	{
		*error = "unexpected text after the service and database";
		return false;
	}
	if (endpoint->host == NULL || endpoint->service == NULL)
	{
		*error = "out of memory";
		return false;
	}
	endpoint->port = 0;
	return true;
}

int
EndpointSentinels(const RedisEndpoint *endpoint,
				  char hosts[][ENDPOINT_HOST_MAX], int *ports)
{
	const char *p = endpoint->host;
	int			count = 0;
	const char *error;

	if (endpoint->service == NULL || p == NULL)
		return 0;
	while (*p && count < ENDPOINT_MAX_SENTINELS)
	{
		size_t		itemlen = strcspn(p, ",");

		if (!parse_host_port(p, itemlen, 26379, hosts[count], &ports[count], &error))
			break;				/* cannot happen: the URL was accepted */
		count++;
		p += itemlen;
		if (*p == ',')
			p++;
	}
	return count;
}

/*
 * Parse redis://[[user][:password]@]host[:port][/db],
 * rediss://... (TLS) or unix://[[user][:password]@]/path[?db=N].  IPv6
 * hosts go in brackets.
 *
 * Error messages are static strings that never quote the URL, because the
 * URL may contain a password.
 */
bool
EndpointParseUrl(const char *url, RedisEndpoint *endpoint, const char **error)
{
	const char *rest;
	const char *at;
	const char *hostpart;
	bool		is_unix;
	bool		tls;

	bool		sentinel;

	memset(endpoint, 0, sizeof(*endpoint));
	endpoint->port = 6379;

	if (url == NULL || url[0] == '\0')
	{
		*error = "the URL is empty";
		return false;
	}

	if (!parse_scheme(url, &rest, &is_unix, &tls, &sentinel))
	{
		*error = "the URL must start with redis://, rediss://, unix://, redis+sentinel:// or rediss+sentinel://";
		return false;
	}
	endpoint->is_unix = is_unix;
	endpoint->tls = tls;

	/* credentials: user@, user:password@ or :password@ */
	at = find_credentials_end(rest, is_unix);
	if (at != NULL)
	{
		const char *colon = memchr(rest, ':', at - rest);
		const char *user_end = colon ? colon : at;

		if (user_end > rest)
		{
			endpoint->user = malloc_strndup(rest, user_end - rest);
			if (endpoint->user == NULL || !percent_decode(endpoint->user))
			{
				*error = "the user name is malformed (use %XX escapes for reserved characters)";
				goto fail;
			}
		}
		if (colon != NULL)
		{
			endpoint->password = malloc_strndup(colon + 1, at - colon - 1);
			if (endpoint->password == NULL || !percent_decode(endpoint->password))
			{
				*error = "the password is malformed (use %XX escapes for reserved characters)";
				goto fail;
			}
			if (endpoint->password[0] == '\0')
			{
				free(endpoint->password);
				endpoint->password = NULL;
			}
		}
		rest = at + 1;
	}

	if (sentinel)
	{
		if (!parse_sentinel_part(rest, endpoint, error))
			goto fail;
		return true;
	}

	if (is_unix)
	{
		const char *query = strchr(rest, '?');
		size_t		pathlen = query ? (size_t) (query - rest) : strlen(rest);

		if (pathlen == 0 || rest[0] != '/')
		{
			*error = "a unix:// URL needs an absolute socket path, as in unix:///run/redis/redis.sock";
			goto fail;
		}
		if (pathlen >= sizeof(((struct sockaddr_un *) NULL)->sun_path))
		{
			*error = "the unix socket path is too long";
			goto fail;
		}

		/*
		 * An '@' in the path is almost surely credentials written after the
		 * path's first '/' (unix:///:secret@/run/redis.sock): taken as a
		 * path, the secret would be stored in the setting and named in every
		 * connection error.  No socket path worth supporting holds an '@'.
		 */
		if (memchr(rest, '@', pathlen) != NULL)
		{
			*error = "the unix socket path contains '@'; credentials go between unix:// and the path, as in unix://user:password@/run/redis/redis.sock";
			goto fail;
		}
		endpoint->path = malloc_strndup(rest, pathlen);
		if (endpoint->path == NULL)
		{
			*error = "out of memory";
			goto fail;
		}
		if (query)
		{
			if (strncmp(query, "?db=", 4) != 0 ||
				!parse_nonnegative_int(query + 4, strlen(query + 4), INT_MAX, &endpoint->db))
			{
				*error = "the only query parameter understood is ?db=N";
				goto fail;
			}
		}
		return true;
	}

	/* host, in brackets for IPv6 */
	hostpart = rest;
	if (*hostpart == '[')
	{
		const char *close = strchr(hostpart, ']');
		struct in6_addr a6;

		if (close == NULL || close == hostpart + 1)
		{
			*error = "an IPv6 host must be written in brackets, as in [::1]";
			goto fail;
		}
		endpoint->host = malloc_strndup(hostpart + 1, close - hostpart - 1);
		if (endpoint->host != NULL && inet_pton(AF_INET6, endpoint->host, &a6) != 1)
		{
			*error = "the text in brackets is not an IPv6 address";
			goto fail;
		}
		rest = close + 1;
	}
	else
	{
		size_t		hostlen = strcspn(hostpart, ":/?");

		if (hostlen == 0)
		{
			*error = "the URL names no host";
			goto fail;
		}
		if (hostlen > 253)
		{
			*error = "the host name is longer than 253 characters";
			goto fail;
		}
		endpoint->host = malloc_strndup(hostpart, hostlen);
		rest = hostpart + hostlen;
	}
	if (endpoint->host == NULL)
	{
		*error = "out of memory";
		goto fail;
	}
	for (const char *p = endpoint->host; *p; p++)
	{
		/* letters, digits, '-', '.', '_' and the IPv6 ':' only */
		if (!isalnum((unsigned char) *p) && *p != '-' && *p != '.' &&
			*p != '_' && *p != ':' && *p != '%')
		{
			*error = "the host name contains a character that no host name has";
			goto fail;
		}
	}

	if (*rest == ':')
	{
		size_t		portlen = strcspn(rest + 1, "/?");

		if (!parse_nonnegative_int(rest + 1, portlen, 65535, &endpoint->port) ||
			endpoint->port == 0)
		{
			*error = "the port must be a number from 1 to 65535";
			goto fail;
		}
		rest += 1 + portlen;
	}
	if (*rest == '/')
	{
		size_t		dblen = strcspn(rest + 1, "?");

		if (dblen > 0 &&
			!parse_nonnegative_int(rest + 1, dblen, INT_MAX, &endpoint->db))
		{
			*error = "the database must be a non-negative number, as in redis://host:6379/0";
			goto fail;
		}
		rest += 1 + dblen;
	}
	if (*rest != '\0')
	{
		*error = "unexpected text after the host, port and database";
		goto fail;
	}
	return true;

fail:
	EndpointFree(endpoint);
	return false;
}

/*
 * The URL with ":password" removed from its credentials (the user name,
 * if any, stays).  Only called on a URL EndpointParseUrl accepted.
 */
char *
EndpointUrlWithoutPassword(const char *url, bool *had_password)
{
	const char *rest;
	const char *at;
	const char *colon;
	bool		is_unix;
	bool		tls;
	size_t		len = strlen(url);
	char	   *result;
	char	   *out;

	bool		sentinel;

	*had_password = false;
	if (!parse_scheme(url, &rest, &is_unix, &tls, &sentinel) ||
		(at = find_credentials_end(rest, is_unix)) == NULL ||
		(colon = memchr(rest, ':', at - rest)) == NULL)
		return malloc_strndup(url, len);

	*had_password = at > colon + 1;
	result = malloc(len + 1);
	if (result == NULL)
		return NULL;
	out = result;
	memcpy(out, url, colon - url);	/* scheme and user */
	out += colon - url;
	if (colon > rest)
	{
		/* keep "user@" */
		memcpy(out, at, len - (at - url));
		out += len - (at - url);
	}
	else
	{
		/* no user: drop the '@' too */
		memcpy(out, at + 1, len - (at + 1 - url));
		out += len - (at + 1 - url);
	}
	*out = '\0';
	return result;
}

/* ------------------------------------------------------------ settings */

/*
 * cache_ext.redis_url, parsed once in its check hook into a RedisEndpoint;
 * the connection compares ConnectionSettingsGeneration() to notice a change
 * of the URL, the TLS settings or the password file setting.
 *
 * The password: it lives in cache_ext.redis_password_file (read at each
 * connection, EndpointReadPasswordFile), or, for one session, in a URL
 * given by SET, whose stored value is stripped of it (see check_redis_url).
 * No pg_settings column, log line or error message ever holds it.
 */
char	   *cache_ext_redis_url = NULL;
char	   *cache_ext_redis_password_file = NULL;

/* FNV-1a, 64 bits: the identity and the fingerprint of an endpoint */
#define FNV_OFFSET_BASIS	UINT64CONST(0xcbf29ce484222325)
#define FNV_PRIME			UINT64CONST(0x100000001b3)

/* Hash 'field' and a separator into 'h' ("a" + "bc" differs from "ab" + "c"). */
static uint64
fnv1a_field(uint64 h, const char *field)
{
	for (const char *p = field ? field : ""; *p; p++)
	{
		h ^= (unsigned char) *p;
		h *= FNV_PRIME;
	}
	h ^= '/';
	h *= FNV_PRIME;
	return h;
}

/*
 * The endpoint parsed from the current URL; its name for messages, which
 * Sentinel discovery rewrites while it talks to one server or another; and
 * its identity, which only a change of the URL rewrites (EndpointIdentity).
 */
static RedisEndpoint current_endpoint;
static char endpoint_description[300] = "";
static uint64 endpoint_identity = 0;
static char *seen_password_file = NULL;

static emit_log_hook_type prev_emit_log_hook = NULL;

/*
 * cache_ext.sentinel_password: the setting's variable only ever holds ""
 * or SECRET_MASK (check_sentinel_password swaps the text for the mask and
 * hands the secret over in its extra); the secret itself is kept in
 * sentinel_password, malloc'd.
 */
#define SECRET_MASK "********"
static char *sentinel_password_setting = NULL;
static char *sentinel_password = NULL;

static bool check_redis_url(char **newval, void **extra, GucSource source);
static void assign_redis_url(const char *newval, void *extra);
static void assign_password_file(const char *newval, void *extra);
static bool check_sentinel_password(char **newval, void **extra, GucSource source);
static void assign_sentinel_password(const char *newval, void *extra);
static void hide_url_statements(ErrorData *edata);

void
EndpointInit(void)
{
	DefineCustomStringVariable("cache_ext.redis_url",
							   "Redis server cache_ext talks to.",
							   "redis://[user@]host[:port][/db], rediss://... (TLS), "
							   "unix://[user@]/path/to/socket[?db=N], or "
							   "redis+sentinel://[user@]host1:port1[,host2:port2...]/SERVICE[/db] "
							   "(rediss+sentinel:// for TLS); the password goes "
							   "in cache_ext.redis_password_file.",
							   &cache_ext_redis_url,
							   "redis://127.0.0.1:6379/0",
							   PGC_SUSET,
							   GUC_SUPERUSER_ONLY,
							   check_redis_url,
							   assign_redis_url,
							   NULL);

	DefineCustomStringVariable("cache_ext.redis_password_file",
							   "File holding the Redis password (password, user:password or :password).",
							   "Owned by the server's user, mode 0600; read at every connection.",
							   &cache_ext_redis_password_file,
							   "",
							   PGC_SUSET,
							   GUC_SUPERUSER_ONLY,
							   NULL,
							   assign_password_file,
							   NULL);

	DefineCustomStringVariable("cache_ext.sentinel_password",
							   "Password the Redis sentinels of a redis+sentinel:// URL require (AUTH).",
							   "Never shown: the setting reads as " SECRET_MASK " once set.  Set it in "
							   "postgresql.conf (or by SET in a session); ALTER ROLE/DATABASE SET are refused.",
							   &sentinel_password_setting,
							   "",
							   PGC_SUSET,
							   GUC_SUPERUSER_ONLY,
							   check_sentinel_password,
							   assign_sentinel_password,
							   NULL);

	prev_emit_log_hook = emit_log_hook;
	emit_log_hook = hide_url_statements;
}

/*
 * The parsed URL travels from the check hook to the assign hook as the
 * setting's "extra": one chunk from GucMallocCompat (the GUC machinery
 * frees it), holding the endpoint and its strings, password included.
 */
typedef struct UrlExtra
{
	RedisEndpoint endpoint;
	char		strings[FLEXIBLE_ARRAY_MEMBER];
} UrlExtra;

static char *
extra_copy(char **cursor, const char *s)
{
	char	   *copy;

	if (s == NULL)
		return NULL;
	copy = *cursor;
	strcpy(copy, s);
	*cursor += strlen(s) + 1;
	return copy;
}

static UrlExtra *
make_url_extra(const RedisEndpoint *ep)
{
	size_t		len = 0;
	UrlExtra   *extra;
	char	   *cursor;

	len += ep->host ? strlen(ep->host) + 1 : 0;
	len += ep->path ? strlen(ep->path) + 1 : 0;
	len += ep->user ? strlen(ep->user) + 1 : 0;
	len += ep->password ? strlen(ep->password) + 1 : 0;
	len += ep->service ? strlen(ep->service) + 1 : 0;
	extra = GucMallocCompat(offsetof(UrlExtra, strings) + len);
	if (extra == NULL)
		return NULL;
	extra->endpoint = *ep;
	cursor = extra->strings;
	extra->endpoint.host = extra_copy(&cursor, ep->host);
	extra->endpoint.path = extra_copy(&cursor, ep->path);
	extra->endpoint.user = extra_copy(&cursor, ep->user);
	extra->endpoint.password = extra_copy(&cursor, ep->password);
	extra->endpoint.service = extra_copy(&cursor, ep->service);
	return extra;
}

/*
 * A password in the URL.  pg_settings shows a setting's stored value in
 * several columns (setting, reset_val, boot_val) to superusers and
 * pg_read_all_settings members, where a show hook does not reach; a reload
 * logs 'parameter "..." changed to "<the text of the file>"'; ALTER ROLE
 * ... SET stores the text in a catalog anyone can read.  So:
 * - in a session SET (PGC_S_SESSION) the password is accepted with a
 *   WARNING, kept in the extra only, and stripped from the stored value;
 * - from any other source (postgresql.conf, ALTER SYSTEM, ALTER ROLE/
 *   DATABASE SET, connection options) the URL is refused, with a message
 *   that quotes nothing of it: the password belongs in
 *   cache_ext.redis_password_file.
 * The statement of a SET or ALTER SYSTEM that failed is kept out of the
 * server log by hide_url_statements below.
 */
static bool
check_redis_url(char **newval, void **extra, GucSource source)
{
	RedisEndpoint endpoint;
	const char *error;
	UrlExtra   *result;

	if (!EndpointParseUrl(*newval, &endpoint, &error))
	{
		GUC_check_errmsg("invalid value for cache_ext.redis_url: %s", error);
		GUC_check_errhint("Use redis://[user[:password]@]host[:port][/db], "
						  "rediss://... for TLS, "
						  "unix://[user[:password]@]/path/to/socket[?db=N], or "
						  "redis+sentinel://[user@]host1:port1[,host2:port2...]/SERVICE[/db].");
		return false;
	}

	if (endpoint.password != NULL)
	{
		bool		had_password;
		char	   *stripped;
		char	   *stored;

		if (source != PGC_S_SESSION)
		{
			EndpointFree(&endpoint);
			GUC_check_errmsg("cache_ext.redis_url must not contain a password here");
			GUC_check_errdetail("A password in the URL is accepted only by SET in a session; "
								"in postgresql.conf, ALTER SYSTEM or ALTER ROLE/DATABASE it would "
								"be visible in the server log or the catalogs.");
			GUC_check_errhint("Put the password in the file named by cache_ext.redis_password_file "
							  "(owned by the server's user, mode 0600) and remove it from the URL.");
			return false;
		}
		stripped = EndpointUrlWithoutPassword(*newval, &had_password);
		stored = stripped ? GucStrdupCompat(stripped) : NULL;
		if (stripped)
		{
			explicit_bzero(stripped, strlen(stripped));
			free(stripped);
		}
		if (stored == NULL)
		{
			EndpointFree(&endpoint);
			GUC_check_errcode(ERRCODE_OUT_OF_MEMORY);
			GUC_check_errmsg("out of memory");
			return false;
		}
		explicit_bzero(*newval, strlen(*newval));
		GucFreeCompat(*newval);
		*newval = stored;
		ereport(WARNING,
				(errmsg("the password in cache_ext.redis_url is used by this session only and is not stored in the setting"),
				 errhint("Put the password in the file named by cache_ext.redis_password_file instead.")));
	}

	result = make_url_extra(&endpoint);
	EndpointFree(&endpoint);
	if (result == NULL)
	{
		GUC_check_errcode(ERRCODE_OUT_OF_MEMORY);
		GUC_check_errmsg("out of memory");
		return false;
	}
	*extra = result;
	return true;
}

static bool
same_string(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

/*
 * EndpointIdentity of an endpoint: FNV-1a over host and port, the unix
 * path, or a Sentinel URL's list of sentinels and its service (another
 * list may serve another "mymaster"); never 0.  The whole strings are
 * hashed (a list of sentinels may run to kilobytes): any cut would make
 * two URLs that differ after it one.
 */
static uint64
identity_of(const RedisEndpoint *endpoint)
{
	uint64		h = FNV_OFFSET_BASIS;

	if (endpoint->service != NULL)
	{
		h = fnv1a_field(h, endpoint->host);
		h = fnv1a_field(h, endpoint->service);
	}
	else
	{
		char		port[16];

		snprintf(port, sizeof(port), "%d", endpoint->port);
		h = fnv1a_field(h, endpoint->is_unix ? "unix" : "tcp");
		h = fnv1a_field(h, endpoint->is_unix ? endpoint->path : endpoint->host);
		h = fnv1a_field(h, endpoint->is_unix ? "" : port);
	}
	return h == 0 ? 1 : h;
}

static void
assign_redis_url(const char *newval, void *extra)
{
	const RedisEndpoint *ep = &((UrlExtra *) extra)->endpoint;
	RedisEndpoint copy;

	if (extra == NULL)
		return;
	if (current_endpoint.host != NULL || current_endpoint.path != NULL)
	{
		/* the same endpoint (a SET LOCAL undone, say): keep the connection */
		if (current_endpoint.is_unix == ep->is_unix &&
			current_endpoint.tls == ep->tls &&
			current_endpoint.port == ep->port &&
			current_endpoint.db == ep->db &&
			same_string(current_endpoint.host, ep->host) &&
			same_string(current_endpoint.path, ep->path) &&
			same_string(current_endpoint.service, ep->service) &&
			same_string(current_endpoint.user, ep->user) &&
			same_string(current_endpoint.password, ep->password))
			return;
	}

	memset(&copy, 0, sizeof(copy));
	copy = *ep;
	copy.host = ep->host ? strdup(ep->host) : NULL;
	copy.path = ep->path ? strdup(ep->path) : NULL;
	copy.user = ep->user ? strdup(ep->user) : NULL;
	copy.password = ep->password ? strdup(ep->password) : NULL;
	copy.service = ep->service ? strdup(ep->service) : NULL;
	if ((ep->host && !copy.host) || (ep->path && !copy.path) ||
		(ep->user && !copy.user) || (ep->password && !copy.password) ||
		(ep->service && !copy.service))
	{
		/* out of memory: keep the previous endpoint */
		EndpointFree(&copy);
		return;
	}

	EndpointFree(&current_endpoint);
	current_endpoint = copy;
	ConnectionSettingChanged();

	if (current_endpoint.service != NULL)
		snprintf(endpoint_description, sizeof(endpoint_description),
				 "Sentinel service \"%s\"", current_endpoint.service);
	else if (current_endpoint.is_unix)
		snprintf(endpoint_description, sizeof(endpoint_description),
				 "unix:%s", current_endpoint.path);
	else if (strchr(current_endpoint.host, ':') != NULL)
		snprintf(endpoint_description, sizeof(endpoint_description),
				 "[%s]:%d", current_endpoint.host, current_endpoint.port);
	else
		snprintf(endpoint_description, sizeof(endpoint_description),
				 "%s:%d", current_endpoint.host, current_endpoint.port);

	endpoint_identity = identity_of(&current_endpoint);
}

/* A change of the password file makes every process reconnect. */
static void
assign_password_file(const char *newval, void *extra)
{
	ConnectionNoteSetting(newval, &seen_password_file);
}

/*
 * The secret travels from the check hook to the assign hook as the extra
 * (GucMallocCompat, freed by the GUC machinery), the stored value being
 * the mask.  Sources whose text others can read are refused: ALTER ROLE/
 * DATABASE SET (validated as PGC_S_TEST, stored in a catalog anyone can
 * read) and connection options.  The messages never quote the value.
 */
static bool
check_sentinel_password(char **newval, void **extra, GucSource source)
{
	char	   *secret;
	char	   *mask;

	*extra = NULL;
	if (*newval == NULL || (*newval)[0] == '\0')
		return true;
	if (strcmp(*newval, SECRET_MASK) == 0 && sentinel_password != NULL)
	{
		/* the shown value handed back (a parallel worker's copy): keep the secret */
		secret = GucStrdupCompat(sentinel_password);
	}
	else
	{
		if (source == PGC_S_TEST || source == PGC_S_DATABASE ||
			source == PGC_S_USER || source == PGC_S_DATABASE_USER ||
			source == PGC_S_CLIENT)
		{
			GUC_check_errmsg("cache_ext.sentinel_password cannot be set here");
			GUC_check_errdetail("ALTER ROLE/DATABASE SET and connection options would store the password where others can read it.");
			GUC_check_errhint("Set it in postgresql.conf (or with ALTER SYSTEM).");
			return false;
		}
		secret = GucStrdupCompat(*newval);
	}
	mask = GucStrdupCompat(SECRET_MASK);
	if (secret == NULL || mask == NULL)
	{
		if (secret)
		{
			explicit_bzero(secret, strlen(secret));
			GucFreeCompat(secret);
		}
		if (mask)
			GucFreeCompat(mask);
		GUC_check_errcode(ERRCODE_OUT_OF_MEMORY);
		GUC_check_errmsg("out of memory");
		return false;
	}
	explicit_bzero(*newval, strlen(*newval));
	GucFreeCompat(*newval);
	*newval = mask;
	*extra = secret;
	return true;
}

static void
assign_sentinel_password(const char *newval, void *extra)
{
	const char *secret = (const char *) extra;
	char	   *copy = NULL;

	if (same_string(sentinel_password, secret))
		return;
	if (secret != NULL && (copy = strdup(secret)) == NULL)
		return;					/* out of memory: keep the previous one */
	if (sentinel_password != NULL)
	{
		explicit_bzero(sentinel_password, strlen(sentinel_password));
		free(sentinel_password);
	}
	sentinel_password = copy;
	ConnectionSettingChanged();
}

const char *
EndpointSentinelPassword(void)
{
	return sentinel_password;
}

/*
 * The server log must not show a secret that a statement or a
 * configuration file held:
 * - a failed SET (or ALTER SYSTEM) of cache_ext.redis_url with credentials
 *   in it would be logged with its statement (log_min_error_statement):
 *   the statement is hidden (the error message never quotes the URL);
 * - a statement naming cache_ext.sentinel_password is hidden from every
 *   message, and a message quoting it (log_statement) is replaced;
 * - a reload logs 'parameter "cache_ext.sentinel_password" changed to
 *   "<the file's text>"': the text is replaced by the mask.
 */
static bool
mentions(const char *text, const char *needle)
{
	size_t		len = strlen(needle);

	for (const char *p = text; *p; p++)
		if (pg_strncasecmp(p, needle, len) == 0)
			return true;
	return false;
}

static void
hide_url_statements(ErrorData *edata)
{
	if (edata->elevel >= ERROR && !edata->hide_stmt &&
		debug_query_string != NULL && strchr(debug_query_string, '@') != NULL &&
		mentions(debug_query_string, "redis_url"))
		edata->hide_stmt = true;
	if (debug_query_string != NULL &&
		mentions(debug_query_string, "sentinel_password"))
	{
		edata->hide_stmt = true;
		if (edata->message != NULL && strstr(edata->message, debug_query_string) != NULL)
			edata->message = MemoryContextStrdup(ErrorContext,
												 "a statement naming cache_ext.sentinel_password (not shown)");
	}
	if (edata->message_id != NULL && edata->message != NULL &&
		strcmp(edata->message_id, "parameter \"%s\" changed to \"%s\"") == 0 &&
		mentions(edata->message, "\"cache_ext.sentinel_password\""))
		edata->message = MemoryContextStrdup(ErrorContext,
											 "parameter \"cache_ext.sentinel_password\" changed to \"" SECRET_MASK "\"");
	if (prev_emit_log_hook)
		prev_emit_log_hook(edata);
}

const RedisEndpoint *
EndpointCurrent(void)
{
	return &current_endpoint;
}

const char *
EndpointDescription(void)
{
	return endpoint_description;
}

uint64
EndpointIdentity(void)
{
	return endpoint_identity;
}

/* ---------------------------------------------------------- password file */

bool
EndpointReadPasswordFile(const char *path, char *user, size_t userlen,
						 char *password, size_t passwordlen,
						 RedisOutcome *outcome)
{
	char		buf[1400];
	struct stat st;
	ssize_t		n;
	size_t		len;
	int			fd;
	char	   *colon;

	user[0] = '\0';
	password[0] = '\0';
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
	{
		ConnectionFail(outcome, REDIS_FAIL_CONFIG,
					   "could not open cache_ext.redis_password_file \"%s\": %s",
					   path, strerror(errno));
		return false;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
	{
		close(fd);
		ConnectionFail(outcome, REDIS_FAIL_CONFIG,
					   "cache_ext.redis_password_file \"%s\" is not a regular file", path);
		return false;
	}
	if (st.st_uid != geteuid() || (st.st_mode & (S_IRWXG | S_IRWXO)) != 0)
	{
		close(fd);
		ConnectionFail(outcome, REDIS_FAIL_CONFIG,
					   "cache_ext.redis_password_file \"%s\" must be owned by the database server's user "
					   "and have no group or world permissions (chmod 0600)", path);
		return false;
	}
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0)
	{
		ConnectionFail(outcome, REDIS_FAIL_CONFIG,
					   "could not read cache_ext.redis_password_file \"%s\": %s",
					   path, strerror(errno));
		return false;
	}
	buf[n] = '\0';
	len = strcspn(buf, "\r\n");
	buf[len] = '\0';
	colon = strchr(buf, ':');
	if (len == 0 || (colon != NULL && colon[1] == '\0') ||
		(colon == NULL ? len : strlen(colon + 1)) >= passwordlen ||
		(colon != NULL && (size_t) (colon - buf) >= userlen))
	{
		explicit_bzero(buf, sizeof(buf));
		ConnectionFail(outcome, REDIS_FAIL_CONFIG,
					   "cache_ext.redis_password_file \"%s\" must hold one line: password, user:password or :password (at most %zu bytes)",
					   path, passwordlen - 1);
		return false;
	}
	if (colon != NULL)
	{
		memcpy(user, buf, colon - buf);
		user[colon - buf] = '\0';
		strlcpy(password, colon + 1, passwordlen);
	}
	else
		strlcpy(password, buf, passwordlen);
	explicit_bzero(buf, sizeof(buf));
	return true;
}

/* ------------------------------------------------------ name resolution */

bool
EndpointHostIsAddress(const char *host)
{
	struct in_addr a4;
	struct in6_addr a6;

	return inet_pton(AF_INET, host, &a4) == 1 ||
		inet_pton(AF_INET6, host, &a6) == 1;
}

void
EndpointFormatAddress(const struct sockaddr_storage *addr, char *buf,
					  size_t buflen)
{
	char		text[INET6_ADDRSTRLEN];

	if (addr->ss_family == AF_INET6)
	{
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *) addr)->sin6_addr,
				  text, sizeof(text));
		snprintf(buf, buflen, "[%s]", text);
	}
	else if (addr->ss_family == AF_INET)
	{
		inet_ntop(AF_INET, &((const struct sockaddr_in *) addr)->sin_addr,
				  text, sizeof(text));
		snprintf(buf, buflen, "%s", text);
	}
	else
		snprintf(buf, buflen, "?");
}

/* One getaddrinfo_a request and everything it points to, in one malloc. */
typedef struct LookupRequest
{
	struct gaicb cb;
	struct addrinfo hints;
	char		name[256];
	char		service[8];
} LookupRequest;

/*
 * The request being waited for, and the requests given up on while the
 * resolver was working on them (they are freed once it is done).
 */
#define MAX_PARKED 4
static LookupRequest *inflight = NULL;
static LookupRequest *parked[MAX_PARKED];

static void
free_request(LookupRequest *req)
{
	if (req->cb.ar_result != NULL)
		freeaddrinfo(req->cb.ar_result);
	free(req);
}

/* Free the parked requests the resolver has finished with. */
static int
reap_parked(void)
{
	int			still = 0;

	for (int i = 0; i < MAX_PARKED; i++)
	{
		if (parked[i] == NULL)
			continue;
		if (gai_error(&parked[i]->cb) == EAI_INPROGRESS)
		{
			still++;
			continue;
		}
		free_request(parked[i]);
		parked[i] = NULL;
	}
	return still;
}

/* Cancel a request, or park it when the resolver is busy with it. */
static void
abandon_request(LookupRequest *req)
{
	int			rc = gai_cancel(&req->cb);

	if (rc == EAI_CANCELED || rc == EAI_ALLDONE ||
		gai_error(&req->cb) != EAI_INPROGRESS)
	{
		free_request(req);
		return;
	}
	for (int i = 0; i < MAX_PARKED; i++)
	{
		if (parked[i] == NULL)
		{
			parked[i] = req;
			return;
		}
	}

	/*
	 * Cannot happen (a lookup is only started with a free slot), but a
	 * request the resolver still writes to must never be freed: leak it.
	 */
}

void
EndpointAbandonResolution(void)
{
	if (inflight != NULL)
	{
		LookupRequest *req = inflight;

		inflight = NULL;
		abandon_request(req);
	}
}

static bool
numeric_address(const char *host, int port, RedisAddressList *list)
{
	struct sockaddr_in *a4 = (struct sockaddr_in *) &list->addr[0];
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *) &list->addr[0];

	memset(&list->addr[0], 0, sizeof(list->addr[0]));
	if (inet_pton(AF_INET, host, &a4->sin_addr) == 1)
	{
		a4->sin_family = AF_INET;
		a4->sin_port = htons(port);
		list->addrlen[0] = sizeof(*a4);
	}
	else if (inet_pton(AF_INET6, host, &a6->sin6_addr) == 1)
	{
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons(port);
		list->addrlen[0] = sizeof(*a6);
	}
	else
		return false;
	list->count = 1;
	return true;
}

bool
EndpointResolve(const char *host, int port, RedisAddressList *list,
				TimestampTz deadline, bool critical, bool *latch_seen,
				RedisOutcome *outcome)
{
	LookupRequest *req;
	struct gaicb *reqs[1];
	long		slice_ms = 1;
	int			rc;
	int			slot = -1;

	list->count = 0;
	if (numeric_address(host, port, list))
		return true;

	(void) reap_parked();
	for (int i = 0; i < MAX_PARKED; i++)
		if (parked[i] == NULL)
			slot = i;
	if (slot < 0)
	{
		ConnectionFail(outcome, REDIS_FAIL_UNAVAILABLE,
					   "could not resolve the Redis host name \"%s\": %d earlier lookups are still unanswered (is the DNS server reachable?)",
					   host, MAX_PARKED);
		return false;
	}

	req = calloc(1, sizeof(LookupRequest));
	if (req == NULL)
	{
		ConnectionFail(outcome, REDIS_FAIL_UNAVAILABLE,
					   "could not resolve the Redis host name \"%s\": out of memory",
					   host);
		return false;
	}
	strlcpy(req->name, host, sizeof(req->name));
	snprintf(req->service, sizeof(req->service), "%d", port);
	req->hints.ai_family = AF_UNSPEC;
	req->hints.ai_socktype = SOCK_STREAM;
	req->hints.ai_flags = AI_NUMERICSERV;
	req->cb.ar_name = req->name;
	req->cb.ar_service = req->service;
	req->cb.ar_request = &req->hints;
	reqs[0] = &req->cb;

	rc = getaddrinfo_a(GAI_NOWAIT, reqs, 1, NULL);
	if (rc != 0)
	{
		free(req);
		ConnectionFail(outcome, REDIS_FAIL_UNAVAILABLE,
					   "could not resolve the Redis host name \"%s\": %s",
					   host, gai_strerror(rc));
		return false;
	}
	inflight = req;

	/*
	 * Poll the request between waits on the latch that start at 1 ms (a
	 * name in /etc/hosts resolves within it) and grow to 10 ms.  A pending
	 * interrupt raises its ERROR in ConnectionWait; RedisExecute drops the
	 * connection, which abandons this request, before the ERROR goes on.
	 */
	while ((rc = gai_error(&req->cb)) == EAI_INPROGRESS)
	{
		if (GetCurrentTimestamp() >= deadline)
		{
			EndpointAbandonResolution();
			ConnectionFail(outcome, REDIS_FAIL_UNAVAILABLE,
						   "could not resolve the Redis host name \"%s\" within cache_ext.connect_timeout (%d ms)",
						   host, cache_ext_connect_timeout);
			return false;
		}
		(void) ConnectionWait(-1, 0, deadline, slice_ms, critical, latch_seen);
		if (inflight == NULL)
		{
			/* abandoned under us (cannot happen without an ERROR) */
			ConnectionFail(outcome, REDIS_FAIL_UNAVAILABLE,
						   "the resolution of \"%s\" was interrupted", host);
			return false;
		}
		slice_ms = Min(slice_ms * 2, 10);
	}
	inflight = NULL;

	if (rc != 0)
	{
		free_request(req);
		ConnectionFail(outcome, REDIS_FAIL_UNAVAILABLE,
					   "could not resolve the Redis host name \"%s\": %s",
					   host, gai_strerror(rc));
		return false;
	}

	for (struct addrinfo *ai = req->cb.ar_result;
		 ai != NULL && list->count < ENDPOINT_MAX_ADDRESSES;
		 ai = ai->ai_next)
	{
		if ((ai->ai_family != AF_INET && ai->ai_family != AF_INET6) ||
			ai->ai_addrlen > sizeof(struct sockaddr_storage))
			continue;
		memset(&list->addr[list->count], 0, sizeof(list->addr[0]));
		memcpy(&list->addr[list->count], ai->ai_addr, ai->ai_addrlen);
		list->addrlen[list->count] = ai->ai_addrlen;
		list->count++;
	}
	free_request(req);
	if (list->count == 0)
	{
		ConnectionFail(outcome, REDIS_FAIL_UNAVAILABLE,
					   "the Redis host name \"%s\" has no IPv4 or IPv6 address",
					   host);
		return false;
	}
	return true;
}

/* ------------------------------------------------------ Sentinel discovery */

/*
 * The rule for trusting the sentinels (README, "High availability"):
 *
 * 1. The sentinels are asked in the URL's order, each with
 *    SENTINEL get-master-addr-by-name SERVICE (after AUTH with
 *    cache_ext.sentinel_password when set), each bounded by
 *    cache_ext.connect_timeout, and all of them together by twice that.
 * 2. Asking stops as soon as one address has the votes of a majority of
 *    the sentinels the URL names (2 of 3): that is what Sentinel's own
 *    quorum would elect.  Otherwise every sentinel is asked.
 * 3. The addresses named are tried by votes (most first; a tie goes to the
 *    one named first): a candidate is the primary only when a connection
 *    to it, authenticated, answers ROLE with "master".  A sentinel's
 *    answer can be stale (a failover under way, a partitioned sentinel):
 *    an address whose ROLE says replica is never written to, whoever named
 *    it, and the next candidate is tried.  An address named by a single
 *    sentinel is thus used only when no better-supported one confirms,
 *    and only after its own ROLE confirmed it.  A candidate whose ROLE
 *    says replica names the primary it replicates from: that address is
 *    tried last (after the sentinels' own), again only if its ROLE says
 *    master.  This is what lets sessions follow a planned failover before
 *    the sentinels announce it (they keep naming the demoted primary until
 *    the failover ends).
 *    At most ENDPOINT_MAX_SENTINELS candidates are tried.
 * 4. No confirmed candidate: the attempt fails like a refused connection
 *    (the caller's backoff, then discovery again).
 * 5. The worker asks the sentinels about once a second
 *    (EndpointPollPrimary, below the shared state): an address named by a
 *    majority that is not the primary announced last is connected to and,
 *    when its ROLE says master, announced to every process, which follows
 *    it before its next command (EndpointPrimaryMoved).  Anything less (no
 *    majority, a ROLE that says replica) moves nobody.  This is what
 *    follows a planned failover, where the old primary stays writable
 *    until the sentinels demote it some 10 s later.
 *
 * Nothing here pallocs or raises: it runs after commit too.
 */
typedef struct PrimaryCandidate
{
	char		host[ENDPOINT_HOST_MAX];
	int			port;
	int			votes;
} PrimaryCandidate;

/* What the connection talks to during discovery, for its messages. */
static void
set_target(const char *what, const char *host, int port)
{
	if (strchr(host, ':') != NULL)
		snprintf(endpoint_description, sizeof(endpoint_description),
				 "%s[%s]:%d", what, host, port);
	else
		snprintf(endpoint_description, sizeof(endpoint_description),
				 "%s%s:%d", what, host, port);
}

/*
 * What asking the sentinels gave: the addresses named, most votes first (a
 * tie goes to the one named first), and for the messages how many were
 * asked and answered and the first failure.
 */
typedef struct SentinelVotes
{
	PrimaryCandidate candidates[ENDPOINT_MAX_SENTINELS];
	int			ncandidates;
	int			nsentinels;
	int			majority;
	int			asked;
	int			answered;
	bool		asked_one[ENDPOINT_MAX_SENTINELS];	/* by the URL's index */
	bool		silent[ENDPOINT_MAX_SENTINELS]; /* asked, gave no address */
	char		failure[200];
	RedisFailureKind failure_kind;
} SentinelVotes;

/*
 * Steps 1 and 2 of the rule: ask the sentinels in the URL's order (those
 * flagged in 'ask_last' after the others: the poll puts there the ones
 * that did not answer it last time), until one address has a majority or
 * 'all_asked_by' has passed (the first sentinel is always asked).  Then
 * sort the addresses by votes.
 */
static void
collect_votes(EndpointAskSentinel ask, void *arg, const bool *ask_last,
			  TimestampTz all_asked_by, SentinelVotes *votes)
{
	char		hosts[ENDPOINT_MAX_SENTINELS][ENDPOINT_HOST_MAX];
	int			ports[ENDPOINT_MAX_SENTINELS];
	int			order[ENDPOINT_MAX_SENTINELS];
	int			norder = 0;
	RedisOutcome step;

	memset(votes, 0, sizeof(*votes));
	votes->failure_kind = REDIS_FAIL_UNAVAILABLE;
	votes->nsentinels = EndpointSentinels(&current_endpoint, hosts, ports);
	votes->majority = votes->nsentinels / 2 + 1;
	for (int pass = 0; pass < 2; pass++)
		for (int i = 0; i < votes->nsentinels; i++)
			if ((ask_last != NULL && ask_last[i]) == (pass == 1))
				order[norder++] = i;
	for (int n = 0; n < norder; n++)
	{
		int			i = order[n];
		RedisEndpoint sentinel;
		char		host[ENDPOINT_HOST_MAX];
		int			port = 0;
		int			c;

		if (n > 0 && GetCurrentTimestamp() >= all_asked_by)
			break;
		memset(&sentinel, 0, sizeof(sentinel));
		sentinel.tls = current_endpoint.tls;
		sentinel.host = hosts[i];
		sentinel.port = ports[i];
		sentinel.password = sentinel_password;
		set_target("sentinel ", hosts[i], ports[i]);
		votes->asked++;
		votes->asked_one[i] = true;
		memset(&step, 0, sizeof(step));
		if (!ask(&sentinel, current_endpoint.service, host, &port, arg, &step))
		{
			votes->silent[i] = true;
			if (votes->failure[0] == '\0')
			{
				strlcpy(votes->failure, step.message, sizeof(votes->failure));
				votes->failure_kind = step.kind;
			}
			continue;
		}
		votes->answered++;
		for (c = 0; c < votes->ncandidates; c++)
			if (votes->candidates[c].port == port &&
				strcmp(votes->candidates[c].host, host) == 0)
				break;
		if (c == votes->ncandidates)
		{
			strlcpy(votes->candidates[c].host, host, ENDPOINT_HOST_MAX);
			votes->candidates[c].port = port;
			votes->candidates[c].votes = 0;
			votes->ncandidates++;
		}
		if (++votes->candidates[c].votes >= votes->majority)
			break;
	}

	/* most votes first; a stable sort keeps the order of first mention */
	for (int i = 1; i < votes->ncandidates; i++)
	{
		PrimaryCandidate moving = votes->candidates[i];
		int			j = i;

		while (j > 0 && votes->candidates[j - 1].votes < moving.votes)
		{
			votes->candidates[j] = votes->candidates[j - 1];
			j--;
		}
		votes->candidates[j] = moving;
	}
}

bool
EndpointDiscoverPrimary(EndpointAskSentinel ask, EndpointConnectPrimary connect,
						void *arg, RedisOutcome *outcome)
{
	SentinelVotes votes;
	PrimaryCandidate *candidates = votes.candidates;
	int			ncandidates;
	char	   *failure = votes.failure;
	RedisFailureKind failure_kind;
	RedisOutcome step;

	collect_votes(ask, arg, NULL,
				  TimestampTzPlusMilliseconds(GetCurrentTimestamp(),
											  2 * cache_ext_connect_timeout),
				  &votes);
	ncandidates = votes.ncandidates;
	failure_kind = votes.failure_kind;

	for (int c = 0; c < ncandidates; c++)
	{
		RedisEndpoint primary = current_endpoint;
		char		master_host[ENDPOINT_HOST_MAX];
		int			master_port = 0;
		int			k;

		primary.host = candidates[c].host;
		primary.port = candidates[c].port;
		primary.service = NULL;
		set_target("", candidates[c].host, candidates[c].port);
		memset(&step, 0, sizeof(step));
		if (connect(&primary, arg, master_host, &master_port, &step))
		{
			EndpointNoteConnected(candidates[c].host, candidates[c].port);
			return true;
		}
		/* the candidate's failure says more than a sentinel's */
		strlcpy(failure, step.message, sizeof(votes.failure));
		failure_kind = step.kind;

		/* a replica names its primary: a candidate of last resort */
		if (master_port <= 0 || ncandidates >= ENDPOINT_MAX_SENTINELS)
			continue;
		for (k = 0; k < ncandidates; k++)
			if (candidates[k].port == master_port &&
				strcmp(candidates[k].host, master_host) == 0)
				break;
		if (k == ncandidates)
		{
			strlcpy(candidates[k].host, master_host, ENDPOINT_HOST_MAX);
			candidates[k].port = master_port;
			candidates[k].votes = 0;
			ncandidates++;
		}
	}

	snprintf(endpoint_description, sizeof(endpoint_description),
			 "Sentinel service \"%s\"", current_endpoint.service);
	if (ncandidates == 0)
		ConnectionFail(outcome, failure_kind == REDIS_FAIL_CONFIG ?
					   REDIS_FAIL_CONFIG : REDIS_FAIL_UNAVAILABLE,
					   "no sentinel of service \"%s\" named its primary (%d of %d asked, %d answered): %s",
					   current_endpoint.service, votes.asked, votes.nsentinels,
					   votes.answered, failure);
	else
		ConnectionFail(outcome, failure_kind == REDIS_FAIL_CONFIG ?
					   REDIS_FAIL_CONFIG : REDIS_FAIL_UNAVAILABLE,
					   "no primary of service \"%s\" confirmed by ROLE among the %d address(es) its sentinels named: %s",
					   current_endpoint.service, ncandidates, failure);
	return false;
}

/* ------------------------------------------------- the primary, shared */

/*
 * The primary last connected to, the failovers seen (a change of primary
 * under the same Sentinel service) and when the last one was seen: in
 * shared memory when preloaded (under EndpointShared.mutex), in this
 * backend otherwise.
 *
 * And the primary the worker's poll announced (EndpointPollPrimary), for
 * the sentinels and service it concerns (announced_for, a fingerprint of
 * them), with its epoch: announced and announced_for are written under the
 * mutex, then the epoch is incremented (a full barrier).  A process reads
 * the epoch without the lock before every reuse of its connection and
 * takes the lock only when the epoch moved (EndpointPrimaryMoved).  Only
 * the worker announces: a session that found a primary itself never moves
 * the others, so two processes that momentarily disagree (one connected
 * while the sentinels were still switching) cannot make each other
 * reconnect in turn.
 */
typedef struct EndpointShared
{
	slock_t		mutex;
	char		service[132];	/* "" for a URL without Sentinel */
	char		primary[ENDPOINT_HOST_MAX + 16];
	uint64		failovers;
	TimestampTz last_failover_at;
	uint64		announced_for;	/* endpoint_fingerprint(); 0: none */
	char		announced[ENDPOINT_HOST_MAX + 16];
	pg_atomic_uint64 announce_epoch;	/* +1 at every announcement */
} EndpointShared;

static EndpointShared local_primary;
static EndpointShared *primary_state = NULL;

/*
 * This process's connection: the server it was made to ("host:port"), and
 * the announcement epoch it last compared that server with.
 */
static char connected_primary[ENDPOINT_HOST_MAX + 16] = "";
static uint64 seen_announce_epoch = 0;

/* The worker's poll: the sentinels that did not answer it when last asked. */
static bool poll_silent[ENDPOINT_MAX_SENTINELS];

Size
EndpointSharedSize(void)
{
	return MAXALIGN(sizeof(EndpointShared));
}

static void
primary_state_zero(EndpointShared *s)
{
	memset(s, 0, sizeof(*s));
	SpinLockInit(&s->mutex);
	pg_atomic_init_u64(&s->announce_epoch, 0);
}

/* Under AddinShmemInitLock (shared.c). */
void
EndpointSharedInit(void)
{
	bool		found;
	EndpointShared *s = ShmemInitStruct("cache_ext primary", sizeof(EndpointShared),
										&found);

	if (!found)
		primary_state_zero(s);
	primary_state = s;
}

/* The shared state, or this backend's when the library is not preloaded. */
static EndpointShared *
shared_primary(void)
{
	if (primary_state == NULL)
	{
		primary_state_zero(&local_primary);
		primary_state = &local_primary;
	}
	return primary_state;
}

/* "host:port", or "[ip6]:port" */
static void
format_primary(char *buf, size_t buflen, const char *host, int port)
{
	if (strchr(host, ':') != NULL)
		snprintf(buf, buflen, "[%s]:%d", host, port);
	else
		snprintf(buf, buflen, "%s:%d", host, port);
}

/*
 * Which sentinels and service an announcement concerns: the identity of a
 * Sentinel URL (FNV-1a over its list of sentinels and its service, never
 * 0); 0 for any other URL.  A session whose URL names other sentinels or
 * another service ignores the worker's announcements.
 */
static uint64
endpoint_fingerprint(void)
{
	if (current_endpoint.service == NULL || current_endpoint.host == NULL)
		return 0;
	return endpoint_identity;
}

/*
 * Announce 'named' as the primary of the sentinels and service of
 * 'fingerprint' to every process (EndpointPrimaryMoved), once
 * before_announce has run; returns the new epoch.
 */
static uint64
announce_primary(EndpointShared *s, uint64 fingerprint, const char *named,
				 void (*before_announce) (void))
{
	if (before_announce)
		before_announce();
	SpinLockAcquire(&s->mutex);
	s->announced_for = fingerprint;
	strlcpy(s->announced, named, sizeof(s->announced));
	SpinLockRelease(&s->mutex);
	return pg_atomic_add_fetch_u64(&s->announce_epoch, 1);
}

void
EndpointNoteConnected(const char *host, int port)
{
	char		primary[ENDPOINT_HOST_MAX + 16];
	const char *service = current_endpoint.service ? current_endpoint.service : "";
	EndpointShared *s = shared_primary();

	if (host == NULL)
		strlcpy(primary, endpoint_description, sizeof(primary));
	else
		format_primary(primary, sizeof(primary), host, port);
	strlcpy(connected_primary, primary, sizeof(connected_primary));

	SpinLockAcquire(&s->mutex);
	if (service[0] != '\0' && strcmp(s->service, service) == 0 &&
		s->primary[0] != '\0' && strcmp(s->primary, primary) != 0)
	{
		s->failovers++;
		s->last_failover_at = GetCurrentTimestamp();
	}
	strlcpy(s->service, service, sizeof(s->service));
	strlcpy(s->primary, primary, sizeof(s->primary));
	SpinLockRelease(&s->mutex);
}

void
EndpointReadPrimary(EndpointPrimaryReport *report)
{
	memset(report, 0, sizeof(*report));
	if (primary_state == NULL)
		return;
	SpinLockAcquire(&primary_state->mutex);
	strlcpy(report->primary, primary_state->primary, sizeof(report->primary));
	report->failovers = primary_state->failovers;
	report->last_failover_at = primary_state->last_failover_at;
	SpinLockRelease(&primary_state->mutex);
}

/*
 * The hot path: one atomic read while the epoch stays the same.  When it
 * moved, the comparison is made once under the lock and the epoch
 * remembered whatever the answer, so a process reconnects at most once per
 * announcement: if its own discovery then finds another server than the
 * one announced (the sentinels switching back, a worker that stopped
 * polling), it keeps that connection rather than reconnect at every call.
 */
bool
EndpointPrimaryMoved(void)
{
	EndpointShared *s = primary_state;
	uint64		fingerprint;
	bool		moved;

	if (s == NULL || current_endpoint.service == NULL ||
		pg_atomic_read_u64(&s->announce_epoch) == seen_announce_epoch)
		return false;
	fingerprint = endpoint_fingerprint();
	SpinLockAcquire(&s->mutex);
	seen_announce_epoch = pg_atomic_read_u64(&s->announce_epoch);
	moved = s->announced_for == fingerprint && s->announced[0] != '\0' &&
		strcmp(s->announced, connected_primary) != 0;
	SpinLockRelease(&s->mutex);
	return moved;
}

/*
 * The worker's poll (endpoint.h).  It is the rule above restricted to its
 * first choice: an address named by a majority of the sentinels, confirmed
 * by its own ROLE.  An address named by fewer, a candidate whose ROLE says
 * replica (a stale or partitioned sentinel), or one that does not answer
 * moves nobody: sessions keep their connections, and their own discovery
 * after an error (which may follow a replica to its primary) stays the
 * way they find a primary nobody announced.
 *
 * Time: every step is bounded by 'deadline', one connect_timeout after the
 * start, which the callbacks also apply to their own waits.  A sentinel
 * that does not answer (frozen, partitioned) costs the poll up to the
 * rest of that time and makes it undecided; later polls ask it after the
 * others, so while a majority answers they reach it no more: one frozen
 * sentinel among answering ones costs the worker one connect_timeout once,
 * not at every poll.  A majority that does not answer costs it one
 * connect_timeout per poll (the worker then polls less often, worker.c).
 */
EndpointPollResult
EndpointPollPrimary(EndpointAskSentinel ask, EndpointConnectPrimary connect,
					void *arg, TimestampTz deadline,
					void (*before_announce) (void), RedisOutcome *outcome)
{
	SentinelVotes votes;
	PrimaryCandidate *top;
	RedisEndpoint primary;
	char		named[ENDPOINT_HOST_MAX + 16];
	char		saved_description[sizeof(endpoint_description)];
	char		master_host[ENDPOINT_HOST_MAX];
	int			master_port = 0;
	uint64		fingerprint = endpoint_fingerprint();
	EndpointShared *s = shared_primary();
	bool		same;

	memset(outcome, 0, sizeof(*outcome));
	if (fingerprint == 0)
		return ENDPOINT_POLL_UNDECIDED;

	/* the messages of the caller's own connection must not change */
	strlcpy(saved_description, endpoint_description, sizeof(saved_description));
	collect_votes(ask, arg, poll_silent, deadline, &votes);
	for (int i = 0; i < votes.nsentinels; i++)
		if (votes.asked_one[i])
			poll_silent[i] = votes.silent[i];
	if (votes.ncandidates == 0 || votes.candidates[0].votes < votes.majority)
	{
		strlcpy(endpoint_description, saved_description, sizeof(endpoint_description));
		ConnectionFail(outcome, REDIS_FAIL_UNAVAILABLE,
					   "no majority of the sentinels of service \"%s\" named one primary (%d of %d asked, %d answered)%s%s",
					   current_endpoint.service, votes.asked, votes.nsentinels,
					   votes.answered, votes.failure[0] ? ": " : "",
					   votes.failure);
		return ENDPOINT_POLL_UNDECIDED;
	}

	top = &votes.candidates[0];
	format_primary(named, sizeof(named), top->host, top->port);
	strlcpy(endpoint_description, saved_description, sizeof(endpoint_description));
	SpinLockAcquire(&s->mutex);
	same = s->announced_for == fingerprint && strcmp(s->announced, named) == 0;
	if (!same && strcmp(s->service, current_endpoint.service) == 0 &&
		strcmp(s->primary, named) == 0)
	{
		/*
		 * The primary the processes last connected to, each after its ROLE
		 * confirmed it (the worker's first poll, or a session that found
		 * the new primary first): announced without another connection.
		 * Whoever moves for it confirms it again in its own discovery.
		 */
		SpinLockRelease(&s->mutex);
		(void) announce_primary(s, fingerprint, named, before_announce);
		return ENDPOINT_POLL_SAME;
	}
	SpinLockRelease(&s->mutex);
	if (same)
		return ENDPOINT_POLL_SAME;

	primary = current_endpoint;
	primary.host = top->host;
	primary.port = top->port;
	primary.service = NULL;
	set_target("", top->host, top->port);
	if (!connect(&primary, arg, master_host, &master_port, outcome))
	{
		strlcpy(endpoint_description, saved_description, sizeof(endpoint_description));
		return ENDPOINT_POLL_REFUSED;
	}

	EndpointNoteConnected(top->host, top->port);
	seen_announce_epoch = announce_primary(s, fingerprint, named,
										   before_announce);
	return ENDPOINT_POLL_MOVED;
}
