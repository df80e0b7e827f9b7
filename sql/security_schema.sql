--
-- security_schema: CREATE EXTENSION refuses a schema cache_ext that
-- someone else prepared for it (issue 9, finding 11).  Runs in a database
-- of its own.
--
SELECT current_database() AS regress_db \gset
SET client_min_messages = warning;
DROP DATABASE IF EXISTS cache_ext_sec_schema;
RESET client_min_messages;
CREATE DATABASE cache_ext_sec_schema;
CREATE ROLE sec_schema_squatter;
GRANT CREATE ON DATABASE cache_ext_sec_schema TO sec_schema_squatter;
\c cache_ext_sec_schema

-- An ordinary role creates the schema first, and something in it.
SET ROLE sec_schema_squatter;
CREATE SCHEMA cache_ext;
CREATE FUNCTION cache_ext.planted() RETURNS int LANGUAGE sql AS 'SELECT 1';
RESET ROLE;
CREATE EXTENSION cache_ext;
SELECT count(*) AS installed FROM pg_extension WHERE extname = 'cache_ext';
-- Still refused once the squatter handed the schema to a superuser, while
-- something of its own is in it
ALTER SCHEMA cache_ext OWNER TO CURRENT_USER;
CREATE EXTENSION cache_ext;
DROP FUNCTION cache_ext.planted();
-- or while it may still create objects in it
GRANT CREATE ON SCHEMA cache_ext TO sec_schema_squatter;
CREATE EXTENSION cache_ext;
REVOKE CREATE ON SCHEMA cache_ext FROM sec_schema_squatter;
-- An empty schema of a superuser's, which nobody else may create objects
-- in, is accepted: that is what pg_dump's output creates before CREATE
-- EXTENSION on restore.
CREATE EXTENSION cache_ext;
SELECT extversion IS NOT NULL AS installed FROM pg_extension WHERE extname = 'cache_ext';
DROP EXTENSION cache_ext;
DROP SCHEMA cache_ext;
-- The usual case: CREATE EXTENSION creates the schema itself.
CREATE EXTENSION cache_ext;
SELECT nspowner::regrole = CURRENT_USER::regrole AS own_schema
  FROM pg_namespace WHERE nspname = 'cache_ext';
DROP EXTENSION cache_ext;

\c :regress_db
DROP DATABASE cache_ext_sec_schema;
DROP ROLE sec_schema_squatter;
