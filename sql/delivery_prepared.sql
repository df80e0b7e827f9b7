-- PREPARE TRANSACTION / COMMIT PREPARED: the effects are kept in
-- cache_ext.prepared_effects by the prepared transaction itself and
-- delivered when it commits (by the session running COMMIT PREPARED), never
-- when it is rolled back.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS cache_ext;
\i test/debug_effect.sql
SELECT cache_ext.command('DEL', 'dlv:2pc:a', 'dlv:2pc:b', 'dlv:2pc:s');
DELETE FROM cache_ext.prepared_effects;
SELECT cache_ext.reset_stats();

BEGIN;
SELECT public.eff('bump', 'dlv:2pc:a');
SELECT public.eff('bump', 'dlv:2pc:a');
SELECT public.eff('set', 'dlv:2pc:s', 'prepared value');
PREPARE TRANSACTION 'dlv_2pc_1';
-- nothing sent, nothing visible yet
SELECT cache_ext.get('dlv:2pc:a') IS NULL AS not_yet, cache_ext.get('dlv:2pc:s') IS NULL AS not_yet;
SELECT count(*) AS visible_rows FROM cache_ext.prepared_effects;
SELECT effects_prepared, effects_committed FROM cache_ext.stats;

BEGIN;
SELECT public.eff('bump', 'dlv:2pc:b');
PREPARE TRANSACTION 'dlv_2pc_2';

COMMIT PREPARED 'dlv_2pc_1';
SELECT cache_ext.get('dlv:2pc:a') IS NOT NULL AS bumped, cache_ext.get('dlv:2pc:s') AS s;
ROLLBACK PREPARED 'dlv_2pc_2';
SELECT cache_ext.get('dlv:2pc:b') IS NULL AS not_bumped;
SELECT count(*) AS rows_left FROM cache_ext.prepared_effects;

-- a prepared transaction without effects stores nothing
BEGIN;
SELECT 1;
PREPARE TRANSACTION 'dlv_2pc_3';
COMMIT PREPARED 'dlv_2pc_3';
SELECT count(*) AS rows_left FROM cache_ext.prepared_effects;

-- rows a COMMIT PREPARED could not pick up are delivered by
-- cache_ext.deliver_prepared() (or the background worker)
INSERT INTO cache_ext.prepared_effects (neffects, effects)
  SELECT 0, '\x'::bytea;
SELECT cache_ext.deliver_prepared();
SELECT count(*) AS rows_left FROM cache_ext.prepared_effects;

SELECT cache_ext.command('DEL', 'dlv:2pc:a', 'dlv:2pc:b', 'dlv:2pc:s');
