/*
 * Privileges, last.  Each fragment above revokes from PUBLIC what it
 * creates and grants it to the roles of 01_roles.sql; this one gives both
 * roles the schema and then checks the result: CREATE EXTENSION fails if
 * PUBLIC may use any function, procedure, table, view, materialized view,
 * foreign table or sequence of the extension, or the schema, or if a
 * function is granted to neither role without being one that only
 * superusers, triggers or event triggers call.  Nothing is meant for
 * PUBLIC (README, "Roles" and "Security").
 */
GRANT USAGE ON SCHEMA cache_ext TO cache_ext_app, cache_ext_admin;

/*
 * Belt and braces: whatever the fragments above created, PUBLIC may use
 * none of it.  (Functions are executable by PUBLIC by default.)
 */
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA cache_ext FROM PUBLIC;
REVOKE ALL ON ALL PROCEDURES IN SCHEMA cache_ext FROM PUBLIC;
REVOKE ALL ON ALL TABLES IN SCHEMA cache_ext FROM PUBLIC;
REVOKE ALL ON ALL SEQUENCES IN SCHEMA cache_ext FROM PUBLIC;

DO $check$
DECLARE
	ext oid;
	bad text;
BEGIN
	SELECT e.oid INTO ext FROM pg_catalog.pg_extension e
	 WHERE e.extname OPERATOR(pg_catalog.=) 'cache_ext';

	-- Nothing of the extension is meant for PUBLIC (README, "Security").
	SELECT pg_catalog.string_agg(pg_catalog.pg_describe_object(d.classid, d.objid, 0), ', ')
	  INTO bad
	  FROM pg_catalog.pg_depend d
	  LEFT JOIN pg_catalog.pg_class c
		ON d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass
	   AND c.oid OPERATOR(pg_catalog.=) d.objid
	 WHERE d.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_extension'::pg_catalog.regclass
	   AND d.refobjid OPERATOR(pg_catalog.=) ext
	   AND d.deptype OPERATOR(pg_catalog.=) 'e'
	   AND CASE
			WHEN d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_proc'::pg_catalog.regclass THEN
				pg_catalog.has_function_privilege('public', d.objid, 'EXECUTE')
			WHEN c.relkind OPERATOR(pg_catalog.=) 'S' THEN
				pg_catalog.has_sequence_privilege('public', d.objid, 'USAGE, SELECT, UPDATE')
			WHEN c.relkind OPERATOR(pg_catalog.=) ANY (ARRAY['r', 'v', 'm', 'p', 'f']::pg_catalog."char"[]) THEN
				pg_catalog.has_table_privilege('public', d.objid,
					'SELECT, INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER')
			ELSE false
		   END;
	IF bad IS NOT NULL THEN
		RAISE EXCEPTION 'cache_ext install script leaves objects usable by PUBLIC: %', bad
			USING HINT = 'Revoke them from PUBLIC in the fragment of sql/install/ that creates them.';
	END IF;
	IF pg_catalog.has_schema_privilege('public', 'cache_ext', 'USAGE, CREATE') THEN
		RAISE EXCEPTION 'cache_ext install script leaves schema cache_ext usable by PUBLIC';
	END IF;

	-- Every function is in a grant set, or is called only by superusers
	-- (command), the trigger manager or the event trigger manager.
	SELECT pg_catalog.string_agg(p.oid::pg_catalog.regprocedure::pg_catalog.text, ', ')
	  INTO bad
	  FROM pg_catalog.pg_depend d
	  JOIN pg_catalog.pg_proc p ON p.oid OPERATOR(pg_catalog.=) d.objid
	 WHERE d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_proc'::pg_catalog.regclass
	   AND d.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_extension'::pg_catalog.regclass
	   AND d.refobjid OPERATOR(pg_catalog.=) ext
	   AND d.deptype OPERATOR(pg_catalog.=) 'e'
	   AND NOT pg_catalog.has_function_privilege('cache_ext_app', p.oid, 'EXECUTE')
	   AND NOT pg_catalog.has_function_privilege('cache_ext_admin', p.oid, 'EXECUTE')
	   AND NOT p.proname OPERATOR(pg_catalog.=) ANY (ARRAY['command', 'check_new_triggers',
			'profile_flag_changed', 'profile_tables_dropped',
			'gapless_counters_dropped']::pg_catalog.name[]);
	IF bad IS NOT NULL THEN
		RAISE EXCEPTION 'cache_ext install script grants functions to neither cache_ext_app nor cache_ext_admin: %', bad
			USING HINT = 'Grant them in the fragment of sql/install/ that creates them, or list them in 99_privileges.sql as called by no role.';
	END IF;
END
$check$;
