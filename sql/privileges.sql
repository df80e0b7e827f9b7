--
-- privileges: nothing in cache_ext is usable by PUBLIC.
--
SELECT p.oid::regprocedure AS executable_by_public
FROM pg_proc p
WHERE p.pronamespace = 'cache_ext'::regnamespace
  AND has_function_privilege('public', p.oid, 'EXECUTE')
ORDER BY 1;
SELECT has_schema_privilege('public', 'cache_ext', 'USAGE') AS public_schema_usage;
-- every object of the extension has a comment (the row types of its tables
-- and views, and their array types, are the relation's: PostgreSQL 17 lists
-- them as members too)
SELECT pg_describe_object(classid, objid, objsubid) AS uncommented
FROM pg_depend
WHERE refclassid = 'pg_extension'::regclass
  AND refobjid = (SELECT oid FROM pg_extension WHERE extname = 'cache_ext')
  AND deptype = 'e'
  AND obj_description(objid, (SELECT relname FROM pg_class WHERE oid = classid)) IS NULL
  AND NOT EXISTS (SELECT FROM pg_type t
				  LEFT JOIN pg_type e ON e.oid = t.typelem
				  JOIN pg_class c ON c.oid IN (t.typrelid, e.typrelid)
				  WHERE classid = 'pg_type'::regclass AND t.oid = objid
					AND c.relkind <> 'c')
ORDER BY 1;
-- an ordinary role gets a clear permission error
CREATE ROLE cache_ext_priv_nobody;
SET ROLE cache_ext_priv_nobody;
SELECT cache_ext.get('x');
RESET ROLE;
-- the event trigger that checks cache_ext trigger templates stays out of
-- the way of anyone's own CREATE TRIGGER (no grant needed)
CREATE TABLE priv_own (id int);
ALTER TABLE priv_own OWNER TO cache_ext_priv_nobody;
SET ROLE cache_ext_priv_nobody;
CREATE TRIGGER priv_own_trg BEFORE UPDATE ON priv_own
	FOR EACH ROW EXECUTE FUNCTION suppress_redundant_updates_trigger();
RESET ROLE;
DROP TABLE priv_own;
-- with the grant the README recommends (the role cache_ext_app), it works
CREATE ROLE cache_ext_priv_app;
GRANT cache_ext_app TO cache_ext_priv_app;
SET ROLE cache_ext_priv_app;
SELECT cache_ext.ping();
-- but the raw command stays reserved to superusers
SELECT cache_ext.command('PING');
RESET ROLE;
DROP ROLE cache_ext_priv_app, cache_ext_priv_nobody;
-- the sequences, tables and views of the extension are not PUBLIC's either
SELECT c.oid::regclass AS usable_by_public
FROM pg_class c
WHERE c.relnamespace = 'cache_ext'::regnamespace
  AND c.relkind IN ('r', 'v', 'S')
  AND (CASE WHEN c.relkind = 'S' THEN has_sequence_privilege('public', c.oid, 'USAGE, SELECT, UPDATE')
	   ELSE has_table_privilege('public', c.oid, 'SELECT, INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER') END)
ORDER BY 1;
