-- The statement-level form of bump_version and invalidate_keys: AFTER ...
-- FOR EACH STATEMENT with transition tables, one trigger per event.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS cache_ext;
RESET client_min_messages;
SET cache_ext.key_prefix = 'inv_stmt:';
SELECT cache_ext.invalidate('*');

-- bumped(keys[]): which of these version keys changed since the last call
-- (see invalidation_rows)
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

CREATE TABLE items (id int PRIMARY KEY, user_id int, body text);
CREATE TRIGGER items_ins AFTER INSERT ON items
	REFERENCING NEW TABLE AS new_rows
	FOR EACH STATEMENT EXECUTE FUNCTION cache_ext.bump_version();
CREATE TRIGGER items_upd AFTER UPDATE ON items
	REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
	FOR EACH STATEMENT EXECUTE FUNCTION cache_ext.bump_version();
CREATE TRIGGER items_del AFTER DELETE ON items
	REFERENCING OLD TABLE AS old_rows
	FOR EACH STATEMENT EXECUTE FUNCTION cache_ext.bump_version();
\set u '{cache_user_version:1,cache_user_version:2,cache_user_version:3,cache_user_version:4}'
SELECT pg_temp.bumped(:'u');
INSERT INTO items SELECT g, g % 3, 'x' FROM generate_series(1, 3000) g;
SELECT pg_temp.bumped(:'u');
BEGIN;
UPDATE items SET body = 'y';
-- 3000 rows, 3 users: 3 effects
SELECT kind, key FROM cache_ext.pending_effects() ORDER BY key;
COMMIT;
SELECT pg_temp.bumped(:'u');
-- rows moved from user 1 to user 4 bump both
UPDATE items SET user_id = 4 WHERE user_id = 1 AND id < 100;
SELECT pg_temp.bumped(:'u');
DELETE FROM items WHERE user_id = 2;
SELECT pg_temp.bumped(:'u');
-- a statement that changes no row bumps nothing
UPDATE items SET body = 'z' WHERE false;
SELECT pg_temp.bumped(:'u');
-- NULL keys are skipped
INSERT INTO items VALUES (5000, NULL, 'n');
SELECT pg_temp.bumped(:'u');

-- invalidate_keys with a transition table
CREATE TABLE rules (id int PRIMARY KEY);
CREATE TRIGGER rules_del AFTER DELETE ON rules
	REFERENCING OLD TABLE AS old_rows
	FOR EACH STATEMENT EXECUTE FUNCTION cache_ext.invalidate_keys('rule:{id}');
INSERT INTO rules SELECT generate_series(1, 5);
SELECT cache_ext.command('SET', 'inv_stmt:rule:' || g, 'cached') FROM generate_series(1, 5) g;
DELETE FROM rules WHERE id <= 3;
SELECT g AS rule, cache_ext.command('EXISTS', 'inv_stmt:rule:' || g) AS exists
FROM generate_series(1, 5) g;

DROP TABLE items, rules;
SELECT cache_ext.invalidate('*');
