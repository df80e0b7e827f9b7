--
-- The BEFORE row form of the invalidation triggers (issue 13): keys from
-- OLD and NEW as they are when the trigger fires, the row let through
-- unchanged, generated columns refused (they are computed after BEFORE
-- triggers), and every effect undone with the statement or savepoint
-- that fails.
--
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS cache_ext;
RESET client_min_messages;
SET cache_ext.key_prefix = 'inv_before:';
\set VERBOSITY default

CREATE TABLE bthings (id int PRIMARY KEY, user_id int, note text);
CREATE TRIGGER bthings_cache BEFORE INSERT OR UPDATE OR DELETE ON bthings
	FOR EACH ROW EXECUTE FUNCTION cache_ext.bump_version();
CREATE TRIGGER bthings_keys BEFORE UPDATE ON bthings
	FOR EACH ROW EXECUTE FUNCTION cache_ext.invalidate_keys('bthing:{id}');

BEGIN;
INSERT INTO bthings VALUES (1, 10, 'a'), (2, 20, 'b');
SELECT kind, key FROM cache_ext.pending_effects() ORDER BY kind, key;
ROLLBACK;
INSERT INTO bthings VALUES (1, 10, 'a'), (2, 20, 'b');
-- the rows are written as given
SELECT * FROM bthings ORDER BY id;

-- an UPDATE moving a row to another user bumps both; the row is updated
BEGIN;
UPDATE bthings SET user_id = 30, note = 'moved' WHERE id = 1;
SELECT kind, key FROM cache_ext.pending_effects() ORDER BY kind, key;
SELECT * FROM bthings ORDER BY id;
ROLLBACK;

-- DELETE: the old row's key, and the row is deleted
BEGIN;
DELETE FROM bthings WHERE id = 2;
SELECT kind, key FROM cache_ext.pending_effects() ORDER BY kind, key;
SELECT count(*) FROM bthings;
ROLLBACK;

-- a statement that fails after the trigger fired leaves nothing behind
BEGIN;
SAVEPOINT s;
INSERT INTO bthings VALUES (3, 40, 'c'), (1, 50, 'duplicate');
ROLLBACK TO SAVEPOINT s;
SELECT count(*) AS after_failed_insert FROM cache_ext.pending_effects();
COMMIT;

-- generated columns are refused when the trigger is created (and again
-- when it fires, should the check have been bypassed)
CREATE TABLE bgen (id int PRIMARY KEY, user_id int,
	team_id int GENERATED ALWAYS AS (user_id / 10) STORED);
CREATE TRIGGER bgen_cache BEFORE UPDATE ON bgen
	FOR EACH ROW EXECUTE FUNCTION cache_ext.bump_version('team:{team_id}');
-- the same template AFTER the update is fine
CREATE TRIGGER bgen_cache AFTER UPDATE ON bgen
	FOR EACH ROW EXECUTE FUNCTION cache_ext.bump_version('team:{team_id}');
INSERT INTO bgen VALUES (1, 15);
BEGIN;
UPDATE bgen SET user_id = 25;
SELECT kind, key FROM cache_ext.pending_effects() ORDER BY kind, key;
ROLLBACK;
DROP TABLE bgen;

-- not for BEFORE statement or INSTEAD OF triggers (invalidation_usage)
DROP TABLE bthings;
