--
-- security_grants: least privilege built in (issue 9, finding 8).  The
-- roles cache_ext_app and cache_ext_admin carry the grant sets; tenants are
-- kept apart by cache_ext.key_prefix, which only superusers set; admin-only
-- functions check their caller themselves; a lock's token cannot be read
-- back from Redis.
--
SELECT cache_ext.command('FLUSHDB');
-- what each role may execute
SELECT p.oid::regprocedure AS function,
	   has_function_privilege('cache_ext_app', p.oid, 'EXECUTE') AS app,
	   has_function_privilege('cache_ext_admin', p.oid, 'EXECUTE') AS admin
  FROM pg_proc p WHERE p.pronamespace = 'cache_ext'::regnamespace
 ORDER BY p.oid::regprocedure::text;
SELECT c.relname,
	   has_table_privilege('cache_ext_app', c.oid, 'SELECT') AS app_select,
	   has_table_privilege('cache_ext_admin', c.oid, 'SELECT') AS admin_select,
	   has_table_privilege('cache_ext_admin', c.oid, 'INSERT') AS admin_insert,
	   has_table_privilege('cache_ext_admin', c.oid, 'UPDATE') AS admin_update,
	   has_table_privilege('cache_ext_admin', c.oid, 'DELETE') AS admin_delete
  FROM pg_class c WHERE c.relnamespace = 'cache_ext'::regnamespace
   AND c.relkind IN ('r', 'v', 'S')
 ORDER BY c.relname;
SELECT has_schema_privilege('cache_ext_app', 'cache_ext', 'USAGE') AS app_usage,
	   has_schema_privilege('cache_ext_admin', 'cache_ext', 'USAGE') AS admin_usage;

CREATE ROLE sec_app1;
CREATE ROLE sec_app2;
GRANT cache_ext_app TO sec_app1, sec_app2;
-- The isolation mechanism: a key prefix per role, set by a superuser
-- (ALTER ROLE sec_app1 SET cache_ext.key_prefix = 'app1:'; a SET in this
-- session stands for it).  The role cannot change it.
SET cache_ext.key_prefix = 'app1:';
SET ROLE sec_app1;
SET cache_ext.key_prefix = '';
SELECT set_config('cache_ext.key_prefix', 'other:', false);
ALTER ROLE sec_app1 SET cache_ext.key_prefix = '';
-- every function touching Redis stays inside the prefix
SELECT cache_ext.set('k', 'v'), cache_ext.set_bytea('kb', '\x00'),
	   cache_ext.add('ka', 'v'), cache_ext.incr('ki'), cache_ext.get('k'),
	   cache_ext.get_bytea('kb'), cache_ext.ttl('k'), cache_ext.delete('kd'),
	   cache_ext.delete_many(ARRAY['kd1', 'kd2']),
	   cache_ext.lock_acquire('kl', 30) IS NOT NULL AS locked,
	   cache_ext.lock_release('kl', 'x') AS released,
	   cache_ext.cursor_bump('ks'), cache_ext.cursor_get('ks'),
	   cache_ext.cursor_last_event('ks'), cache_ext.cursor_reset('ks2'),
	   cache_ext.counter_next('kc'), cache_ext.counter_sync('kc2', 5),
	   cache_ext.counter_get('kc');
BEGIN;
SELECT cache_ext.bump('kv'), cache_ext.bump_user(1), cache_ext.invalidate('kx'),
	   cache_ext.invalidate('kp:*'), cache_ext.invalidate('\*x');
COMMIT;
SELECT cache_ext.version('kv') IS NOT NULL AS v, cache_ext.user_version(1) IS NOT NULL AS uv;
-- a whole prefix is not the application's to flush, nor raw commands
SELECT cache_ext.invalidate('*');
SELECT cache_ext.command('KEYS', '*');
RESET ROLE;
RESET cache_ext.key_prefix;
SELECT bool_and(k LIKE 'app1:%') AS all_inside, count(*) AS n
  FROM jsonb_array_elements_text(cache_ext.command('KEYS', '*')::jsonb) k;

-- Lock tokens: what Redis holds is a digest of the token, so a role that
-- shares the prefix can see that the lock is held, but cannot release it.
SET cache_ext.key_prefix = 'shared:';
SET ROLE sec_app1;
SELECT cache_ext.lock_acquire('job', 30) AS token \gset
SET ROLE sec_app2;
SELECT cache_ext.get('job') IS NOT NULL AS held, cache_ext.get('job') = :'token' AS token_readable;
SELECT cache_ext.lock_release('job', cache_ext.get('job')) AS released_by_other;
SELECT cache_ext.lock_acquire('job', 30) IS NULL AS still_held;
SET ROLE sec_app1;
SELECT cache_ext.lock_release('job', :'token') AS released_by_holder;
RESET ROLE;
RESET cache_ext.key_prefix;

-- An install that followed the 0.1 README granted EXECUTE on every
-- function: the admin-only ones still refuse.
CREATE ROLE sec_old;
GRANT USAGE ON SCHEMA cache_ext TO sec_old;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA cache_ext TO sec_old;
SET ROLE sec_old;
SELECT cache_ext.reset_stats();
SELECT cache_ext.run_fallback();
SELECT cache_ext.deliver_prepared();
SELECT count(*) FROM cache_ext.namespace_patterns();
SELECT cache_ext.command('PING');
SELECT cache_ext.invalidate('*');
RESET ROLE;
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA cache_ext FROM sec_old;
REVOKE USAGE ON SCHEMA cache_ext FROM sec_old;

-- cache_ext_admin members may
CREATE ROLE sec_adm;
GRANT cache_ext_admin TO sec_adm;
SET ROLE sec_adm;
SELECT cache_ext.reset_stats();
SET client_min_messages = warning;
SELECT cache_ext.run_fallback();
RESET client_min_messages;
SELECT cache_ext.deliver_prepared();
INSERT INTO cache_ext.extra_namespaces (kind, pattern, key_prefix) VALUES ('bump', 'sec_ns:*', 'app1:');
SELECT kind, pattern, key_prefix, source, reached FROM cache_ext.namespace_patterns()
 WHERE pattern = 'sec_ns:*';
DELETE FROM cache_ext.extra_namespaces WHERE pattern = 'sec_ns:*';
-- a namespace must start with literal text, even for an admin
INSERT INTO cache_ext.extra_namespaces (kind, pattern) VALUES ('bump', '*');
-- raw commands stay reserved to superusers
SELECT cache_ext.command('PING');
RESET ROLE;

DROP ROLE sec_app1, sec_app2, sec_old, sec_adm;
SELECT cache_ext.command('FLUSHDB');
