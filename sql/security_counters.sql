--
-- security_counters: assign_number cannot be used to gain privileges or to
-- damage another table's numbering (issue 9, findings 2 and 6).
--
-- The attacker is an ordinary role with a schema of its own and the grants
-- the 0.1 README recommended (USAGE on schema cache_ext, EXECUTE on every
-- function in it).  Its operators call sec_cnt_att.escalate(), which makes
-- it superuser when it runs with the rights to: pg_roles.rolsuper tells.
--
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS cache_ext;
RESET client_min_messages;
SELECT cache_ext.command('FLUSHDB');

CREATE ROLE sec_cnt_att;
CREATE SCHEMA sec_cnt_att AUTHORIZATION sec_cnt_att;
GRANT USAGE ON SCHEMA cache_ext TO sec_cnt_att;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA cache_ext TO sec_cnt_att;

CREATE FUNCTION sec_cnt_att.escalate() RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
	EXECUTE 'ALTER ROLE sec_cnt_att SUPERUSER';
EXCEPTION WHEN OTHERS THEN
	NULL;
END
$$;
CREATE FUNCTION sec_cnt_att.plus(bigint, integer) RETURNS bigint
LANGUAGE plpgsql AS $$
BEGIN
	PERFORM sec_cnt_att.escalate();
	RETURN $1 OPERATOR(pg_catalog.+) $2;
END
$$;
CREATE FUNCTION sec_cnt_att.plus8(bigint, bigint) RETURNS bigint
LANGUAGE plpgsql AS $$
BEGIN
	PERFORM sec_cnt_att.escalate();
	RETURN $1 OPERATOR(pg_catalog.+) $2;
END
$$;
CREATE FUNCTION sec_cnt_att.eq4(integer, integer) RETURNS boolean
LANGUAGE plpgsql AS $$
BEGIN
	PERFORM sec_cnt_att.escalate();
	RETURN $1 OPERATOR(pg_catalog.=) $2;
END
$$;
CREATE FUNCTION sec_cnt_att.eqt(text, text) RETURNS boolean
LANGUAGE plpgsql AS $$
BEGIN
	PERFORM sec_cnt_att.escalate();
	RETURN $1 OPERATOR(pg_catalog.=) $2;
END
$$;
CREATE FUNCTION sec_cnt_att.int8larger(bigint, bigint) RETURNS bigint
LANGUAGE plpgsql AS $$
BEGIN
	PERFORM sec_cnt_att.escalate();
	RETURN pg_catalog.int8larger($1, $2);
END
$$;
ALTER FUNCTION sec_cnt_att.escalate() OWNER TO sec_cnt_att;
ALTER FUNCTION sec_cnt_att.plus(bigint, integer) OWNER TO sec_cnt_att;
ALTER FUNCTION sec_cnt_att.plus8(bigint, bigint) OWNER TO sec_cnt_att;
ALTER FUNCTION sec_cnt_att.eq4(integer, integer) OWNER TO sec_cnt_att;
ALTER FUNCTION sec_cnt_att.eqt(text, text) OWNER TO sec_cnt_att;
ALTER FUNCTION sec_cnt_att.int8larger(bigint, bigint) OWNER TO sec_cnt_att;
SET ROLE sec_cnt_att;
CREATE OPERATOR sec_cnt_att.+ (LEFTARG = bigint, RIGHTARG = integer, FUNCTION = sec_cnt_att.plus);
CREATE OPERATOR sec_cnt_att.+ (LEFTARG = bigint, RIGHTARG = bigint, FUNCTION = sec_cnt_att.plus8);
CREATE OPERATOR sec_cnt_att.= (LEFTARG = integer, RIGHTARG = integer, FUNCTION = sec_cnt_att.eq4);
CREATE OPERATOR sec_cnt_att.= (LEFTARG = text, RIGHTARG = text, FUNCTION = sec_cnt_att.eqt);
RESET ROLE;

-- Finding 2, as reported: the attacker is the first to insert in this
-- backend into a gapless table of its own, under its own search_path.
SET ROLE sec_cnt_att;
CREATE TABLE sec_cnt_att.t (yr int, no int, UNIQUE (yr, no));
CREATE TRIGGER number_t BEFORE INSERT OR UPDATE ON sec_cnt_att.t
	FOR EACH ROW EXECUTE FUNCTION cache_ext.assign_number('no', 'att_seq:{yr}', 'gapless');
SET search_path = sec_cnt_att, pg_catalog;
INSERT INTO sec_cnt_att.t (yr) VALUES (2024) RETURNING yr, no;
INSERT INTO sec_cnt_att.t VALUES (2024, 10) RETURNING yr, no;
INSERT INTO sec_cnt_att.t (yr) VALUES (2024) RETURNING yr, no;
RESET search_path;
RESET ROLE;
SELECT rolsuper AS attacker_is_superuser FROM pg_roles WHERE rolname = 'sec_cnt_att';
ALTER ROLE sec_cnt_att NOSUPERUSER;

-- Finding 2, the cached plans: a new backend where the application
-- inserts first (statements prepared under a harmless search_path), then
-- the attacker, under its own.
\c -
CREATE TABLE sec_cnt_receipts (shop text, no int, UNIQUE (shop, no));
CREATE TRIGGER number_receipts BEFORE INSERT OR UPDATE ON sec_cnt_receipts
	FOR EACH ROW EXECUTE FUNCTION cache_ext.assign_number('no', 'receipt:{shop}', 'gapless');
INSERT INTO sec_cnt_receipts (shop) VALUES ('north') RETURNING shop, no;
INSERT INTO sec_cnt_receipts VALUES ('north', 5) RETURNING shop, no;
-- the attacker may insert into the application's table, too: the floor
-- query then runs as the table's owner under the attacker's search_path
GRANT INSERT ON sec_cnt_receipts TO sec_cnt_att;
SET ROLE sec_cnt_att;
SET search_path = sec_cnt_att, pg_catalog;
INSERT INTO sec_cnt_att.t (yr) VALUES (2025) RETURNING yr, no;
INSERT INTO sec_cnt_att.t VALUES (2025, 20) RETURNING yr, no;
INSERT INTO public.sec_cnt_receipts (shop) VALUES ('north');
INSERT INTO public.sec_cnt_receipts VALUES ('north', 9);
RESET search_path;
RESET ROLE;
SELECT rolsuper AS attacker_is_superuser FROM pg_roles WHERE rolname = 'sec_cnt_att';
ALTER ROLE sec_cnt_att NOSUPERUSER;
SELECT shop, no FROM sec_cnt_receipts ORDER BY no;

-- The same for the cache mode, whose floor query runs as the table's owner.
CREATE TABLE sec_cnt_tickets (desk int, no int, UNIQUE (desk, no));
CREATE TRIGGER number_tickets BEFORE INSERT OR UPDATE ON sec_cnt_tickets
	FOR EACH ROW EXECUTE FUNCTION cache_ext.assign_number('no', 'ticket:{desk}');
INSERT INTO sec_cnt_tickets (desk) VALUES (1) RETURNING desk, no;
GRANT INSERT ON sec_cnt_tickets TO sec_cnt_att;
SET ROLE sec_cnt_att;
SET search_path = sec_cnt_att, pg_catalog;
INSERT INTO public.sec_cnt_tickets (desk) VALUES (1);
-- Redis lost the counter: the number comes from the floor query
RESET ROLE;
SELECT cache_ext.command('DEL', 'ticket:1');
SET ROLE sec_cnt_att;
INSERT INTO public.sec_cnt_tickets (desk) VALUES (1);
RESET search_path;
RESET ROLE;
SELECT rolsuper AS attacker_is_superuser FROM pg_roles WHERE rolname = 'sec_cnt_att';
ALTER ROLE sec_cnt_att NOSUPERUSER;
SELECT desk, no FROM sec_cnt_tickets ORDER BY no;

-- Finding 6: gapless counters belong to one table and one key prefix.
-- The application numbers its invoices per year; the attacker's table
-- uses the same key template and inserts a number near the int4 maximum.
CREATE TABLE sec_cnt_invoices (year int, no int, UNIQUE (year, no));
CREATE TRIGGER number_invoices BEFORE INSERT OR UPDATE ON sec_cnt_invoices
	FOR EACH ROW EXECUTE FUNCTION cache_ext.assign_number('no', 'invoice_seq:{year}', 'gapless');
INSERT INTO sec_cnt_invoices (year) VALUES (2024), (2024) RETURNING year, no;
SET ROLE sec_cnt_att;
CREATE TABLE sec_cnt_att.inv (year int, no int, UNIQUE (year, no));
CREATE TRIGGER number_inv BEFORE INSERT OR UPDATE ON sec_cnt_att.inv
	FOR EACH ROW EXECUTE FUNCTION cache_ext.assign_number('no', 'invoice_seq:{year}', 'gapless');
INSERT INTO sec_cnt_att.inv VALUES (2024, 2147483000);
INSERT INTO sec_cnt_att.inv (year) VALUES (2024) RETURNING year, no;
RESET ROLE;
-- the application's numbering goes on from its own rows
INSERT INTO sec_cnt_invoices (year) VALUES (2024) RETURNING year, no;
SELECT tbl, prefix, key, value FROM cache_ext.gapless_counters
 WHERE key = 'invoice_seq:2024' ORDER BY tbl::text, prefix;
-- another key prefix is another counter (the table's unique index and the
-- floor keep the numbers of the table apart)
SET cache_ext.key_prefix = 'tenant_b:';
INSERT INTO sec_cnt_invoices (year) VALUES (2024) RETURNING year, no;
RESET cache_ext.key_prefix;
INSERT INTO sec_cnt_invoices (year) VALUES (2024) RETURNING year, no;
SELECT tbl, prefix, key, value FROM cache_ext.gapless_counters
 WHERE key = 'invoice_seq:2024' ORDER BY tbl::text, prefix;
-- the attacker cannot read or write the counters itself
SET ROLE sec_cnt_att;
SELECT count(*) FROM cache_ext.gapless_counters;
UPDATE cache_ext.gapless_counters SET value = 0;
RESET ROLE;

-- Cache mode: the Redis counter is shared by every table that uses the
-- key (by design: the application INCRs it too).  Raised past the range
-- of the application's column by someone else, it does not break the
-- application's inserts: numbering resumes from the table's floor, the
-- counter is set back, and a WARNING says so.
CREATE FUNCTION sec_cnt_wait(k text, v bigint) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
	c bigint;
BEGIN
	FOR i IN 1..500 LOOP
		c := cache_ext.counter_get(k);
		IF c >= v THEN
			RETURN c;
		END IF;
		PERFORM pg_sleep(0.02);
	END LOOP;
	RETURN c;
END $$;
CREATE TABLE sec_cnt_orders (year int, no int, UNIQUE (year, no));
CREATE TRIGGER number_orders BEFORE INSERT OR UPDATE ON sec_cnt_orders
	FOR EACH ROW EXECUTE FUNCTION cache_ext.assign_number('no', 'order_seq:{year}');
INSERT INTO sec_cnt_orders (year) VALUES (2024), (2024) RETURNING year, no;
SET ROLE sec_cnt_att;
CREATE TABLE sec_cnt_att.ord (year int, no bigint, UNIQUE (year, no));
CREATE TRIGGER number_ord BEFORE INSERT OR UPDATE ON sec_cnt_att.ord
	FOR EACH ROW EXECUTE FUNCTION cache_ext.assign_number('no', 'order_seq:{year}');
INSERT INTO sec_cnt_att.ord VALUES (2024, 2147483647);
RESET ROLE;
SELECT sec_cnt_wait('order_seq:2024', 2147483647);
INSERT INTO sec_cnt_orders (year) VALUES (2024) RETURNING year, no;
SELECT cache_ext.counter_get('order_seq:2024');
INSERT INTO sec_cnt_orders (year) VALUES (2024) RETURNING year, no;
-- a bigint column and a counter at the largest bigint
CREATE TABLE sec_cnt_big (year int, no bigint, UNIQUE (year, no));
CREATE TRIGGER number_big BEFORE INSERT OR UPDATE ON sec_cnt_big
	FOR EACH ROW EXECUTE FUNCTION cache_ext.assign_number('no', 'big_seq:{year}');
INSERT INTO sec_cnt_big (year) VALUES (2024) RETURNING year, no;
SELECT cache_ext.command('SET', 'big_seq:2024', '9223372036854775807');
INSERT INTO sec_cnt_big (year) VALUES (2024) RETURNING year, no;
SELECT cache_ext.counter_get('big_seq:2024');
-- a smallint column whose counter another table raised
CREATE TABLE sec_cnt_small (year int, no smallint, UNIQUE (year, no));
CREATE TRIGGER number_small BEFORE INSERT OR UPDATE ON sec_cnt_small
	FOR EACH ROW EXECUTE FUNCTION cache_ext.assign_number('no', 'small_seq:{year}');
INSERT INTO sec_cnt_small VALUES (2024, 40);
SELECT cache_ext.command('SET', 'small_seq:2024', '32767');
INSERT INTO sec_cnt_small (year) VALUES (2024) RETURNING year, no;
-- a table whose numbers are used up is still an error
INSERT INTO sec_cnt_small VALUES (2024, 32767);
INSERT INTO sec_cnt_small (year) VALUES (2024) RETURNING year, no;

SELECT rolsuper AS attacker_is_superuser FROM pg_roles WHERE rolname = 'sec_cnt_att';
ALTER ROLE sec_cnt_att NOSUPERUSER;

DROP TABLE sec_cnt_receipts, sec_cnt_tickets, sec_cnt_invoices, sec_cnt_orders,
	sec_cnt_big, sec_cnt_small;
DROP FUNCTION sec_cnt_wait(text, bigint);
SET client_min_messages = warning;
DROP SCHEMA sec_cnt_att CASCADE;
RESET client_min_messages;
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA cache_ext FROM sec_cnt_att;
REVOKE ALL ON SCHEMA cache_ext FROM sec_cnt_att;
DROP ROLE sec_cnt_att;
-- dropped tables leave no counters behind
SELECT count(*) AS counters_left FROM cache_ext.gapless_counters;
