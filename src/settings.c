/*-------------------------------------------------------------------------
 *
 * settings.c
 *	  The connection settings (cache_ext.redis_url, connect_timeout,
 *	  command_timeout, reconnect_interval, ignore_errors) and the key naming
 *	  rule (cache_ext.key_prefix).
 *
 *	  The URL is parsed once, in its check hook, into a malloc'd
 *	  RedisEndpoint; the connection compares generations to notice a change.
 *	  The password never leaves this file except towards Redis's AUTH: the
 *	  setting is hidden from non-superusers (GUC_SUPERUSER_ONLY), and SHOW
 *	  displays it masked.
 *
 *-------------------------------------------------------------------------
 */
#include "cache_ext.h"

#include <ctype.h>
#include <limits.h>

#include "settings.h"

char	   *cache_ext_redis_url = NULL;
char	   *cache_ext_key_prefix = NULL;
int			cache_ext_connect_timeout = 1000;
int			cache_ext_command_timeout = 1000;
int			cache_ext_reconnect_interval = 1000;
bool		cache_ext_ignore_errors = false;

/* The endpoint parsed from the current URL, and when it last changed. */
static RedisEndpoint current_endpoint;
static uint64 endpoint_generation = 0;
static char endpoint_description[300] = "";

static bool check_redis_url(char **newval, void **extra, GucSource source);
static void assign_redis_url(const char *newval, void *extra);
static const char *show_redis_url(void);
static bool check_key_prefix(char **newval, void **extra, GucSource source);

void
SettingsInit(void)
{
	DefineCustomStringVariable("cache_ext.redis_url",
							   "Redis server cache_ext talks to.",
							   "redis://[[user]:password@]host[:port][/db] or "
							   "unix://[[user]:password@]/path/to/socket[?db=N].",
							   &cache_ext_redis_url,
							   "redis://127.0.0.1:6379/0",
							   PGC_SUSET,
							   GUC_SUPERUSER_ONLY,
							   check_redis_url,
							   assign_redis_url,
							   show_redis_url);

	DefineCustomStringVariable("cache_ext.key_prefix",
							   "Prefix prepended to every Redis key cache_ext touches.",
							   "For django-redis, use its KEY_PREFIX:VERSION: form, "
							   "for example 'myapp:1:'.",
							   &cache_ext_key_prefix,
							   "",
							   PGC_SUSET,
							   0,
							   check_key_prefix,
							   NULL,
							   NULL);

	DefineCustomIntVariable("cache_ext.connect_timeout",
							"Longest wait for a connection to Redis, handshake included.",
							NULL,
							&cache_ext_connect_timeout,
							1000, 1, 60 * 1000,
							PGC_USERSET,
							GUC_UNIT_MS,
							NULL, NULL, NULL);

	DefineCustomIntVariable("cache_ext.command_timeout",
							"Longest wait for Redis to answer one round trip.",
							"Also bounds how long COMMIT can wait to deliver invalidations.",
							&cache_ext_command_timeout,
							1000, 1, 60 * 1000,
							PGC_USERSET,
							GUC_UNIT_MS,
							NULL, NULL, NULL);

	DefineCustomIntVariable("cache_ext.reconnect_interval",
							"After a failed connection or a timeout, how long to wait "
							"before trying Redis again.",
							"Calls made meanwhile fail at once instead of each waiting "
							"for a timeout.",
							&cache_ext_reconnect_interval,
							1000, 0, 10 * 60 * 1000,
							PGC_USERSET,
							GUC_UNIT_MS,
							NULL, NULL, NULL);

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
}

/*
 * URL parsing
 */

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
FreeRedisEndpoint(RedisEndpoint *endpoint)
{
	free(endpoint->host);
	free(endpoint->path);
	free(endpoint->user);
	if (endpoint->password)
	{
		/* do not leave the secret lying around in freed memory */
		explicit_bzero(endpoint->password, strlen(endpoint->password));
		free(endpoint->password);
	}
	memset(endpoint, 0, sizeof(*endpoint));
}

/*
 * Parse redis://[[user]:password@]host[:port][/db] or
 * unix://[[user]:password@]/path[?db=N].  IPv6 hosts go in brackets.
 *
 * Error messages are static strings that never quote the URL, because the
 * URL may contain a password.
 */
bool
ParseRedisUrl(const char *url, RedisEndpoint *endpoint, const char **error)
{
	const char *rest;
	const char *at;
	const char *hostpart;
	bool		is_unix;

	memset(endpoint, 0, sizeof(*endpoint));
	endpoint->port = 6379;

	if (url == NULL || url[0] == '\0')
	{
		*error = "the URL is empty";
		return false;
	}

	if (strncmp(url, "redis://", 8) == 0)
	{
		is_unix = false;
		rest = url + 8;
	}
	else if (strncmp(url, "unix://", 7) == 0)
	{
		is_unix = true;
		rest = url + 7;
	}
	else if (strncmp(url, "rediss://", 9) == 0)
	{
		*error = "TLS (rediss://) is not supported: Debian's hiredis 0.14 has no TLS";
		return false;
	}
	else
	{
		*error = "the URL must start with redis:// or unix://";
		return false;
	}
	endpoint->is_unix = is_unix;

	/* credentials: everything before the last '@' of the authority */
	at = NULL;
	for (const char *p = rest; *p && (is_unix || (*p != '/' && *p != '?')); p++)
	{
		if (*p == '@')
			at = p;
		/* in unix URLs the path starts with '/', after the credentials */
		if (is_unix && *p == '/' && at == NULL)
			break;
	}
	if (at != NULL)
	{
		const char *colon = memchr(rest, ':', at - rest);

		if (colon == NULL)
		{
			/* redis-py accepts a lone password here only with a colon */
			*error = "credentials must be written user:password@ or :password@";
			goto fail;
		}
		if (colon > rest)
		{
			endpoint->user = malloc_strndup(rest, colon - rest);
			if (endpoint->user == NULL || !percent_decode(endpoint->user))
			{
				*error = "the user name is malformed";
				goto fail;
			}
		}
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
		rest = at + 1;
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

		if (close == NULL || close == hostpart + 1)
		{
			*error = "an IPv6 host must be written in brackets, as in [::1]";
			goto fail;
		}
		endpoint->host = malloc_strndup(hostpart + 1, close - hostpart - 1);
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
		endpoint->host = malloc_strndup(hostpart, hostlen);
		rest = hostpart + hostlen;
	}
	if (endpoint->host == NULL)
	{
		*error = "out of memory";
		goto fail;
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
	FreeRedisEndpoint(endpoint);
	return false;
}

static bool
check_redis_url(char **newval, void **extra, GucSource source)
{
	RedisEndpoint endpoint;
	const char *error;

	if (!ParseRedisUrl(*newval, &endpoint, &error))
	{
		GUC_check_errmsg("invalid value for cache_ext.redis_url: %s", error);
		GUC_check_errhint("Use redis://[[user]:password@]host[:port][/db] or "
						  "unix://[[user]:password@]/path/to/socket[?db=N].");
		return false;
	}
	FreeRedisEndpoint(&endpoint);
	return true;
}

static void
assign_redis_url(const char *newval, void *extra)
{
	RedisEndpoint endpoint;
	const char *error;

	/* the check hook accepted it, so this parse succeeds barring OOM */
	if (!ParseRedisUrl(newval, &endpoint, &error))
		return;

	FreeRedisEndpoint(&current_endpoint);
	current_endpoint = endpoint;
	endpoint_generation++;

	if (current_endpoint.is_unix)
		snprintf(endpoint_description, sizeof(endpoint_description),
				 "unix:%s", current_endpoint.path);
	else if (strchr(current_endpoint.host, ':') != NULL)
		snprintf(endpoint_description, sizeof(endpoint_description),
				 "[%s]:%d", current_endpoint.host, current_endpoint.port);
	else
		snprintf(endpoint_description, sizeof(endpoint_description),
				 "%s:%d", current_endpoint.host, current_endpoint.port);
}

/*
 * SHOW and pg_settings.setting display the URL with the password replaced
 * by '********'.  (The whole setting is invisible to roles that are not
 * superusers or members of pg_read_all_settings.)
 */
static const char *
show_redis_url(void)
{
	static char shown[1024];
	const char *url = cache_ext_redis_url;
	const char *scheme_end;
	const char *at;
	const char *colon;

	if (url == NULL)
		return "";
	scheme_end = strstr(url, "://");
	at = scheme_end ? strrchr(scheme_end, '@') : NULL;
	if (at == NULL)
		return url;
	colon = memchr(scheme_end + 3, ':', at - (scheme_end + 3));
	if (colon == NULL)
		return url;
	snprintf(shown, sizeof(shown), "%.*s:********%s",
			 (int) (colon - url), url, at);
	return shown;
}

const RedisEndpoint *
CurrentRedisEndpoint(void)
{
	return &current_endpoint;
}

uint64
RedisEndpointGeneration(void)
{
	return endpoint_generation;
}

const char *
RedisEndpointDescription(void)
{
	return endpoint_description;
}

/*
 * Key naming
 */

static bool
check_key_prefix(char **newval, void **extra, GucSource source)
{
	if (*newval && strlen(*newval) > CACHE_EXT_MAX_PREFIX_LEN)
	{
		GUC_check_errmsg("cache_ext.key_prefix is too long");
		GUC_check_errdetail("The prefix is %zu bytes; the limit is %d.",
							strlen(*newval), CACHE_EXT_MAX_PREFIX_LEN);
		return false;
	}
	return true;
}

static void
check_key_argument(const char *key, size_t keylen)
{
	if (key == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("cache key must not be null")));
	if (keylen == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("cache key must not be empty"),
				 errhint("Pass a non-empty key such as 'cache_user_version:42'.")));
	if (keylen > CACHE_EXT_MAX_KEY_LEN)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("cache key is too long"),
				 errdetail("The key is %zu bytes; cache_ext accepts keys of up to %d bytes.",
						   keylen, CACHE_EXT_MAX_KEY_LEN),
				 errhint("Hash long identifiers into the key instead of embedding them.")));
}

char *
KeyWithPrefix(const char *key, size_t keylen, size_t *resultlen)
{
	size_t		prefixlen = cache_ext_key_prefix ? strlen(cache_ext_key_prefix) : 0;
	char	   *result;

	check_key_argument(key, keylen);
	result = palloc(prefixlen + keylen + 1);
	if (prefixlen > 0)
		memcpy(result, cache_ext_key_prefix, prefixlen);
	memcpy(result + prefixlen, key, keylen);
	result[prefixlen + keylen] = '\0';
	*resultlen = prefixlen + keylen;
	return result;
}

char *
KeyWithPrefixText(text *key, size_t *resultlen)
{
	if (key == NULL)
		check_key_argument(NULL, 0);
	return KeyWithPrefix(VARDATA_ANY(key), VARSIZE_ANY_EXHDR(key), resultlen);
}

char *
UserVersionKey(int64 user_id, size_t *resultlen)
{
	char		key[sizeof(USER_VERSION_KEY_PREFIX) + MAXINT8LEN];
	int			len = sizeof(USER_VERSION_KEY_PREFIX) - 1;

	memcpy(key, USER_VERSION_KEY_PREFIX, len);
	len += pg_lltoa(user_id, key + len);
	return KeyWithPrefix(key, len, resultlen);
}

char *
PatternWithPrefix(const char *pattern, size_t patternlen, size_t *resultlen)
{
	size_t		prefixlen = cache_ext_key_prefix ? strlen(cache_ext_key_prefix) : 0;
	char	   *result;
	char	   *out;

	check_key_argument(pattern, patternlen);
	/* each prefix character may need a backslash */
	result = palloc(prefixlen * 2 + patternlen + 1);
	out = result;
	for (size_t i = 0; i < prefixlen; i++)
	{
		char		c = cache_ext_key_prefix[i];

		if (c == '*' || c == '?' || c == '[' || c == ']' || c == '\\')
			*out++ = '\\';
		*out++ = c;
	}
	memcpy(out, pattern, patternlen);
	out += patternlen;
	*out = '\0';
	*resultlen = out - result;
	return result;
}
