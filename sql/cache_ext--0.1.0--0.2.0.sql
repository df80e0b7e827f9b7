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
