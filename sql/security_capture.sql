--
-- security_capture: SQL that cache_ext runs in a privileged session never
-- resolves an operator or a function through schemas other roles can write
-- (issue 9, finding 3).  A database owner (here: a role with CREATE on
-- schema public, which is what owning the database gives) plants operators
-- for the reg* comparisons cache_ext's catalog queries made, then waits for
-- a superuser to create a trigger, list the namespaces or run the fallback.
--
CREATE ROLE sec_dbowner;
GRANT CREATE ON SCHEMA public TO sec_dbowner;
SET ROLE sec_dbowner;
CREATE TABLE public.sec_captured (who name, op text);
GRANT INSERT ON public.sec_captured TO PUBLIC;
-- notes who ran it, and makes its owner superuser when it can
CREATE FUNCTION public.sec_grab(op text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO public.sec_captured VALUES (current_user, op);
	IF (SELECT r.rolsuper FROM pg_catalog.pg_roles r
		 WHERE r.rolname OPERATOR(pg_catalog.=) current_user) THEN
		EXECUTE 'ALTER ROLE sec_dbowner SUPERUSER';
	END IF;
END $$;
CREATE FUNCTION public.sec_eq_regclass(oid, regclass) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
	PERFORM public.sec_grab('=(oid, regclass)');
	RETURN $1 OPERATOR(pg_catalog.=) $2::pg_catalog.oid;
END $$;
CREATE FUNCTION public.sec_eq_regnamespace(oid, regnamespace) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
	PERFORM public.sec_grab('=(oid, regnamespace)');
	RETURN $1 OPERATOR(pg_catalog.=) $2::pg_catalog.oid;
END $$;
CREATE FUNCTION public.sec_eq_regprocedure(oid, regprocedure) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
	PERFORM public.sec_grab('=(oid, regprocedure)');
	RETURN $1 OPERATOR(pg_catalog.=) $2::pg_catalog.oid;
END $$;
CREATE OPERATOR public.= (LEFTARG = oid, RIGHTARG = regclass, FUNCTION = public.sec_eq_regclass);
CREATE OPERATOR public.= (LEFTARG = oid, RIGHTARG = regnamespace, FUNCTION = public.sec_eq_regnamespace);
CREATE OPERATOR public.= (LEFTARG = oid, RIGHTARG = regprocedure, FUNCTION = public.sec_eq_regprocedure);
RESET ROLE;
-- a superuser at work, with the default search_path ("$user", public)
SHOW search_path;
CREATE TABLE sec_capture_t (id int, user_id int);
CREATE TRIGGER sec_capture_bump AFTER INSERT OR UPDATE OR DELETE ON sec_capture_t
	FOR EACH ROW EXECUTE FUNCTION cache_ext.bump_version();
SELECT count(*) > 0 AS has_namespaces FROM cache_ext.namespace_patterns();
SELECT cache_ext.run_fallback();
-- nothing of the database owner's ran, and it is still no superuser
SELECT who, op FROM public.sec_captured;
SELECT rolsuper FROM pg_roles WHERE rolname = 'sec_dbowner';
-- clean up
DROP TABLE sec_capture_t;
DELETE FROM cache_ext.trigger_namespaces WHERE trigger_name LIKE '%sec_capture_t%';
DROP OWNED BY sec_dbowner;
REVOKE CREATE ON SCHEMA public FROM sec_dbowner;
DROP ROLE sec_dbowner;
