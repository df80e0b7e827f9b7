--
-- invalidation_memo: within a statement, a row trigger remembers which keys
-- it already added, and must forget them when cache_ext.key_prefix changes
-- between two rows (here another row trigger changes it).  The memo used to
-- compare the setting's string by address: SET frees the old string and the
-- next SET's copy can land at the same address, so a prefix changed twice
-- looked unchanged and the key under the new prefix was never bumped.
--
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS cache_ext;
CREATE TABLE memo_rows (id int PRIMARY KEY, user_id int);
INSERT INTO memo_rows SELECT g, 7 FROM generate_series(1, 3) g;
CREATE TRIGGER memo_rows_cache AFTER UPDATE ON memo_rows
  FOR EACH ROW EXECUTE FUNCTION cache_ext.bump_version();
-- fires after memo_rows_cache for each row (triggers fire in name order):
-- sets the prefix to 'memo:<id>x:' and then to 'memo:<id>y:', so the first
-- copy is freed and the second is likely to get the address of the one
-- the previous row saw
CREATE FUNCTION pg_temp.rotate_prefix() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM set_config('cache_ext.key_prefix', 'memo:' || NEW.id || 'x:', true);
  PERFORM set_config('cache_ext.key_prefix', 'memo:' || NEW.id || 'y:', true);
  RETURN NULL;
END $$;
CREATE TRIGGER memo_rows_zz_rotate AFTER UPDATE ON memo_rows
  FOR EACH ROW EXECUTE FUNCTION pg_temp.rotate_prefix();

BEGIN;
SET LOCAL cache_ext.key_prefix = 'memo:0y:';
UPDATE memo_rows SET id = id;
-- one bump per prefix the rows saw: memo:0y:, memo:1y:, memo:2y:
SELECT kind, key FROM cache_ext.pending_effects() ORDER BY key;
ROLLBACK;

-- the same prefix value again (a new string) keeps the memo: one bump
CREATE OR REPLACE FUNCTION pg_temp.rotate_prefix() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM set_config('cache_ext.key_prefix', 'memo:same:', true);
  RETURN NULL;
END $$;
BEGIN;
SET LOCAL cache_ext.key_prefix = 'memo:same:';
UPDATE memo_rows SET id = id;
SELECT kind, key FROM cache_ext.pending_effects() ORDER BY key;
ROLLBACK;

DROP TABLE memo_rows;

--
-- A trigger's parsed templates and its memos are kept across statements
-- and transactions (issue 13).  What must still hold: a replaced trigger
-- or a changed table is parsed again at its next firing, the memos never
-- skip a key the pending set does not hold (a savepoint rolled back in
-- between, a new transaction), and several users in one statement each
-- get their bump.
--
CREATE TABLE memo_kept (id int PRIMARY KEY, user_id int, team_id int);
INSERT INTO memo_kept VALUES (1, 7, 70), (2, 8, 80), (3, 7, 70);
CREATE TRIGGER memo_kept_cache AFTER UPDATE ON memo_kept
  FOR EACH ROW EXECUTE FUNCTION cache_ext.bump_version('memo_user:{user_id}');
BEGIN;
UPDATE memo_kept SET id = id WHERE id = 1;
SELECT kind, key FROM cache_ext.pending_effects() ORDER BY key;
ROLLBACK;
-- the same trigger, replaced in this session: the new template is used
CREATE OR REPLACE TRIGGER memo_kept_cache AFTER UPDATE ON memo_kept
  FOR EACH ROW EXECUTE FUNCTION cache_ext.bump_version('memo_team:{team_id}');
BEGIN;
UPDATE memo_kept SET id = id WHERE id = 1;
SELECT kind, key FROM cache_ext.pending_effects() ORDER BY key;
ROLLBACK;
-- the column renamed: parsed again, so the old name is an error now
ALTER TABLE memo_kept RENAME COLUMN team_id TO squad_id;
UPDATE memo_kept SET id = id WHERE id = 1;
ALTER TABLE memo_kept RENAME COLUMN squad_id TO team_id;
CREATE OR REPLACE TRIGGER memo_kept_cache AFTER UPDATE ON memo_kept
  FOR EACH ROW EXECUTE FUNCTION cache_ext.bump_version('memo_user:{user_id}');
-- a key added in a savepoint rolled back is added again by the next
-- statement of the same user
BEGIN;
SAVEPOINT a;
UPDATE memo_kept SET id = id WHERE id = 1;
ROLLBACK TO SAVEPOINT a;
SELECT count(*) AS after_rollback FROM cache_ext.pending_effects();
UPDATE memo_kept SET id = id WHERE id = 3;
SELECT kind, key FROM cache_ext.pending_effects() ORDER BY key;
COMMIT;
-- a new transaction starts with no memo
BEGIN;
UPDATE memo_kept SET id = id WHERE id = 1;
SELECT kind, key FROM cache_ext.pending_effects() ORDER BY key;
ROLLBACK;
-- users 7, 8, 7 in one statement, then 8 again in the next: two bumps
BEGIN;
UPDATE memo_kept SET id = id;
UPDATE memo_kept SET id = id WHERE id = 2;
SELECT kind, key FROM cache_ext.pending_effects() ORDER BY key;
ROLLBACK;
DROP TABLE memo_kept;

-- many users in one statement (the set of values grows several times),
-- each user's rows spread over the statement, and rows moving between
-- users: every distinct old and new user gets exactly one bump
CREATE TABLE memo_many (id int PRIMARY KEY, user_id bigint);
INSERT INTO memo_many SELECT g, g % 500 FROM generate_series(1, 2000) g;
CREATE TRIGGER memo_many_cache AFTER UPDATE ON memo_many
  FOR EACH ROW EXECUTE FUNCTION cache_ext.bump_version('memo_many:{user_id}');
BEGIN;
UPDATE memo_many SET user_id = CASE WHEN id <= 100 THEN user_id + 1000 ELSE user_id END;
SELECT count(*) AS effects, count(DISTINCT key) AS keys,
       count(*) FILTER (WHERE key ~ ':1[0-9]{3}$') AS moved_to
  FROM cache_ext.pending_effects();
ROLLBACK;
DROP TABLE memo_many;

-- Memory: the value set of a large statement is freed when its
-- transaction ends (not kept until the trigger fires again), and a dropped
-- trigger's parsed templates are freed the next time templates are parsed
CREATE TABLE memo_mem (id int PRIMARY KEY, user_id int);
INSERT INTO memo_mem SELECT g, g % 2000 FROM generate_series(1, 4000) g;
CREATE TRIGGER memo_mem_a AFTER UPDATE ON memo_mem
  FOR EACH ROW EXECUTE FUNCTION cache_ext.bump_version('memo_mem:{user_id}');
UPDATE memo_mem SET id = id;
SELECT count(*) AS parsed_triggers, max(total_bytes) < 16384 AS set_freed
  FROM pg_backend_memory_contexts WHERE name = 'cache_ext trigger templates';
DROP TRIGGER memo_mem_a ON memo_mem;
CREATE TRIGGER memo_mem_b AFTER UPDATE ON memo_mem
  FOR EACH ROW EXECUTE FUNCTION cache_ext.bump_version('memo_mem_b:{id}');
UPDATE memo_mem SET id = id WHERE id = 1;
SELECT count(*) AS parsed_triggers
  FROM pg_backend_memory_contexts WHERE name = 'cache_ext trigger templates';
DROP TABLE memo_mem;
