-- cache_ext install script, assembled by the Makefile from the fragments in sql/install/.

-- complain if script is sourced in psql, rather than via CREATE EXTENSION
\echo Use "CREATE EXTENSION cache_ext" to load this file. \quit

/*
 * Privileges: nothing cache_ext creates is usable by PUBLIC.  Grant what an
 * application role needs explicitly (see README, "Privileges"):
 *
 *   GRANT USAGE ON SCHEMA cache_ext TO app;
 *   GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA cache_ext TO app;
 *
 * Every fragment revokes EXECUTE from PUBLIC on the functions it creates;
 * the last statement of the script (99_privileges.sql) checks that none was
 * missed.
 */
REVOKE ALL ON SCHEMA cache_ext FROM PUBLIC;

COMMENT ON SCHEMA cache_ext IS
  'cache_ext: keeps an application''s Redis cache coherent from inside PostgreSQL';
