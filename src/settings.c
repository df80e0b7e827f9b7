/*-------------------------------------------------------------------------
 *
 * settings.c
 *	  The connection settings (cache_ext.redis_url, connect_timeout,
 *	  command_timeout, reconnect_interval, ignore_errors) and the key naming
 *	  rule (cache_ext.key_prefix).
 *
 *	  The URL is parsed once, in its check hook (the parser is endpoint.c's),
 *	  into a RedisEndpoint; the connection compares generations to notice a
 *	  change of the URL, the TLS settings or the password file setting.
 *
 *	  The password: it lives in cache_ext.redis_password_file (read at each
 *	  connection by the endpoint layer), or, for one session, in a URL given
 *	  by SET, whose stored value is stripped of it (see check_redis_url).
 *	  No pg_settings column, log line or error message ever holds it.
 *
 *-------------------------------------------------------------------------
 */
#include "prelude.h"

#include <ctype.h>
#include <limits.h>

#include "tcop/tcopprot.h"

#include "settings.h"

char	   *cache_ext_redis_url = NULL;
char	   *cache_ext_key_prefix = NULL;
int			cache_ext_connect_timeout = 1000;
int			cache_ext_command_timeout = 1000;
int			cache_ext_reconnect_interval = 1000;
bool		cache_ext_ignore_errors = false;
char	   *cache_ext_tls_ca_file = NULL;
char	   *cache_ext_tls_cert_file = NULL;
char	   *cache_ext_tls_key_file = NULL;
int			cache_ext_tls_verify = CACHE_EXT_TLS_VERIFY_FULL;
char	   *cache_ext_redis_password_file = NULL;

/* The endpoint parsed from the current URL, and when it last changed. */
static RedisEndpoint current_endpoint;
static uint64 endpoint_generation = 0;
static char endpoint_description[300] = "";

static emit_log_hook_type prev_emit_log_hook = NULL;

static bool check_redis_url(char **newval, void **extra, GucSource source);
static void assign_redis_url(const char *newval, void *extra);
static void assign_tls_ca_file(const char *newval, void *extra);
static void assign_tls_cert_file(const char *newval, void *extra);
static void assign_tls_key_file(const char *newval, void *extra);
static void assign_password_file(const char *newval, void *extra);
static void assign_tls_verify(int newval, void *extra);
static void hide_url_statements(ErrorData *edata);
static bool check_key_prefix(char **newval, void **extra, GucSource source);

static const struct config_enum_entry tls_verify_options[] = {
	{"full", CACHE_EXT_TLS_VERIFY_FULL, false},
	{"ca", CACHE_EXT_TLS_VERIFY_CA, false},
	{"none", CACHE_EXT_TLS_VERIFY_NONE, false},
	{NULL, 0, false}
};

void
SettingsInit(void)
{
	DefineCustomStringVariable("cache_ext.redis_url",
							   "Redis server cache_ext talks to.",
							   "redis://[user@]host[:port][/db], rediss://... (TLS) or "
							   "unix://[user@]/path/to/socket[?db=N]; the password goes "
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

	DefineCustomStringVariable("cache_ext.tls_ca_file",
							   "PEM bundle of the certificate authorities trusted for rediss:// "
							   "(empty: the system's trust store).",
							   NULL,
							   &cache_ext_tls_ca_file,
							   "",
							   PGC_SUSET,
							   0,
							   NULL,
							   assign_tls_ca_file,
							   NULL);

	DefineCustomStringVariable("cache_ext.tls_cert_file",
							   "Client certificate (PEM) for mutual TLS with Redis.",
							   NULL,
							   &cache_ext_tls_cert_file,
							   "",
							   PGC_SUSET,
							   0,
							   NULL,
							   assign_tls_cert_file,
							   NULL);

	DefineCustomStringVariable("cache_ext.tls_key_file",
							   "Private key (PEM) of cache_ext.tls_cert_file.",
							   "Must not be readable by group or others.",
							   &cache_ext_tls_key_file,
							   "",
							   PGC_SUSET,
							   0,
							   NULL,
							   assign_tls_key_file,
							   NULL);

	DefineCustomEnumVariable("cache_ext.tls_verify",
							 "What a rediss:// connection checks of the server's certificate.",
							 "full: the chain and the host name or IP address; ca: the chain; "
							 "none: nothing (encryption only).",
							 &cache_ext_tls_verify,
							 CACHE_EXT_TLS_VERIFY_FULL,
							 tls_verify_options,
							 PGC_SUSET,
							 0,
							 NULL,
							 assign_tls_verify,
							 NULL);

	prev_emit_log_hook = emit_log_hook;
	emit_log_hook = hide_url_statements;

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
	extra = GucMallocCompat(offsetof(UrlExtra, strings) + len);
	if (extra == NULL)
		return NULL;
	extra->endpoint = *ep;
	cursor = extra->strings;
	extra->endpoint.host = extra_copy(&cursor, ep->host);
	extra->endpoint.path = extra_copy(&cursor, ep->path);
	extra->endpoint.user = extra_copy(&cursor, ep->user);
	extra->endpoint.password = extra_copy(&cursor, ep->password);
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

	if (!ParseRedisUrl(*newval, &endpoint, &error))
	{
		GUC_check_errmsg("invalid value for cache_ext.redis_url: %s", error);
		GUC_check_errhint("Use redis://[user[:password]@]host[:port][/db], "
						  "rediss://... for TLS, or "
						  "unix://[user[:password]@]/path/to/socket[?db=N].");
		return false;
	}

	if (endpoint.password != NULL)
	{
		bool		had_password;
		char	   *stripped;
		char	   *stored;

		if (source != PGC_S_SESSION)
		{
			FreeRedisEndpoint(&endpoint);
			GUC_check_errmsg("cache_ext.redis_url must not contain a password here");
			GUC_check_errdetail("A password in the URL is accepted only by SET in a session; "
								"in postgresql.conf, ALTER SYSTEM or ALTER ROLE/DATABASE it would "
								"be visible in the server log or the catalogs.");
			GUC_check_errhint("Put the password in the file named by cache_ext.redis_password_file "
							  "(owned by the server's user, mode 0600) and remove it from the URL.");
			return false;
		}
		stripped = RedisUrlWithoutPassword(*newval, &had_password);
		stored = stripped ? GucStrdupCompat(stripped) : NULL;
		if (stripped)
		{
			explicit_bzero(stripped, strlen(stripped));
			free(stripped);
		}
		if (stored == NULL)
		{
			FreeRedisEndpoint(&endpoint);
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
	FreeRedisEndpoint(&endpoint);
	if (result == NULL)
	{
		GUC_check_errcode(ERRCODE_OUT_OF_MEMORY);
		GUC_check_errmsg("out of memory");
		return false;
	}
	*extra = result;
	return true;
}

static char *
malloc_strdup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

static void
bump_generation(void)
{
	endpoint_generation++;
}

static bool
same_string(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
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
			same_string(current_endpoint.user, ep->user) &&
			same_string(current_endpoint.password, ep->password))
			return;
	}

	memset(&copy, 0, sizeof(copy));
	copy = *ep;
	copy.host = malloc_strdup_or_null(ep->host);
	copy.path = malloc_strdup_or_null(ep->path);
	copy.user = malloc_strdup_or_null(ep->user);
	copy.password = malloc_strdup_or_null(ep->password);
	if ((ep->host && !copy.host) || (ep->path && !copy.path) ||
		(ep->user && !copy.user) || (ep->password && !copy.password))
	{
		/* out of memory: keep the previous endpoint */
		FreeRedisEndpoint(&copy);
		return;
	}

	FreeRedisEndpoint(&current_endpoint);
	current_endpoint = copy;
	bump_generation();

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
 * The TLS settings and the password file: any change makes every process
 * reconnect at its next call (and rebuild its TLS context).
 */
static void
assign_connection_string(const char *newval, char **seen)
{
	if (same_string(*seen, newval))
		return;
	free(*seen);
	*seen = malloc_strdup_or_null(newval);
	bump_generation();
}

static char *seen_ca_file,
		   *seen_cert_file,
		   *seen_key_file,
		   *seen_password_file;
static int	seen_verify = -1;

static void
assign_tls_ca_file(const char *newval, void *extra)
{
	assign_connection_string(newval, &seen_ca_file);
}

static void
assign_tls_cert_file(const char *newval, void *extra)
{
	assign_connection_string(newval, &seen_cert_file);
}

static void
assign_tls_key_file(const char *newval, void *extra)
{
	assign_connection_string(newval, &seen_key_file);
}

static void
assign_password_file(const char *newval, void *extra)
{
	assign_connection_string(newval, &seen_password_file);
}

static void
assign_tls_verify(int newval, void *extra)
{
	if (seen_verify == newval)
		return;
	seen_verify = newval;
	bump_generation();
}

/*
 * A failed SET (or ALTER SYSTEM) of cache_ext.redis_url with credentials
 * in it would be logged with its statement (log_min_error_statement):
 * hide the statement.  The error message itself never quotes the URL.
 */
static bool
mentions_redis_url(const char *query)
{
	static const char needle[] = "redis_url";

	for (const char *p = query; *p; p++)
		if (pg_strncasecmp(p, needle, sizeof(needle) - 1) == 0)
			return true;
	return false;
}

static void
hide_url_statements(ErrorData *edata)
{
	if (edata->elevel >= ERROR && !edata->hide_stmt &&
		debug_query_string != NULL && strchr(debug_query_string, '@') != NULL &&
		mentions_redis_url(debug_query_string))
		edata->hide_stmt = true;
	if (prev_emit_log_hook)
		prev_emit_log_hook(edata);
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
