-- cache_enabled per user profile (src/profile.c).
--
-- The application's profile table (one row per user) carries a boolean
-- flag; cache_ext mirrors every change of it to Redis after commit as
-- cache_user_enabled:{user_id} = 1/0 and bumps cache_user_version:{user_id}.

-- The registry: at most one profile table.  pg_dump keeps its rows.
CREATE TABLE cache_ext.profile_tables (
	profile regclass PRIMARY KEY,
	user_column name NOT NULL,
	flag_column name NOT NULL
);
-- One profile table at a time: the Redis mirror holds one flag per user.
CREATE UNIQUE INDEX profile_tables_single ON cache_ext.profile_tables ((true));
SELECT pg_catalog.pg_extension_config_dump('cache_ext.profile_tables', '');

COMMENT ON TABLE cache_ext.profile_tables IS
'The table registered with cache_ext.register_profile_table (at most one row): its user id column and its cache_enabled flag column.';
COMMENT ON COLUMN cache_ext.profile_tables.profile IS 'The profile table, one row per user.';
COMMENT ON COLUMN cache_ext.profile_tables.user_column IS 'Its user id column (smallint, integer or bigint, unique).';
COMMENT ON COLUMN cache_ext.profile_tables.flag_column IS 'Its boolean flag column; false turns caching off for the user.';
COMMENT ON INDEX cache_ext.profile_tables_single IS 'Allows at most one registered profile table.';

-- Application roles need no privilege on the registry: the C functions read
-- it without SQL and write it with the owner's rights.  Administrators may
-- read it (granted below).
REVOKE ALL ON cache_ext.profile_tables FROM PUBLIC;

CREATE FUNCTION cache_ext.profile_flag_changed()
RETURNS trigger
LANGUAGE C
AS 'MODULE_PATHNAME', 'cache_ext_profile_flag_changed';
COMMENT ON FUNCTION cache_ext.profile_flag_changed() IS
'Trigger installed by register_profile_table (args: user column, flag column): queues the Redis mirror cache_user_enabled:{user_id} and a bump of cache_user_version:{user_id}, delivered after commit, whenever a user''s effective flag may change.';

CREATE FUNCTION cache_ext.register_profile_table(
	profile regclass,
	user_column name DEFAULT 'user_id',
	flag_column name DEFAULT 'cache_enabled')
RETURNS void
LANGUAGE C
AS 'MODULE_PATHNAME', 'cache_ext_register_profile_table';
COMMENT ON FUNCTION cache_ext.register_profile_table(regclass, name, name) IS
'Adopts the application''s profile table: adds the flag column as boolean NOT NULL DEFAULT true when missing (no table rewrite), installs the mirroring triggers and records the registration.  Idempotent.  Only superusers and members of cache_ext_admin who own the table may call it.';

CREATE FUNCTION cache_ext.unregister_profile_table(profile regclass)
RETURNS void
LANGUAGE C
AS 'MODULE_PATHNAME', 'cache_ext_unregister_profile_table';
COMMENT ON FUNCTION cache_ext.unregister_profile_table(regclass) IS
'Removes the profile triggers and the registration; the flag column and its data stay.  Only superusers and members of cache_ext_admin who own the table may call it.';

CREATE FUNCTION cache_ext.cache_enabled(user_id bigint)
RETURNS boolean
LANGUAGE C STABLE
AS 'MODULE_PATHNAME', 'cache_ext_cache_enabled';
COMMENT ON FUNCTION cache_ext.cache_enabled(bigint) IS
'The user''s cache_enabled flag from the registered profile table; true when the user has no profile row (or a NULL flag).';

CREATE FUNCTION cache_ext.set_cache_enabled(user_id bigint, enabled boolean)
RETURNS void
LANGUAGE C
AS 'MODULE_PATHNAME', 'cache_ext_set_cache_enabled';
COMMENT ON FUNCTION cache_ext.set_cache_enabled(bigint, boolean) IS
'Updates the user''s flag in the registered profile table (the trigger mirrors it to Redis after commit); an error when the user has no profile row.';

CREATE PROCEDURE cache_ext.mirror_profiles(
	batch_size integer DEFAULT 1000,
	INOUT mirrored bigint DEFAULT NULL)
LANGUAGE C
AS 'MODULE_PATHNAME', 'cache_ext_mirror_profiles';
COMMENT ON PROCEDURE cache_ext.mirror_profiles(integer, bigint) IS
'Back-fill: writes every profile''s flag to its Redis mirror, batch_size rows per pipeline, committing after each batch when called outside a transaction block; reports progress; returns the number of profiles mirrored.';

CREATE FUNCTION cache_ext.resync_profiles()
RETURNS bigint
LANGUAGE C
AS 'MODULE_PATHNAME', 'cache_ext_resync_profiles';
COMMENT ON FUNCTION cache_ext.resync_profiles() IS
'Fallback resync hook: the back-fill of mirror_profiles in the caller''s transaction; 0 when no profile table is registered.';

-- Forget the registration when the table (or our trigger on it) is dropped.
-- SECURITY DEFINER: whoever drops the table need not be able to write the
-- registry.
CREATE FUNCTION cache_ext.profile_tables_dropped()
RETURNS event_trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	DELETE FROM cache_ext.profile_tables p
	 WHERE NOT EXISTS (SELECT FROM pg_catalog.pg_trigger t
						WHERE t.tgrelid = p.profile
						  AND t.tgname = 'cache_ext_profile_flag');
END
$$;
COMMENT ON FUNCTION cache_ext.profile_tables_dropped() IS
'Event trigger function: removes registrations whose profile table or profile trigger has been dropped.';

CREATE EVENT TRIGGER cache_ext_profile_tables_dropped ON sql_drop
	EXECUTE FUNCTION cache_ext.profile_tables_dropped();
COMMENT ON EVENT TRIGGER cache_ext_profile_tables_dropped IS
'Keeps cache_ext.profile_tables free of dropped tables.';

REVOKE ALL ON FUNCTION cache_ext.profile_flag_changed() FROM PUBLIC;
REVOKE ALL ON FUNCTION cache_ext.register_profile_table(regclass, name, name) FROM PUBLIC;
REVOKE ALL ON FUNCTION cache_ext.unregister_profile_table(regclass) FROM PUBLIC;
REVOKE ALL ON FUNCTION cache_ext.cache_enabled(bigint) FROM PUBLIC;
REVOKE ALL ON FUNCTION cache_ext.set_cache_enabled(bigint, boolean) FROM PUBLIC;
REVOKE ALL ON PROCEDURE cache_ext.mirror_profiles(integer, bigint) FROM PUBLIC;
REVOKE ALL ON FUNCTION cache_ext.resync_profiles() FROM PUBLIC;
REVOKE ALL ON FUNCTION cache_ext.profile_tables_dropped() FROM PUBLIC;

-- Registration is for admins (the functions check it themselves too, so an
-- install that granted EXECUTE on every function to the application is
-- protected); the application reads and sets its users' flags.
GRANT EXECUTE ON FUNCTION cache_ext.register_profile_table(regclass, name, name) TO cache_ext_admin;
GRANT EXECUTE ON FUNCTION cache_ext.unregister_profile_table(regclass) TO cache_ext_admin;
GRANT EXECUTE ON FUNCTION cache_ext.profile_flag_changed() TO cache_ext_admin;
GRANT EXECUTE ON PROCEDURE cache_ext.mirror_profiles(integer, bigint) TO cache_ext_admin;
GRANT EXECUTE ON FUNCTION cache_ext.resync_profiles() TO cache_ext_admin;
GRANT EXECUTE ON FUNCTION cache_ext.cache_enabled(bigint) TO cache_ext_admin, cache_ext_app;
GRANT EXECUTE ON FUNCTION cache_ext.set_cache_enabled(bigint, boolean) TO cache_ext_admin, cache_ext_app;
GRANT SELECT ON TABLE cache_ext.profile_tables TO cache_ext_admin;

-- The fallback invalidation (src/fallback.c) calls every hook listed here
-- when queued invalidations were lost (20_delivery.sql creates the table).
INSERT INTO cache_ext.fallback_hooks VALUES ('cache_ext.resync_profiles()');

-- pg_dump must not dump the hooks this script inserts: CREATE EXTENSION
-- inserts them again on restore, and the dumped copy would then collide
-- with the primary key and stop the restore.  Dump only the hooks that are
-- not functions of the extension itself (the application's own hooks).
SELECT pg_catalog.pg_extension_config_dump('cache_ext.fallback_hooks',
	$$WHERE pg_catalog.to_regprocedure(hook)::pg_catalog.oid NOT IN
		(SELECT d.objid FROM pg_catalog.pg_depend d
		  WHERE d.classid = 'pg_catalog.pg_proc'::pg_catalog.regclass
			AND d.refclassid = 'pg_catalog.pg_extension'::pg_catalog.regclass
			AND d.deptype = 'e'
			AND d.refobjid = (SELECT e.oid FROM pg_catalog.pg_extension e
							   WHERE e.extname = 'cache_ext'))$$);
