-- Invalidation hooks (issue 3): trigger functions that turn row changes into
-- namespace version bumps and key deletions, the transactional SQL functions
-- doing the same by hand, the version readers, and the list of every
-- namespace the fallback invalidation must reach.
--
-- Nothing here talks to Redis to invalidate: effects join the transaction's
-- pending set and are delivered after commit (src/pending.c, delivery.c).
-- Key templates are described in src/templates.c: literal text, {column}
-- placeholders, "{{" and "}}" for literal braces.

-- Trigger functions ---------------------------------------------------------

CREATE FUNCTION cache_ext.bump_version()
RETURNS trigger
AS 'MODULE_PATHNAME', 'cache_ext_bump_version'
LANGUAGE C;

COMMENT ON FUNCTION cache_ext.bump_version() IS
'Trigger: after commit, bump (move forward) the version key of every namespace a changed row belongs to. '
'Arguments: key templates such as ''cache_workspace_version:{workspace_id}'', default '
'''cache_user_version:{user_id}''. AFTER INSERT OR UPDATE OR DELETE FOR EACH ROW (NEW on insert, '
'OLD on delete, both on update; a NULL column skips the key), or FOR EACH STATEMENT with transition '
'tables, or AFTER TRUNCATE (bumps every key matching each template).';

CREATE FUNCTION cache_ext.invalidate_keys()
RETURNS trigger
AS 'MODULE_PATHNAME', 'cache_ext_invalidate_keys'
LANGUAGE C;

COMMENT ON FUNCTION cache_ext.invalidate_keys() IS
'Trigger: after commit, delete the keys named by its templates (such as ''field_templates:{rule_id}'') '
'for every changed row. A template containing * is a pattern, deleted with SCAN + UNLINK in batches: '
'O(keys in Redis), never KEYS. Same row/statement forms as bump_version; on TRUNCATE deletes every '
'key matching each template.';

CREATE FUNCTION cache_ext.invalidate_on_truncate()
RETURNS trigger
AS 'MODULE_PATHNAME', 'cache_ext_invalidate_on_truncate'
LANGUAGE C;

COMMENT ON FUNCTION cache_ext.invalidate_on_truncate() IS
'Trigger for AFTER TRUNCATE ... FOR EACH STATEMENT, taking the same arguments as the table''s '
'bump_version trigger: after commit, bumps every version key matching each template (placeholders '
'become *), because row triggers do not fire on TRUNCATE. Costs a SCAN of the whole keyspace.';

-- Transactional SQL functions -------------------------------------------------

CREATE FUNCTION cache_ext.bump(key text)
RETURNS void
AS 'MODULE_PATHNAME', 'cache_ext_bump'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

COMMENT ON FUNCTION cache_ext.bump(text) IS
'Bump (move forward) the version key cache_ext.key_prefix || key after the current transaction commits; '
'nothing happens if it aborts or the savepoint rolls back.';

CREATE FUNCTION cache_ext.bump_user(user_id bigint)
RETURNS void
AS 'MODULE_PATHNAME', 'cache_ext_bump_user'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

COMMENT ON FUNCTION cache_ext.bump_user(bigint) IS
'cache_ext.bump(''cache_user_version:'' || user_id): invalidate everything cached for one user, '
'after commit.';

CREATE FUNCTION cache_ext.invalidate(key_or_pattern text)
RETURNS void
AS 'MODULE_PATHNAME', 'cache_ext_invalidate'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

COMMENT ON FUNCTION cache_ext.invalidate(text) IS
'Delete a key after the current transaction commits; an argument containing * is a pattern, every '
'matching key is deleted with SCAN + UNLINK (O(keys in Redis)). The key prefix is applied (and '
'escaped in patterns).';

-- Readers -----------------------------------------------------------------------

CREATE FUNCTION cache_ext.version(key text)
RETURNS bigint
AS 'MODULE_PATHNAME', 'cache_ext_version'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

COMMENT ON FUNCTION cache_ext.version(text) IS
'Current value of the version key cache_ext.key_prefix || key, read from Redis now (GET); NULL when '
'the key does not exist. Bumps of the current transaction are not visible before it commits.';

CREATE FUNCTION cache_ext.user_version(user_id bigint)
RETURNS bigint
AS 'MODULE_PATHNAME', 'cache_ext_user_version'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

COMMENT ON FUNCTION cache_ext.user_version(bigint) IS
'cache_ext.version(''cache_user_version:'' || user_id).';

CREATE FUNCTION cache_ext.render_key(template text, "row" anyelement)
RETURNS text
AS 'MODULE_PATHNAME', 'cache_ext_render_key'
LANGUAGE C STABLE PARALLEL SAFE;

COMMENT ON FUNCTION cache_ext.render_key(text, anyelement) IS
'The complete key (key prefix included) an invalidation trigger with this template would touch for '
'this row of a table, NULL when a referenced column is NULL; a template containing * gives the SCAN '
'pattern. Sends nothing. Use it to check a template before creating a trigger: '
'SELECT cache_ext.render_key(''cache_user_version:{user_id}'', t) FROM t LIMIT 1.';

-- Namespaces for the fallback invalidation -------------------------------------------
--
-- The fallback bumps or deletes every key of every namespace it knows.  A
-- tenant must not choose them: they come from the triggers of trusted roles
-- (superusers and cache_ext_admin members: the CREATE TRIGGER event trigger
-- records them in trigger_namespaces) and from extra_namespaces, which only
-- cache_ext_admin writes, each with the key prefix recorded for it.  A
-- pattern starts with literal text ('*' alone would be every key).

CREATE TABLE cache_ext.extra_namespaces (
	kind	text NOT NULL CHECK (kind IN ('bump', 'delete')),
	pattern	text NOT NULL CHECK (pattern ~ '^([^*?[\\]|\\.)'),
	key_prefix text NOT NULL
		DEFAULT COALESCE(pg_catalog.current_setting('cache_ext.key_prefix', true), ''),
	PRIMARY KEY (kind, pattern, key_prefix)
);

COMMENT ON TABLE cache_ext.extra_namespaces IS
'Namespaces the fallback invalidation must reach that no trigger of a trusted role names (keys bumped only through '
'cache_ext.bump() or deleted only through cache_ext.invalidate(), or the namespaces of triggers created by other roles): '
'Redis SCAN patterns such as ''cache_catalog_version:*'', each with its key prefix. kind bump: every matching version '
'key is bumped; kind delete: every matching key is deleted. Written by cache_ext_admin.';
COMMENT ON COLUMN cache_ext.extra_namespaces.kind IS
'''bump'' (version keys: bump every match) or ''delete'' (UNLINK every match).';
COMMENT ON COLUMN cache_ext.extra_namespaces.pattern IS
'Redis glob pattern, without the key prefix, starting with literal text (not with *, ? or [).';
COMMENT ON COLUMN cache_ext.extra_namespaces.key_prefix IS
'The cache_ext.key_prefix the pattern is applied with (escaped, so that it matches only itself); '
'by default the prefix of the session that inserted the row.';

SELECT pg_catalog.pg_extension_config_dump('cache_ext.extra_namespaces', '');

CREATE TABLE cache_ext.trigger_namespaces (
	kind			text NOT NULL CHECK (kind IN ('bump', 'delete')),
	pattern			text NOT NULL CHECK (pattern ~ '^([^*?[\\]|\\.)'),
	key_prefix		text NOT NULL,
	trigger_name	text NOT NULL,
	registered_by	name NOT NULL DEFAULT CURRENT_USER,
	registered_at	timestamptz NOT NULL DEFAULT pg_catalog.now(),
	PRIMARY KEY (kind, pattern, key_prefix)
);

COMMENT ON TABLE cache_ext.trigger_namespaces IS
'The namespaces of the invalidation triggers created by superusers and cache_ext_admin members, recorded by the '
'CREATE TRIGGER event trigger (cache_ext.check_new_triggers) with the key prefix in force then: the fallback '
'invalidation reaches them. A row stays when its trigger is dropped (reaching a namespace too many is safe); '
'cache_ext_admin may delete it.';
COMMENT ON COLUMN cache_ext.trigger_namespaces.kind IS
'''bump'' (bump_version, invalidate_on_truncate) or ''delete'' (invalidate_keys).';
COMMENT ON COLUMN cache_ext.trigger_namespaces.pattern IS
'The trigger''s key template as a SCAN pattern (placeholders become *), without the key prefix.';
COMMENT ON COLUMN cache_ext.trigger_namespaces.key_prefix IS
'The cache_ext.key_prefix in force when the trigger was created; the fallback applies the pattern with it.';
COMMENT ON COLUMN cache_ext.trigger_namespaces.trigger_name IS
'The trigger that registered the namespace first, as name ON schema.table.';
COMMENT ON COLUMN cache_ext.trigger_namespaces.registered_by IS
'The role that created that trigger.';
COMMENT ON COLUMN cache_ext.trigger_namespaces.registered_at IS
'When it was created.';

SELECT pg_catalog.pg_extension_config_dump('cache_ext.trigger_namespaces', '');

CREATE FUNCTION cache_ext.namespace_patterns()
RETURNS TABLE (kind text, pattern text, key_prefix text, source text, reached boolean)
AS 'MODULE_PATHNAME', 'cache_ext_namespace_patterns'
LANGUAGE C STABLE PARALLEL UNSAFE;

COMMENT ON FUNCTION cache_ext.namespace_patterns() IS
'Superusers and cache_ext_admin: every Redis SCAN pattern of the fallback invalidation in this database, without '
'the key prefix, with the prefix it is applied with (escaped): ''cache_user_version:*'' with the prefix of the '
'session running the fallback, the rows of cache_ext.trigger_namespaces and cache_ext.extra_namespaces '
'(reached true), and, with reached false and no prefix, the namespaces of this database''s invalidation triggers '
'that neither table lists (triggers created by other roles, or before 0.2.0).';

-- Privileges: nothing for PUBLIC; grant what each role needs. -----------------------

REVOKE ALL ON FUNCTION cache_ext.bump_version() FROM PUBLIC;
REVOKE ALL ON FUNCTION cache_ext.invalidate_keys() FROM PUBLIC;
REVOKE ALL ON FUNCTION cache_ext.invalidate_on_truncate() FROM PUBLIC;
REVOKE ALL ON FUNCTION cache_ext.bump(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION cache_ext.bump_user(bigint) FROM PUBLIC;
REVOKE ALL ON FUNCTION cache_ext.invalidate(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION cache_ext.version(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION cache_ext.user_version(bigint) FROM PUBLIC;
REVOKE ALL ON FUNCTION cache_ext.render_key(text, anyelement) FROM PUBLIC;
REVOKE ALL ON FUNCTION cache_ext.namespace_patterns() FROM PUBLIC;
REVOKE ALL ON TABLE cache_ext.extra_namespaces FROM PUBLIC;
REVOKE ALL ON TABLE cache_ext.trigger_namespaces FROM PUBLIC;

-- Applications create invalidation triggers (PostgreSQL checks EXECUTE at
-- CREATE TRIGGER) and invalidate within their key prefix.
GRANT EXECUTE ON FUNCTION
  cache_ext.bump_version(), cache_ext.invalidate_keys(), cache_ext.invalidate_on_truncate(),
  cache_ext.bump(text), cache_ext.bump_user(bigint), cache_ext.invalidate(text),
  cache_ext.version(text), cache_ext.user_version(bigint),
  cache_ext.render_key(text, anyelement)
  TO cache_ext_app, cache_ext_admin;
-- Operators decide what the fallback reaches.
GRANT EXECUTE ON FUNCTION cache_ext.namespace_patterns() TO cache_ext_admin;
GRANT SELECT, INSERT, UPDATE, DELETE ON TABLE cache_ext.extra_namespaces,
  cache_ext.trigger_namespaces TO cache_ext_admin;

-- Key templates are checked when a trigger is created, not at its first write.
CREATE FUNCTION cache_ext.check_new_triggers()
RETURNS event_trigger
AS 'MODULE_PATHNAME', 'cache_ext_check_new_triggers'
LANGUAGE C;
COMMENT ON FUNCTION cache_ext.check_new_triggers() IS
'Event trigger function: at the end of CREATE TRIGGER, parses the key templates of new bump_version(), '
'invalidate_keys() and invalidate_on_truncate() triggers against their table (an unknown column, a malformed '
'template, a template starting with a placeholder or a glob, or one reaching the cache_enabled mirror or a '
'counter of the table is an error), and records their namespaces in cache_ext.trigger_namespaces when a '
'superuser or a cache_ext_admin member created them';

CREATE EVENT TRIGGER cache_ext_check_templates ON ddl_command_end
  WHEN TAG IN ('CREATE TRIGGER')
  EXECUTE FUNCTION cache_ext.check_new_triggers();
COMMENT ON EVENT TRIGGER cache_ext_check_templates IS
'Checks the key templates of cache_ext invalidation triggers when they are created (cache_ext.check_new_triggers)';

REVOKE ALL ON FUNCTION cache_ext.check_new_triggers() FROM PUBLIC;
