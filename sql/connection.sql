--
-- connection: URL forms the sandbox can serve for real: a unix socket, an
-- ACL user with a password (percent-encoded), a wrong password.  Secrets
-- never appear in errors.
--
SELECT current_setting('cache_ext.redis_url') AS tcp_url \gset
SELECT substring(:'tcp_url' from ':(\d+)/') AS port \gset
\getenv redis_socket REDIS_SOCKET
-- unix socket, with a database index
SELECT 'unix://' || :'redis_socket' || '?db=5' AS socket_url \gset
SET cache_ext.redis_url = :'socket_url';
SELECT cache_ext.set('connection:via_socket', 'yes');
RESET cache_ext.redis_url;
SELECT cache_ext.get('connection:via_socket') IS NULL AS not_in_db0;
SET cache_ext.redis_url = :'socket_url';
SELECT cache_ext.get('connection:via_socket');
SELECT cache_ext.command('FLUSHDB');
RESET cache_ext.redis_url;
-- an ACL user whose password needs percent-encoding (p@ss:w/rd)
SELECT cache_ext.command('ACL', 'SETUSER', 'cache_app', 'on', '>p@ss:w/rd', '~*', '+@all');
SELECT 'redis://cache_app:p%40ss%3Aw%2Frd@127.0.0.1:' || :'port' || '/0' AS acl_url \gset
SET cache_ext.redis_url = :'acl_url';
SELECT regexp_replace(current_setting('cache_ext.redis_url'), ':\d+/', ':PORT/') AS shown;
SELECT cache_ext.set('connection:acl', 'authenticated');
SELECT cache_ext.get('connection:acl');
-- a wrong password: refused, and neither password appears
SELECT 'redis://cache_app:wrong-secret@127.0.0.1:' || :'port' || '/0' AS bad_url \gset
SET cache_ext.redis_url = :'bad_url';
DO $$
BEGIN
  PERFORM cache_ext.get('connection:acl');
EXCEPTION WHEN OTHERS THEN
  RAISE NOTICE '% (SQLSTATE %)', regexp_replace(SQLERRM, ':\d+', ':PORT', 'g'), SQLSTATE;
END
$$;
RESET cache_ext.redis_url;
SELECT cache_ext.command('ACL', 'DELUSER', 'cache_app');
SELECT cache_ext.delete('connection:acl');
-- the server log never saw the secrets either (the sandbox logs warnings and up)
SELECT count(*) AS log_lines_with_secrets
FROM regexp_split_to_table(pg_read_file(current_setting('data_directory') || '/../postgres.log'), E'\n') AS line
WHERE line ~ 'wrong-secret|p@ss';
