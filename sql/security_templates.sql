--
-- security_templates: a tenant cannot steer what TRUNCATE and the fallback
-- invalidation reach (issue 9, finding 5).  Key templates of invalidation
-- triggers start with literal text, may not reach the cache_enabled mirror
-- or the counters of their own table, and only the triggers of superusers
-- and cache_ext_admin members feed the fallback, each with the key prefix
-- in force when it was created.
--
SELECT cache_ext.command('FLUSHDB');
CREATE ROLE sec_tenant;
GRANT cache_ext_app TO sec_tenant;
GRANT CREATE ON SCHEMA public TO sec_tenant;
-- the tenant's prefix (ALTER ROLE sec_tenant SET ... in production)
SET cache_ext.key_prefix = 'ten:';
SET ROLE sec_tenant;
CREATE TABLE public.sec_items (id int, owner_id int, year int, no int);
CREATE UNIQUE INDEX ON public.sec_items (year, no);
\set VERBOSITY default
-- a template must start with literal text: '{id}' or '*...' could be any key
CREATE TRIGGER t1 AFTER INSERT ON sec_items
	FOR EACH ROW EXECUTE FUNCTION cache_ext.bump_version('{id}');
CREATE TRIGGER t2 AFTER INSERT ON sec_items
	FOR EACH ROW EXECUTE FUNCTION cache_ext.invalidate_keys('item:{id}', '*:{id}');
CREATE TRIGGER t3 AFTER TRUNCATE ON sec_items
	FOR EACH STATEMENT EXECUTE FUNCTION cache_ext.invalidate_on_truncate('{owner_id}:version');
CREATE TRIGGER t4 AFTER INSERT ON sec_items
	FOR EACH ROW EXECUTE FUNCTION cache_ext.invalidate_keys('?tem:*');
-- a version namespace may not reach the cache_enabled mirror
CREATE TRIGGER t5 AFTER INSERT ON sec_items
	FOR EACH ROW EXECUTE FUNCTION cache_ext.bump_version('cache_user_{owner_id}');
CREATE TRIGGER t6 AFTER INSERT ON sec_items
	FOR EACH ROW EXECUTE FUNCTION cache_ext.invalidate_keys('cache_user_enabled:{owner_id}');
-- nor the counters of its table (TRUNCATE would turn them into clock values)
CREATE TRIGGER sec_items_no BEFORE INSERT ON sec_items
	FOR EACH ROW EXECUTE FUNCTION cache_ext.assign_number('no', 'invoice_seq:{year}');
CREATE TRIGGER t7 AFTER TRUNCATE ON sec_items
	FOR EACH STATEMENT EXECUTE FUNCTION cache_ext.invalidate_on_truncate('invoice_seq:{year}');
CREATE TRIGGER t8 AFTER INSERT ON sec_items
	FOR EACH ROW EXECUTE FUNCTION cache_ext.bump_version('invoice{year}');
-- and the other way round: a counter whose keys a version namespace of the
-- table reaches is refused
CREATE TABLE public.sec_orders (id int, year int, no int);
CREATE TRIGGER sec_orders_bump AFTER INSERT ON sec_orders
	FOR EACH ROW EXECUTE FUNCTION cache_ext.bump_version('order_version:{id}');
CREATE TRIGGER sec_orders_no BEFORE INSERT ON sec_orders
	FOR EACH ROW EXECUTE FUNCTION cache_ext.assign_number('no', 'order_{year}');
\set VERBOSITY terse
-- a trigger of a role without cache_ext_admin fires as usual, but the
-- fallback does not reach its namespaces (it says so when created)
CREATE TRIGGER sec_items_bump AFTER INSERT OR UPDATE OR DELETE ON sec_items
	FOR EACH ROW EXECUTE FUNCTION cache_ext.bump_version('cache_item_version:{id}');
BEGIN;
INSERT INTO sec_items VALUES (1, 7, 2024, 1);
SELECT kind, key FROM cache_ext.pending_effects() ORDER BY 1, 2;
COMMIT;
SELECT cache_ext.version('cache_item_version:1') IS NOT NULL AS bumped;
-- patterns: '*' or a glob first are refused to roles without cache_ext_admin
SELECT cache_ext.invalidate('*');
SELECT cache_ext.invalidate('?tem:*');
SELECT cache_ext.invalidate('[ab]*');
BEGIN;
SELECT cache_ext.invalidate('item:*'), cache_ext.invalidate('\*literal*');
SELECT kind, key FROM cache_ext.pending_effects() ORDER BY 1, 2;
ROLLBACK;
RESET ROLE;
SELECT kind, pattern, key_prefix, reached FROM cache_ext.namespace_patterns()
 WHERE source LIKE '%sec_items%' ORDER BY 1, 2;
-- an admin's trigger is registered, with the key prefix in force
CREATE TRIGGER sec_items_admin AFTER INSERT OR UPDATE OR DELETE ON sec_items
	FOR EACH ROW EXECUTE FUNCTION cache_ext.bump_version('cache_owner_version:{owner_id}');
SELECT kind, pattern, key_prefix, trigger_name, registered_by = current_user AS by_me
  FROM cache_ext.trigger_namespaces WHERE trigger_name LIKE '%sec_items%';
SELECT kind, pattern, key_prefix, reached FROM cache_ext.namespace_patterns()
 WHERE source LIKE '%sec_items%' ORDER BY 1, 2;
-- a trigger created while the check was off refuses to fire
ALTER EVENT TRIGGER cache_ext_check_templates DISABLE;
CREATE TRIGGER sec_sneaky AFTER INSERT ON sec_items
	FOR EACH ROW EXECUTE FUNCTION cache_ext.bump_version('{id}');
ALTER EVENT TRIGGER cache_ext_check_templates ENABLE;
INSERT INTO sec_items VALUES (2, 7, 2024, 2);
DROP TRIGGER sec_sneaky ON sec_items;
-- superusers and cache_ext_admin members may invalidate a whole prefix
BEGIN;
SELECT cache_ext.invalidate('*');
SELECT kind, key FROM cache_ext.pending_effects() ORDER BY 1, 2;
ROLLBACK;
-- clean up
RESET cache_ext.key_prefix;
DELETE FROM cache_ext.trigger_namespaces WHERE trigger_name LIKE '%sec_items%';
DROP TABLE sec_items, sec_orders;
REVOKE CREATE ON SCHEMA public FROM sec_tenant;
DROP ROLE sec_tenant;
SELECT cache_ext.command('FLUSHDB');
