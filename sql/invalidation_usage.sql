-- Wrong uses of the trigger functions get clear errors; so do bad
-- templates, at the first write through the trigger.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS cache_ext;
RESET client_min_messages;
SET cache_ext.key_prefix = 'inv_usage:';
\set VERBOSITY default

CREATE TABLE things (id int PRIMARY KEY, user_id int);
CREATE VIEW things_view AS SELECT * FROM things;

-- BEFORE for each statement: no rows to render
CREATE TRIGGER t_before BEFORE INSERT ON things
	FOR EACH STATEMENT EXECUTE FUNCTION cache_ext.bump_version();
INSERT INTO things VALUES (1, 1);
DROP TRIGGER t_before ON things;
-- statement level without transition tables
CREATE TRIGGER t_stmt AFTER UPDATE ON things
	FOR EACH STATEMENT EXECUTE FUNCTION cache_ext.bump_version();
UPDATE things SET user_id = 2;
DROP TRIGGER t_stmt ON things;
CREATE TRIGGER t_stmt AFTER INSERT ON things
	FOR EACH STATEMENT EXECUTE FUNCTION cache_ext.invalidate_keys('thing:{id}');
INSERT INTO things VALUES (1, 1);
DROP TRIGGER t_stmt ON things;
-- INSTEAD OF on a view
CREATE TRIGGER t_instead INSTEAD OF INSERT ON things_view
	FOR EACH ROW EXECUTE FUNCTION cache_ext.bump_version();
INSERT INTO things_view VALUES (1, 1);
DROP TRIGGER t_instead ON things_view;
-- not called as a trigger
SELECT cache_ext.bump_version();
-- Templates are checked when the trigger is created (the event trigger
-- cache_ext_check_templates): invalidate_keys needs templates,
CREATE TRIGGER t_nokeys AFTER INSERT ON things
	FOR EACH ROW EXECUTE FUNCTION cache_ext.invalidate_keys();
-- the default template needs a user_id column,
CREATE TABLE no_user (id int);
CREATE TRIGGER t_default AFTER INSERT ON no_user
	FOR EACH ROW EXECUTE FUNCTION cache_ext.bump_version();
DROP TABLE no_user;
-- unknown columns and malformed templates are refused.
CREATE TRIGGER t_bad AFTER INSERT ON things
	FOR EACH ROW EXECUTE FUNCTION cache_ext.bump_version('cache_user_version:{userid}');
CREATE TRIGGER t_bad AFTER INSERT ON things
	FOR EACH ROW EXECUTE FUNCTION cache_ext.invalidate_keys('thing:{id');
CREATE TRIGGER t_bad AFTER INSERT ON things
	FOR EACH ROW EXECUTE FUNCTION cache_ext.bump_version('');
SELECT count(*) AS triggers_created FROM pg_trigger
 WHERE tgrelid = 'things'::regclass AND NOT tgisinternal;
-- The trigger checks them again when it fires (the event trigger may be
-- disabled, a column dropped later): the write fails, nothing is sent.
ALTER EVENT TRIGGER cache_ext_check_templates DISABLE;
CREATE TRIGGER t_nokeys AFTER INSERT ON things
	FOR EACH ROW EXECUTE FUNCTION cache_ext.invalidate_keys();
INSERT INTO things VALUES (1, 1);
DROP TRIGGER t_nokeys ON things;
CREATE TRIGGER t_bad AFTER INSERT ON things
	FOR EACH ROW EXECUTE FUNCTION cache_ext.bump_version('cache_user_version:{userid}');
INSERT INTO things VALUES (1, 1);
DROP TRIGGER t_bad ON things;
ALTER EVENT TRIGGER cache_ext_check_templates ENABLE;
SELECT count(*) AS rows_written FROM things;
SELECT cache_ext.version('cache_user_version:1') AS nothing_sent;
-- a template's column dropped after the trigger was created
DROP VIEW things_view;
CREATE TRIGGER t_drop AFTER INSERT OR UPDATE ON things
	FOR EACH ROW EXECUTE FUNCTION cache_ext.bump_version();
INSERT INTO things VALUES (1, 1);
ALTER TABLE things DROP COLUMN user_id;
UPDATE things SET id = 2;

DROP TABLE things;
SELECT cache_ext.invalidate('*');
