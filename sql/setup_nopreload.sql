--
-- setup_nopreload: setup (see setup.sql) for the run whose server does not
-- preload the library (make installcheck PRELOADED=no): everything must
-- work when the library is merely loaded by CREATE EXTENSION.
--
CREATE EXTENSION cache_ext;
SELECT cache_ext.command('FLUSHDB');
SELECT cache_ext.ping();
-- the library is not preloaded by the test server
SELECT setting ~ 'cache_ext' AS preloaded FROM pg_settings WHERE name = 'shared_preload_libraries';
