--
-- counters_errors: bad arguments to assign_number and bad counters
--
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS cache_ext;
RESET client_min_messages;
SELECT cache_ext.command('FLUSHDB');

CREATE TABLE docs (
	kind text,
	year int,
	no bigint,
	label text,
	amount numeric,
	UNIQUE (kind, year, no)
);

-- the number column is not an integer
CREATE TRIGGER t BEFORE INSERT ON docs
	FOR EACH ROW EXECUTE FUNCTION cache_ext.assign_number('label', 'doc:{year}');
INSERT INTO docs (year) VALUES (2024);
DROP TRIGGER t ON docs;
CREATE TRIGGER t BEFORE INSERT ON docs
	FOR EACH ROW EXECUTE FUNCTION cache_ext.assign_number('amount', 'doc:{year}');
INSERT INTO docs (year) VALUES (2024);
DROP TRIGGER t ON docs;

-- the number column does not exist (names are case sensitive)
CREATE TRIGGER t BEFORE INSERT ON docs
	FOR EACH ROW EXECUTE FUNCTION cache_ext.assign_number('number', 'doc:{year}');
INSERT INTO docs (year) VALUES (2024);
DROP TRIGGER t ON docs;
CREATE TRIGGER t BEFORE INSERT ON docs
	FOR EACH ROW EXECUTE FUNCTION cache_ext.assign_number('No', 'doc:{year}');
INSERT INTO docs (year) VALUES (2024);
DROP TRIGGER t ON docs;

-- a template placeholder that is not a column; a malformed template
CREATE TRIGGER t BEFORE INSERT ON docs
	FOR EACH ROW EXECUTE FUNCTION cache_ext.assign_number('no', 'doc:{yaer}');
INSERT INTO docs (year) VALUES (2024);
DROP TRIGGER t ON docs;
CREATE TRIGGER t BEFORE INSERT ON docs
	FOR EACH ROW EXECUTE FUNCTION cache_ext.assign_number('no', 'doc:{year');
INSERT INTO docs (year) VALUES (2024);
DROP TRIGGER t ON docs;

-- the number cannot be part of its own key
CREATE TRIGGER t BEFORE INSERT ON docs
	FOR EACH ROW EXECUTE FUNCTION cache_ext.assign_number('no', 'doc:{year}:{no}');
INSERT INTO docs (year) VALUES (2024);
DROP TRIGGER t ON docs;

-- unknown mode, wrong number of arguments
CREATE TRIGGER t BEFORE INSERT ON docs
	FOR EACH ROW EXECUTE FUNCTION cache_ext.assign_number('no', 'doc:{year}', 'fast');
INSERT INTO docs (year) VALUES (2024);
DROP TRIGGER t ON docs;
CREATE TRIGGER t BEFORE INSERT ON docs
	FOR EACH ROW EXECUTE FUNCTION cache_ext.assign_number('no');
INSERT INTO docs (year) VALUES (2024);
DROP TRIGGER t ON docs;
CREATE TRIGGER t BEFORE INSERT ON docs
	FOR EACH ROW EXECUTE FUNCTION cache_ext.assign_number('no', 'doc:{year}', 'cache', 'x');
INSERT INTO docs (year) VALUES (2024);
DROP TRIGGER t ON docs;

-- the wrong kind of trigger
CREATE TRIGGER t AFTER INSERT ON docs
	FOR EACH ROW EXECUTE FUNCTION cache_ext.assign_number('no', 'doc:{year}');
INSERT INTO docs (year) VALUES (2024);
DROP TRIGGER t ON docs;
CREATE TRIGGER t BEFORE INSERT ON docs
	FOR EACH STATEMENT EXECUTE FUNCTION cache_ext.assign_number('no', 'doc:{year}');
INSERT INTO docs (year) VALUES (2024);
DROP TRIGGER t ON docs;
CREATE TRIGGER t BEFORE DELETE ON docs
	FOR EACH ROW EXECUTE FUNCTION cache_ext.assign_number('no', 'doc:{year}');
INSERT INTO docs (kind, year, no) VALUES ('x', 2024, 1);
DELETE FROM docs;
DROP TRIGGER t ON docs;

-- unique indexes that do not prevent duplicates within a partition
CREATE TABLE letters ("Series" text, "Letter No" int, flag bool, extra int);
CREATE UNIQUE INDEX ON letters ("Series", "Letter No") WHERE flag;
CREATE UNIQUE INDEX ON letters ("Series", abs("Letter No"));
CREATE UNIQUE INDEX ON letters ("Series", "Letter No", extra);
CREATE TRIGGER t BEFORE INSERT ON letters
	FOR EACH ROW EXECUTE FUNCTION cache_ext.assign_number('Letter No', 'letter:{Series}');
INSERT INTO letters ("Series") VALUES ('A');
\set VERBOSITY sqlstate
INSERT INTO letters ("Series") VALUES ('A');
\set VERBOSITY default
-- running the hinted statement fixes it
CREATE UNIQUE INDEX ON public.letters ("Series", "Letter No");
INSERT INTO letters ("Series") VALUES ('A') RETURNING "Series", "Letter No";

-- a counter that does not hold an integer
CREATE TRIGGER t BEFORE INSERT ON docs
	FOR EACH ROW EXECUTE FUNCTION cache_ext.assign_number('no', 'doc:{kind}:{year}');
SELECT cache_ext.command('SET', 'doc:inv:2024', 'not a number');
INSERT INTO docs (kind, year) VALUES ('inv', 2024);
SELECT cache_ext.command('LPUSH', 'doc:inv:2025', '1');
INSERT INTO docs (kind, year) VALUES ('inv', 2025);
-- other partitions are unaffected
INSERT INTO docs (kind, year) VALUES ('inv', 2026) RETURNING kind, year, no;
DROP TRIGGER t ON docs;

-- not called as a trigger
SELECT cache_ext.assign_number();

DROP TABLE docs, letters;
