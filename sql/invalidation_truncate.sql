-- TRUNCATE fires no row trigger: invalidate_on_truncate bumps every
-- version key matching the templates, invalidate_keys on TRUNCATE deletes
-- every key matching its templates.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS cache_ext;
RESET client_min_messages;
SET cache_ext.key_prefix = 'inv_trunc:';
SELECT cache_ext.invalidate('*');

CREATE TABLE docs (id int PRIMARY KEY, user_id int, team text);
CREATE TRIGGER docs_bump AFTER INSERT OR UPDATE OR DELETE ON docs
	FOR EACH ROW EXECUTE FUNCTION cache_ext.bump_version(
		'cache_user_version:{user_id}', 'cache_team_version:{team}');
CREATE TRIGGER docs_truncate AFTER TRUNCATE ON docs
	FOR EACH STATEMENT EXECUTE FUNCTION cache_ext.invalidate_on_truncate(
		'cache_user_version:{user_id}', 'cache_team_version:{team}');
CREATE TRIGGER docs_keys_truncate AFTER TRUNCATE ON docs
	FOR EACH STATEMENT EXECUTE FUNCTION cache_ext.invalidate_keys('doc:{id}', 'doc_page:{id}:*');
INSERT INTO docs VALUES (1, 1, 'red'), (2, 2, 'blue');
-- keys that look alike but belong to no template survive
SELECT cache_ext.command('SET', 'inv_trunc:' || k, 'cached')
FROM unnest(ARRAY['doc:1', 'doc:2', 'doc_page:1:x', 'docs:1', 'other:1']) k;
CREATE TEMP TABLE before AS
	SELECT k, cache_ext.version(k) AS v
	FROM unnest(ARRAY['cache_user_version:1', 'cache_user_version:2',
					  'cache_team_version:red', 'cache_team_version:blue']) k;
-- nothing is sent when the TRUNCATE rolls back
BEGIN;
TRUNCATE docs;
ROLLBACK;
SELECT k, cache_ext.version(k) = v AS unchanged FROM before ORDER BY k;
TRUNCATE docs;
SELECT k, cache_ext.version(k) > v AS bumped FROM before ORDER BY k;
SELECT k, cache_ext.command('EXISTS', 'inv_trunc:' || k) AS exists
FROM unnest(ARRAY['doc:1', 'doc:2', 'doc_page:1:x', 'docs:1', 'other:1']) k;

-- bump_version itself works as the TRUNCATE trigger too
CREATE TABLE docs2 (id int, owner int);
CREATE TRIGGER docs2_truncate AFTER TRUNCATE ON docs2
	FOR EACH STATEMENT EXECUTE FUNCTION cache_ext.bump_version('cache_owner_version:{owner}');
SELECT cache_ext.bump('cache_owner_version:1');
SELECT cache_ext.version('cache_owner_version:1') AS v1 \gset
TRUNCATE docs2;
SELECT cache_ext.version('cache_owner_version:1') > :v1 AS bumped;
DROP TABLE docs2;

-- invalidate_on_truncate belongs on TRUNCATE only
CREATE TABLE misuse (id int, user_id int);
CREATE TRIGGER misuse_ins AFTER INSERT ON misuse
	FOR EACH ROW EXECUTE FUNCTION cache_ext.invalidate_on_truncate();
INSERT INTO misuse VALUES (1, 1);

DROP TABLE docs, misuse;
SELECT cache_ext.invalidate('*');
