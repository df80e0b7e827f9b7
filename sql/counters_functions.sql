--
-- counters_functions: counter_next / counter_sync / counter_get
--
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS cache_ext;
RESET client_min_messages;
SELECT cache_ext.command('FLUSHDB');

-- a missing counter reads as NULL
SELECT cache_ext.counter_get('ctr:a') IS NULL AS absent;

-- counter_next starts above the floor (0 by default) and increments
SELECT cache_ext.counter_next('ctr:a');
SELECT cache_ext.counter_next('ctr:a');
SELECT cache_ext.counter_get('ctr:a');

-- a floor above the counter raises it first: the result is floor + 1
SELECT cache_ext.counter_next('ctr:a', 100);
-- a floor below the counter changes nothing: plain increment
SELECT cache_ext.counter_next('ctr:a', 5);
-- a floor equal to the counter: still greater than the floor
SELECT cache_ext.counter_next('ctr:a', 102);
-- negative floors work too
SELECT cache_ext.counter_next('ctr:neg', -10);

-- values above 2^53 stay exact (no Lua doubles on the way)
SELECT cache_ext.counter_next('ctr:big', 9007199254740993);
SELECT cache_ext.counter_next('ctr:big', 9223372036854775805);
SELECT cache_ext.counter_next('ctr:big');
SELECT cache_ext.counter_next('ctr:big');
SELECT cache_ext.counter_next('ctr:x', 9223372036854775807);

-- counter_sync raises, never lowers, and returns the counter
SELECT cache_ext.counter_sync('ctr:s', 10);
SELECT cache_ext.counter_sync('ctr:s', 5);
SELECT cache_ext.counter_sync('ctr:s', 11);
SELECT cache_ext.counter_get('ctr:s');
SELECT cache_ext.command('GET', 'ctr:s');
SELECT cache_ext.counter_sync('ctr:s2', -3);

-- the application's raw INCR and counter_next share the counter
SELECT cache_ext.command('INCR', 'ctr:s');
SELECT cache_ext.counter_next('ctr:s', 0);

-- cache_ext.key_prefix applies
SET cache_ext.key_prefix = 'app:1:';
SELECT cache_ext.counter_next('ctr:p', 41);
SELECT cache_ext.counter_get('ctr:p');
RESET cache_ext.key_prefix;
SELECT cache_ext.command('GET', 'app:1:ctr:p');
SELECT cache_ext.counter_get('ctr:p') IS NULL AS unprefixed_absent;

-- an expiry the application gave its counter is kept
SELECT cache_ext.command('SET', 'ctr:ttl', '5', 'EX', '1000');
SELECT cache_ext.counter_next('ctr:ttl', 50);
SELECT cache_ext.command('TTL', 'ctr:ttl')::int > 0 AS ttl_kept;

-- a key that does not hold a 64-bit integer: clear errors, key untouched
SELECT cache_ext.command('SET', 'ctr:bad', 'twelve');
SELECT cache_ext.counter_next('ctr:bad');
SELECT cache_ext.counter_sync('ctr:bad', 1);
SELECT cache_ext.counter_get('ctr:bad');
SELECT cache_ext.command('GET', 'ctr:bad');
SELECT cache_ext.command('SET', 'ctr:zeros', '007');
SELECT cache_ext.counter_next('ctr:zeros', 10);
SELECT cache_ext.command('SET', 'ctr:huge', '9223372036854775808');
SELECT cache_ext.counter_next('ctr:huge');
SELECT cache_ext.command('SET', 'ctr:float', '1.5');
SELECT cache_ext.counter_sync('ctr:float', 2);
SELECT cache_ext.command('HSET', 'ctr:hash', 'f', '1');
SELECT cache_ext.counter_next('ctr:hash');
SELECT cache_ext.counter_get('ctr:hash');

-- NULL and empty inputs
SELECT cache_ext.counter_next(NULL);
SELECT cache_ext.counter_next('ctr:a', NULL);
SELECT cache_ext.counter_sync('ctr:a', NULL);
SELECT cache_ext.counter_get(NULL);
SELECT cache_ext.counter_next('');

-- the script is re-sent when Redis forgot it (SCRIPT FLUSH, failover)
SELECT cache_ext.command('SCRIPT', 'FLUSH');
SELECT cache_ext.counter_next('ctr:a');
