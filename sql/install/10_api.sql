
/*
 * The SQL cache API (src/api.c): one Redis round trip per call.  Keys are
 * prefixed with cache_ext.key_prefix.
 */

CREATE FUNCTION cache_ext.ping()
RETURNS text
AS 'MODULE_PATHNAME', 'cache_ext_ping'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION cache_ext.ping() IS
  'Round trip to Redis; returns PONG';

CREATE FUNCTION cache_ext.get(key text)
RETURNS text
AS 'MODULE_PATHNAME', 'cache_ext_get'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION cache_ext.get(text) IS
  'Value of a key as text; NULL when the key does not exist';

CREATE FUNCTION cache_ext.get_bytea(key text)
RETURNS bytea
AS 'MODULE_PATHNAME', 'cache_ext_get_bytea'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION cache_ext.get_bytea(text) IS
  'Value of a key as bytes (for values that are not text, such as pickles); NULL when absent';

CREATE FUNCTION cache_ext.set(key text, value text, ttl_seconds int DEFAULT NULL)
RETURNS void
AS 'MODULE_PATHNAME', 'cache_ext_set'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION cache_ext.set(text, text, int) IS
  'Store a value, expiring after ttl_seconds (NULL: never); immediate, not transactional';

CREATE FUNCTION cache_ext.set_bytea(key text, value bytea, ttl_seconds int DEFAULT NULL)
RETURNS void
AS 'MODULE_PATHNAME', 'cache_ext_set_bytea'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION cache_ext.set_bytea(text, bytea, int) IS
  'Store bytes, expiring after ttl_seconds (NULL: never); immediate, not transactional';

CREATE FUNCTION cache_ext.add(key text, value text, ttl_seconds int DEFAULT NULL)
RETURNS boolean
AS 'MODULE_PATHNAME', 'cache_ext_add'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION cache_ext.add(text, text, int) IS
  'Store a value only if the key does not exist (SET NX); true when stored';

CREATE FUNCTION cache_ext.incr(key text, delta bigint DEFAULT 1)
RETURNS bigint
AS 'MODULE_PATHNAME', 'cache_ext_incr'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION cache_ext.incr(text, bigint) IS
  'Add delta to an integer value atomically (a missing key counts as 0); returns the new value';

CREATE FUNCTION cache_ext.delete(key text)
RETURNS boolean
AS 'MODULE_PATHNAME', 'cache_ext_delete'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION cache_ext.delete(text) IS
  'Remove a key now (UNLINK); true when it existed';

CREATE FUNCTION cache_ext.delete_many(keys text[])
RETURNS bigint
AS 'MODULE_PATHNAME', 'cache_ext_delete_many'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION cache_ext.delete_many(text[]) IS
  'Remove many keys in one round trip; returns how many existed';

CREATE FUNCTION cache_ext.ttl(key text)
RETURNS int
AS 'MODULE_PATHNAME', 'cache_ext_ttl'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION cache_ext.ttl(text) IS
  'Seconds before the key expires; -1 when it never expires; NULL when it does not exist';

CREATE FUNCTION cache_ext.lock_acquire(name text, ttl_seconds int)
RETURNS text
AS 'MODULE_PATHNAME', 'cache_ext_lock_acquire'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION cache_ext.lock_acquire(text, int) IS
  'Take a lock held for at most ttl_seconds; returns a random token to release it with (the key holds only the token''s SHA-256 digest, so reading it does not reveal the token), NULL when held by someone else';

CREATE FUNCTION cache_ext.lock_release(name text, token text)
RETURNS boolean
AS 'MODULE_PATHNAME', 'cache_ext_lock_release'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION cache_ext.lock_release(text, text) IS
  'Release a lock if token is the one lock_acquire returned (atomic compare-and-delete); true when released';

CREATE FUNCTION cache_ext.cursor_bump(stream text, event jsonb DEFAULT NULL)
RETURNS bigint
AS 'MODULE_PATHNAME', 'cache_ext_cursor_bump'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION cache_ext.cursor_bump(text, jsonb) IS
  'Advance {stream}:stream:cursor and store event at {stream}:stream:last_event atomically; returns the new cursor';

CREATE FUNCTION cache_ext.cursor_get(stream text)
RETURNS bigint
AS 'MODULE_PATHNAME', 'cache_ext_cursor_get'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION cache_ext.cursor_get(text) IS
  'Current cursor of a stream; 0 when it was never bumped';

CREATE FUNCTION cache_ext.cursor_last_event(stream text)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'cache_ext_cursor_last_event'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION cache_ext.cursor_last_event(text) IS
  'Event stored by the last cursor_bump of a stream; NULL when none';

CREATE FUNCTION cache_ext.cursor_reset(stream text)
RETURNS void
AS 'MODULE_PATHNAME', 'cache_ext_cursor_reset'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION cache_ext.cursor_reset(text) IS
  'Remove a stream''s cursor and last event';

CREATE FUNCTION cache_ext.command(VARIADIC args text[])
RETURNS text
AS 'MODULE_PATHNAME', 'cache_ext_command'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION cache_ext.command(text[]) IS
  'Superusers only: run a raw Redis command (no key prefix); arrays are rendered as JSON';

-- Privileges: nothing for PUBLIC (00_schema.sql).  The cache API is the
-- application's (every key gets the role's cache_ext.key_prefix); raw
-- commands stay with superusers (cache_ext_command checks it too).
REVOKE ALL ON FUNCTION cache_ext.ping() FROM PUBLIC;
REVOKE ALL ON FUNCTION cache_ext.get(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION cache_ext.get_bytea(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION cache_ext.set(text, text, int) FROM PUBLIC;
REVOKE ALL ON FUNCTION cache_ext.set_bytea(text, bytea, int) FROM PUBLIC;
REVOKE ALL ON FUNCTION cache_ext.add(text, text, int) FROM PUBLIC;
REVOKE ALL ON FUNCTION cache_ext.incr(text, bigint) FROM PUBLIC;
REVOKE ALL ON FUNCTION cache_ext.delete(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION cache_ext.delete_many(text[]) FROM PUBLIC;
REVOKE ALL ON FUNCTION cache_ext.ttl(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION cache_ext.lock_acquire(text, int) FROM PUBLIC;
REVOKE ALL ON FUNCTION cache_ext.lock_release(text, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION cache_ext.cursor_bump(text, jsonb) FROM PUBLIC;
REVOKE ALL ON FUNCTION cache_ext.cursor_get(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION cache_ext.cursor_last_event(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION cache_ext.cursor_reset(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION cache_ext.command(text[]) FROM PUBLIC;

GRANT EXECUTE ON FUNCTION
  cache_ext.ping(), cache_ext.get(text), cache_ext.get_bytea(text),
  cache_ext.set(text, text, int), cache_ext.set_bytea(text, bytea, int),
  cache_ext.add(text, text, int), cache_ext.incr(text, bigint),
  cache_ext.delete(text), cache_ext.delete_many(text[]), cache_ext.ttl(text),
  cache_ext.lock_acquire(text, int), cache_ext.lock_release(text, text),
  cache_ext.cursor_bump(text, jsonb), cache_ext.cursor_get(text),
  cache_ext.cursor_last_event(text), cache_ext.cursor_reset(text)
  TO cache_ext_app, cache_ext_admin;
