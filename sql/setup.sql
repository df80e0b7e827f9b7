--
-- setup: create the extension and start from an empty Redis database.
-- Every other test assumes this ran first.  This run's server preloads the
-- library (the background worker needs it); setup_nopreload is the first
-- test of the run without (make installcheck PRELOADED=no).
--
CREATE EXTENSION cache_ext;
SELECT cache_ext.command('FLUSHDB');
SELECT cache_ext.ping();
-- the library is preloaded by the test server (the background worker needs it)
SELECT setting ~ 'cache_ext' AS preloaded FROM pg_settings WHERE name = 'shared_preload_libraries';
