/*-------------------------------------------------------------------------
 *
 * keys.c
 *	  The key naming rules (keys.h): cache_ext.key_prefix and the keys and
 *	  patterns built with it.
 *
 *	  The prefix is PGC_SUSET: set per role by a superuser (ALTER ROLE ...
 *	  SET), it is what keeps tenants sharing a Redis apart, so every key and
 *	  pattern cache_ext sends is built here.
 *
 *-------------------------------------------------------------------------
 */
#include "prelude.h"

#include "keys.h"

char	   *cache_ext_key_prefix = NULL;

static bool check_key_prefix(char **newval, void **extra, GucSource source);

void
KeysInit(void)
{
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
}

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
KeyUserVersion(int64 user_id, size_t *resultlen)
{
	char		key[sizeof(USER_VERSION_KEY_PREFIX) + MAXINT8LEN];
	int			len = sizeof(USER_VERSION_KEY_PREFIX) - 1;

	memcpy(key, USER_VERSION_KEY_PREFIX, len);
	len += pg_lltoa(user_id, key + len);
	return KeyWithPrefix(key, len, resultlen);
}

char *
KeyPatternWithPrefix(const char *pattern, size_t patternlen, size_t *resultlen)
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
