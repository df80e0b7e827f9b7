-- cache_enabled per user profile: registration, and every path that flips
-- the flag, checked in Redis after commit.
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

CREATE TABLE core_userprofile (
	id serial PRIMARY KEY,
	user_id integer NOT NULL UNIQUE,
	nickname text
);
INSERT INTO core_userprofile (user_id, nickname)
	SELECT g, 'user ' || g FROM generate_series(1, 5) g;
SELECT relfilenode AS before_relfilenode FROM pg_class
 WHERE oid = 'core_userprofile'::regclass \gset

-- Registration adds the column without a rewrite (same relfilenode) and
-- with the default for existing rows.
SELECT cache_ext.register_profile_table('core_userprofile');
SELECT relfilenode = :before_relfilenode AS not_rewritten FROM pg_class
 WHERE oid = 'core_userprofile'::regclass;
SELECT attname, format_type(atttypid, atttypmod), attnotnull,
       pg_get_expr(adbin, adrelid) AS default
  FROM pg_attribute LEFT JOIN pg_attrdef ON adrelid = attrelid AND adnum = attnum
 WHERE attrelid = 'core_userprofile'::regclass AND attname = 'cache_enabled';
SELECT count(*), bool_and(cache_enabled) FROM core_userprofile;
SELECT profile, user_column, flag_column FROM cache_ext.profile_tables;
SELECT tgname, pg_get_triggerdef(oid) FROM pg_trigger
 WHERE tgrelid = 'core_userprofile'::regclass ORDER BY tgname;
-- Registration itself sends nothing.
SELECT cache_ext.command('DBSIZE');

-- Idempotent: the second call changes nothing (same trigger OIDs, no NOTICE).
CREATE TEMP TABLE trigger_oids AS
	SELECT oid FROM pg_trigger WHERE tgrelid = 'core_userprofile'::regclass;
SELECT cache_ext.register_profile_table('core_userprofile', 'user_id', 'cache_enabled');
SELECT count(*) AS unchanged_triggers FROM pg_trigger
 WHERE tgrelid = 'core_userprofile'::regclass AND oid IN (SELECT oid FROM trigger_oids);

-- cache_enabled(): a profile row's flag, and true without a row.
SELECT cache_ext.cache_enabled(1), cache_ext.cache_enabled(12345);

-- Path 1: set_cache_enabled.  Mirror 0 and a new version after commit.
SELECT cache_ext.set_cache_enabled(1, false);
SELECT cache_ext.cache_enabled(1);
SELECT pg_temp.mirror(1, '0 bumped');
-- Re-enabling bumps the version again, so entries cached before are unseen.
SELECT cache_ext.set_cache_enabled(1, true);
SELECT pg_temp.mirror(1, '1 bumped');
-- Setting the value it already has sends nothing.
SELECT cache_ext.set_cache_enabled(1, true);
SELECT pg_temp.mirror(1);

-- Path 2: plain UPDATE.
UPDATE core_userprofile SET cache_enabled = false WHERE user_id = 2;
SELECT pg_temp.mirror(2, '0 bumped');
-- An UPDATE of other columns, or writing the same flag, sends nothing.
UPDATE core_userprofile SET nickname = 'renamed' WHERE user_id = 2;
UPDATE core_userprofile SET cache_enabled = false, nickname = 'again' WHERE user_id = 2;
SELECT pg_temp.mirror(2);
-- Several flips in one transaction: the last value wins.
BEGIN;
UPDATE core_userprofile SET cache_enabled = true WHERE user_id = 2;
UPDATE core_userprofile SET cache_enabled = false WHERE user_id = 2;
UPDATE core_userprofile SET cache_enabled = true WHERE user_id = 2;
COMMIT;
SELECT pg_temp.mirror(2, '1 bumped');

-- Path 3: INSERT of a profile mirrors its flag (enabled or not).
INSERT INTO core_userprofile (user_id, cache_enabled) VALUES (10, false), (11, true);
SELECT pg_temp.mirror(10, '0 bumped'), pg_temp.mirror(11, '1 bumped');
SELECT cache_ext.cache_enabled(10), cache_ext.cache_enabled(11);

-- Path 4: DELETE of a profile means the default: enabled.
DELETE FROM core_userprofile WHERE user_id = 10;
SELECT pg_temp.mirror(10, '1 bumped');
SELECT cache_ext.cache_enabled(10);

-- A user id change moves the mirror: the old user falls back to enabled,
-- the new user gets the row's flag.
UPDATE core_userprofile SET cache_enabled = false WHERE user_id = 3;
SELECT pg_temp.mirror(3, '0 bumped');
UPDATE core_userprofile SET user_id = 30 WHERE user_id = 3;
SELECT pg_temp.mirror(3, '1 bumped'), pg_temp.mirror(30, '0 bumped');

-- Aborted flips send nothing.
BEGIN;
SELECT cache_ext.set_cache_enabled(4, false);
UPDATE core_userprofile SET cache_enabled = false WHERE user_id = 5;
INSERT INTO core_userprofile (user_id, cache_enabled) VALUES (20, false);
ROLLBACK;
-- A rolled-back savepoint drops its flips; the rest of the transaction
-- is delivered.
BEGIN;
SAVEPOINT s1;
UPDATE core_userprofile SET cache_enabled = false WHERE user_id = 4;
ROLLBACK TO SAVEPOINT s1;
SAVEPOINT s2;
UPDATE core_userprofile SET cache_enabled = false WHERE user_id = 5;
RELEASE SAVEPOINT s2;
COMMIT;
SELECT pg_temp.mirror(5, '0 bumped');
SELECT pg_temp.mirror(4), pg_temp.mirror(20);
SELECT cache_ext.cache_enabled(4), cache_ext.cache_enabled(5);
-- A failing statement (unique violation) loses its own flips only.
UPDATE core_userprofile SET cache_enabled = false WHERE user_id = 11;
INSERT INTO core_userprofile (user_id, cache_enabled) VALUES (21, false), (1, false);
SELECT pg_temp.mirror(11, '0 bumped');
SELECT pg_temp.mirror(21);

-- TRUNCATE: every profile goes, every disabled user is enabled again;
-- enabled users need no message (their mirror already says 1).
SELECT user_id FROM core_userprofile WHERE NOT cache_enabled ORDER BY 1;
TRUNCATE core_userprofile;
SELECT pg_temp.mirror(2, '1 same'), pg_temp.mirror(5, '1 bumped'),
       pg_temp.mirror(11, '1 bumped'), pg_temp.mirror(30, '1 bumped');
SELECT pg_temp.mirror(1);
-- A TRUNCATE that is rolled back sends nothing.
INSERT INTO core_userprofile (user_id, cache_enabled) VALUES (40, false);
SELECT pg_temp.mirror(40, '0 bumped');
BEGIN;
TRUNCATE core_userprofile;
ROLLBACK;
SELECT pg_temp.mirror(40);

-- set_cache_enabled needs a profile row, whatever the value.
SELECT cache_ext.set_cache_enabled(999, false);
SELECT cache_ext.set_cache_enabled(999, true);

-- The keys carry cache_ext.key_prefix.
SET cache_ext.key_prefix = 'myapp:1:';
SELECT cache_ext.set_cache_enabled(40, true);
RESET cache_ext.key_prefix;
SELECT cache_ext.command('GET', 'myapp:1:cache_user_enabled:40') AS prefixed_enabled,
       cache_ext.command('GET', 'myapp:1:cache_user_version:40') IS NOT NULL AS prefixed_version;
SELECT pg_temp.mirror(40);

-- The middleware's read: one MGET for flag and version.
SELECT m->>0 AS enabled, (m->>1)::numeric > 0 AS has_version
  FROM (SELECT cache_ext.command('MGET', 'cache_user_enabled:30',
                                 'cache_user_version:30')::jsonb AS m) s;

-- The trigger function refuses to be called otherwise.
SELECT cache_ext.profile_flag_changed();

DROP TABLE core_userprofile;
SELECT count(*) FROM cache_ext.profile_tables;
