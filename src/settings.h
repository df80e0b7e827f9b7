/*-------------------------------------------------------------------------
 *
 * settings.h
 *	  Connection settings (cache_ext.redis_url, the TLS settings, the
 *	  password file and the timeouts) and the key naming rules derived from
 *	  them (cache_ext.key_prefix).
 *
 *-------------------------------------------------------------------------
 */
#ifndef CACHE_EXT_SETTINGS_H
#define CACHE_EXT_SETTINGS_H

#include "endpoint.h"

/*
 * Size limits.  A key as the caller writes it may have up to
 * CACHE_EXT_MAX_KEY_LEN bytes; with the prefix, a Redis key cache_ext sends
 * is at most CACHE_EXT_MAX_FULL_KEY_LEN bytes (the retry queue relies on it).
 */
#define CACHE_EXT_MAX_KEY_LEN		1024
#define CACHE_EXT_MAX_PREFIX_LEN	256
#define CACHE_EXT_MAX_FULL_KEY_LEN	(2 * CACHE_EXT_MAX_PREFIX_LEN + CACHE_EXT_MAX_KEY_LEN)

/* Define the settings (_PG_init). */
extern void SettingsInit(void);

extern char *cache_ext_redis_url;
extern char *cache_ext_key_prefix;
extern int	cache_ext_connect_timeout;	/* ms */
extern int	cache_ext_command_timeout;	/* ms */
extern int	cache_ext_reconnect_interval;	/* ms */
extern bool cache_ext_ignore_errors;

/* TLS and credentials (superuser-only; a change makes every process reconnect) */
typedef enum CacheExtTlsVerify
{
	CACHE_EXT_TLS_VERIFY_FULL,	/* chain, and host name or IP address */
	CACHE_EXT_TLS_VERIFY_CA,	/* chain only */
	CACHE_EXT_TLS_VERIFY_NONE	/* nothing: encryption only */
} CacheExtTlsVerify;

extern char *cache_ext_tls_ca_file;
extern char *cache_ext_tls_cert_file;
extern char *cache_ext_tls_key_file;
extern int	cache_ext_tls_verify;	/* CacheExtTlsVerify */
extern char *cache_ext_redis_password_file;

/*
 * The endpoint of the current cache_ext.redis_url (with the password a
 * session SET gave, which the stored setting never holds) and a generation
 * number that changes whenever the URL, a TLS setting or the password file
 * setting does, so the connection knows to reconnect.
 */
extern const RedisEndpoint *CurrentRedisEndpoint(void);
extern uint64 RedisEndpointGeneration(void);

/* "host:port" or "unix:/path", for messages; never includes credentials. */
extern const char *RedisEndpointDescription(void);


/*
 * Key naming.  Every key cache_ext touches goes through KeyWithPrefix; SCAN
 * patterns go through PatternWithPrefix, which escapes glob characters of
 * the prefix so that the prefix only ever matches itself.  Both palloc the
 * result in CurrentMemoryContext and raise a clear error for an empty or
 * NULL key.
 */
extern char *KeyWithPrefix(const char *key, size_t keylen, size_t *resultlen);
extern char *PatternWithPrefix(const char *pattern, size_t patternlen,
							   size_t *resultlen);
extern char *KeyWithPrefixText(text *key, size_t *resultlen);

/*
 * The namespace version key of one user, the application's convention:
 * 'cache_user_version:<user_id>', prefixed.  Shared by bump_user() and the
 * profile triggers so the two can never disagree on the name.
 */
#define USER_VERSION_KEY_PREFIX		"cache_user_version:"
extern char *UserVersionKey(int64 user_id, size_t *resultlen);

#endif							/* CACHE_EXT_SETTINGS_H */
