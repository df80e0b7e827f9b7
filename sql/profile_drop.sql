-- cache_enabled per user profile: DROP EXTENSION never drops application
-- data.  Recreates the extension at the end.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS cache_ext;
RESET client_min_messages;

CREATE TABLE core_userprofile (
	user_id integer PRIMARY KEY,
	nickname text
);
INSERT INTO core_userprofile VALUES (1, 'ann'), (2, 'bob');
SELECT cache_ext.register_profile_table('core_userprofile');
SELECT cache_ext.set_cache_enabled(2, false);

-- Our triggers depend on the extension's function: a plain DROP
-- EXTENSION refuses.  (Terse: other tests' objects may be listed too.)
\set VERBOSITY terse
DROP EXTENSION cache_ext;
\set VERBOSITY default
SELECT count(*) FROM pg_trigger WHERE tgrelid = 'core_userprofile'::regclass;

-- CASCADE drops the triggers only: the column and the data stay.
SET client_min_messages = warning;
DROP EXTENSION cache_ext CASCADE;
RESET client_min_messages;
SELECT count(*) FROM pg_trigger WHERE tgrelid = 'core_userprofile'::regclass;
SELECT * FROM core_userprofile ORDER BY user_id;
SELECT attname, format_type(atttypid, atttypmod), attnotnull,
       pg_get_expr(adbin, adrelid) AS default
  FROM pg_attribute LEFT JOIN pg_attrdef ON adrelid = attrelid AND adnum = attnum
 WHERE attrelid = 'core_userprofile'::regclass AND attnum > 0 ORDER BY attnum;
-- The table keeps working without the extension.
UPDATE core_userprofile SET cache_enabled = true WHERE user_id = 2;
INSERT INTO core_userprofile VALUES (3, 'cy', false);
DELETE FROM core_userprofile WHERE user_id = 1;

-- Back again: registering the same table finds its column and data.
CREATE EXTENSION cache_ext;
SELECT cache_ext.register_profile_table('core_userprofile');
SELECT cache_ext.cache_enabled(3), cache_ext.cache_enabled(2);
SELECT cache_ext.unregister_profile_table('core_userprofile');
DROP TABLE core_userprofile;
SELECT cache_ext.command('FLUSHDB');
