-- cache_enabled per user profile: the back-fill of an existing table in
-- batches, and the fallback resync hook.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS cache_ext;
RESET client_min_messages;
SELECT cache_ext.command('FLUSHDB');

-- 25,000 existing profiles (every 7th disabled), with gaps in the ids,
-- and a flag column that predates the registration.
CREATE TABLE core_userprofile (
	user_id bigint PRIMARY KEY,
	cache_enabled boolean NOT NULL DEFAULT true
);
INSERT INTO core_userprofile
	SELECT g * 3, g % 7 <> 0 FROM generate_series(1, 25000) g;
SELECT cache_ext.register_profile_table('core_userprofile');
-- Registration mirrors nothing by itself: that is the back-fill's job.
SELECT cache_ext.command('DBSIZE');

-- Outside a transaction block the procedure commits after every batch;
-- progress is reported every 10,000 profiles.
CALL cache_ext.mirror_profiles(1000);
SELECT cache_ext.command('DBSIZE');
SELECT count(*) FILTER (WHERE cache_ext.command('GET', 'cache_user_enabled:' || user_id)
						 = CASE WHEN cache_enabled THEN '1' ELSE '0' END) AS mirrored_right,
	   count(*) AS profiles
  FROM core_userprofile;
-- The back-fill leaves versions alone (a missing version reads as 0).
SELECT cache_ext.command('EXISTS', 'cache_user_version:3');

-- A batch size that does not divide the table, the last batch short.
SELECT cache_ext.command('FLUSHDB');
CALL cache_ext.mirror_profiles(4096);
SELECT cache_ext.command('GET', 'cache_user_enabled:21') AS disabled,
	   cache_ext.command('GET', 'cache_user_enabled:75000') AS last;

-- Inside a transaction block it runs in that transaction (no commits).
SELECT cache_ext.command('FLUSHDB');
BEGIN;
CALL cache_ext.mirror_profiles(2500);
SELECT cache_ext.command('DBSIZE');
COMMIT;

-- The back-fill corrects a mirror that drifted.
SELECT cache_ext.command('SET', 'cache_user_enabled:21', '1');
SELECT cache_ext.command('DEL', 'cache_user_enabled:24');
CALL cache_ext.mirror_profiles();
SELECT cache_ext.command('GET', 'cache_user_enabled:21'),
	   cache_ext.command('GET', 'cache_user_enabled:24');

-- An empty table.
CREATE TABLE empty_profiles (user_id integer PRIMARY KEY);
SELECT cache_ext.unregister_profile_table('core_userprofile');
SELECT cache_ext.register_profile_table('empty_profiles');
CALL cache_ext.mirror_profiles();
SELECT cache_ext.unregister_profile_table('empty_profiles');
DROP TABLE empty_profiles;

-- The fallback resync hook: registered in cache_ext.fallback_hooks, quiet,
-- same result.
SELECT hook FROM cache_ext.fallback_hooks WHERE hook = 'cache_ext.resync_profiles()';
SELECT cache_ext.resync_profiles();
SELECT cache_ext.register_profile_table('core_userprofile');
SELECT cache_ext.command('FLUSHDB');
SELECT cache_ext.resync_profiles();
SELECT cache_ext.command('DBSIZE');

SELECT cache_ext.unregister_profile_table('core_userprofile');
DROP TABLE core_userprofile;
SELECT cache_ext.command('FLUSHDB');
