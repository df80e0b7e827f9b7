--
-- setup: create the extension and start from an empty Redis database.
-- Every other test assumes this ran first.
--
CREATE EXTENSION cache_ext;
SELECT cache_ext.command('FLUSHDB');
SELECT cache_ext.ping();
-- the library is preloaded by the test server (the background worker needs it)
SELECT setting ~ 'cache_ext' AS preloaded FROM pg_settings WHERE name = 'shared_preload_libraries';
