--
-- security_profile: the profile registry cannot be used to gain privileges
-- or to take the profile slot (issue 9, findings 1 and 10).
--
-- The attacker is an ordinary role with a schema of its own and the grants
-- the 0.1 README recommended (USAGE on schema cache_ext, EXECUTE on every
-- function in it).  Every attack is detected by what it would change:
-- pg_roles.rolsuper of the attacker, the registration of the application's
-- table.
--
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS cache_ext;
RESET client_min_messages;

CREATE ROLE sec_prof_att;
CREATE SCHEMA sec_prof_att AUTHORIZATION sec_prof_att;
GRANT USAGE ON SCHEMA cache_ext TO sec_prof_att;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA cache_ext TO sec_prof_att;
GRANT EXECUTE ON ALL PROCEDURES IN SCHEMA cache_ext TO sec_prof_att;

-- The application's profile table.
CREATE TABLE sec_prof_app (user_id bigint PRIMARY KEY, cache_enabled boolean NOT NULL DEFAULT true);
INSERT INTO sec_prof_app VALUES (1, true), (2, false);

-- Finding 10: the single profile slot.  The attacker registers its own
-- table before the application does: refused, whatever its grants.
SET ROLE sec_prof_att;
CREATE TABLE sec_prof_att.squat (user_id bigint PRIMARY KEY, cache_enabled boolean);
INSERT INTO sec_prof_att.squat VALUES (2, true);
SELECT cache_ext.register_profile_table('sec_prof_att.squat');
RESET ROLE;
SELECT count(*) AS registrations FROM cache_ext.profile_tables;
SELECT count(*) AS attacker_triggers FROM pg_trigger WHERE tgrelid = 'sec_prof_att.squat'::regclass;
-- so the application's registration goes through, and cache_enabled()
-- reads the application's table
SELECT cache_ext.register_profile_table('sec_prof_app');
SELECT profile FROM cache_ext.profile_tables;
SELECT cache_ext.cache_enabled(2) AS user_2_enabled;
-- (a squatter's table would be dropped here, taking its registration with
-- it, and the application's registered)
DROP TABLE sec_prof_att.squat;
SELECT cache_ext.register_profile_table('sec_prof_app');

-- Finding 1: an operator = (regclass, integer) of the attacker's, picked by
-- the registry's DELETE when it ran as the extension owner under the
-- caller's search_path.  The attacker's function makes it superuser when
-- it runs with the rights to.
CREATE FUNCTION sec_prof_att.escalate(regclass, integer) RETURNS boolean
LANGUAGE plpgsql AS $$
BEGIN
	BEGIN
		EXECUTE 'ALTER ROLE sec_prof_att SUPERUSER';
	EXCEPTION WHEN OTHERS THEN
		NULL;
	END;
	RETURN false;
END
$$;
ALTER FUNCTION sec_prof_att.escalate(regclass, integer) OWNER TO sec_prof_att;
SET ROLE sec_prof_att;
CREATE OPERATOR sec_prof_att.= (LEFTARG = regclass, RIGHTARG = integer,
	FUNCTION = sec_prof_att.escalate);
CREATE TABLE sec_prof_att.t2 (user_id bigint PRIMARY KEY);
SET search_path = sec_prof_att;
SELECT cache_ext.unregister_profile_table('sec_prof_att.t2');
RESET search_path;
RESET ROLE;
SELECT rolsuper AS attacker_is_superuser FROM pg_roles WHERE rolname = 'sec_prof_att';
-- and the application's registration is still there
SELECT profile FROM cache_ext.profile_tables;
-- unregistering the application's table is refused too
SET ROLE sec_prof_att;
SELECT cache_ext.unregister_profile_table('public.sec_prof_app');
RESET ROLE;
SELECT profile FROM cache_ext.profile_tables;

-- An admin (member of cache_ext_admin, not superuser) registers and
-- unregisters its own table under a search_path of its own that puts its
-- schema before pg_catalog and captures every = and cast the registry
-- could use: none of its functions runs with the extension owner's rights.
CREATE ROLE sec_prof_adm;
GRANT cache_ext_admin TO sec_prof_adm;
CREATE SCHEMA sec_prof_adm AUTHORIZATION sec_prof_adm;
CREATE FUNCTION sec_prof_adm.escalate() RETURNS boolean
LANGUAGE plpgsql AS $$
BEGIN
	BEGIN
		EXECUTE 'ALTER ROLE sec_prof_adm SUPERUSER';
	EXCEPTION WHEN OTHERS THEN
		NULL;
	END;
	RETURN false;
END
$$;
CREATE FUNCTION sec_prof_adm.eq_ri(regclass, integer) RETURNS boolean
	LANGUAGE sql AS 'SELECT sec_prof_adm.escalate()';
CREATE FUNCTION sec_prof_adm.eq_rr(regclass, regclass) RETURNS boolean
	LANGUAGE sql AS 'SELECT sec_prof_adm.escalate()';
CREATE FUNCTION sec_prof_adm.eq_ro(regclass, oid) RETURNS boolean
	LANGUAGE sql AS 'SELECT sec_prof_adm.escalate()';
CREATE FUNCTION sec_prof_adm.eq_oo(oid, oid) RETURNS boolean
	LANGUAGE sql AS 'SELECT sec_prof_adm.escalate()';
ALTER FUNCTION sec_prof_adm.escalate() OWNER TO sec_prof_adm;
ALTER FUNCTION sec_prof_adm.eq_ri(regclass, integer) OWNER TO sec_prof_adm;
ALTER FUNCTION sec_prof_adm.eq_rr(regclass, regclass) OWNER TO sec_prof_adm;
ALTER FUNCTION sec_prof_adm.eq_ro(regclass, oid) OWNER TO sec_prof_adm;
ALTER FUNCTION sec_prof_adm.eq_oo(oid, oid) OWNER TO sec_prof_adm;
SELECT cache_ext.unregister_profile_table('sec_prof_app');
SET ROLE sec_prof_adm;
CREATE OPERATOR sec_prof_adm.= (LEFTARG = regclass, RIGHTARG = integer, FUNCTION = sec_prof_adm.eq_ri);
CREATE OPERATOR sec_prof_adm.= (LEFTARG = regclass, RIGHTARG = regclass, FUNCTION = sec_prof_adm.eq_rr);
CREATE OPERATOR sec_prof_adm.= (LEFTARG = regclass, RIGHTARG = oid, FUNCTION = sec_prof_adm.eq_ro);
CREATE OPERATOR sec_prof_adm.= (LEFTARG = oid, RIGHTARG = oid, FUNCTION = sec_prof_adm.eq_oo);
CREATE TABLE sec_prof_adm.prefs (user_id integer PRIMARY KEY, cache_enabled boolean);
INSERT INTO sec_prof_adm.prefs VALUES (7, false);
SET search_path = sec_prof_adm, pg_catalog;
SELECT cache_ext.register_profile_table('sec_prof_adm.prefs');
SELECT cache_ext.register_profile_table('sec_prof_adm.prefs');
SELECT cache_ext.cache_enabled(7) AS user_7_enabled;
SELECT cache_ext.unregister_profile_table('sec_prof_adm.prefs');
SELECT cache_ext.register_profile_table('sec_prof_adm.prefs');
-- with the triggers renamed, unregistering deletes the registration row
-- itself (no event trigger did it when the triggers were dropped)
ALTER TRIGGER cache_ext_profile_flag ON sec_prof_adm.prefs RENAME TO prefs_flag;
ALTER TRIGGER cache_ext_profile_truncate ON sec_prof_adm.prefs RENAME TO prefs_truncate;
SELECT cache_ext.unregister_profile_table('sec_prof_adm.prefs');
DROP TRIGGER prefs_flag ON sec_prof_adm.prefs;
DROP TRIGGER prefs_truncate ON sec_prof_adm.prefs;
RESET search_path;
RESET ROLE;
SELECT rolsuper AS admin_is_superuser FROM pg_roles WHERE rolname = 'sec_prof_adm';
SELECT count(*) AS registrations FROM cache_ext.profile_tables;

-- An admin may register only a table it owns.
SET ROLE sec_prof_adm;
SELECT cache_ext.register_profile_table('public.sec_prof_app');
RESET ROLE;

DROP TABLE sec_prof_app;
SET client_min_messages = warning;
DROP SCHEMA sec_prof_att CASCADE;
DROP SCHEMA sec_prof_adm CASCADE;
RESET client_min_messages;
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA cache_ext FROM sec_prof_att;
REVOKE ALL ON ALL PROCEDURES IN SCHEMA cache_ext FROM sec_prof_att;
REVOKE ALL ON SCHEMA cache_ext FROM sec_prof_att;
DROP ROLE sec_prof_att, sec_prof_adm;
