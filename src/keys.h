/*-------------------------------------------------------------------------
 *
 * keys.h
 *	  How cache_ext names Redis keys (keys.c): cache_ext.key_prefix, put in
 *	  front of every key and pattern cache_ext touches, the size limits of
 *	  keys, and the application's key conventions (user versions, the
 *	  cache_enabled mirror).
 *
 *-------------------------------------------------------------------------
 */
#ifndef CACHE_EXT_KEYS_H
#define CACHE_EXT_KEYS_H

/* Define cache_ext.key_prefix (_PG_init). */
extern void KeysInit(void);

extern char *cache_ext_key_prefix;

/*
 * Size limits.  A key as the caller writes it may have up to
 * CACHE_EXT_MAX_KEY_LEN bytes; with the prefix, a Redis key cache_ext sends
 * is at most CACHE_EXT_MAX_FULL_KEY_LEN bytes (the retry queue relies on it).
 */
#define CACHE_EXT_MAX_KEY_LEN		1024
#define CACHE_EXT_MAX_PREFIX_LEN	256
#define CACHE_EXT_MAX_FULL_KEY_LEN	(2 * CACHE_EXT_MAX_PREFIX_LEN + CACHE_EXT_MAX_KEY_LEN)

/*
 * Every key cache_ext touches goes through KeyWithPrefix; SCAN patterns go
 * through KeyPatternWithPrefix, which escapes glob characters of the prefix
 * so that the prefix only ever matches itself.  Both palloc the result in
 * CurrentMemoryContext and raise a clear error for an empty or NULL key.
 */
extern char *KeyWithPrefix(const char *key, size_t keylen, size_t *resultlen);
extern char *KeyWithPrefixText(text *key, size_t *resultlen);
extern char *KeyPatternWithPrefix(const char *pattern, size_t patternlen,
								  size_t *resultlen);

/*
 * The namespace version key of one user, the application's convention:
 * 'cache_user_version:<user_id>', prefixed.  Shared by bump_user(), the
 * default template of bump_version() and the profile triggers, so that
 * they can never disagree on the name.
 */
#define USER_VERSION_KEY_PREFIX		"cache_user_version:"
extern char *KeyUserVersion(int64 user_id, size_t *resultlen);

/*
 * The namespace of the profile mirrors (profile.c): "cache_user_enabled:"
 * followed by a user id.  No invalidation template may reach it
 * (triggers.c).
 */
#define MIRROR_KEY_PREFIX			"cache_user_enabled:"

#endif							/* CACHE_EXT_KEYS_H */
