--
-- api: the SQL cache API against a real Redis.
--
-- get / set / ttl
SELECT cache_ext.get('api:missing') IS NULL AS missing_is_null;
SELECT cache_ext.set('api:greeting', 'hello');
SELECT cache_ext.get('api:greeting');
SELECT cache_ext.ttl('api:greeting') AS no_expiry;
SELECT cache_ext.set('api:greeting', 'hello again', 60);
SELECT cache_ext.get('api:greeting');
SELECT cache_ext.ttl('api:greeting') BETWEEN 58 AND 60 AS ttl_set;
SELECT cache_ext.ttl('api:missing') IS NULL AS ttl_of_missing_is_null;
-- values are binary safe and may be large
SELECT cache_ext.set('api:unicode', 'grüße, 東京 🚀');
SELECT cache_ext.get('api:unicode');
SELECT cache_ext.set('api:big', repeat('x', 1000000));
SELECT length(cache_ext.get('api:big'));
SELECT cache_ext.set_bytea('api:bytes', '\x00ff80'::bytea);
SELECT cache_ext.get_bytea('api:bytes');
-- add is set-if-absent
SELECT cache_ext.add('api:once', 'first');
SELECT cache_ext.add('api:once', 'second');
SELECT cache_ext.get('api:once');
SELECT cache_ext.add('api:once_ttl', 'x', 30), cache_ext.ttl('api:once_ttl') > 0 AS has_ttl;
-- incr
SELECT cache_ext.incr('api:counter');
SELECT cache_ext.incr('api:counter');
SELECT cache_ext.incr('api:counter', 40);
SELECT cache_ext.incr('api:counter', -2);
SELECT cache_ext.get('api:counter');
-- delete / delete_many
SELECT cache_ext.delete('api:once');
SELECT cache_ext.delete('api:once');
SELECT cache_ext.set('api:m1', '1'), cache_ext.set('api:m2', '2'), cache_ext.set('api:m3', '3');
SELECT cache_ext.delete_many(ARRAY['api:m1', 'api:m2', 'api:m3', 'api:m4']);
SELECT cache_ext.delete_many(ARRAY[]::text[]);
SELECT cache_ext.get('api:m1') IS NULL AS gone;
-- locks
SELECT cache_ext.lock_acquire('api:lock', 30) ~ '^[0-9a-f]{32}$' AS got_token;
SELECT cache_ext.lock_acquire('api:lock', 30) IS NULL AS refused_while_held;
SELECT cache_ext.lock_release('api:lock', 'not-the-token');
SELECT cache_ext.get('api:lock') IS NOT NULL AS still_held;
SELECT cache_ext.command('DEL', 'api:lock');
-- a token releases only its own lock
WITH t AS (SELECT cache_ext.lock_acquire('api:lock2', 30) AS token)
SELECT cache_ext.lock_release('api:lock2', token) AS released,
       cache_ext.lock_release('api:lock2', token) AS released_twice
FROM t;
SELECT cache_ext.lock_acquire('api:lock2', 30) IS NOT NULL AS free_again;
-- stream cursors
SELECT cache_ext.cursor_get('api_stream');
SELECT cache_ext.cursor_last_event('api_stream');
SELECT cache_ext.cursor_bump('api_stream', '{"id": 1, "kind": "created"}');
SELECT cache_ext.cursor_bump('api_stream');
SELECT cache_ext.cursor_get('api_stream');
SELECT cache_ext.cursor_last_event('api_stream');
SELECT cache_ext.command('GET', 'api_stream:stream:cursor');
SELECT cache_ext.cursor_reset('api_stream');
SELECT cache_ext.cursor_get('api_stream');
-- scripts survive SCRIPT FLUSH (EVALSHA falls back to EVAL)
SELECT cache_ext.command('SCRIPT', 'FLUSH');
SELECT cache_ext.cursor_bump('api_stream', '{"after": "flush"}');
SELECT cache_ext.cursor_last_event('api_stream');
-- key prefix (django-redis KEY_PREFIX:VERSION:)
SET cache_ext.key_prefix = 'myapp:1:';
SELECT cache_ext.set('api:prefixed', 'v');
SELECT cache_ext.command('GET', 'myapp:1:api:prefixed');
SELECT cache_ext.get('api:prefixed');
SELECT cache_ext.cursor_bump('api_stream');
SELECT cache_ext.command('EXISTS', 'myapp:1:api_stream:stream:cursor');
RESET cache_ext.key_prefix;
SELECT cache_ext.get('api:prefixed') IS NULL AS not_visible_without_prefix;
-- raw command renders replies
SELECT cache_ext.command('RPUSH', 'api:list', 'a', 'b');
SELECT cache_ext.command('LRANGE', 'api:list', '0', '-1');
SELECT cache_ext.command('GET', 'api:nothing') IS NULL AS nil_is_null;
-- a changed URL takes effect on the next call
SELECT current_setting('cache_ext.redis_url') AS url \gset
SET cache_ext.redis_url = 'redis://127.0.0.1:1/0';
SELECT cache_ext.ping();
SET cache_ext.redis_url = :'url';
SELECT cache_ext.ping();
-- database index in the URL
SET cache_ext.redis_url = :'url';
SELECT regexp_replace(:'url', '/0$', '/3') AS url3 \gset
SET cache_ext.redis_url = :'url3';
SELECT cache_ext.set('api:db3', 'in db 3');
SET cache_ext.redis_url = :'url';
SELECT cache_ext.get('api:db3') IS NULL AS not_in_db0;
SET cache_ext.redis_url = :'url3';
SELECT cache_ext.get('api:db3');
SELECT cache_ext.command('FLUSHDB');
RESET cache_ext.redis_url;
