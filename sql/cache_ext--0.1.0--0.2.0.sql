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

-- 00_schema.sql: a schema cache_ext owned by someone else (issue 9, finding
-- 11).  An install of 0.1.0 may have adopted a schema an ordinary role
-- created beforehand: refuse to update it until a superuser owns the
-- schema and nobody else may create objects in it.  (Its content is the
-- extension's by now; the DBA who takes the schema over checks for objects
-- that are not members.)
DO $schema_check$
DECLARE
	owner_name pg_catalog.name;
	owner_super boolean;
	creator pg_catalog.name;
BEGIN
	SELECT r.rolname, r.rolsuper INTO owner_name, owner_super
	  FROM pg_catalog.pg_namespace n
	  JOIN pg_catalog.pg_roles r ON r.oid OPERATOR(pg_catalog.=) n.nspowner
	 WHERE n.nspname OPERATOR(pg_catalog.=) 'cache_ext';
	IF NOT owner_super THEN
		RAISE EXCEPTION USING
			ERRCODE = 'insufficient_privilege',
			MESSAGE = pg_catalog.format('schema cache_ext is owned by %I, who is not a superuser', owner_name),
			DETAIL = 'cache_ext puts all its objects into schema cache_ext; the owner of the schema could change or drop them.',
			HINT = 'As a superuser, ALTER SCHEMA cache_ext OWNER TO a superuser, drop whatever in it is not part of the extension, and update again.';
	END IF;
	SELECT r.rolname INTO creator
	  FROM pg_catalog.pg_namespace n,
		   pg_catalog.aclexplode(n.nspacl) a
	  LEFT JOIN pg_catalog.pg_roles r ON r.oid OPERATOR(pg_catalog.=) a.grantee
	 WHERE n.nspname OPERATOR(pg_catalog.=) 'cache_ext'
	   AND a.privilege_type OPERATOR(pg_catalog.=) 'CREATE'
	   AND a.grantee OPERATOR(pg_catalog.<>) n.nspowner
	 LIMIT 1;
	IF FOUND THEN
		RAISE EXCEPTION USING
			ERRCODE = 'insufficient_privilege',
			MESSAGE = pg_catalog.format('role %s may create objects in schema cache_ext',
										COALESCE(pg_catalog.quote_ident(creator), 'PUBLIC')),
			DETAIL = 'cache_ext puts all its objects into schema cache_ext; a role that may create objects there could plant one that cache_ext uses.',
			HINT = 'REVOKE CREATE ON SCHEMA cache_ext FROM that role, drop whatever in the schema is not part of the extension, and update again.';
	END IF;
END
$schema_check$;

-- 01_roles.sql: both roles use functions of the schema.
GRANT USAGE ON SCHEMA cache_ext TO cache_ext_admin, cache_ext_app;

-- 30_counters.sql: gapless counters keyed by (table, key prefix, key)
-- (issue 9, finding 6).  A 0.1.0 counter row is keyed by the rendered key
-- alone; which table it numbered is not recorded.  It is copied to every
-- table that has a gapless assign_number trigger (the partitioned table
-- for one defined on a partitioned table), under the cache_ext.key_prefix
-- of the session running the update: a table never renders the keys of
-- the others, so extra copies are never read, and a table that finds no
-- row starts from its own largest number.  Run the update with the
-- application's key prefix set.
ALTER TABLE cache_ext.gapless_counters RENAME TO gapless_counters_0_1_0;
ALTER INDEX cache_ext.gapless_counters_pkey RENAME TO gapless_counters_0_1_0_pkey;

CREATE TABLE cache_ext.gapless_counters (
	tbl		regclass NOT NULL,
	prefix	text NOT NULL,
	key		text NOT NULL,
	value	bigint NOT NULL,
	PRIMARY KEY (tbl, prefix, key)
);

COMMENT ON TABLE cache_ext.gapless_counters IS
'Counters of assign_number''s gapless mode, one row per numbered table, key prefix and rendered key template.  Numbers are taken under this row''s lock, so they commit or roll back with the row that uses them.  Changed only by the trigger, which runs its statements as this table''s owner, and by the event trigger that forgets the counters of dropped tables.';

COMMENT ON COLUMN cache_ext.gapless_counters.tbl IS
'The numbered table (the partitioned table for the partitions of one).';

COMMENT ON COLUMN cache_ext.gapless_counters.prefix IS
'The cache_ext.key_prefix in force when the row was numbered.';

COMMENT ON COLUMN cache_ext.gapless_counters.key IS
'The rendered key template, e.g. invoice_seq:2024 (the Redis key without cache_ext.key_prefix).';

COMMENT ON COLUMN cache_ext.gapless_counters.value IS
'The last number handed out (or synced from an explicit number) for this key.';

SELECT pg_catalog.pg_extension_config_dump('cache_ext.gapless_counters', '');

REVOKE ALL ON cache_ext.gapless_counters FROM PUBLIC;

INSERT INTO cache_ext.gapless_counters (tbl, prefix, key, value)
SELECT DISTINCT t.tbl,
	   COALESCE(pg_catalog.current_setting('cache_ext.key_prefix', true), ''),
	   o.key, o.value
  FROM cache_ext.gapless_counters_0_1_0 o,
	   (SELECT CASE WHEN c.relkind OPERATOR(pg_catalog.=) 'p'
					THEN pg_catalog.pg_partition_root(c.oid)
					ELSE c.oid::pg_catalog.regclass END AS tbl
		  FROM pg_catalog.pg_trigger tg
		  JOIN pg_catalog.pg_class c ON c.oid OPERATOR(pg_catalog.=) tg.tgrelid
		 WHERE tg.tgfoid OPERATOR(pg_catalog.=) 'cache_ext.assign_number()'::pg_catalog.regprocedure
		   AND tg.tgparentid OPERATOR(pg_catalog.=) '0'::pg_catalog.oid
		   AND tg.tgnargs OPERATOR(pg_catalog.=) 3
		   AND pg_catalog.lower(pg_catalog.split_part(pg_catalog.encode(tg.tgargs, 'escape'), '\000', 3))
			   OPERATOR(pg_catalog.=) 'gapless') t;

ALTER EXTENSION cache_ext DROP TABLE cache_ext.gapless_counters_0_1_0;
DROP TABLE cache_ext.gapless_counters_0_1_0;

CREATE FUNCTION cache_ext.gapless_counters_dropped()
RETURNS event_trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	DELETE FROM cache_ext.gapless_counters g
	 USING pg_catalog.pg_event_trigger_dropped_objects() d
	 WHERE d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass
	   AND d.objsubid OPERATOR(pg_catalog.=) 0
	   AND g.tbl::pg_catalog.oid OPERATOR(pg_catalog.=) d.objid;
END
$$;
COMMENT ON FUNCTION cache_ext.gapless_counters_dropped() IS
'Event trigger function: removes the gapless counters of dropped tables.';

CREATE EVENT TRIGGER cache_ext_gapless_counters_dropped ON sql_drop
	EXECUTE FUNCTION cache_ext.gapless_counters_dropped();
COMMENT ON EVENT TRIGGER cache_ext_gapless_counters_dropped IS
'Keeps cache_ext.gapless_counters free of dropped tables.';

REVOKE ALL ON FUNCTION cache_ext.gapless_counters_dropped() FROM PUBLIC;

GRANT EXECUTE ON FUNCTION cache_ext.counter_next(text, bigint) TO cache_ext_app;
GRANT EXECUTE ON FUNCTION cache_ext.counter_sync(text, bigint) TO cache_ext_app;
GRANT EXECUTE ON FUNCTION cache_ext.counter_get(text) TO cache_ext_app;
GRANT EXECUTE ON FUNCTION cache_ext.assign_number() TO cache_ext_app;

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
