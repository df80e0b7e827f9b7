-- cache_ext install script, assembled by the Makefile from the fragments in sql/install/.

-- complain if script is sourced in psql, rather than via CREATE EXTENSION
\echo Use "CREATE EXTENSION cache_ext" to load this file. \quit

/*
 * Privileges: nothing cache_ext creates is usable by PUBLIC.  Two roles
 * (01_roles.sql) carry what applications and operators need (see README,
 * "Security"):
 *
 *   GRANT cache_ext_app TO app;
 *   ALTER ROLE app SET cache_ext.key_prefix = 'app:';
 *
 * Every fragment revokes from PUBLIC what it creates and grants it to
 * cache_ext_app and/or cache_ext_admin; the last statement of the script
 * (99_privileges.sql) checks that nothing is left to PUBLIC and that no
 * function is forgotten, and makes CREATE EXTENSION fail otherwise.
 */
REVOKE ALL ON SCHEMA cache_ext FROM PUBLIC;

COMMENT ON SCHEMA cache_ext IS
  'cache_ext: keeps an application''s Redis cache coherent from inside PostgreSQL';
