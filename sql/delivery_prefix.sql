--
-- delivery_prefix: the fallback invalidation reaches prefixed keys.
-- namespace_patterns() returns patterns without cache_ext.key_prefix; the
-- fallback adds the prefix in force (escaped, so it matches only itself).
--
SELECT cache_ext.command('SET', 'fb[1]:cache_user_version:9', '5');
SELECT cache_ext.command('SET', 'fb1:cache_user_version:9', '5');
SELECT cache_ext.command('SET', 'cache_user_version:9', '5');
SET cache_ext.key_prefix = 'fb[1]:';
SELECT kind, pattern FROM cache_ext.namespace_patterns() WHERE pattern = 'cache_user_version:*';
-- hooks are stored as text (pg_upgrade refuses reg* columns); one that
-- names no function is skipped with a WARNING, the others still run
INSERT INTO cache_ext.fallback_hooks VALUES ('public.no_such_hook()');
-- a hook that fails is rolled back alone, with a WARNING
CREATE FUNCTION public.failing_hook() RETURNS void LANGUAGE plpgsql
  AS $$BEGIN RAISE EXCEPTION 'mirror unavailable'; END$$;
INSERT INTO cache_ext.fallback_hooks VALUES ('public.failing_hook()');
SET client_min_messages = warning;
SELECT cache_ext.run_fallback() IS NOT NULL AS ran;
RESET client_min_messages;
DELETE FROM cache_ext.fallback_hooks WHERE hook IN ('public.no_such_hook()', 'public.failing_hook()');
DROP FUNCTION public.failing_hook();
SELECT hook FROM cache_ext.fallback_hooks ORDER BY hook;
RESET cache_ext.key_prefix;
-- the prefixed version key was bumped (from the clock: far above 5) ...
SELECT cache_ext.command('GET', 'fb[1]:cache_user_version:9')::bigint > 1000000 AS prefixed_bumped;
-- ... and keys outside the prefix were not, not even one the unescaped
-- glob 'fb[1]:' would have matched
SELECT cache_ext.command('GET', 'fb1:cache_user_version:9') AS other_prefix;
SELECT cache_ext.command('GET', 'cache_user_version:9') AS no_prefix;
SELECT cache_ext.command('DEL', 'fb[1]:cache_user_version:9', 'fb1:cache_user_version:9', 'cache_user_version:9');
