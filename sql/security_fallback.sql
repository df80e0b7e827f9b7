--
-- security_fallback: what the fallback invalidation does is decided by
-- trusted roles (issue 9, findings 4 and 5).
--
SELECT cache_ext.command('FLUSHDB');
-- tenant b's keys: a counter, caching turned off for user 7, a session,
-- and a version
SELECT cache_ext.command('SET', 'b:invoice_seq:2024', '41');
SELECT cache_ext.command('SET', 'b:cache_user_enabled:7', '0');
SELECT cache_ext.command('SET', 'b:django.contrib.sessions.cache:abc', 'session');
SELECT cache_ext.command('SET', 'b:cache_user_version:7', '1700000000000000');
-- tenant a's triggers name every key (made while the template check was
-- off, as an install of 0.1 could have them)
CREATE ROLE sec_a;
GRANT USAGE ON SCHEMA cache_ext TO sec_a;
GRANT EXECUTE ON FUNCTION cache_ext.bump_version(), cache_ext.invalidate_keys(),
	cache_ext.invalidate_on_truncate() TO sec_a;
GRANT CREATE ON SCHEMA public TO sec_a;
ALTER EVENT TRIGGER cache_ext_check_templates DISABLE;
SET ROLE sec_a;
CREATE TABLE public.sec_a_t (id text);
CREATE TRIGGER sec_a_bump AFTER INSERT ON sec_a_t
	FOR EACH ROW EXECUTE FUNCTION cache_ext.bump_version('{id}');
CREATE TRIGGER sec_a_del AFTER INSERT ON sec_a_t
	FOR EACH ROW EXECUTE FUNCTION cache_ext.invalidate_keys('{id}');
CREATE TRIGGER sec_a_seq AFTER TRUNCATE ON sec_a_t
	FOR EACH STATEMENT EXECUTE FUNCTION cache_ext.invalidate_on_truncate('invoice_seq:{id}');
RESET ROLE;
ALTER EVENT TRIGGER cache_ext_check_templates ENABLE;
-- tenant b's own trigger, created by an admin with b's prefix
SET cache_ext.key_prefix = 'b:';
CREATE TABLE sec_b_t (user_id int);
CREATE TRIGGER sec_b_bump AFTER INSERT OR UPDATE OR DELETE ON sec_b_t
	FOR EACH ROW EXECUTE FUNCTION cache_ext.bump_version();
RESET cache_ext.key_prefix;
-- what the fallback reaches: b's namespace with b's prefix, none of a's
SELECT kind, pattern, key_prefix, reached FROM cache_ext.namespace_patterns()
 WHERE source LIKE '%sec_a_t%' OR source LIKE '%sec_b_t%' ORDER BY 1, 2, 3;
SET client_min_messages = warning;
SELECT cache_ext.run_fallback();
RESET client_min_messages;
SELECT k, cache_ext.command('GET', k) AS v
  FROM unnest(ARRAY['b:invoice_seq:2024', 'b:cache_user_enabled:7',
					'b:django.contrib.sessions.cache:abc']) k ORDER BY k;
SELECT cache_ext.command('GET', 'b:cache_user_version:7')::bigint > 1700000000000000 AS b_version_bumped;

--
-- Fallback hooks run as their owner (restricted, search_path pinned, the
-- owner's key prefix), and only when the role that registered them has the
-- privileges of that owner.
--
CREATE ROLE sec_hooker;
ALTER ROLE sec_hooker SET cache_ext.key_prefix = 'hk:';
CREATE TABLE public.sec_hook_calls (who name, super boolean, path text, prefix text);
GRANT INSERT ON public.sec_hook_calls TO sec_hooker;
CREATE FUNCTION public.sec_hook() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO public.sec_hook_calls
	SELECT current_user, r.rolsuper, current_setting('search_path'),
		   current_setting('cache_ext.key_prefix')
	  FROM pg_catalog.pg_roles r WHERE r.rolname = current_user;
END $$;
ALTER FUNCTION public.sec_hook() OWNER TO sec_hooker;
-- and a superuser's function
CREATE ROLE sec_super SUPERUSER;
CREATE FUNCTION public.sec_super_hook() RETURNS void LANGUAGE sql
	AS $$ INSERT INTO public.sec_hook_calls VALUES (current_user, true, '', '') $$;
ALTER FUNCTION public.sec_super_hook() OWNER TO sec_super;
-- registered by a superuser: runs as sec_hooker, not as the superuser
INSERT INTO cache_ext.fallback_hooks VALUES ('public.sec_hook()');
SET client_min_messages = warning;
SELECT cache_ext.run_fallback();
RESET client_min_messages;
SELECT who, super, path, prefix FROM public.sec_hook_calls;
DELETE FROM public.sec_hook_calls;
DELETE FROM cache_ext.fallback_hooks WHERE hook = 'public.sec_hook()';
-- registered by an admin: only when the admin has the privileges of the
-- hook's owner (no admin makes a superuser's function run)
CREATE ROLE sec_admin;
GRANT cache_ext_admin TO sec_admin;
SET ROLE sec_admin;
INSERT INTO cache_ext.fallback_hooks (hook) VALUES ('public.sec_hook()');
INSERT INTO cache_ext.fallback_hooks (hook) VALUES ('public.sec_super_hook()');
-- who registered a hook is recorded, and cannot be forged or changed
INSERT INTO cache_ext.fallback_hooks VALUES ('public.sec_hook2()', 'postgres');
UPDATE cache_ext.fallback_hooks SET hook = 'public.sec_hook()' WHERE hook = 'public.sec_hook()';
RESET ROLE;
SELECT hook, registered_by FROM cache_ext.fallback_hooks
 WHERE registered_by = 'sec_admin' ORDER BY hook;
SET client_min_messages = warning;
SELECT cache_ext.run_fallback();
SELECT count(*) AS calls FROM public.sec_hook_calls;
GRANT sec_hooker TO sec_admin;
SELECT cache_ext.run_fallback();
RESET client_min_messages;
SELECT who, super, path, prefix FROM public.sec_hook_calls;
DELETE FROM cache_ext.fallback_hooks WHERE registered_by = 'sec_admin';

-- clean up
DELETE FROM cache_ext.trigger_namespaces
 WHERE trigger_name LIKE '%sec_a_t%' OR trigger_name LIKE '%sec_b_t%';
DROP TABLE sec_a_t, sec_b_t, sec_hook_calls;
DROP FUNCTION public.sec_hook(), public.sec_super_hook();
REVOKE CREATE ON SCHEMA public FROM sec_a;
REVOKE ALL ON SCHEMA cache_ext FROM sec_a;
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA cache_ext FROM sec_a;
DROP ROLE sec_a, sec_admin, sec_hooker, sec_super;
SELECT cache_ext.command('FLUSHDB');
