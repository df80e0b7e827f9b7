-- Key templates: rendering of every common column type, NULL skip, literal
-- braces, patterns, the key prefix, and the errors of malformed templates.
-- Nothing here talks to Redis: cache_ext.render_key() shows the key a
-- trigger with the template would touch.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS cache_ext;
RESET client_min_messages;

CREATE TABLE tmpl_rows (
	id int PRIMARY KEY,
	user_id bigint,
	small int2,
	account uuid,
	name text,
	code varchar(10),
	tag char(4),
	relid oid,
	created date,
	flag boolean,
	amount numeric,
	"Mixed Case" text,
	dropped_later int
);
INSERT INTO tmpl_rows VALUES
	(1, 9223372036854775807, -32768, 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
	 'alice', 'c-1', 'ab', 4294967295, '2024-02-29', true, 12.50, 'M', 0),
	(2, -1, 0, '00000000-0000-0000-0000-000000000000',
	 'x*y?[z]\w', '', 'abcd', 0, '1999-12-31', false, -0.001, '', 0),
	(3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);

-- every type, fast paths (int, bigint, int2, oid, uuid, text) and output functions
SELECT id,
	   cache_ext.render_key('i:{id}', t) AS int4,
	   cache_ext.render_key('u:{user_id}', t) AS int8,
	   cache_ext.render_key('s:{small}', t) AS int2,
	   cache_ext.render_key('a:{account}', t) AS uuid,
	   cache_ext.render_key('o:{relid}', t) AS oid
FROM tmpl_rows t ORDER BY id;
SELECT id,
	   cache_ext.render_key('n:{name}', t) AS text,
	   cache_ext.render_key('c:{code}', t) AS varchar,
	   cache_ext.render_key('t:{tag}', t) AS bpchar,
	   cache_ext.render_key('d:{created}', t) AS date,
	   cache_ext.render_key('f:{flag}', t) AS bool,
	   cache_ext.render_key('m:{amount}', t) AS numeric
FROM tmpl_rows t ORDER BY id;
-- the fast paths agree with the output functions (format's %s uses them;
-- note that char(n) keeps its padding there, unlike a cast to text)
SELECT count(*) AS mismatches FROM tmpl_rows t
WHERE cache_ext.render_key('{id}:{user_id}:{small}:{account}:{relid}:{name}:{code}:{tag}', t)
	  IS DISTINCT FROM format('%s:%s:%s:%s:%s:%s:%s:%s', id, user_id, small, account,
							  relid, name, code, tag)
	  AND user_id IS NOT NULL;
SELECT cache_ext.render_key('[{tag}]', t) FROM tmpl_rows t WHERE id = 1;
-- output functions follow the session's settings (DateStyle here)
SET DateStyle = 'ISO';
SELECT cache_ext.render_key('d:{created}', t) FROM tmpl_rows t WHERE id = 1;
RESET DateStyle;

-- several placeholders, quoted column names, literal braces, a fixed key
SELECT cache_ext.render_key('user:{user_id}:acct:{account}', t) FROM tmpl_rows t WHERE id = 1;
SELECT cache_ext.render_key('{Mixed Case}|{id}', t) FROM tmpl_rows t WHERE id = 1;
SELECT cache_ext.render_key('{{literal}}:{id}:{{{id}}}', t) FROM tmpl_rows t WHERE id = 1;
SELECT cache_ext.render_key('catalog_version', t) FROM tmpl_rows t WHERE id = 1;
-- an empty text value renders as empty, a NULL one skips the key
SELECT cache_ext.render_key('e:{name}', t) IS NULL AS skipped FROM tmpl_rows t ORDER BY id;

-- a template containing * is a pattern: values' glob characters are escaped
SELECT id, cache_ext.render_key('booking:{name}:*', t) FROM tmpl_rows t ORDER BY id;

-- the key prefix is applied, and escaped in patterns
SET cache_ext.key_prefix = 'app*1:';
SELECT cache_ext.render_key('cache_user_version:{id}', t),
	   cache_ext.render_key('booking:{id}:*', t)
FROM tmpl_rows t WHERE id = 1;
RESET cache_ext.key_prefix;

-- columns added or dropped after the data was written
ALTER TABLE tmpl_rows ADD COLUMN added int DEFAULT 7;
ALTER TABLE tmpl_rows DROP COLUMN dropped_later;
SELECT id, cache_ext.render_key('x:{added}:{id}', t) FROM tmpl_rows t ORDER BY id;

-- errors
\set VERBOSITY default
SELECT cache_ext.render_key('x:{nope}', t) FROM tmpl_rows t;
SELECT cache_ext.render_key('x:{Id}', t) FROM tmpl_rows t;
SELECT cache_ext.render_key('x:{dropped_later}', t) FROM tmpl_rows t;
SELECT cache_ext.render_key('x:{id', t) FROM tmpl_rows t;
SELECT cache_ext.render_key('x:{a{id}', t) FROM tmpl_rows t;
SELECT cache_ext.render_key('x:{}', t) FROM tmpl_rows t;
SELECT cache_ext.render_key('x:}', t) FROM tmpl_rows t;
SELECT cache_ext.render_key('x:{id}}', t) FROM tmpl_rows t;
SELECT cache_ext.render_key('', t) FROM tmpl_rows t;
SELECT cache_ext.render_key(NULL, t) FROM tmpl_rows t;
SELECT cache_ext.render_key('x:{id}', 42);
SELECT cache_ext.render_key('x:{id}', ROW(1, 2));

DROP TABLE tmpl_rows;
