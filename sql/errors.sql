--
-- errors: bad arguments, error replies, an unreachable Redis, bad URLs.
-- Each gets a clear message; none crashes the backend.
--
\set VERBOSITY default
-- NULL and empty keys
SELECT cache_ext.get(NULL);
SELECT cache_ext.get('');
SELECT cache_ext.set('k', NULL);
SELECT cache_ext.set(NULL, 'v');
SELECT cache_ext.incr('k', NULL);
SELECT cache_ext.delete_many(NULL);
SELECT cache_ext.delete_many(ARRAY['a', NULL]);
SELECT cache_ext.delete_many(ARRAY[['a'], ['b']]);
SELECT cache_ext.cursor_bump('');
SELECT cache_ext.cursor_get(NULL);
SELECT cache_ext.lock_release('l', NULL);
-- oversized key
SELECT cache_ext.get(repeat('k', 2000));
-- TTLs must be positive; locks need one
SELECT cache_ext.set('k', 'v', -1);
SELECT cache_ext.set('k', 'v', 0);
SELECT cache_ext.add('k', 'v', -5);
SELECT cache_ext.lock_acquire('l', NULL);
SELECT cache_ext.lock_acquire('l', 0);
-- error replies from Redis
SELECT cache_ext.set('errors:text', 'not a number');
SELECT cache_ext.incr('errors:text');
SELECT cache_ext.command('RPUSH', 'errors:list', 'a');
SELECT cache_ext.get('errors:list');
SELECT cache_ext.cursor_bump('errors_text_stream');
SELECT cache_ext.set('errors_text_stream:stream:cursor', 'abc');
SELECT cache_ext.cursor_get('errors_text_stream');
SELECT cache_ext.cursor_bump('errors_text_stream');
-- a value that is not valid text
SELECT cache_ext.set_bytea('errors:binary', '\x80ff00'::bytea);
SELECT cache_ext.get('errors:binary');
SELECT cache_ext.get_bytea('errors:binary');
-- raw command errors
SELECT cache_ext.command();
SELECT cache_ext.command('NOSUCHCOMMAND');
SELECT cache_ext.command('GET', NULL);
-- the connection is still usable after all that
SELECT cache_ext.ping();
-- malformed URLs are refused when set, without echoing the URL
SET cache_ext.redis_url = 'http://example.com';
SET cache_ext.redis_url = 'redis://:hunter2@';
SET cache_ext.redis_url = 'redis://127.0.0.1:99999';
SET cache_ext.redis_url = 'redis://127.0.0.1:6379/x';
SET cache_ext.redis_url = 'rediss://[not-an-address]:6379';
SET cache_ext.redis_url = 'unix://relative/path';
SET cache_ext.redis_url = 'redis://bad host:6379';
SET cache_ext.redis_url = '';
-- a password given by SET is kept out of the stored setting (SHOW, pg_settings)
SET cache_ext.redis_url = 'redis://app:hunter2@127.0.0.1:1/0';
SHOW cache_ext.redis_url;
-- unreachable Redis: class 08 error naming host:port, never the password
SELECT cache_ext.get('k');
-- within the backoff window the call fails at once
SELECT cache_ext.get('k');
-- ignore_errors: a WARNING and NULL / false instead
SET cache_ext.ignore_errors = on;
SELECT cache_ext.get('k') IS NULL AS get_null;
SELECT cache_ext.add('k', 'v') AS add_false;
SELECT cache_ext.incr('k') IS NULL AS incr_null;
SELECT cache_ext.lock_acquire('l', 10) IS NULL AS lock_null;
SELECT cache_ext.set('k', 'v');
RESET cache_ext.ignore_errors;
-- a unix socket that does not exist
SET cache_ext.redis_url = 'unix:///nonexistent/redis.sock?db=2';
SELECT cache_ext.get('k');
RESET cache_ext.redis_url;
SELECT cache_ext.ping();
-- non-superusers cannot see or change the URL, nor use the raw command
CREATE ROLE cache_ext_errors_app;
GRANT USAGE ON SCHEMA cache_ext TO cache_ext_errors_app;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA cache_ext TO cache_ext_errors_app;
SET ROLE cache_ext_errors_app;
-- (the SQLSTATE only: PostgreSQL 16 reworded its message)
\set VERBOSITY sqlstate
SHOW cache_ext.redis_url;
\set VERBOSITY default
SELECT count(*) FROM pg_settings WHERE name = 'cache_ext.redis_url';
SET cache_ext.redis_url = 'redis://127.0.0.1:6379';
SET cache_ext.key_prefix = 'other:';
SELECT cache_ext.command('PING');
SELECT cache_ext.ping();
RESET ROLE;
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA cache_ext FROM cache_ext_errors_app;
REVOKE ALL ON SCHEMA cache_ext FROM cache_ext_errors_app;
DROP ROLE cache_ext_errors_app;
-- what the setting stores: the URL without its password (the user stays)
SET cache_ext.redis_url = 'rediss://:only%3Apass@[::1]:6380/2';
SHOW cache_ext.redis_url;
SET cache_ext.redis_url = 'unix://app:pw@/tmp/redis.sock?db=3';
SHOW cache_ext.redis_url;
-- credentials after the path's first '/' are not a socket path: refused, never shown
SET cache_ext.redis_url = 'unix:///:hunter4@/tmp/redis.sock';
SET cache_ext.redis_url = 'unix:///app:hunter4@/tmp/redis.sock?db=1';
SET cache_ext.redis_url = 'unix:///tmp/app@redis.sock';
SHOW cache_ext.redis_url;
SET cache_ext.redis_url = 'rediss://app@cache.example.com';
SHOW cache_ext.redis_url;
-- Sentinel URLs: the sentinels, then the service (and the database)
SET cache_ext.redis_url = 'redis+sentinel://app:pw@s1:26379,[::1]:26380,s3/mymaster/2';
SHOW cache_ext.redis_url;
SET cache_ext.redis_url = 'rediss+sentinel://s1.example.com/cache-main';
SHOW cache_ext.redis_url;
SET cache_ext.redis_url = 'redis+sentinel:///mymaster';
SET cache_ext.redis_url = 'redis+sentinel://s1:26379';
SET cache_ext.redis_url = 'redis+sentinel://s1:26379,/mymaster';
SET cache_ext.redis_url = 'redis+sentinel://s1:0/mymaster';
SET cache_ext.redis_url = 'redis+sentinel://s1/my master';
SET cache_ext.redis_url = 'redis+sentinel://s1/mymaster/x';
-- the sentinels' password: superuser-only, shown as a mask
SET cache_ext.sentinel_password = 'hunter3';
SHOW cache_ext.sentinel_password;
RESET cache_ext.sentinel_password;
SHOW cache_ext.sentinel_password;
SELECT count(*) AS password_anywhere FROM pg_settings
WHERE name LIKE 'cache_ext.%' AND (setting ~ 'pass|pw@|hunter' OR reset_val ~ 'pass|pw@|hunter' OR boot_val ~ 'pass|pw@|hunter');
RESET cache_ext.redis_url;
-- the TLS settings: superuser-only, and tls_verify takes full, ca or none
SET cache_ext.tls_verify = 'sometimes';
SHOW cache_ext.tls_verify;
SELECT name, context FROM pg_settings
WHERE name IN ('cache_ext.tls_ca_file', 'cache_ext.tls_cert_file', 'cache_ext.tls_key_file',
               'cache_ext.tls_verify', 'cache_ext.redis_password_file')
ORDER BY name;
