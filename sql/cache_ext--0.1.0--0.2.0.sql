-- cache_ext 0.1.0 -> 0.2.0.  Every change to the SQL surface since 0.1.0, in
-- the order the fragments of sql/install/ make them; an updated install must
-- equal a fresh install of 0.2.0 (test/fault_upgrade.sh checks it).

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION cache_ext UPDATE TO '0.2.0'" to load this file. \quit

-- 01_roles.sql: the operator and application roles.
DO $roles$
BEGIN
	IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'cache_ext_admin') THEN
		CREATE ROLE cache_ext_admin NOLOGIN;
		COMMENT ON ROLE cache_ext_admin IS
			'cache_ext operators: profile registration, statistics reset, fallback invalidation';
	END IF;
	IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'cache_ext_app') THEN
		CREATE ROLE cache_ext_app NOLOGIN;
		COMMENT ON ROLE cache_ext_app IS
			'cache_ext applications: cache API and invalidation within their key prefix';
	END IF;
END
$roles$;

-- 01_roles.sql: both roles use functions of the schema.
GRANT USAGE ON SCHEMA cache_ext TO cache_ext_admin, cache_ext_app;

-- 40_profile.sql: registration is for admins (issue 9, findings 1 and 10;
-- the C functions check it themselves); the application reads and sets
-- its users' flags.
COMMENT ON FUNCTION cache_ext.register_profile_table(regclass, name, name) IS
'Adopts the application''s profile table: adds the flag column as boolean NOT NULL DEFAULT true when missing (no table rewrite), installs the mirroring triggers and records the registration.  Idempotent.  Only superusers and members of cache_ext_admin who own the table may call it.';
COMMENT ON FUNCTION cache_ext.unregister_profile_table(regclass) IS
'Removes the profile triggers and the registration; the flag column and its data stay.  Only superusers and members of cache_ext_admin who own the table may call it.';
GRANT EXECUTE ON FUNCTION cache_ext.register_profile_table(regclass, name, name) TO cache_ext_admin;
GRANT EXECUTE ON FUNCTION cache_ext.unregister_profile_table(regclass) TO cache_ext_admin;
GRANT EXECUTE ON FUNCTION cache_ext.profile_flag_changed() TO cache_ext_admin;
GRANT EXECUTE ON PROCEDURE cache_ext.mirror_profiles(integer, bigint) TO cache_ext_admin;
GRANT EXECUTE ON FUNCTION cache_ext.resync_profiles() TO cache_ext_admin;
GRANT EXECUTE ON FUNCTION cache_ext.cache_enabled(bigint) TO cache_ext_admin, cache_ext_app;
GRANT EXECUTE ON FUNCTION cache_ext.set_cache_enabled(bigint, boolean) TO cache_ext_admin, cache_ext_app;
