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

CREATE TABLE cache_ext.extra_namespaces (
	kind	text NOT NULL CHECK (kind IN ('bump', 'delete')),
	pattern	text NOT NULL CHECK (pattern <> ''),
	PRIMARY KEY (kind, pattern)
);

COMMENT ON TABLE cache_ext.extra_namespaces IS
'Namespaces the fallback invalidation must reach that no trigger names (keys bumped only through '
'cache_ext.bump() or deleted only through cache_ext.invalidate()): Redis SCAN patterns without the '
'key prefix, such as ''cache_catalog_version:*''. kind bump: every matching version key is bumped; '
'kind delete: every matching key is deleted.';
COMMENT ON COLUMN cache_ext.extra_namespaces.kind IS
'''bump'' (version keys: bump every match) or ''delete'' (UNLINK every match).';
COMMENT ON COLUMN cache_ext.extra_namespaces.pattern IS
'Redis glob pattern, without cache_ext.key_prefix (the fallback invalidation applies it, escaped).';

SELECT pg_catalog.pg_extension_config_dump('cache_ext.extra_namespaces', '');

CREATE FUNCTION cache_ext.namespace_patterns()
RETURNS TABLE (kind text, pattern text)
AS 'MODULE_PATHNAME', 'cache_ext_namespace_patterns'
LANGUAGE C STABLE PARALLEL UNSAFE;

COMMENT ON FUNCTION cache_ext.namespace_patterns() IS
'Every Redis SCAN pattern the fallback invalidation must reach in this database, WITHOUT '
'cache_ext.key_prefix (the fallback applies it, escaped, with the prefix of the session running it): '
'kind ''bump'' for the version keys of bump_version and invalidate_on_truncate triggers (placeholders '
'become *, literal glob characters escaped) plus ''cache_user_version:*'' always, kind ''delete'' for '
'the keys of invalidate_keys triggers, and the rows of cache_ext.extra_namespaces. Deduplicated.';

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

-- Key templates are checked when a trigger is created, not at its first write.
CREATE FUNCTION cache_ext.check_new_triggers()
RETURNS event_trigger
AS 'MODULE_PATHNAME', 'cache_ext_check_new_triggers'
LANGUAGE C;
COMMENT ON FUNCTION cache_ext.check_new_triggers() IS
'Event trigger function: at the end of CREATE TRIGGER, parses the key templates of new bump_version() and '
'invalidate_keys() triggers against their table, so that an unknown column or a malformed template is an '
'error when the trigger is created';

CREATE EVENT TRIGGER cache_ext_check_templates ON ddl_command_end
  WHEN TAG IN ('CREATE TRIGGER')
  EXECUTE FUNCTION cache_ext.check_new_triggers();
COMMENT ON EVENT TRIGGER cache_ext_check_templates IS
'Checks the key templates of cache_ext invalidation triggers when they are created (cache_ext.check_new_triggers)';
