/*
 * Two roles, cluster-wide (roles belong to no database, so they are created
 * when missing and kept by DROP EXTENSION):
 *   cache_ext_admin  operators: profile registration, statistics reset,
 *                    fallback invalidation and its hooks;
 *   cache_ext_app    applications: the cache API and invalidation within
 *                    their own key prefix.
 * What each may execute is granted by the fragments that create the
 * functions; admin-only functions also check the caller themselves
 * (src/roles.c), so that an old install's broad grants give no more.
 */
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

-- Both roles use functions of the schema (what they may execute is granted
-- by the fragment that creates each function).
GRANT USAGE ON SCHEMA cache_ext TO cache_ext_admin, cache_ext_app;
