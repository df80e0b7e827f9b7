-- cache_ext install script, assembled by the Makefile from the fragments in sql/install/.

-- complain if script is sourced in psql, rather than via CREATE EXTENSION
\echo Use "CREATE EXTENSION cache_ext" to load this file. \quit

/*
 * The schema.  CREATE EXTENSION creates schema cache_ext (the control file's
 * "schema") when it does not exist, and otherwise uses the one it finds,
 * which PostgreSQL does not make a member of the extension: whoever owns it,
 * or may create objects in it, could then plant objects among ours (an
 * operator our SQL would pick) or drop the extension with the schema.  So a
 * schema cache_ext that exists already is accepted only when a superuser
 * owns it, nobody else may create objects in it, and it is empty: what
 * pg_dump's output creates before CREATE EXTENSION on restore.  Everything
 * here is schema-qualified: the search_path is the schema being checked.
 */
DO $schema_check$
DECLARE
	nsp pg_catalog.oid;
	owner_name pg_catalog.name;
	owner_super boolean;
	creator pg_catalog.name;
	planted text;
BEGIN
	SELECT n.oid, r.rolname, r.rolsuper INTO nsp, owner_name, owner_super
	  FROM pg_catalog.pg_namespace n
	  JOIN pg_catalog.pg_roles r ON r.oid OPERATOR(pg_catalog.=) n.nspowner
	 WHERE n.nspname OPERATOR(pg_catalog.=) 'cache_ext';
	IF NOT owner_super THEN
		RAISE EXCEPTION USING
			ERRCODE = 'insufficient_privilege',
			MESSAGE = pg_catalog.format('schema cache_ext exists already and is owned by %I, who is not a superuser', owner_name),
			DETAIL = 'cache_ext puts all its objects into schema cache_ext; the owner of the schema could change or drop them.',
			HINT = 'Drop or rename that schema after checking what is in it; CREATE EXTENSION cache_ext then creates the schema itself.';
	END IF;
	SELECT r.rolname INTO creator
	  FROM pg_catalog.pg_namespace n,
		   pg_catalog.aclexplode(n.nspacl) a
	  LEFT JOIN pg_catalog.pg_roles r ON r.oid OPERATOR(pg_catalog.=) a.grantee
	 WHERE n.oid OPERATOR(pg_catalog.=) nsp
	   AND a.privilege_type OPERATOR(pg_catalog.=) 'CREATE'
	   AND a.grantee OPERATOR(pg_catalog.<>) n.nspowner
	 LIMIT 1;
	IF FOUND THEN
		RAISE EXCEPTION USING
			ERRCODE = 'insufficient_privilege',
			MESSAGE = pg_catalog.format('schema cache_ext exists already and role %s may create objects in it',
										COALESCE(pg_catalog.quote_ident(creator), 'PUBLIC')),
			DETAIL = 'cache_ext puts all its objects into schema cache_ext; a role that may create objects there could plant one that cache_ext uses.',
			HINT = 'REVOKE CREATE ON SCHEMA cache_ext FROM that role, or drop the schema and let CREATE EXTENSION cache_ext create it.';
	END IF;
	SELECT pg_catalog.pg_describe_object(d.classid, d.objid, d.objsubid) INTO planted
	  FROM pg_catalog.pg_depend d
	 WHERE d.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_namespace'::pg_catalog.regclass
	   AND d.refobjid OPERATOR(pg_catalog.=) nsp
	   AND d.classid OPERATOR(pg_catalog.<>) 'pg_catalog.pg_extension'::pg_catalog.regclass
	 LIMIT 1;
	IF FOUND THEN
		RAISE EXCEPTION USING
			ERRCODE = 'object_not_in_prerequisite_state',
			MESSAGE = 'schema cache_ext exists already and is not empty',
			DETAIL = pg_catalog.format('It holds %s, which is not part of cache_ext.', planted),
			HINT = 'Drop or rename that schema after checking what is in it; CREATE EXTENSION cache_ext then creates the schema itself.';
	END IF;
END
$schema_check$;

/*
 * Privileges: nothing cache_ext creates is usable by PUBLIC.  Two roles
 * (01_roles.sql) carry what applications and operators need (see README,
 * "Security"):
 *
 *   GRANT cache_ext_app TO app;
 *   ALTER ROLE app SET cache_ext.key_prefix = 'app:';
 *
 * Every fragment revokes from PUBLIC what it creates and grants it to
 * cache_ext_app and/or cache_ext_admin; 99_privileges.sql, last, grants
 * USAGE on the schema to both and checks that nothing is left to PUBLIC
 * and that no function is forgotten, making CREATE EXTENSION fail
 * otherwise.
 */
REVOKE ALL ON SCHEMA cache_ext FROM PUBLIC;

COMMENT ON SCHEMA cache_ext IS
  'cache_ext: keeps an application''s Redis cache coherent from inside PostgreSQL';
