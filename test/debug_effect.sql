-- test/debug_effect.sql — owns: the test-only SQL door to the pending set.
-- public.eff(kind, key [, value]) adds an effect exactly as a trigger
-- would (kind bump, delete, delete_pattern, bump_pattern, set or raise; the
-- key gets cache_ext.key_prefix): src/pending.c, cache_ext_debug_add_effect.
-- It is no part of the installed API.  Included by the regression tests
-- (\i test/debug_effect.sql) and bound by the fault scripts
-- (sb_bind_debug_effect, test/lib.sh).
CREATE OR REPLACE FUNCTION public.eff(kind text, key text, value text DEFAULT NULL)
RETURNS void LANGUAGE C AS 'cache_ext', 'cache_ext_debug_add_effect';
