-- namespace_patterns(): every pattern the fallback invalidation reaches,
-- each with the key prefix it is applied with: cache_user_version:* with
-- the prefix of the session running it, the namespaces recorded in
-- trigger_namespaces when a superuser or a cache_ext_admin member created
-- an invalidation trigger, and extra_namespaces; and, not reached, the
-- namespaces of the other invalidation triggers of the database.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS cache_ext;
RESET client_min_messages;
-- earlier tests' triggers recorded their namespaces: start afresh
DELETE FROM cache_ext.trigger_namespaces;
CREATE VIEW p_patterns AS
	SELECT kind, pattern, key_prefix, source, reached FROM cache_ext.namespace_patterns()
	 WHERE reached OR source LIKE '%p_notes%';

-- with no trigger: the user versions, always
SELECT * FROM p_patterns;

CREATE TABLE p_notes (id int, user_id int, team text);
CREATE TRIGGER a AFTER INSERT OR UPDATE OR DELETE ON p_notes
	FOR EACH ROW EXECUTE FUNCTION cache_ext.bump_version();
CREATE TRIGGER b AFTER INSERT OR UPDATE OR DELETE ON p_notes
	FOR EACH ROW EXECUTE FUNCTION cache_ext.bump_version(
		'cache_team_version:{team}', 'cache_pair_version:{user_id}:{team}', 'odd*[key]:{id}');
CREATE TRIGGER c AFTER TRUNCATE ON p_notes
	FOR EACH STATEMENT EXECUTE FUNCTION cache_ext.invalidate_on_truncate(
		'cache_team_version:{team}', 'cache_truncate_only:{id}');
CREATE TRIGGER d AFTER INSERT OR UPDATE OR DELETE ON p_notes
	FOR EACH ROW EXECUTE FUNCTION cache_ext.invalidate_keys(
		'note:{id}', 'note_page:{id}:*', '{{braces}}:{id}');
-- a trigger of another function is not ours
CREATE FUNCTION p_other() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NULL; END$$;
CREATE TRIGGER e AFTER INSERT ON p_notes FOR EACH ROW EXECUTE FUNCTION p_other('x:{id}');
INSERT INTO cache_ext.extra_namespaces (kind, pattern) VALUES
	('bump', 'cache_catalog_version'), ('delete', 'report:*'), ('bump', 'cache_team_version:*');
SELECT * FROM p_patterns;

-- a trigger records the key prefix in force when it is created; the user
-- versions follow the prefix of the session
SET cache_ext.key_prefix = 'app[1]:';
CREATE TRIGGER f AFTER INSERT ON p_notes
	FOR EACH ROW EXECUTE FUNCTION cache_ext.bump_version('cache_team_version:{team}');
SELECT * FROM p_patterns WHERE key_prefix = 'app[1]:';
RESET cache_ext.key_prefix;

-- the trigger of a role without cache_ext_admin is listed, not reached
CREATE ROLE p_tenant;
GRANT cache_ext_app TO p_tenant;
ALTER TABLE p_notes OWNER TO p_tenant;
SET ROLE p_tenant;
CREATE TRIGGER g AFTER INSERT ON p_notes
	FOR EACH ROW EXECUTE FUNCTION cache_ext.bump_version('cache_tenant_version:{id}');
RESET ROLE;
SELECT * FROM p_patterns WHERE NOT reached;

\set VERBOSITY default
INSERT INTO cache_ext.extra_namespaces (kind, pattern) VALUES ('flush', 'x*');
INSERT INTO cache_ext.extra_namespaces (kind, pattern) VALUES ('bump', '');
INSERT INTO cache_ext.extra_namespaces (kind, pattern) VALUES ('delete', '*');
INSERT INTO cache_ext.extra_namespaces (kind, pattern) VALUES ('delete', '\*ok:*');
\set VERBOSITY terse

DELETE FROM cache_ext.extra_namespaces;
DELETE FROM cache_ext.trigger_namespaces WHERE trigger_name LIKE '%p_notes%';
DROP VIEW p_patterns;
DROP TABLE p_notes;
DROP FUNCTION p_other();
DROP ROLE p_tenant;
SELECT kind, pattern, key_prefix, reached FROM cache_ext.namespace_patterns()
 WHERE reached ORDER BY kind, pattern;
