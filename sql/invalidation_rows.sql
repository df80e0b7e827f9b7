-- Row triggers end to end: what bump_version and invalidate_keys make
-- reach Redis when the writing transaction commits.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS cache_ext;
RESET client_min_messages;
-- every key of this test lives under its own prefix
SET cache_ext.key_prefix = 'inv_rows:';
SELECT cache_ext.invalidate('*');

-- bumped(keys[]): which of these version keys changed since the last call,
-- and how: "new" (created), "bumped" (increased), "gone", "went back".
-- Values are derived from the clock, so only their order is stable.
CREATE TEMP TABLE seen (key text PRIMARY KEY, v bigint);
CREATE FUNCTION pg_temp.bumped(keys text[]) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
	k text;
	now_v bigint;
	was bigint;
	result text[] := '{}';
BEGIN
	FOREACH k IN ARRAY keys LOOP
		now_v := cache_ext.version(k);
		SELECT v INTO was FROM seen WHERE key = k;
		IF was IS NULL AND now_v IS NOT NULL THEN
			result := result || (k || ' new');
		ELSIF was IS NOT NULL AND now_v IS NULL THEN
			result := result || (k || ' gone');
		ELSIF now_v > was THEN
			result := result || (k || ' bumped');
		ELSIF now_v < was THEN
			result := result || (k || ' went back');
		END IF;
		INSERT INTO seen VALUES (k, now_v)
			ON CONFLICT (key) DO UPDATE SET v = excluded.v;
	END LOOP;
	RETURN coalesce(array_to_string(result, ', '), '');
END $$;
-- present(keys...): which of these keys exist
CREATE FUNCTION pg_temp.present(VARIADIC keys text[]) RETURNS text
LANGUAGE sql AS $$
	SELECT coalesce(string_agg(k, ', ' ORDER BY k), '')
	FROM unnest(keys) k
	WHERE cache_ext.command('EXISTS', current_setting('cache_ext.key_prefix') || k) = '1'
$$;
CREATE FUNCTION pg_temp.put(VARIADIC keys text[]) RETURNS void
LANGUAGE sql AS $$
	SELECT cache_ext.command('SET', current_setting('cache_ext.key_prefix') || k, 'cached')
	FROM unnest(keys) k
$$;

-- the default template: cache_user_version:{user_id}
CREATE TABLE notes (id int PRIMARY KEY, user_id bigint, body text);
CREATE TRIGGER notes_bump AFTER INSERT OR UPDATE OR DELETE ON notes
	FOR EACH ROW EXECUTE FUNCTION cache_ext.bump_version();
\set u '{cache_user_version:1,cache_user_version:2,cache_user_version:3}'
SELECT pg_temp.bumped(:'u');
INSERT INTO notes VALUES (1, 1, 'a'), (2, 1, 'b'), (3, 2, 'c');
SELECT pg_temp.bumped(:'u');
-- an UPDATE of three rows of two users: each user bumped once
BEGIN;
UPDATE notes SET body = body || '!';
SELECT kind, key FROM cache_ext.pending_effects() ORDER BY key;
COMMIT;
SELECT pg_temp.bumped(:'u');
-- a row moved from user 1 to user 3 bumps both
UPDATE notes SET user_id = 3 WHERE id = 1;
SELECT pg_temp.bumped(:'u');
-- DELETE uses the old row
DELETE FROM notes WHERE id = 3;
SELECT pg_temp.bumped(:'u');
-- a NULL user skips the key, in either version of the row
INSERT INTO notes VALUES (4, NULL, 'orphan');
SELECT pg_temp.bumped(:'u');
UPDATE notes SET user_id = 2 WHERE id = 4;
SELECT pg_temp.bumped(:'u');
UPDATE notes SET user_id = NULL WHERE id = 4;
SELECT pg_temp.bumped(:'u');
-- several statements in one transaction: still one bump per key
BEGIN;
UPDATE notes SET body = 'x' WHERE id = 2;
UPDATE notes SET body = 'y' WHERE id = 2;
INSERT INTO notes VALUES (5, 1, 'z');
SELECT kind, key FROM cache_ext.pending_effects() ORDER BY key;
COMMIT;
SELECT pg_temp.bumped(:'u');
-- aborted transactions and rolled back savepoints send nothing
BEGIN;
UPDATE notes SET body = 'never' WHERE user_id = 1;
ROLLBACK;
BEGIN;
SAVEPOINT s;
UPDATE notes SET body = 'never' WHERE user_id = 1;
ROLLBACK TO SAVEPOINT s;
UPDATE notes SET body = 'kept' WHERE user_id = 3;
COMMIT;
SELECT pg_temp.bumped(:'u');

-- several templates, several types: bigint, uuid, text
CREATE TABLE tasks (
	id int PRIMARY KEY,
	owner_id bigint,
	assignee_id bigint,
	workspace uuid,
	board text
);
CREATE TRIGGER tasks_bump AFTER INSERT OR UPDATE OR DELETE ON tasks
	FOR EACH ROW EXECUTE FUNCTION cache_ext.bump_version(
		'cache_user_version:{owner_id}', 'cache_user_version:{assignee_id}',
		'cache_workspace_version:{workspace}', 'cache_board_version:{board}');
\set t '{cache_user_version:10,cache_user_version:11,cache_user_version:12,cache_workspace_version:a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11,"cache_board_version:Sprint 1"}'
SELECT pg_temp.bumped(:'t');
INSERT INTO tasks VALUES (1, 10, 11, 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', 'Sprint 1');
SELECT pg_temp.bumped(:'t');
UPDATE tasks SET assignee_id = 12;
SELECT pg_temp.bumped(:'t');
UPDATE tasks SET workspace = NULL, board = NULL;
SELECT pg_temp.bumped(:'t');

-- invalidate_keys: keys deleted, and a pattern deleted with SCAN + UNLINK
CREATE TABLE rules (id int PRIMARY KEY, name text);
CREATE TRIGGER rules_invalidate AFTER INSERT OR UPDATE OR DELETE ON rules
	FOR EACH ROW EXECUTE FUNCTION cache_ext.invalidate_keys(
		'dimension_catalog:{id}', 'field_templates:{id}', 'rule_page:{id}:*');
INSERT INTO rules VALUES (1, 'one'), (2, 'two');
SELECT pg_temp.put('dimension_catalog:1', 'dimension_catalog:2', 'field_templates:1',
				   'field_templates:2', 'rule_page:1:a', 'rule_page:1:b',
				   'rule_page:2:a', 'rule_page:10:a');
UPDATE rules SET name = 'uno' WHERE id = 1;
SELECT pg_temp.present('dimension_catalog:1', 'dimension_catalog:2', 'field_templates:1',
					   'field_templates:2', 'rule_page:1:a', 'rule_page:1:b',
					   'rule_page:2:a', 'rule_page:10:a');
DELETE FROM rules WHERE id = 2;
SELECT pg_temp.present('dimension_catalog:1', 'dimension_catalog:2', 'field_templates:1',
					   'field_templates:2', 'rule_page:1:a', 'rule_page:1:b',
					   'rule_page:2:a', 'rule_page:10:a');

-- the key prefix is part of every key, and only of the current setting
CREATE TABLE prefixed (id int PRIMARY KEY, user_id int);
CREATE TRIGGER prefixed_bump AFTER INSERT ON prefixed
	FOR EACH ROW EXECUTE FUNCTION cache_ext.bump_version();
SET cache_ext.key_prefix = 'inv_rows:other:';
INSERT INTO prefixed VALUES (1, 77);
SELECT cache_ext.version('cache_user_version:77') IS NOT NULL AS under_new_prefix;
SET cache_ext.key_prefix = 'inv_rows:';
SELECT cache_ext.version('cache_user_version:77') IS NOT NULL AS under_old_prefix,
	   cache_ext.version('other:cache_user_version:77') IS NOT NULL AS same_key;

-- a partitioned table: the trigger is cloned to every partition (each with
-- its own descriptor), and a row moving between partitions bumps both users
CREATE TABLE parted (id int, user_id int, body text) PARTITION BY RANGE (user_id);
CREATE TABLE parted_low PARTITION OF parted FOR VALUES FROM (0) TO (100);
CREATE TABLE parted_high (body text, id int, user_id int);
ALTER TABLE parted ATTACH PARTITION parted_high FOR VALUES FROM (100) TO (1000);
CREATE TRIGGER parted_bump AFTER INSERT OR UPDATE OR DELETE ON parted
	FOR EACH ROW EXECUTE FUNCTION cache_ext.bump_version();
\set p '{cache_user_version:5,cache_user_version:500}'
SELECT pg_temp.bumped(:'p');
INSERT INTO parted VALUES (1, 5, 'a'), (2, 500, 'b');
SELECT pg_temp.bumped(:'p');
UPDATE parted SET user_id = 500 WHERE id = 1;
SELECT pg_temp.bumped(:'p');
SELECT tableoid::regclass, * FROM parted ORDER BY id;
DROP TABLE parted;

-- the table changes shape: templates are parsed again
ALTER TABLE notes ADD COLUMN extra int;
ALTER TABLE notes DROP COLUMN body;
UPDATE notes SET extra = 1 WHERE id = 2;
SELECT pg_temp.bumped(:'u');

DROP TABLE notes, tasks, rules, prefixed;
SELECT cache_ext.invalidate('*');
