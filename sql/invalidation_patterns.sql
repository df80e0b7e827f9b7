-- namespace_patterns(): every pattern the fallback invalidation must reach,
-- read from this database's invalidation triggers and extra_namespaces.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS cache_ext;
RESET client_min_messages;

-- with no trigger: the user versions, always
SELECT * FROM cache_ext.namespace_patterns() ORDER BY kind, pattern;

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
INSERT INTO cache_ext.extra_namespaces VALUES
	('bump', 'cache_catalog_version'), ('delete', 'report:*'), ('bump', 'cache_team_version:*');
SELECT * FROM cache_ext.namespace_patterns() ORDER BY kind, pattern;

-- the patterns do not include the key prefix: the fallback invalidation
-- applies it (escaped) when it runs
SET cache_ext.key_prefix = 'app[1]:';
SELECT * FROM cache_ext.namespace_patterns() ORDER BY kind, pattern;
RESET cache_ext.key_prefix;

\set VERBOSITY default
INSERT INTO cache_ext.extra_namespaces VALUES ('flush', 'x*');
INSERT INTO cache_ext.extra_namespaces VALUES ('bump', '');

DELETE FROM cache_ext.extra_namespaces;
DROP TABLE p_notes;
DROP FUNCTION p_other();
SELECT * FROM cache_ext.namespace_patterns() ORDER BY kind, pattern;
