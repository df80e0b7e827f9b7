--
-- counters_trigger: assign_number in cache mode (the default)
--
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS cache_ext;
RESET client_min_messages;
SELECT cache_ext.command('FLUSHDB');

-- The Redis counter is raised after commit; wait (bounded) until it is.
CREATE FUNCTION counters_wait(k text, v bigint) RETURNS bigint
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

CREATE TABLE invoices (
	id serial PRIMARY KEY,
	year int,
	invoice_no bigint,
	note text
);
CREATE TRIGGER number_invoices
	BEFORE INSERT OR UPDATE ON invoices
	FOR EACH ROW EXECUTE FUNCTION cache_ext.assign_number('invoice_no', 'invoice_seq:{year}');

-- no unique index over (year, invoice_no): refused, with the statement to run
INSERT INTO invoices (year) VALUES (2024);
\set VERBOSITY sqlstate
INSERT INTO invoices (year) VALUES (2024);
\set VERBOSITY default
CREATE UNIQUE INDEX ON public.invoices (year, invoice_no);

-- numbered per year, independently
INSERT INTO invoices (year) VALUES (2024), (2024), (2025) RETURNING year, invoice_no;
INSERT INTO invoices (year) VALUES (2025) RETURNING year, invoice_no;
SELECT cache_ext.counter_get('invoice_seq:2024') AS c2024,
	   cache_ext.counter_get('invoice_seq:2025') AS c2025;

-- Redis lost everything (FLUSHALL): numbering resumes above the table's max
SELECT cache_ext.command('FLUSHALL');
INSERT INTO invoices (year) VALUES (2024) RETURNING year, invoice_no;
-- the counter was set back (restored snapshot, stale replica)
SELECT cache_ext.command('SET', 'invoice_seq:2024', '1');
INSERT INTO invoices (year) VALUES (2024) RETURNING year, invoice_no;
-- the counter ahead of the table (rolled-back inserts, the application's
-- own INCRs): Redis stays the allocator, leaving a gap
SELECT cache_ext.command('INCR', 'invoice_seq:2024');
INSERT INTO invoices (year) VALUES (2024) RETURNING year, invoice_no;
BEGIN;
INSERT INTO invoices (year) VALUES (2024) RETURNING year, invoice_no;
ROLLBACK;
INSERT INTO invoices (year) VALUES (2024) RETURNING year, invoice_no;

-- an explicit number is kept, and the counter synced to it after commit
INSERT INTO invoices (year, invoice_no) VALUES (2024, 50) RETURNING year, invoice_no;
SELECT counters_wait('invoice_seq:2024', 50);
INSERT INTO invoices (year) VALUES (2024) RETURNING year, invoice_no;
-- ... but not when the insert rolls back
BEGIN;
INSERT INTO invoices (year, invoice_no) VALUES (2024, 500);
ROLLBACK;
SELECT cache_ext.counter_get('invoice_seq:2024');
-- an explicit number below the counter leaves it alone
INSERT INTO invoices (year, invoice_no) VALUES (2024, 30) RETURNING year, invoice_no;
INSERT INTO invoices (year) VALUES (2024) RETURNING year, invoice_no;

-- an UPDATE that changes the number syncs the counter
UPDATE invoices SET invoice_no = 60 WHERE year = 2024 AND invoice_no = 52;
SELECT counters_wait('invoice_seq:2024', 60);
-- an UPDATE that moves a row to another year syncs that year's counter
UPDATE invoices SET year = 2026 WHERE year = 2024 AND invoice_no = 60;
SELECT counters_wait('invoice_seq:2026', 60);
-- an UPDATE of other columns, or to NULL, numbers nothing
UPDATE invoices SET note = 'paid' WHERE year = 2025;
UPDATE invoices SET invoice_no = NULL WHERE year = 2026 RETURNING year, invoice_no;
INSERT INTO invoices (year) VALUES (2026) RETURNING year, invoice_no;

-- a NULL template column on insert: no counter to number from
INSERT INTO invoices (year) VALUES (NULL);
-- an explicit number needs no counter
INSERT INTO invoices (year, invoice_no) VALUES (NULL, 7) RETURNING year, invoice_no;

-- a duplicate explicit number is caught by the unique index
INSERT INTO invoices (year, invoice_no) VALUES (2025, 1);

-- COPY and multi-row INSERT ... SELECT are numbered row by row
INSERT INTO invoices (year) SELECT 2027 FROM generate_series(1, 5);
COPY invoices (year) FROM stdin;
2027
2027
\.
SELECT year, count(*), min(invoice_no), max(invoice_no), count(DISTINCT invoice_no)
FROM invoices WHERE year = 2027 GROUP BY year;

-- the key prefix applies to the trigger's counters too
SET cache_ext.key_prefix = 'app:1:';
INSERT INTO invoices (year) VALUES (2028) RETURNING year, invoice_no;
RESET cache_ext.key_prefix;
SELECT cache_ext.command('GET', 'app:1:invoice_seq:2028');

-- a unique constraint (or primary key) counts as the unique index
CREATE TABLE credit_notes (
	series text,
	no integer,
	PRIMARY KEY (series, no)
);
CREATE TRIGGER number_credit_notes
	BEFORE INSERT ON credit_notes
	FOR EACH ROW EXECUTE FUNCTION cache_ext.assign_number('no', 'cn:{series}', 'cache');
INSERT INTO credit_notes (series) VALUES ('A'), ('B'), ('A') RETURNING *;

-- one counter for the whole table: a template without placeholders
CREATE TABLE tickets (no smallint UNIQUE, subject text);
CREATE TRIGGER number_tickets
	BEFORE INSERT ON tickets
	FOR EACH ROW EXECUTE FUNCTION cache_ext.assign_number('no', 'ticket_seq');
INSERT INTO tickets (subject) VALUES ('a'), ('b') RETURNING *;
-- a counter raised past the range of the smallint column (by another
-- table or a client) is set back to the table's largest number, loudly
SELECT cache_ext.counter_sync('ticket_seq', 32767);
INSERT INTO tickets (subject) VALUES ('c') RETURNING *;
SELECT cache_ext.counter_get('ticket_seq');
-- a smallint column cannot take a number beyond its range: once the table
-- holds the largest one, numbering stops with an error
INSERT INTO tickets VALUES (32767, 'max');
INSERT INTO tickets (subject) VALUES ('d');

-- a domain over an integer is numbered, its constraint checked
CREATE DOMAIN positive_no AS bigint CHECK (VALUE > 0 AND VALUE < 4);
CREATE TABLE orders (no positive_no UNIQUE);
CREATE TRIGGER number_orders
	BEFORE INSERT ON orders
	FOR EACH ROW EXECUTE FUNCTION cache_ext.assign_number('no', 'order_seq');
INSERT INTO orders DEFAULT VALUES RETURNING *;
SELECT cache_ext.counter_sync('order_seq', 3);
INSERT INTO orders DEFAULT VALUES RETURNING *;

-- a partitioned table: the trigger and the unique index on the parent
CREATE TABLE bills (region text, year int, no bigint, UNIQUE (year, no))
	PARTITION BY LIST (year);
CREATE TABLE bills_2024 PARTITION OF bills FOR VALUES IN (2024);
CREATE TABLE bills_2025 PARTITION OF bills FOR VALUES IN (2025);
CREATE TRIGGER number_bills
	BEFORE INSERT OR UPDATE ON bills
	FOR EACH ROW EXECUTE FUNCTION cache_ext.assign_number('no', 'bill:{year}');
INSERT INTO bills (region, year) VALUES ('eu', 2024), ('us', 2025), ('us', 2024)
	RETURNING region, year, no;
SELECT cache_ext.command('DEL', 'bill:2024');
INSERT INTO bills (region, year) VALUES ('us', 2024) RETURNING region, year, no;
-- a unique index that includes a column outside the template does not do
CREATE TABLE bills2 (region text, year int, no bigint, UNIQUE (region, year, no))
	PARTITION BY LIST (region);
CREATE TABLE bills2_eu PARTITION OF bills2 FOR VALUES IN ('eu');
CREATE TRIGGER number_bills2
	BEFORE INSERT OR UPDATE ON bills2
	FOR EACH ROW EXECUTE FUNCTION cache_ext.assign_number('no', 'bill2:{year}');
INSERT INTO bills2 (region, year) VALUES ('eu', 2024);

-- the trigger notices schema changes: a renamed column, a dropped index
ALTER TABLE invoices RENAME COLUMN invoice_no TO number;
INSERT INTO invoices (year) VALUES (2024);
DROP TRIGGER number_invoices ON invoices;
CREATE TRIGGER number_invoices
	BEFORE INSERT OR UPDATE ON invoices
	FOR EACH ROW EXECUTE FUNCTION cache_ext.assign_number('number', 'invoice_seq:{year}');
INSERT INTO invoices (year) VALUES (2024) RETURNING year, number;
DROP INDEX invoices_year_invoice_no_idx;
INSERT INTO invoices (year) VALUES (2024);
CREATE UNIQUE INDEX ON invoices (year, number);

-- a role that may only INSERT: the floor is read as the table's owner, and
-- row-level security does not hide rows from it
CREATE ROLE counters_clerk;
GRANT INSERT ON invoices TO counters_clerk;
GRANT USAGE ON SEQUENCE invoices_id_seq TO counters_clerk;
ALTER TABLE invoices ENABLE ROW LEVEL SECURITY;
CREATE POLICY clerk_sees_nothing ON invoices FOR SELECT USING (false);
CREATE POLICY clerk_inserts ON invoices FOR INSERT WITH CHECK (true);
SELECT cache_ext.command('FLUSHALL');
SET ROLE counters_clerk;
INSERT INTO invoices (year) VALUES (2024);
RESET ROLE;
SELECT year, number FROM invoices WHERE year = 2024 ORDER BY number DESC LIMIT 2;

DROP TABLE invoices, credit_notes, tickets, orders, bills, bills2;
DROP DOMAIN positive_no;
DROP ROLE counters_clerk;
DROP FUNCTION counters_wait(text, bigint);
