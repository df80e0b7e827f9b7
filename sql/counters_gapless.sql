--
-- counters_gapless: assign_number(..., 'gapless')
--
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS cache_ext;
RESET client_min_messages;
SELECT cache_ext.command('FLUSHDB');
DELETE FROM cache_ext.gapless_counters;

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

-- rows that exist before the trigger seed the counter
CREATE TABLE receipts (shop text, no int, UNIQUE (shop, no));
INSERT INTO receipts VALUES ('north', 1), ('north', 2);
CREATE TRIGGER number_receipts
	BEFORE INSERT OR UPDATE ON receipts
	FOR EACH ROW EXECUTE FUNCTION cache_ext.assign_number('no', 'receipt:{shop}', 'gapless');

INSERT INTO receipts (shop) VALUES ('north'), ('south') RETURNING *;
SELECT * FROM cache_ext.gapless_counters ORDER BY key;

-- a rolled-back insert gives its number back
BEGIN;
INSERT INTO receipts (shop) VALUES ('north') RETURNING *;
ROLLBACK;
INSERT INTO receipts (shop) VALUES ('north') RETURNING *;

-- so does a rolled-back savepoint
BEGIN;
INSERT INTO receipts (shop) VALUES ('south') RETURNING *;
SAVEPOINT s;
INSERT INTO receipts (shop) VALUES ('south') RETURNING *;
ROLLBACK TO SAVEPOINT s;
INSERT INTO receipts (shop) VALUES ('south') RETURNING *;
COMMIT;

-- and a failed statement
INSERT INTO receipts (shop) VALUES ('south'), (NULL);
INSERT INTO receipts (shop) VALUES ('south') RETURNING *;

SELECT shop, count(*), min(no), max(no) FROM receipts GROUP BY shop ORDER BY shop;

-- the Redis counter follows after commit, for the application's readers
SELECT counters_wait('receipt:north', 4);
SELECT counters_wait('receipt:south', 4);
-- and Redis plays no part in allocating: a wrong Redis counter is ignored
SELECT cache_ext.command('SET', 'receipt:north', '1000');
INSERT INTO receipts (shop) VALUES ('north') RETURNING *;

-- an explicit number raises the gapless counter at once
INSERT INTO receipts VALUES ('south', 10);
SELECT value FROM cache_ext.gapless_counters WHERE key = 'receipt:south';
INSERT INTO receipts (shop) VALUES ('south') RETURNING *;
SELECT counters_wait('receipt:south', 11);
-- and so does an UPDATE that changes it
UPDATE receipts SET no = 20 WHERE shop = 'south' AND no = 11;
SELECT value FROM cache_ext.gapless_counters WHERE key = 'receipt:south';
-- ... unless it rolls back
BEGIN;
INSERT INTO receipts VALUES ('south', 90);
ROLLBACK;
SELECT value FROM cache_ext.gapless_counters WHERE key = 'receipt:south';

-- a counter row that was lost or set back is overtaken by the table's max
UPDATE cache_ext.gapless_counters SET value = 0 WHERE key = 'receipt:north';
INSERT INTO receipts (shop) VALUES ('north') RETURNING *;

-- a role that may only INSERT into the table has no right on
-- gapless_counters itself, and needs none
CREATE ROLE counters_cashier;
GRANT INSERT ON receipts TO counters_cashier;
SET ROLE counters_cashier;
INSERT INTO receipts (shop) VALUES ('east');
SELECT * FROM cache_ext.gapless_counters;
RESET ROLE;
SELECT * FROM receipts WHERE shop = 'east';

DROP TABLE receipts;
DROP ROLE counters_cashier;
DROP FUNCTION counters_wait(text, bigint);
DELETE FROM cache_ext.gapless_counters;
