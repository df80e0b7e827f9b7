--
-- delivery_records: the serialized effect records (the bytes that go to
-- cache_ext.prepared_effects, the WAL, the shared queue and the local retry
-- list).
--
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS cache_ext;
CREATE EXTENSION IF NOT EXISTS pageinspect;
\i test/debug_effect.sql
SELECT cache_ext.command('DEL', 'dlv:rec:k', 'dlv:rec:kzzzz', 'dlv:rec:' || repeat('l', 200));
DELETE FROM cache_ext.prepared_effects;

-- The effects column of the row a prepared transaction stored (read from
-- the page: the row is not visible before COMMIT PREPARED), without its
-- varlena header.
CREATE FUNCTION pg_temp.stored_effects(gid text) RETURNS bytea LANGUAGE sql AS $$
  SELECT CASE WHEN get_byte(raw, 0) & 1 = 1 THEN substring(raw FROM 2)
              ELSE substring(raw FROM 5) END
  FROM (SELECT (tuple_data_split('cache_ext.prepared_effects'::regclass, t_data,
                                 t_infomask, t_infomask2, t_bits))[4] AS raw
        FROM heap_page_items(get_raw_page('cache_ext.prepared_effects', 0))
        WHERE t_xmin::text = (SELECT transaction::text FROM pg_prepared_xacts
                              WHERE gid = $1)) s
$$;

-- A record is MAXALIGN'd: header (40 bytes), key, NUL, value, NUL, then
-- padding, which must be zero, not whatever the buffer held before.  The
-- first transaction leaves the bytes of a longer key (same record size)
-- where the second one's record is serialized.
BEGIN;
SELECT public.eff('bump', 'dlv:rec:kzzzz');
COMMIT;
BEGIN;
SELECT public.eff('bump', 'dlv:rec:k');
PREPARE TRANSACTION 'dlv_rec_1';
SELECT length(e) AS record_size,
       get_byte(e, 0) AS size_field,
       convert_from(substring(e FROM 41 FOR 9), 'SQL_ASCII') AS key,
       substring(e FROM 50) AS nuls_then_padding
  FROM pg_temp.stored_effects('dlv_rec_1') e;

-- COMMIT PREPARED reads the records back out of the bytea: a short one (1
-- byte varlena header) and a long one (4 bytes) start at addresses that are
-- not 8-byte aligned; they must be copied, not used in place (UBSan:
-- misaligned access).
COMMIT PREPARED 'dlv_rec_1';
SELECT cache_ext.get('dlv:rec:k') IS NOT NULL AS short_record_delivered;
BEGIN;
SELECT public.eff('bump', 'dlv:rec:' || repeat('l', 200));
SELECT public.eff('set', 'dlv:rec:k', 'value');
PREPARE TRANSACTION 'dlv_rec_2';
SELECT length(e) > 126 AS long_header FROM pg_temp.stored_effects('dlv_rec_2') e;
COMMIT PREPARED 'dlv_rec_2';
SELECT cache_ext.get('dlv:rec:' || repeat('l', 200)) IS NOT NULL AS long_record_delivered,
       cache_ext.get('dlv:rec:k') AS set_value;
SELECT count(*) AS rows_left FROM cache_ext.prepared_effects;

SELECT cache_ext.command('DEL', 'dlv:rec:k', 'dlv:rec:kzzzz', 'dlv:rec:' || repeat('l', 200));
DROP EXTENSION pageinspect;
