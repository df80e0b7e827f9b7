--
-- security_poison: a poisoned version key (at the 64-bit maximum, a number
-- beyond it, or text) blocks neither a bump nor the fallback invalidation
-- (issue 9, finding 9): it is re-created from the clock, with a LOG line.
--
SELECT cache_ext.command('FLUSHDB');
SET cache_ext.key_prefix = 'b:';
SELECT cache_ext.command('SET', 'b:cache_user_version:99', '9223372036854775807');
SELECT cache_ext.command('SET', 'b:cache_user_version:98', 'not a number');
SELECT cache_ext.reset_stats();
SET client_min_messages = log;
SELECT cache_ext.bump('cache_user_version:99');
SELECT cache_ext.bump('cache_user_version:98');
RESET client_min_messages;
SELECT k, cache_ext.version(k) BETWEEN 1600000000000000 AND 9000000000000000 AS from_clock
  FROM unnest(ARRAY['cache_user_version:99', 'cache_user_version:98']) k ORDER BY k;
SELECT effects_failed FROM cache_ext.stats;
SELECT cache_ext.command('SET', 'b:cache_user_version:99', '9223372036854775807');
SELECT cache_ext.command('SET', 'b:cache_user_version:97', '99999999999999999999');
-- the fallback bumps cache_user_version:* with the session's prefix
SET client_min_messages = warning;
SELECT cache_ext.run_fallback();
RESET client_min_messages;
RESET cache_ext.key_prefix;
SELECT k, cache_ext.command('GET', k)::numeric BETWEEN 1600000000000000 AND 9000000000000000 AS from_clock
  FROM unnest(ARRAY['b:cache_user_version:99', 'b:cache_user_version:97']) k ORDER BY k;

SELECT cache_ext.command('FLUSHDB');
