-- 30_counters.sql: counters that never hand out the same number twice.
--
-- counter_next / counter_sync / counter_get are one atomic Lua step each in
-- Redis; assign_number is the BEFORE INSERT OR UPDATE row trigger that
-- numbers rows (invoices) from them, with the table itself as the floor so
-- that a Redis that lost or rolled back a counter can never make a number
-- come around again.  gapless_counters holds the counters of the 'gapless'
-- mode, allocated under a PostgreSQL row lock.

CREATE FUNCTION cache_ext.counter_next(key text, floor bigint DEFAULT 0)
RETURNS bigint
LANGUAGE c VOLATILE PARALLEL UNSAFE
AS 'MODULE_PATHNAME', 'cache_ext_counter_next';

COMMENT ON FUNCTION cache_ext.counter_next(text, bigint) IS
'Next value of the Redis counter key (cache_ext.key_prefix applies), in one atomic step: a counter that is missing or not above floor is first raised to floor, then incremented, so the result is always greater than floor.';

CREATE FUNCTION cache_ext.counter_sync(key text, value bigint)
RETURNS bigint
LANGUAGE c VOLATILE PARALLEL UNSAFE
AS 'MODULE_PATHNAME', 'cache_ext_counter_sync';

COMMENT ON FUNCTION cache_ext.counter_sync(text, bigint) IS
'Atomically raise the Redis counter key to value when it is lower (or missing); returns the counter afterwards.  Never lowers a counter.';

CREATE FUNCTION cache_ext.counter_get(key text)
RETURNS bigint
LANGUAGE c VOLATILE PARALLEL UNSAFE
AS 'MODULE_PATHNAME', 'cache_ext_counter_get';

COMMENT ON FUNCTION cache_ext.counter_get(text) IS
'Current value of the Redis counter key, or NULL when the key does not exist.';

CREATE FUNCTION cache_ext.assign_number()
RETURNS trigger
LANGUAGE c
AS 'MODULE_PATHNAME', 'cache_ext_assign_number';

COMMENT ON FUNCTION cache_ext.assign_number() IS
'BEFORE INSERT OR UPDATE row trigger, arguments (column, key template [, mode]): fills a NULL number column from a counter named by the template (mode ''cache'', the default: the Redis counter, never below the largest number already in the table for the same template columns; mode ''gapless'': cache_ext.gapless_counters under a row lock) and syncs the counter to explicit numbers after commit.  Needs a unique index over the template columns and the number column.';

-- One gapless counter per (table, key prefix, rendered key): a trigger only
-- ever writes the rows of its own table under the key prefix in force, so
-- another table using the same key template cannot touch them.  Rows with
-- tbl 0 come only from restoring a dump of cache_ext 0.1.0 (whose table had
-- just key and value); a table's first number for a key counts from them too.
-- tbl is a regclass (pg_upgrade accepts regclass columns; pg_dump writes
-- the qualified name).
CREATE TABLE cache_ext.gapless_counters (
	tbl		regclass NOT NULL DEFAULT 0,
	prefix	text NOT NULL DEFAULT '',
	key		text NOT NULL,
	value	bigint NOT NULL,
	PRIMARY KEY (tbl, prefix, key)
);

COMMENT ON TABLE cache_ext.gapless_counters IS
'Counters of assign_number''s gapless mode, one row per numbered table, key prefix and rendered key template.  Numbers are taken under this row''s lock, so they commit or roll back with the row that uses them.  Changed only by the trigger, which runs its statements as this table''s owner, and by the event trigger that forgets the counters of dropped tables.';

COMMENT ON COLUMN cache_ext.gapless_counters.tbl IS
'The numbered table (the partitioned table for the partitions of one); 0 (-) for a counter of cache_ext 0.1.0 restored from a dump (keyed by the rendered key alone), which every table whose template renders that key counts from.';

COMMENT ON COLUMN cache_ext.gapless_counters.prefix IS
'The cache_ext.key_prefix in force when the row was numbered.';

COMMENT ON COLUMN cache_ext.gapless_counters.key IS
'The rendered key template, e.g. invoice_seq:2024 (the Redis key without cache_ext.key_prefix).';

COMMENT ON COLUMN cache_ext.gapless_counters.value IS
'The last number handed out (or synced from an explicit number) for this key.';

-- Counter state is data, not configuration: pg_dump must keep it.
SELECT pg_catalog.pg_extension_config_dump('cache_ext.gapless_counters', '');

REVOKE ALL ON cache_ext.gapless_counters FROM PUBLIC;

-- Forget the counters of dropped tables (a new table that reused the OID
-- would otherwise continue the old numbering).  SECURITY DEFINER: whoever
-- drops a table need not be able to write gapless_counters.
CREATE FUNCTION cache_ext.gapless_counters_dropped()
RETURNS event_trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	DELETE FROM cache_ext.gapless_counters g
	 USING pg_catalog.pg_event_trigger_dropped_objects() d
	 WHERE d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass
	   AND d.objsubid OPERATOR(pg_catalog.=) 0
	   AND g.tbl::pg_catalog.oid OPERATOR(pg_catalog.=) d.objid;
END
$$;
COMMENT ON FUNCTION cache_ext.gapless_counters_dropped() IS
'Event trigger function: removes the gapless counters of dropped tables.';

CREATE EVENT TRIGGER cache_ext_gapless_counters_dropped ON sql_drop
	EXECUTE FUNCTION cache_ext.gapless_counters_dropped();
COMMENT ON EVENT TRIGGER cache_ext_gapless_counters_dropped IS
'Keeps cache_ext.gapless_counters free of dropped tables.';

-- Nothing for PUBLIC (see 00_schema.sql).  A role creating assign_number
-- triggers needs EXECUTE on it; the trigger itself then runs for whoever
-- inserts, with no further grant.
REVOKE ALL ON FUNCTION cache_ext.counter_next(text, bigint) FROM PUBLIC;
REVOKE ALL ON FUNCTION cache_ext.counter_sync(text, bigint) FROM PUBLIC;
REVOKE ALL ON FUNCTION cache_ext.counter_get(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION cache_ext.assign_number() FROM PUBLIC;
REVOKE ALL ON FUNCTION cache_ext.gapless_counters_dropped() FROM PUBLIC;

-- The application role numbers its own tables; administrators may do all
-- an application may, and read the gapless counters (to check them after an
-- update, README "Security of the counters").
GRANT EXECUTE ON FUNCTION cache_ext.counter_next(text, bigint) TO cache_ext_app;
GRANT EXECUTE ON FUNCTION cache_ext.counter_sync(text, bigint) TO cache_ext_app;
GRANT EXECUTE ON FUNCTION cache_ext.counter_get(text) TO cache_ext_app;
GRANT EXECUTE ON FUNCTION cache_ext.assign_number() TO cache_ext_app;
GRANT EXECUTE ON FUNCTION
  cache_ext.counter_next(text, bigint), cache_ext.counter_sync(text, bigint),
  cache_ext.counter_get(text), cache_ext.assign_number()
  TO cache_ext_admin;
GRANT SELECT ON TABLE cache_ext.gapless_counters TO cache_ext_admin;
