-- The transactional SQL functions (bump, bump_user, invalidate) and the
-- version readers (version, user_version).
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS cache_ext;
RESET client_min_messages;
SELECT cache_ext.invalidate('*');

-- readers: NULL when absent
SELECT cache_ext.version('cache_catalog_version') AS absent,
	   cache_ext.user_version(42) AS absent_user;

-- a first bump creates the key with a value derived from the clock (never
-- 1, so that no entry cached under an older, lost version comes back);
-- every bump makes it larger
SELECT cache_ext.bump('cache_catalog_version');
SELECT cache_ext.version('cache_catalog_version') > 1000000 AS clock_derived;
SELECT cache_ext.version('cache_catalog_version') AS v0 \gset
SELECT cache_ext.bump('cache_catalog_version');
SELECT cache_ext.version('cache_catalog_version') > :v0 AS increased;

-- bump_user(n) is bump('cache_user_version:' || n), also for negative ids
SELECT cache_ext.bump_user(42), cache_ext.bump_user(-7);
SELECT cache_ext.user_version(42) = cache_ext.version('cache_user_version:42') AS same,
	   cache_ext.user_version(-7) IS NOT NULL AS negative;
SELECT cache_ext.command('GET', 'inv_fn:cache_user_version:42') =
	   cache_ext.user_version(42)::text AS prefixed_key;

-- deferred to commit, once per key per transaction, forgotten on rollback
SELECT cache_ext.user_version(42) AS v42 \gset
BEGIN;
SELECT cache_ext.bump_user(42);
SELECT cache_ext.bump('cache_user_version:42');
SELECT kind, key FROM cache_ext.pending_effects();
SELECT cache_ext.user_version(42) = :v42 AS unchanged_before_commit;
COMMIT;
SELECT cache_ext.user_version(42) > :v42 AS bumped_after_commit;
SELECT cache_ext.user_version(42) AS v42 \gset
BEGIN;
SELECT cache_ext.bump_user(42);
ROLLBACK;
SELECT cache_ext.user_version(42) = :v42 AS unchanged_after_rollback;
BEGIN;
SAVEPOINT a;
SELECT cache_ext.bump_user(42);
ROLLBACK TO SAVEPOINT a;
SAVEPOINT b;
SELECT cache_ext.bump_user(43);
RELEASE SAVEPOINT b;
COMMIT;
SELECT cache_ext.user_version(42) = :v42 AS unchanged_after_savepoint,
	   cache_ext.user_version(43) IS NOT NULL AS released_kept;

-- cascades written in PL/pgSQL
CREATE FUNCTION pg_temp.touch_dimension(dim int) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
	PERFORM cache_ext.bump('cache_dimension_version:' || dim);
	PERFORM cache_ext.invalidate('dimension_rules:' || dim || ':*');
END $$;
SELECT cache_ext.command('SET', 'inv_fn:dimension_rules:' || k, 'cached')
FROM unnest(ARRAY['5:a', '5:b', '50:a', '6:a']) k;
SELECT pg_temp.touch_dimension(5);
SELECT cache_ext.version('cache_dimension_version:5') IS NOT NULL AS bumped;
SELECT k, cache_ext.command('EXISTS', 'inv_fn:dimension_rules:' || k) AS exists
FROM unnest(ARRAY['5:a', '5:b', '50:a', '6:a']) k;

-- invalidate: one key, or a pattern when it contains *
SELECT cache_ext.command('SET', 'inv_fn:' || k, 'cached')
FROM unnest(ARRAY['booking:1', 'booking:2', 'bookings', 'page:1']) k;
SELECT cache_ext.invalidate('page:1');
SELECT cache_ext.invalidate('booking:*');
SELECT k, cache_ext.command('EXISTS', 'inv_fn:' || k) AS exists
FROM unnest(ARRAY['booking:1', 'booking:2', 'bookings', 'page:1']) k;
-- a prefix containing glob characters matches only itself
SET cache_ext.key_prefix = 'inv_fn:[x]*';
SELECT cache_ext.command('SET', k, 'cached')
FROM unnest(ARRAY['inv_fn:[x]*a', 'inv_fn:x_a', 'inv_fn:[x]other']) k;
SELECT cache_ext.invalidate('a*');
SELECT k, cache_ext.command('EXISTS', k) AS exists
FROM unnest(ARRAY['inv_fn:[x]*a', 'inv_fn:x_a', 'inv_fn:[x]other']) k;
SET cache_ext.key_prefix = 'inv_fn:';

-- errors
\set VERBOSITY default
SELECT cache_ext.command('SET', 'inv_fn:not_a_number', 'hello');
SELECT cache_ext.version('not_a_number');
SELECT cache_ext.command('SET', 'inv_fn:too_big', '99999999999999999999');
SELECT cache_ext.version('too_big');
SELECT cache_ext.command('RPUSH', 'inv_fn:a_list', 'x');
SELECT cache_ext.version('a_list');
SELECT cache_ext.bump(NULL);
SELECT cache_ext.bump('');
SELECT cache_ext.bump_user(NULL);
SELECT cache_ext.invalidate(NULL);
SELECT cache_ext.version(NULL);
SELECT cache_ext.user_version(NULL);

SELECT cache_ext.invalidate('*');
