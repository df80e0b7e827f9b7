-- cache_enabled per user profile: non-default column names, a nullable
-- flag column, re-registration with other columns, unregister, and the
-- registration following a dropped table.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS cache_ext;
RESET client_min_messages;
SELECT cache_ext.command('FLUSHDB');

-- The mirror of one user as '<flag> <version>': flag 1, 0 or - (missing);
-- version none (missing), bumped (greater than when last looked at) or
-- same.  Versions are clock-based numbers, so only their growth is shown.
-- Waits (bounded, 5 s) until it reads `want`, so that the test does not
-- depend on how fast delivery is; returns what it read last.
CREATE TEMP TABLE seen_versions (user_id bigint PRIMARY KEY, version numeric);
CREATE FUNCTION pg_temp.mirror(uid bigint, want text DEFAULT NULL)
RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	flag text;
	ver text;
	prev numeric;
	state text;
BEGIN
	SELECT version INTO prev FROM seen_versions WHERE user_id = uid;
	FOR i IN 1..500 LOOP
		flag := coalesce(cache_ext.command('GET', 'cache_user_enabled:' || uid), '-');
		ver := cache_ext.command('GET', 'cache_user_version:' || uid);
		state := flag || ' ' ||
			CASE WHEN ver IS NULL THEN 'none'
				 WHEN prev IS NULL OR ver::numeric > prev THEN 'bumped'
				 ELSE 'same' END;
		EXIT WHEN want IS NULL OR state = want;
		PERFORM pg_sleep(0.01);
	END LOOP;
	INSERT INTO seen_versions VALUES (uid, ver::numeric)
		ON CONFLICT (user_id) DO UPDATE SET version = excluded.version;
	RETURN state;
END
$$;

-- A profile table in its own schema, with a quoted name, a smallint
-- user id under another name, and an existing nullable flag column.
CREATE SCHEMA "App Data";
CREATE TABLE "App Data"."User Prefs" (
	"Owner" smallint CONSTRAINT prefs_owner_key UNIQUE,
	"Caching On" boolean,
	theme text
);
INSERT INTO "App Data"."User Prefs" VALUES (1, true, 'dark'), (2, false, 'light'),
	(3, NULL, 'dark'), (NULL, false, 'orphan');
SELECT cache_ext.register_profile_table('"App Data"."User Prefs"', 'Owner', 'Caching On');
SELECT profile, user_column, flag_column FROM cache_ext.profile_tables;
-- The existing column is kept as it is (nullable, no default).
SELECT attnotnull, atthasdef FROM pg_attribute
 WHERE attrelid = '"App Data"."User Prefs"'::regclass AND attname = 'Caching On';

-- A NULL flag reads as enabled; a NULL user id has no key.
SELECT u, cache_ext.cache_enabled(u) FROM generate_series(1, 4) u;
SELECT cache_ext.set_cache_enabled(3, false);
SELECT pg_temp.mirror(3, '0 bumped');
UPDATE "App Data"."User Prefs" SET "Caching On" = NULL WHERE "Owner" = 3;
SELECT pg_temp.mirror(3, '1 bumped');
-- NULL -> true changes the column but not the effective flag: the trigger
-- compares effective flags, so nothing is sent.
UPDATE "App Data"."User Prefs" SET "Caching On" = true WHERE "Owner" = 3;
SELECT pg_temp.mirror(3);
SELECT cache_ext.command('DBSIZE') AS keys_before \gset
UPDATE "App Data"."User Prefs" SET "Caching On" = true WHERE "Owner" IS NULL;
DELETE FROM "App Data"."User Prefs" WHERE "Owner" IS NULL;
SELECT cache_ext.command('DBSIZE') = :'keys_before' AS no_new_keys;
-- A user id moving to NULL: the old user falls back to enabled.
UPDATE "App Data"."User Prefs" SET "Owner" = NULL WHERE "Owner" = 2;
SELECT pg_temp.mirror(2, '1 bumped');
UPDATE "App Data"."User Prefs" SET "Owner" = 2 WHERE "Owner" IS NULL;
SELECT pg_temp.mirror(2, '0 bumped');

-- Re-registering with other column names replaces the triggers.
ALTER TABLE "App Data"."User Prefs" ADD COLUMN uid bigint;
UPDATE "App Data"."User Prefs" SET uid = "Owner" + 100;
ALTER TABLE "App Data"."User Prefs" ADD CONSTRAINT prefs_uid_key UNIQUE (uid);
SELECT cache_ext.register_profile_table('"App Data"."User Prefs"', 'uid', 'nocache');
SELECT profile, user_column, flag_column FROM cache_ext.profile_tables;
SELECT tgname, pg_get_triggerdef(oid) FROM pg_trigger
 WHERE tgrelid = '"App Data"."User Prefs"'::regclass ORDER BY tgname;
SELECT cache_ext.cache_enabled(101), cache_ext.cache_enabled(2);
-- The old flag column no longer triggers anything.
UPDATE "App Data"."User Prefs" SET "Caching On" = false WHERE uid = 101;
SELECT cache_ext.set_cache_enabled(101, false);
SELECT pg_temp.mirror(101, '0 bumped'), pg_temp.mirror(1);

-- Unregister: triggers and registration go, the columns and data stay.
SELECT cache_ext.unregister_profile_table('"App Data"."User Prefs"');
SELECT count(*) FROM cache_ext.profile_tables;
SELECT count(*) FROM pg_trigger WHERE tgrelid = '"App Data"."User Prefs"'::regclass;
SELECT "Owner", "Caching On", uid, nocache FROM "App Data"."User Prefs" ORDER BY 1;
-- Writes no longer mirror anything.
UPDATE "App Data"."User Prefs" SET nocache = true WHERE uid = 101;
SELECT pg_temp.mirror(101);
-- Unregistering again is harmless.
SELECT cache_ext.unregister_profile_table('"App Data"."User Prefs"');
SELECT cache_ext.cache_enabled(101);

-- Dropping a registered table forgets the registration.
SELECT cache_ext.register_profile_table('"App Data"."User Prefs"', 'uid', 'nocache');
SELECT count(*) FROM cache_ext.profile_tables;
DROP SCHEMA "App Data" CASCADE;
SELECT count(*) FROM cache_ext.profile_tables;
SELECT cache_ext.cache_enabled(1);

-- So does dropping our trigger by hand.
CREATE TABLE prof (user_id integer PRIMARY KEY);
SELECT cache_ext.register_profile_table('prof');
DROP TRIGGER cache_ext_profile_flag ON prof;
SELECT count(*) FROM cache_ext.profile_tables;
SELECT cache_ext.unregister_profile_table('prof');
DROP TABLE prof;
SELECT cache_ext.command('FLUSHDB');
