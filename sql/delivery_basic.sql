-- Delivery after commit: aborted and rolled-back work sends nothing,
-- effects are deduplicated per transaction, delivered before COMMIT returns
-- (read-your-writes), and lost version keys come back from the clock.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS cache_ext;
-- A test-only door to the pending set, as a trigger would use it.
\i test/debug_effect.sql
CREATE FUNCTION pg_temp.clean() RETURNS void LANGUAGE sql AS $$
  SELECT cache_ext.command('DEL', k)
  FROM unnest(ARRAY['dlv:a','dlv:b','dlv:c','dlv:d','dlv:s','dlv:s2','dlv:r',
                    'dlv:v','dlv:w','dlv:h','dlv:junk','dlv:x1','dlv:x2']) k;
$$;
SELECT pg_temp.clean();

-- 1. an aborted transaction sends nothing
BEGIN;
SELECT public.eff('bump', 'dlv:a');
SELECT public.eff('set', 'dlv:s', 'never');
SELECT count(*) FROM cache_ext.pending_effects();
ROLLBACK;
SELECT cache_ext.get('dlv:a') IS NULL AS not_bumped, cache_ext.get('dlv:s') IS NULL AS not_set;
SELECT count(*) FROM cache_ext.pending_effects();

-- an error aborts too
BEGIN;
SELECT public.eff('bump', 'dlv:a');
SELECT 1/0;
COMMIT;
SELECT cache_ext.get('dlv:a') IS NULL AS not_bumped;

-- 2. savepoints: rolled back sends nothing, released sends
BEGIN;
SELECT public.eff('bump', 'dlv:a');
SAVEPOINT s1;
SELECT public.eff('bump', 'dlv:b');
SELECT public.eff('bump', 'dlv:a');   -- already there at level 1: stays
ROLLBACK TO s1;
SAVEPOINT s2;
SELECT public.eff('bump', 'dlv:c');
SAVEPOINT s3;
SELECT public.eff('bump', 'dlv:d');
RELEASE s3;
ROLLBACK TO s2;                         -- takes dlv:d (released into s2) too
SAVEPOINT s4;
SELECT public.eff('bump', 'dlv:c');
RELEASE s4;
SELECT kind, key, level FROM cache_ext.pending_effects() ORDER BY key;
COMMIT;
SELECT cache_ext.get('dlv:a') IS NOT NULL AS a_bumped,
       cache_ext.get('dlv:b') IS NULL AS b_not,
       cache_ext.get('dlv:c') IS NOT NULL AS c_bumped,
       cache_ext.get('dlv:d') IS NULL AS d_not;

-- values: a rolled-back savepoint restores the previous value
BEGIN;
SELECT public.eff('set', 'dlv:s', 'one');
SAVEPOINT s1;
SELECT public.eff('set', 'dlv:s', 'two');
SELECT public.eff('raise', 'dlv:r', '50');
SAVEPOINT s2;
SELECT public.eff('set', 'dlv:s', 'three');
RELEASE s2;
SELECT kind, key, value, level FROM cache_ext.pending_effects() ORDER BY key;
ROLLBACK TO s1;
SELECT kind, key, value, level FROM cache_ext.pending_effects() ORDER BY key;
SELECT public.eff('raise', 'dlv:r', '7');
SELECT public.eff('raise', 'dlv:r', '9');
SELECT public.eff('raise', 'dlv:r', '8');
COMMIT;
SELECT cache_ext.get('dlv:s') AS s, cache_ext.get('dlv:r') AS r;

-- exception blocks are subtransactions too
DO $$
BEGIN
  PERFORM public.eff('set', 'dlv:s2', 'kept');
  BEGIN
    PERFORM public.eff('set', 'dlv:s2', 'lost');
    PERFORM public.eff('bump', 'dlv:x1');
    RAISE EXCEPTION 'roll back the block';
  EXCEPTION WHEN OTHERS THEN NULL;
  END;
  BEGIN
    PERFORM public.eff('bump', 'dlv:x2');
  END;
END $$;
SELECT cache_ext.get('dlv:s2') AS s2, cache_ext.get('dlv:x1') IS NULL AS x1_not,
       cache_ext.get('dlv:x2') IS NOT NULL AS x2_bumped;

-- setting the same key for every row of a bulk statement keeps one value
BEGIN;
SELECT count(public.eff('set', 'dlv:s', repeat('v', 1000) || g)) FROM generate_series(1, 20000) g;
SELECT total_bytes < 1024 * 1024 AS flat FROM pg_backend_memory_contexts
WHERE name = 'cache_ext pending effects';
SELECT length(value) FROM cache_ext.pending_effects();
ROLLBACK;

-- 3. raise: only ever upwards, exact over the whole int64 range
SELECT cache_ext.command('SET', 'dlv:r', '9223372036854775806');
SELECT public.eff('raise', 'dlv:r', '9223372036854775807');
SELECT cache_ext.get('dlv:r');
SELECT public.eff('raise', 'dlv:r', '-5');
SELECT cache_ext.get('dlv:r');
SELECT cache_ext.command('SET', 'dlv:r', '-10');
SELECT public.eff('raise', 'dlv:r', '-9');
SELECT cache_ext.get('dlv:r');

-- 4. once per distinct key per transaction: 100,000 rows, 1,000 keys,
-- 1,000 INCRs run by Redis (INFO commandstats), in one round trip
CREATE FUNCTION pg_temp.incr_calls() RETURNS bigint LANGUAGE sql AS $$
  SELECT coalesce(sum(m[1]::bigint), 0)
  FROM regexp_matches(cache_ext.command('INFO', 'commandstats'),
                      'cmdstat_incr:calls=([0-9]+)', 'g') m
$$;
CREATE TEMP TABLE big AS SELECT g AS id, g % 1000 AS uid FROM generate_series(1, 100000) g;
SELECT cache_ext.reset_stats();
SELECT pg_temp.incr_calls() AS calls0 \gset
BEGIN;
SELECT count(public.eff('bump', 'dlv:u:' || uid)) FROM big;
SELECT count(*) AS distinct_pending FROM cache_ext.pending_effects();
COMMIT;
SELECT pg_temp.incr_calls() - :calls0 AS incrs;
SELECT effects_committed, effects_sent FROM cache_ext.stats;
SELECT count(*) FILTER (WHERE cache_ext.get('dlv:u:' || uid)::bigint > 1600000000000000) AS bumped
FROM generate_series(0, 999) uid;
SELECT public.eff('delete_pattern', 'dlv:u:*');
SELECT cache_ext.command('EXISTS', 'dlv:u:1', 'dlv:u:999');

-- 5. a bump increments an existing version key; a missing one (evicted,
-- flushed, failed over) is re-created from the clock in microseconds
-- (SET NX before INCR), never from 1, so old entries cannot come back
SELECT cache_ext.command('SET', 'dlv:v', '41');
SELECT public.eff('bump', 'dlv:v');
SELECT cache_ext.get('dlv:v');
SELECT cache_ext.command('DEL', 'dlv:v');       -- evicted, flushed, failed over
SELECT public.eff('bump', 'dlv:v');
SELECT cache_ext.get('dlv:v')::bigint > 1600000000000000 AS from_clock,
       cache_ext.get('dlv:v')::bigint < 4000000000000000 AS sane;
SELECT cache_ext.get('dlv:v') AS v1 \gset
SELECT public.eff('bump', 'dlv:v');
SELECT cache_ext.get('dlv:v')::bigint = :v1 + 1 AS incremented;

-- 6. Redis refusing an effect: committed anyway, WARNING, counted, not
-- retried.  (A version key holding text is no refusal: the bump re-creates
-- it from the clock, see security_fallback.)
SET client_min_messages = warning;
SELECT cache_ext.reset_stats();
SELECT cache_ext.command('HSET', 'dlv:h', 'f', 'v');
SELECT public.eff('bump', 'dlv:h');
SELECT cache_ext.command('SET', 'dlv:w', 'garbage');
SELECT public.eff('bump', 'dlv:w');
SELECT cache_ext.command('SET', 'dlv:junk', 'abc');
SELECT public.eff('raise', 'dlv:junk', '3');
SELECT effects_failed, effects_retry_queued, last_error IS NOT NULL AS has_error FROM cache_ext.stats;
SELECT cache_ext.get('dlv:junk'), cache_ext.get('dlv:w')::bigint > 1600000000000000 AS w_from_clock;

-- 7. delete, patterns
SELECT cache_ext.command('SET', 'dlv:a', 'x');
SELECT public.eff('delete', 'dlv:a');
SELECT cache_ext.get('dlv:a') IS NULL AS deleted;
SELECT cache_ext.command('MSET', 'dlv:p:1', '1', 'dlv:p:2', '5', 'dlv:p:3', 'text', 'dlv:q:1', '1');
-- a pattern bump (TRUNCATE, fallback) also jumps to the clock if that is
-- larger, and leaves values that are not integers alone
SELECT public.eff('bump_pattern', 'dlv:p:*');
SELECT cache_ext.get('dlv:p:1')::bigint > 1600000000000000 AS p1,
       cache_ext.get('dlv:p:2')::bigint > 1600000000000000 AS p2,
       cache_ext.get('dlv:p:3') AS p3, cache_ext.get('dlv:q:1') AS q1;
SELECT public.eff('delete_pattern', 'dlv:p:*');
SELECT cache_ext.command('EXISTS', 'dlv:p:1', 'dlv:p:2', 'dlv:p:3', 'dlv:q:1');
SELECT cache_ext.command('DEL', 'dlv:q:1');

-- 8. bad input
SELECT public.eff('bump', repeat('x', 5000));
SELECT public.eff('bump', '');
SELECT public.eff('set', 'dlv:s', NULL);
SELECT public.eff('set', 'dlv:s', repeat('x', 600000));
SELECT public.eff('frobnicate', 'dlv:s');

-- the statistics view answers, every column documented; its scope is the
-- cluster's exactly when the library is preloaded (setup checked which)
SELECT scope = CASE WHEN current_setting('shared_preload_libraries') ~ 'cache_ext'
                    THEN 'cluster' ELSE 'backend' END AS scope_matches,
       delivery, queue_depth >= 0 AS ok
FROM cache_ext.stats;
SELECT count(*) AS undocumented
FROM pg_attribute
WHERE attrelid = 'cache_ext.stats'::regclass AND attnum > 0
  AND col_description(attrelid, attnum) IS NULL;
-- Without the library preloaded the statistics and the retry list belong
-- to the backend: a parallel worker would report its own, so the function
-- runs in the leader only (and, without arguments, is not strict).
SELECT proparallel, proisstrict FROM pg_proc
WHERE oid = 'cache_ext.delivery_stats()'::regprocedure;

SELECT pg_temp.clean();
