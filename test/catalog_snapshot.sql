-- test/catalog_snapshot.sql — owns: one text line per property of every
-- object of the installed cache_ext extension (what it is, how it is
-- defined, its privileges, its comment), without OIDs, sorted, so that two
-- databases can be compared with diff.  test/fault_upgrade.sh compares an
-- install updated from an older version with a fresh install this way.
-- Run with psql -X -At -f.
\pset footer off
WITH ext AS (
	SELECT e.oid, e.extnamespace FROM pg_catalog.pg_extension e
	 WHERE e.extname = 'cache_ext'
), members AS (
	SELECT d.classid, d.objid
	  FROM pg_catalog.pg_depend d, ext
	 WHERE d.refclassid = 'pg_catalog.pg_extension'::pg_catalog.regclass
	   AND d.refobjid = ext.oid AND d.deptype = 'e'
), lines AS (
	-- every member, by its identity
	SELECT pg_catalog.pg_describe_object(m.classid, m.objid, 0) AS obj,
		   'member' AS prop, '' AS val
	  FROM members m
	UNION ALL
	-- comments of members and of their columns
	SELECT pg_catalog.pg_describe_object(m.classid, m.objid, ds.objsubid),
		   'comment', ds.description
	  FROM members m
	  JOIN pg_catalog.pg_description ds
		ON ds.classoid = m.classid AND ds.objoid = m.objid
	UNION ALL
	-- functions and procedures: the whole definition, and who may run them
	SELECT p.oid::pg_catalog.regprocedure::text, 'definition',
		   pg_catalog.pg_get_functiondef(p.oid)
	  FROM members m JOIN pg_catalog.pg_proc p ON p.oid = m.objid
	 WHERE m.classid = 'pg_catalog.pg_proc'::pg_catalog.regclass
	UNION ALL
	SELECT p.oid::pg_catalog.regprocedure::text, 'acl',
		   (SELECT pg_catalog.string_agg(a::text, ' ' ORDER BY a::text)
			  FROM pg_catalog.unnest(p.proacl) a)
	  FROM members m JOIN pg_catalog.pg_proc p ON p.oid = m.objid
	 WHERE m.classid = 'pg_catalog.pg_proc'::pg_catalog.regclass
	UNION ALL
	-- relations: kind, privileges, columns, constraints, indexes, views
	SELECT c.oid::pg_catalog.regclass::text, 'relation',
		   c.relkind::text || ' acl=' ||
		   COALESCE((SELECT pg_catalog.string_agg(a::text, ' ' ORDER BY a::text)
					   FROM pg_catalog.unnest(c.relacl) a), '')
	  FROM members m JOIN pg_catalog.pg_class c ON c.oid = m.objid
	 WHERE m.classid = 'pg_catalog.pg_class'::pg_catalog.regclass
	UNION ALL
	SELECT c.oid::pg_catalog.regclass::text, 'column ' || a.attnum,
		   a.attname || ' ' || pg_catalog.format_type(a.atttypid, a.atttypmod) ||
		   CASE WHEN a.attnotnull THEN ' not null' ELSE '' END ||
		   COALESCE(' default ' || pg_catalog.pg_get_expr(ad.adbin, ad.adrelid), '')
	  FROM members m JOIN pg_catalog.pg_class c ON c.oid = m.objid
	  JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid
	  LEFT JOIN pg_catalog.pg_attrdef ad
		ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
	 WHERE m.classid = 'pg_catalog.pg_class'::pg_catalog.regclass
	   AND a.attnum > 0 AND NOT a.attisdropped
	UNION ALL
	SELECT co.conrelid::pg_catalog.regclass::text, 'constraint ' || co.conname,
		   pg_catalog.pg_get_constraintdef(co.oid)
	  FROM members m JOIN pg_catalog.pg_constraint co ON co.conrelid = m.objid
	 WHERE m.classid = 'pg_catalog.pg_class'::pg_catalog.regclass
	UNION ALL
	SELECT i.indrelid::pg_catalog.regclass::text, 'index',
		   pg_catalog.pg_get_indexdef(i.indexrelid)
	  FROM members m JOIN pg_catalog.pg_index i ON i.indrelid = m.objid
	 WHERE m.classid = 'pg_catalog.pg_class'::pg_catalog.regclass
	UNION ALL
	SELECT c.oid::pg_catalog.regclass::text, 'view',
		   pg_catalog.pg_get_viewdef(c.oid)
	  FROM members m JOIN pg_catalog.pg_class c ON c.oid = m.objid
	 WHERE m.classid = 'pg_catalog.pg_class'::pg_catalog.regclass
	   AND c.relkind = 'v'
	UNION ALL
	-- event triggers
	SELECT 'event trigger ' || t.evtname, 'definition',
		   t.evtevent || ' ' || t.evtfoid::pg_catalog.regproc::text || ' ' ||
		   t.evtenabled::text || ' ' || COALESCE(t.evttags::text, '')
	  FROM members m JOIN pg_catalog.pg_event_trigger t ON t.oid = m.objid
	 WHERE m.classid = 'pg_catalog.pg_event_trigger'::pg_catalog.regclass
	UNION ALL
	-- the schema
	SELECT 'schema ' || n.nspname, 'acl',
		   (SELECT pg_catalog.string_agg(a::text, ' ' ORDER BY a::text)
			  FROM pg_catalog.unnest(n.nspacl) a) ||
		   ' comment=' || COALESCE(pg_catalog.obj_description(n.oid, 'pg_namespace'), '')
	  FROM ext JOIN pg_catalog.pg_namespace n ON n.oid = ext.extnamespace
	UNION ALL
	-- what pg_dump dumps of the configuration tables
	SELECT 'extension cache_ext', 'config ' || c::pg_catalog.regclass::text,
		   COALESCE(cond, '')
	  FROM pg_catalog.pg_extension e,
		   LATERAL ROWS FROM (pg_catalog.unnest(e.extconfig), pg_catalog.unnest(e.extcondition)) AS u(c, cond)
	 WHERE e.extname = 'cache_ext'
	UNION ALL
	-- the privileges the extension script granted (pg_dump's baseline)
	SELECT pg_catalog.pg_describe_object(ip.classoid, ip.objoid, ip.objsubid),
		   'initial acl',
		   (SELECT pg_catalog.string_agg(a::text, ' ' ORDER BY a::text)
			  FROM pg_catalog.unnest(ip.initprivs) a)
	  FROM pg_catalog.pg_init_privs ip
	  JOIN members m ON m.classid = ip.classoid AND m.objid = ip.objoid
)
SELECT obj || ' | ' || prop || ' | ' || pg_catalog.replace(COALESCE(val, '<null>'), E'\n', E'\n    ')
  FROM lines
 ORDER BY obj, prop, val;
