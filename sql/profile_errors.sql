-- cache_enabled per user profile: bad arguments get clear errors.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS cache_ext;
RESET client_min_messages;
-- Runs a statement and shows SQLSTATE, message, detail and hint of its error.
CREATE FUNCTION pg_temp.try(stmt text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	st text; msg text; det text; hnt text;
BEGIN
	EXECUTE stmt;
	RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
	GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT,
		det = PG_EXCEPTION_DETAIL, hnt = PG_EXCEPTION_HINT;
	RETURN st || ' ' || msg
		|| coalesce(E'\nDETAIL: ' || nullif(det, ''), '')
		|| coalesce(E'\nHINT: ' || nullif(hnt, ''), '');
END
$$;

-- Nothing registered yet.
SELECT pg_temp.try($$SELECT cache_ext.cache_enabled(1)$$);
SELECT pg_temp.try($$SELECT cache_ext.set_cache_enabled(1, false)$$);
SELECT pg_temp.try($$CALL cache_ext.mirror_profiles()$$);
SELECT pg_temp.try($$SELECT cache_ext.resync_profiles()$$);
SELECT pg_temp.try($$SELECT cache_ext.unregister_profile_table('pg_class')$$);

CREATE TABLE prof (user_id bigint PRIMARY KEY, label text, flag_int integer);
CREATE VIEW prof_view AS SELECT * FROM prof;
CREATE SEQUENCE prof_seq;
CREATE MATERIALIZED VIEW prof_matview AS SELECT * FROM prof;
CREATE TABLE prof_parted (user_id bigint PRIMARY KEY) PARTITION BY RANGE (user_id);
CREATE TEMP TABLE prof_temp (user_id bigint PRIMARY KEY);
CREATE TABLE prof_nounique (user_id bigint);
CREATE TABLE prof_partialunique (user_id bigint, active boolean);
CREATE UNIQUE INDEX ON prof_partialunique (user_id) WHERE active;
CREATE TABLE prof_text (user_id text PRIMARY KEY);
CREATE TABLE prof_numeric (user_id numeric PRIMARY KEY);

-- Not a table.
SELECT pg_temp.try($$SELECT cache_ext.register_profile_table('prof_view')$$);
SELECT pg_temp.try($$SELECT cache_ext.register_profile_table('prof_seq')$$);
SELECT pg_temp.try($$SELECT cache_ext.register_profile_table('prof_matview')$$);
SELECT pg_temp.try($$SELECT cache_ext.register_profile_table('prof_parted')$$);
SELECT pg_temp.try($$SELECT cache_ext.register_profile_table('prof_temp')$$);
SELECT pg_temp.try($$SELECT cache_ext.unregister_profile_table('prof_view')$$);
SELECT pg_temp.try($$SELECT cache_ext.register_profile_table('no_such_table')$$);
SELECT pg_temp.try($$SELECT cache_ext.register_profile_table(12345::oid::regclass)$$);

-- NULL arguments.
SELECT pg_temp.try($$SELECT cache_ext.register_profile_table(NULL)$$);
SELECT pg_temp.try($$SELECT cache_ext.register_profile_table('prof', NULL)$$);
SELECT pg_temp.try($$SELECT cache_ext.register_profile_table('prof', 'user_id', NULL)$$);
SELECT pg_temp.try($$SELECT cache_ext.unregister_profile_table(NULL)$$);
SELECT pg_temp.try($$SELECT cache_ext.cache_enabled(NULL)$$);
SELECT pg_temp.try($$SELECT cache_ext.set_cache_enabled(NULL, true)$$);
SELECT pg_temp.try($$SELECT cache_ext.set_cache_enabled(1, NULL)$$);
SELECT pg_temp.try($$CALL cache_ext.mirror_profiles(NULL)$$);

-- Columns: missing, system, empty, wrong types, the same column twice.
SELECT pg_temp.try($$SELECT cache_ext.register_profile_table('prof', 'uid')$$);
SELECT pg_temp.try($$SELECT cache_ext.register_profile_table('prof', 'ctid')$$);
SELECT pg_temp.try($$SELECT cache_ext.register_profile_table('prof', '')$$);
SELECT pg_temp.try($$SELECT cache_ext.register_profile_table('prof', 'user_id', 'xmin')$$);
SELECT pg_temp.try($$SELECT cache_ext.register_profile_table('prof', 'label')$$);
SELECT pg_temp.try($$SELECT cache_ext.register_profile_table('prof_text')$$);
SELECT pg_temp.try($$SELECT cache_ext.register_profile_table('prof_numeric')$$);
SELECT pg_temp.try($$SELECT cache_ext.register_profile_table('prof', 'user_id', 'label')$$);
SELECT pg_temp.try($$SELECT cache_ext.register_profile_table('prof', 'user_id', 'flag_int')$$);
SELECT pg_temp.try($$SELECT cache_ext.register_profile_table('prof', 'user_id', 'user_id')$$);
-- One profile row per user: a unique index on exactly the user column.
SELECT pg_temp.try($$SELECT cache_ext.register_profile_table('prof_nounique')$$);
SELECT pg_temp.try($$SELECT cache_ext.register_profile_table('prof_partialunique')$$);

-- None of the failures changed anything.
SELECT count(*) FROM cache_ext.profile_tables;
SELECT attname FROM pg_attribute
 WHERE attrelid IN ('prof'::regclass, 'prof_nounique'::regclass)
   AND attname = 'cache_enabled';
SELECT count(*) FROM pg_trigger WHERE tgname LIKE 'cache_ext_profile%';

-- One profile table at a time.
SELECT pg_temp.try($$SELECT cache_ext.register_profile_table('prof')$$);
CREATE TABLE prof2 (user_id integer PRIMARY KEY);
SELECT pg_temp.try($$SELECT cache_ext.register_profile_table('prof2')$$);
SELECT profile FROM cache_ext.profile_tables;

-- Bad batch sizes.
SELECT pg_temp.try($$CALL cache_ext.mirror_profiles(0)$$);
SELECT pg_temp.try($$CALL cache_ext.mirror_profiles(-5)$$);
SELECT pg_temp.try($$CALL cache_ext.mirror_profiles(100001)$$);

-- Only superusers and members of cache_ext_admin may register or
-- unregister, whatever EXECUTE grants an install has (the functions are
-- also revoked from PUBLIC).
CREATE ROLE profile_stranger;
GRANT USAGE ON SCHEMA cache_ext TO profile_stranger;
GRANT EXECUTE ON FUNCTION cache_ext.register_profile_table(regclass, name, name),
	cache_ext.unregister_profile_table(regclass) TO profile_stranger;
SET ROLE profile_stranger;
SELECT pg_temp.try($$SELECT cache_ext.register_profile_table('prof2')$$);
SELECT pg_temp.try($$SELECT cache_ext.unregister_profile_table('prof')$$);
SELECT pg_temp.try($$SELECT cache_ext.cache_enabled(1)$$);
RESET ROLE;
-- and an admin only the tables it owns.
GRANT cache_ext_admin TO profile_stranger;
SET ROLE profile_stranger;
SELECT pg_temp.try($$SELECT cache_ext.register_profile_table('prof2')$$);
SELECT pg_temp.try($$SELECT cache_ext.unregister_profile_table('prof')$$);
RESET ROLE;
REVOKE cache_ext_admin FROM profile_stranger;
-- An application role needs EXECUTE and its usual rights on the profile
-- table, nothing on cache_ext.profile_tables.
GRANT EXECUTE ON FUNCTION cache_ext.cache_enabled(bigint),
	cache_ext.set_cache_enabled(bigint, boolean) TO profile_stranger;
SET ROLE profile_stranger;
SELECT pg_temp.try($$SELECT cache_ext.cache_enabled(1)$$);
SELECT pg_temp.try($$SELECT * FROM cache_ext.profile_tables$$);
RESET ROLE;
GRANT SELECT, UPDATE ON prof TO profile_stranger;
SET ROLE profile_stranger;
SELECT pg_temp.try($$SELECT cache_ext.cache_enabled(1)$$);
SELECT pg_temp.try($$SELECT cache_ext.set_cache_enabled(1, false)$$);
RESET ROLE;
-- The owner of a table (not superuser) who is a member of cache_ext_admin
-- can register it: the role has EXECUTE on what registration needs.
CREATE TABLE prof_owned (user_id integer PRIMARY KEY);
ALTER TABLE prof_owned OWNER TO profile_stranger;
SELECT pg_temp.try($$SELECT cache_ext.unregister_profile_table('prof')$$);
SET ROLE profile_stranger;
SELECT pg_temp.try($$SELECT cache_ext.register_profile_table('prof_owned')$$);
RESET ROLE;
GRANT cache_ext_admin TO profile_stranger;
REVOKE EXECUTE ON FUNCTION cache_ext.register_profile_table(regclass, name, name),
	cache_ext.unregister_profile_table(regclass) FROM profile_stranger;
SET ROLE profile_stranger;
SELECT pg_temp.try($$SELECT cache_ext.register_profile_table('prof_owned')$$);
SELECT pg_temp.try($$SELECT cache_ext.unregister_profile_table('prof_owned')$$);
RESET ROLE;
DROP TABLE prof_owned;
SELECT pg_temp.try($$SELECT cache_ext.register_profile_table('prof')$$);

-- A profile column renamed under the trigger: a clear error on write.
ALTER TABLE prof RENAME COLUMN cache_enabled TO caching;
SELECT pg_temp.try($$INSERT INTO prof (user_id) VALUES (1)$$);
SELECT pg_temp.try($$SELECT cache_ext.cache_enabled(1)$$);
-- Re-registering with the new name repairs it.
SELECT pg_temp.try($$SELECT cache_ext.register_profile_table('prof', 'user_id', 'caching')$$);
INSERT INTO prof (user_id) VALUES (1);
SELECT pg_temp.try($$SELECT cache_ext.cache_enabled(1)$$);

SELECT pg_temp.try($$SELECT cache_ext.unregister_profile_table('prof')$$);
DROP TABLE prof, prof2, prof_nounique, prof_partialunique, prof_text,
	prof_numeric, prof_parted CASCADE;
DROP SEQUENCE prof_seq;
DROP OWNED BY profile_stranger;
DROP ROLE profile_stranger;
SELECT cache_ext.command('FLUSHDB');
