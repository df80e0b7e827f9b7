--
-- oldextversions: an install of the oldest released version, put to use,
-- then ALTER EXTENSION UPDATE to the current version (as pg_stat_statements'
-- test of the same name).  In a database of its own, so that the shared
-- test database keeps its install.  test/fault_upgrade.sh goes further
-- (every released version, the catalog compared with a fresh install,
-- dump/restore); this file shows the path in plain SQL.
--
SELECT current_database() AS regress_db \gset
CREATE DATABASE cache_ext_oldext;
\c cache_ext_oldext
CREATE EXTENSION cache_ext VERSION '0.1.0';
SELECT extversion FROM pg_extension WHERE extname = 'cache_ext';
-- the 0.1.0 SQL runs on the current library
SELECT cache_ext.ping();
CREATE TABLE oldext_items (id int PRIMARY KEY, user_id bigint);
CREATE TRIGGER oldext_items_bump AFTER INSERT OR UPDATE OR DELETE ON oldext_items
	FOR EACH ROW EXECUTE FUNCTION cache_ext.bump_version('oldext_version:{user_id}');
SELECT cache_ext.command('DEL', 'oldext_version:7');
INSERT INTO oldext_items VALUES (1, 7);
SELECT cache_ext.version('oldext_version:7') IS NOT NULL AS bumped;
SELECT cache_ext.version('oldext_version:7') AS before \gset
-- the update reaches the current version and keeps the trigger working
ALTER EXTENSION cache_ext UPDATE;
SELECT e.extversion = a.default_version AS current_version
  FROM pg_extension e, pg_available_extensions a
 WHERE e.extname = 'cache_ext' AND a.name = 'cache_ext';
SELECT tgfoid::regprocedure AS trigger_function FROM pg_trigger WHERE tgname = 'oldext_items_bump';
UPDATE oldext_items SET user_id = 7 WHERE id = 1;
SELECT cache_ext.version('oldext_version:7') > :before AS bumped_again;
SELECT cache_ext.command('DEL', 'oldext_version:7');
\c :regress_db
DROP DATABASE cache_ext_oldext;
