-- cache_ext 0.1.0 -> 0.2.0.  Every change to the SQL surface since 0.1.0, in
-- the order the fragments of sql/install/ make them; an updated install must
-- equal a fresh install of 0.2.0 (test/fault_upgrade.sh checks it).

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION cache_ext UPDATE TO '0.2.0'" to load this file. \quit

-- 01_roles.sql: the operator and application roles.
DO $roles$
BEGIN
	IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'cache_ext_admin') THEN
		CREATE ROLE cache_ext_admin NOLOGIN;
		COMMENT ON ROLE cache_ext_admin IS
			'cache_ext operators: profile registration, statistics reset, fallback invalidation';
	END IF;
	IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'cache_ext_app') THEN
		CREATE ROLE cache_ext_app NOLOGIN;
		COMMENT ON ROLE cache_ext_app IS
			'cache_ext applications: cache API and invalidation within their key prefix';
	END IF;
END
$roles$;

-- 00_schema.sql: a schema cache_ext owned by someone else (issue 9, finding
-- 11).  An install of 0.1.0 may have adopted a schema an ordinary role
-- created beforehand: refuse to update it until a superuser owns the
-- schema and nobody else may create objects in it.  (Its content is the
-- extension's by now; the DBA who takes the schema over checks for objects
-- that are not members.)
DO $schema_check$
DECLARE
	owner_name pg_catalog.name;
	owner_super boolean;
	creator pg_catalog.name;
BEGIN
	SELECT r.rolname, r.rolsuper INTO owner_name, owner_super
	  FROM pg_catalog.pg_namespace n
	  JOIN pg_catalog.pg_roles r ON r.oid OPERATOR(pg_catalog.=) n.nspowner
	 WHERE n.nspname OPERATOR(pg_catalog.=) 'cache_ext';
	IF NOT owner_super THEN
		RAISE EXCEPTION USING
			ERRCODE = 'insufficient_privilege',
			MESSAGE = pg_catalog.format('schema cache_ext is owned by %I, who is not a superuser', owner_name),
			DETAIL = 'cache_ext puts all its objects into schema cache_ext; the owner of the schema could change or drop them.',
			HINT = 'As a superuser, ALTER SCHEMA cache_ext OWNER TO a superuser, drop whatever in it is not part of the extension, and update again.';
	END IF;
	SELECT r.rolname INTO creator
	  FROM pg_catalog.pg_namespace n,
		   pg_catalog.aclexplode(n.nspacl) a
	  LEFT JOIN pg_catalog.pg_roles r ON r.oid OPERATOR(pg_catalog.=) a.grantee
	 WHERE n.nspname OPERATOR(pg_catalog.=) 'cache_ext'
	   AND a.privilege_type OPERATOR(pg_catalog.=) 'CREATE'
	   AND a.grantee OPERATOR(pg_catalog.<>) n.nspowner
	 LIMIT 1;
	IF FOUND THEN
		RAISE EXCEPTION USING
			ERRCODE = 'insufficient_privilege',
			MESSAGE = pg_catalog.format('role %s may create objects in schema cache_ext',
										COALESCE(pg_catalog.quote_ident(creator), 'PUBLIC')),
			DETAIL = 'cache_ext puts all its objects into schema cache_ext; a role that may create objects there could plant one that cache_ext uses.',
			HINT = 'REVOKE CREATE ON SCHEMA cache_ext FROM that role, drop whatever in the schema is not part of the extension, and update again.';
	END IF;
END
$schema_check$;

-- 01_roles.sql: both roles use functions of the schema.
GRANT USAGE ON SCHEMA cache_ext TO cache_ext_admin, cache_ext_app;

-- 30_counters.sql: gapless counters keyed by (table, key prefix, key)
-- (issue 9, finding 6).  A 0.1.0 counter row is keyed by the rendered key
-- alone; which table it numbered is not recorded.  It is copied to every
-- table that has a gapless assign_number trigger (the partitioned table
-- for one defined on a partitioned table), under the cache_ext.key_prefix
-- of the session running the update: a table never renders the keys of
-- the others, so extra copies are never read, and a table that finds no
-- row starts from its own largest number.  Run the update with the
-- application's key prefix set.
ALTER TABLE cache_ext.gapless_counters RENAME TO gapless_counters_0_1_0;
ALTER INDEX cache_ext.gapless_counters_pkey RENAME TO gapless_counters_0_1_0_pkey;

CREATE TABLE cache_ext.gapless_counters (
	tbl		regclass NOT NULL DEFAULT 0,
	prefix	text NOT NULL DEFAULT '',
	key		text NOT NULL,
	value	bigint NOT NULL,
	PRIMARY KEY (tbl, prefix, key)
);

COMMENT ON TABLE cache_ext.gapless_counters IS
'Counters of assign_number''s gapless mode, one row per numbered table, key prefix and rendered key template.  Numbers are taken under this row''s lock, so they commit or roll back with the row that uses them.  Changed only by the trigger, which runs its statements as this table''s owner, and by the event trigger that forgets the counters of dropped tables.';

COMMENT ON COLUMN cache_ext.gapless_counters.tbl IS
'The numbered table (the partitioned table for the partitions of one); 0 (-) for a counter of cache_ext 0.1.0 restored from a dump (keyed by the rendered key alone), which every table whose template renders that key counts from.';

COMMENT ON COLUMN cache_ext.gapless_counters.prefix IS
'The cache_ext.key_prefix in force when the row was numbered.';

COMMENT ON COLUMN cache_ext.gapless_counters.key IS
'The rendered key template, e.g. invoice_seq:2024 (the Redis key without cache_ext.key_prefix).';

COMMENT ON COLUMN cache_ext.gapless_counters.value IS
'The last number handed out (or synced from an explicit number) for this key.';

SELECT pg_catalog.pg_extension_config_dump('cache_ext.gapless_counters', '');

REVOKE ALL ON cache_ext.gapless_counters FROM PUBLIC;

INSERT INTO cache_ext.gapless_counters (tbl, prefix, key, value)
SELECT DISTINCT t.tbl,
	   COALESCE(pg_catalog.current_setting('cache_ext.key_prefix', true), ''),
	   o.key, o.value
  FROM cache_ext.gapless_counters_0_1_0 o,
	   (SELECT CASE WHEN c.relkind OPERATOR(pg_catalog.=) 'p'
					THEN pg_catalog.pg_partition_root(c.oid)
					ELSE c.oid::pg_catalog.regclass END AS tbl
		  FROM pg_catalog.pg_trigger tg
		  JOIN pg_catalog.pg_class c ON c.oid OPERATOR(pg_catalog.=) tg.tgrelid
		 WHERE tg.tgfoid OPERATOR(pg_catalog.=) 'cache_ext.assign_number()'::pg_catalog.regprocedure
		   AND tg.tgparentid OPERATOR(pg_catalog.=) '0'::pg_catalog.oid
		   AND tg.tgnargs OPERATOR(pg_catalog.=) 3
		   AND pg_catalog.lower(pg_catalog.split_part(pg_catalog.encode(tg.tgargs, 'escape'), '\000', 3))
			   OPERATOR(pg_catalog.=) 'gapless') t;

ALTER EXTENSION cache_ext DROP TABLE cache_ext.gapless_counters_0_1_0;
DROP TABLE cache_ext.gapless_counters_0_1_0;

CREATE FUNCTION cache_ext.gapless_counters_dropped()
RETURNS event_trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	DELETE FROM cache_ext.gapless_counters g
	 USING pg_catalog.pg_event_trigger_dropped_objects() d
	 WHERE d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass
	   AND d.objsubid OPERATOR(pg_catalog.=) 0
	   AND g.tbl::pg_catalog.oid OPERATOR(pg_catalog.=) d.objid;
END
$$;
COMMENT ON FUNCTION cache_ext.gapless_counters_dropped() IS
'Event trigger function: removes the gapless counters of dropped tables.';

CREATE EVENT TRIGGER cache_ext_gapless_counters_dropped ON sql_drop
	EXECUTE FUNCTION cache_ext.gapless_counters_dropped();
COMMENT ON EVENT TRIGGER cache_ext_gapless_counters_dropped IS
'Keeps cache_ext.gapless_counters free of dropped tables.';

REVOKE ALL ON FUNCTION cache_ext.gapless_counters_dropped() FROM PUBLIC;

GRANT EXECUTE ON FUNCTION cache_ext.counter_next(text, bigint) TO cache_ext_app;
GRANT EXECUTE ON FUNCTION cache_ext.counter_sync(text, bigint) TO cache_ext_app;
GRANT EXECUTE ON FUNCTION cache_ext.counter_get(text) TO cache_ext_app;
GRANT EXECUTE ON FUNCTION cache_ext.assign_number() TO cache_ext_app;

-- 40_profile.sql: registration is for admins (issue 9, findings 1 and 10;
-- the C functions check it themselves); the application reads and sets
-- its users' flags.
COMMENT ON FUNCTION cache_ext.register_profile_table(regclass, name, name) IS
'Adopts the application''s profile table: adds the flag column as boolean NOT NULL DEFAULT true when missing (no table rewrite), installs the mirroring triggers and records the registration.  Idempotent.  Only superusers and members of cache_ext_admin who own the table may call it.';
COMMENT ON FUNCTION cache_ext.unregister_profile_table(regclass) IS
'Removes the profile triggers and the registration; the flag column and its data stay.  Only superusers and members of cache_ext_admin who own the table may call it.';
GRANT EXECUTE ON FUNCTION cache_ext.register_profile_table(regclass, name, name) TO cache_ext_admin;
GRANT EXECUTE ON FUNCTION cache_ext.unregister_profile_table(regclass) TO cache_ext_admin;
GRANT EXECUTE ON FUNCTION cache_ext.profile_flag_changed() TO cache_ext_admin;
GRANT EXECUTE ON PROCEDURE cache_ext.mirror_profiles(integer, bigint) TO cache_ext_admin;
GRANT EXECUTE ON FUNCTION cache_ext.resync_profiles() TO cache_ext_admin;
GRANT EXECUTE ON FUNCTION cache_ext.cache_enabled(bigint) TO cache_ext_admin, cache_ext_app;
GRANT EXECUTE ON FUNCTION cache_ext.set_cache_enabled(bigint, boolean) TO cache_ext_admin, cache_ext_app;
-- 20_delivery.sql: cache_ext.stats counts reconnections by cause (columns
-- reconnects_lost, _timeout, _failover, _settings after reconnects) and
-- shows the Redis primary (redis_primary), the failovers seen and the time
-- of the last one (Sentinel discovery).  delivery_stats() reads the
-- backend's own statistics and retry list when the library is not
-- preloaded, which a parallel worker would report as its own: it runs in
-- the leader only (PARALLEL RESTRICTED; STRICT meant nothing for a function
-- without arguments).  A view cannot gain columns in the middle, nor a
-- function change its result: drop and re-create both.
DROP VIEW cache_ext.stats;
DROP FUNCTION cache_ext.delivery_stats();
CREATE FUNCTION cache_ext.delivery_stats(
  OUT scope text,
  OUT delivery text,
  OUT effects_committed bigint,
  OUT effects_sent bigint,
  OUT effects_coalesced bigint,
  OUT effects_async bigint,
  OUT effects_retry_queued bigint,
  OUT effects_retried bigint,
  OUT effects_failed bigint,
  OUT effects_dropped bigint,
  OUT fallbacks bigint,
  OUT fallback_pending boolean,
  OUT queue_depth bigint,
  OUT queue_bytes bigint,
  OUT queue_capacity bigint,
  OUT reconnects bigint,
  OUT reconnects_lost bigint,
  OUT reconnects_timeout bigint,
  OUT reconnects_failover bigint,
  OUT reconnects_settings bigint,
  OUT commit_failures bigint,
  OUT effects_prepared bigint,
  OUT pattern_steps bigint,
  OUT last_error text,
  OUT last_error_at timestamptz,
  OUT latency_samples bigint,
  OUT latency_p50_ms double precision,
  OUT latency_p90_ms double precision,
  OUT latency_p99_ms double precision,
  OUT last_fallback_at timestamptz,
  OUT fallback_reason text,
  OUT worker_pid integer,
  OUT stats_reset timestamptz,
  OUT redis_primary text,
  OUT failovers bigint,
  OUT last_failover_at timestamptz)
RETURNS record
AS 'MODULE_PATHNAME', 'cache_ext_delivery_stats'
LANGUAGE C VOLATILE PARALLEL RESTRICTED;
COMMENT ON FUNCTION cache_ext.delivery_stats() IS
  'Delivery statistics (the row behind the cache_ext.stats view)';

CREATE VIEW cache_ext.stats AS
  SELECT * FROM cache_ext.delivery_stats();
COMMENT ON VIEW cache_ext.stats IS
  'How invalidations reach Redis: counts since the last reset (cache_ext.reset_stats()), the queue, errors, latency';
COMMENT ON COLUMN cache_ext.stats.scope IS
  'cluster: shared by every backend (cache_ext preloaded); backend: this session only (not preloaded)';
COMMENT ON COLUMN cache_ext.stats.delivery IS
  'The current cache_ext.delivery mode of this session (sync or async)';
COMMENT ON COLUMN cache_ext.stats.effects_committed IS
  'Effects (bumps, deletes, sets, raises, patterns; one per distinct key per transaction) of committed transactions';
COMMENT ON COLUMN cache_ext.stats.effects_sent IS
  'Effects Redis acknowledged (whoever sent them: the committing session, a retry, the worker)';
COMMENT ON COLUMN cache_ext.stats.effects_coalesced IS
  'Bumps of a key that the background worker folded into another bump of the same key in the same pipeline (both transactions committed before it was sent; counted in effects_sent too)';
COMMENT ON COLUMN cache_ext.stats.effects_async IS
  'Effects handed to the background worker at commit (cache_ext.delivery = async)';
COMMENT ON COLUMN cache_ext.stats.effects_retry_queued IS
  'Effects put aside for a retry after a failed delivery';
COMMENT ON COLUMN cache_ext.stats.effects_retried IS
  'Effects delivered by a retry';
COMMENT ON COLUMN cache_ext.stats.effects_failed IS
  'Effects Redis refused with an error reply that retrying cannot fix (for example WRONGTYPE); not retried, logged';
COMMENT ON COLUMN cache_ext.stats.effects_dropped IS
  'Effects that could not be kept (queue full); each drop makes a fallback invalidation owed';
COMMENT ON COLUMN cache_ext.stats.fallbacks IS
  'Fallback invalidations performed (every namespace invalidated because effects were lost)';
COMMENT ON COLUMN cache_ext.stats.fallback_pending IS
  'A fallback invalidation is owed and will run once Redis is reachable';
COMMENT ON COLUMN cache_ext.stats.queue_depth IS
  'Effects waiting in the queue (shared memory), or in this backend''s retry list when not preloaded';
COMMENT ON COLUMN cache_ext.stats.queue_bytes IS
  'Bytes used in the queue';
COMMENT ON COLUMN cache_ext.stats.queue_capacity IS
  'Size of the queue in bytes (cache_ext.queue_size; 1 MB per backend when not preloaded)';
COMMENT ON COLUMN cache_ext.stats.reconnects IS
  'Connections to Redis re-opened by processes delivering effects (a process''s first connection is not counted)';
COMMENT ON COLUMN cache_ext.stats.reconnects_lost IS
  'Reconnections (counted in reconnects) because the connection failed: closed by the server, an I/O or protocol error, an interrupted round trip, or a failed attempt before';
COMMENT ON COLUMN cache_ext.stats.reconnects_timeout IS
  'Reconnections because a round trip or a connection attempt timed out';
COMMENT ON COLUMN cache_ext.stats.reconnects_failover IS
  'Reconnections because Redis answered READONLY, LOADING or MASTERDOWN (a failover: the host name is resolved again)';
COMMENT ON COLUMN cache_ext.stats.reconnects_settings IS
  'Reconnections because cache_ext.redis_url, a cache_ext.tls_* setting or cache_ext.redis_password_file changed';
COMMENT ON COLUMN cache_ext.stats.commit_failures IS
  'Commits whose after-commit delivery failed (each gave the client a WARNING)';
COMMENT ON COLUMN cache_ext.stats.effects_prepared IS
  'Effects stored by PREPARE TRANSACTION into cache_ext.prepared_effects';
COMMENT ON COLUMN cache_ext.stats.pattern_steps IS
  'SCAN steps (COUNT 1000 each) run for pattern invalidations';
COMMENT ON COLUMN cache_ext.stats.last_error IS
  'The last delivery problem (never contains a password)';
COMMENT ON COLUMN cache_ext.stats.last_error_at IS
  'When last_error happened';
COMMENT ON COLUMN cache_ext.stats.latency_samples IS
  'Effects whose commit-to-delivery latency was measured';
COMMENT ON COLUMN cache_ext.stats.latency_p50_ms IS
  'Median time from commit to Redis acknowledging the effect, in milliseconds (histogram with 8 buckets per power of two: about 6% precision)';
COMMENT ON COLUMN cache_ext.stats.latency_p90_ms IS
  '90th percentile of the commit-to-delivery latency, in milliseconds';
COMMENT ON COLUMN cache_ext.stats.latency_p99_ms IS
  '99th percentile of the commit-to-delivery latency, in milliseconds';
COMMENT ON COLUMN cache_ext.stats.last_fallback_at IS
  'When the last fallback invalidation completed';
COMMENT ON COLUMN cache_ext.stats.fallback_reason IS
  'Why the last fallback invalidation was needed';
COMMENT ON COLUMN cache_ext.stats.worker_pid IS
  'Process id of the background worker (NULL when not running or not preloaded)';
COMMENT ON COLUMN cache_ext.stats.stats_reset IS
  'When the counters were last reset';
COMMENT ON COLUMN cache_ext.stats.redis_primary IS
  'The Redis server last connected to, as host:port (never with credentials): for a redis+sentinel:// URL, the primary the sentinels named and its ROLE confirmed';
COMMENT ON COLUMN cache_ext.stats.failovers IS
  'Changes of primary seen through Sentinel since the server started (each makes a fallback invalidation owed)';
COMMENT ON COLUMN cache_ext.stats.last_failover_at IS
  'When the last change of primary was seen';
REVOKE ALL ON FUNCTION cache_ext.delivery_stats() FROM PUBLIC;
REVOKE ALL ON TABLE cache_ext.stats FROM PUBLIC;
GRANT EXECUTE ON FUNCTION cache_ext.delivery_stats() TO cache_ext_app, cache_ext_admin;
GRANT SELECT ON TABLE cache_ext.stats TO cache_ext_app, cache_ext_admin;

-- 00_schema.sql: nothing for PUBLIC (unchanged); 10_api.sql: the cache API
-- for both roles, lock keys hold a digest of the token.
REVOKE ALL ON FUNCTION cache_ext.ping() FROM PUBLIC;
REVOKE ALL ON FUNCTION cache_ext.get(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION cache_ext.get_bytea(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION cache_ext.set(text, text, int) FROM PUBLIC;
REVOKE ALL ON FUNCTION cache_ext.set_bytea(text, bytea, int) FROM PUBLIC;
REVOKE ALL ON FUNCTION cache_ext.add(text, text, int) FROM PUBLIC;
REVOKE ALL ON FUNCTION cache_ext.incr(text, bigint) FROM PUBLIC;
REVOKE ALL ON FUNCTION cache_ext.delete(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION cache_ext.delete_many(text[]) FROM PUBLIC;
REVOKE ALL ON FUNCTION cache_ext.ttl(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION cache_ext.lock_acquire(text, int) FROM PUBLIC;
REVOKE ALL ON FUNCTION cache_ext.lock_release(text, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION cache_ext.cursor_bump(text, jsonb) FROM PUBLIC;
REVOKE ALL ON FUNCTION cache_ext.cursor_get(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION cache_ext.cursor_last_event(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION cache_ext.cursor_reset(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION cache_ext.command(text[]) FROM PUBLIC;

GRANT EXECUTE ON FUNCTION
  cache_ext.ping(), cache_ext.get(text), cache_ext.get_bytea(text),
  cache_ext.set(text, text, int), cache_ext.set_bytea(text, bytea, int),
  cache_ext.add(text, text, int), cache_ext.incr(text, bigint),
  cache_ext.delete(text), cache_ext.delete_many(text[]), cache_ext.ttl(text),
  cache_ext.lock_acquire(text, int), cache_ext.lock_release(text, text),
  cache_ext.cursor_bump(text, jsonb), cache_ext.cursor_get(text),
  cache_ext.cursor_last_event(text), cache_ext.cursor_reset(text)
  TO cache_ext_app, cache_ext_admin;

COMMENT ON FUNCTION cache_ext.lock_acquire(text, int) IS
  'Take a lock held for at most ttl_seconds; returns a random token to release it with (the key holds only the token''s SHA-256 digest, so reading it does not reveal the token), NULL when held by someone else';

-- 20_delivery.sql: who registered a fallback hook; admin-only functions;
-- the grants.
ALTER TABLE cache_ext.fallback_hooks
  ADD COLUMN registered_by name NOT NULL DEFAULT CURRENT_USER;
COMMENT ON TABLE cache_ext.fallback_hooks IS
  'Functions without arguments called by the fallback invalidation, after every namespace pattern was invalidated (to resynchronise mirrors or counters); each runs as its owner';
COMMENT ON COLUMN cache_ext.fallback_hooks.hook IS
  'Schema-qualified signature of a function without arguments, such as ''public.resync_my_mirror()'', called in its own subtransaction as the function''s owner (restricted, search_path pg_catalog, pg_temp, the owner''s cache_ext.key_prefix); a row naming no function is skipped with a WARNING';
COMMENT ON COLUMN cache_ext.fallback_hooks.registered_by IS
  'The role that registered the hook (its default, CURRENT_USER, cannot be overridden by cache_ext_admin): the hook runs only if this role is a superuser or has the privileges of the function''s owner';
COMMENT ON FUNCTION cache_ext.reset_stats() IS
  'Superusers and cache_ext_admin: reset the counters and the latency histogram of cache_ext.stats (not the queue)';
COMMENT ON FUNCTION cache_ext.run_fallback() IS
  'Superusers and cache_ext_admin: invalidate every namespace now (cache_ext.namespace_patterns()) and call cache_ext.fallback_hooks; what the worker does after lost effects';
COMMENT ON FUNCTION cache_ext.deliver_prepared() IS
  'Superusers and cache_ext_admin: deliver, when this transaction commits, the effects of committed prepared transactions still in cache_ext.prepared_effects; returns their number';

REVOKE ALL ON TABLE cache_ext.prepared_effects FROM PUBLIC;
REVOKE ALL ON SEQUENCE cache_ext.prepared_effects_id_seq FROM PUBLIC;
REVOKE ALL ON TABLE cache_ext.fallback_hooks FROM PUBLIC;
REVOKE ALL ON FUNCTION cache_ext.delivery_stats() FROM PUBLIC;
REVOKE ALL ON TABLE cache_ext.stats FROM PUBLIC;
REVOKE ALL ON FUNCTION cache_ext.reset_stats() FROM PUBLIC;
REVOKE ALL ON FUNCTION cache_ext.run_fallback() FROM PUBLIC;
REVOKE ALL ON FUNCTION cache_ext.deliver_prepared() FROM PUBLIC;
REVOKE ALL ON FUNCTION cache_ext.pending_effects() FROM PUBLIC;

GRANT EXECUTE ON FUNCTION cache_ext.delivery_stats(), cache_ext.pending_effects()
  TO cache_ext_app, cache_ext_admin;
GRANT SELECT ON TABLE cache_ext.stats TO cache_ext_app, cache_ext_admin;
GRANT EXECUTE ON FUNCTION cache_ext.reset_stats(), cache_ext.run_fallback(),
  cache_ext.deliver_prepared() TO cache_ext_admin;
GRANT SELECT ON TABLE cache_ext.prepared_effects TO cache_ext_admin;
GRANT SELECT, DELETE ON TABLE cache_ext.fallback_hooks TO cache_ext_admin;
GRANT INSERT (hook) ON TABLE cache_ext.fallback_hooks TO cache_ext_admin;

-- 21_invalidation.sql: the namespaces of the fallback come from trusted
-- sources, each with its key prefix.  A pattern of extra_namespaces that
-- starts with a glob would reach every key: such rows are removed, loudly.
DO $extra$
DECLARE
	r record;
BEGIN
	FOR r IN SELECT x.kind, x.pattern FROM cache_ext.extra_namespaces x
			  WHERE x.pattern OPERATOR(pg_catalog.!~) '^([^*?[\\]|\\.)'
	LOOP
		RAISE WARNING 'cache_ext: removing (%, %) from cache_ext.extra_namespaces', r.kind, r.pattern
			USING DETAIL = 'A namespace pattern must start with literal text; this one could reach every key of the Redis database.',
				  HINT = 'Register the namespaces it was meant for, such as ''cache_catalog_version:*''.';
		DELETE FROM cache_ext.extra_namespaces x
		 WHERE x.kind OPERATOR(pg_catalog.=) r.kind AND x.pattern OPERATOR(pg_catalog.=) r.pattern;
	END LOOP;
END
$extra$;
ALTER TABLE cache_ext.extra_namespaces
  DROP CONSTRAINT extra_namespaces_pattern_check,
  ADD CONSTRAINT extra_namespaces_pattern_check CHECK (pattern ~ '^([^*?[\\]|\\.)'),
  ADD COLUMN key_prefix text NOT NULL
	DEFAULT COALESCE(pg_catalog.current_setting('cache_ext.key_prefix', true), ''),
  DROP CONSTRAINT extra_namespaces_pkey,
  ADD PRIMARY KEY (kind, pattern, key_prefix);

COMMENT ON TABLE cache_ext.extra_namespaces IS
'Namespaces the fallback invalidation must reach that no trigger of a trusted role names (keys bumped only through '
'cache_ext.bump() or deleted only through cache_ext.invalidate(), or the namespaces of triggers created by other roles): '
'Redis SCAN patterns such as ''cache_catalog_version:*'', each with its key prefix. kind bump: every matching version '
'key is bumped; kind delete: every matching key is deleted. Written by cache_ext_admin.';
COMMENT ON COLUMN cache_ext.extra_namespaces.pattern IS
'Redis glob pattern, without the key prefix, starting with literal text (not with *, ? or [).';
COMMENT ON COLUMN cache_ext.extra_namespaces.key_prefix IS
'The cache_ext.key_prefix the pattern is applied with (escaped, so that it matches only itself); '
'by default the prefix of the session that inserted the row.';

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

DROP FUNCTION cache_ext.namespace_patterns();
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

COMMENT ON FUNCTION cache_ext.check_new_triggers() IS
'Event trigger function: at the end of CREATE TRIGGER, parses the key templates of new bump_version(), '
'invalidate_keys() and invalidate_on_truncate() triggers against their table (an unknown column, a malformed '
'template, a template starting with a placeholder or a glob, or one reaching the cache_enabled mirror or a '
'counter of the table is an error), and records their namespaces in cache_ext.trigger_namespaces when a '
'superuser or a cache_ext_admin member created them';

REVOKE ALL ON FUNCTION cache_ext.namespace_patterns() FROM PUBLIC;
REVOKE ALL ON TABLE cache_ext.extra_namespaces FROM PUBLIC;
REVOKE ALL ON TABLE cache_ext.trigger_namespaces FROM PUBLIC;
REVOKE ALL ON FUNCTION cache_ext.check_new_triggers() FROM PUBLIC;

GRANT EXECUTE ON FUNCTION
  cache_ext.bump_version(), cache_ext.invalidate_keys(), cache_ext.invalidate_on_truncate(),
  cache_ext.bump(text), cache_ext.bump_user(bigint), cache_ext.invalidate(text),
  cache_ext.version(text), cache_ext.user_version(bigint),
  cache_ext.render_key(text, anyelement)
  TO cache_ext_app, cache_ext_admin;
GRANT EXECUTE ON FUNCTION cache_ext.namespace_patterns() TO cache_ext_admin;
GRANT SELECT, INSERT, UPDATE, DELETE ON TABLE cache_ext.extra_namespaces,
  cache_ext.trigger_namespaces TO cache_ext_admin;

-- The triggers of a 0.1 install were made before the fallback trusted only
-- some roles: none is registered.  Say which namespaces the fallback no
-- longer reaches, so that an administrator registers those that belong.
DO $unreached$
DECLARE
	n bigint;
BEGIN
	SELECT pg_catalog.count(*) INTO n FROM cache_ext.namespace_patterns() p WHERE NOT p.reached;
	IF n OPERATOR(pg_catalog.>) 0 THEN
		RAISE WARNING 'cache_ext: the fallback invalidation no longer reaches % namespace(s) of existing triggers', n
			USING DETAIL = 'Since 0.2.0 it reaches only the namespaces of triggers created by superusers and cache_ext_admin members, and those of cache_ext.extra_namespaces, each with its key prefix.',
				  HINT = 'List them with SELECT * FROM cache_ext.namespace_patterns() WHERE NOT reached; and insert those of your applications into cache_ext.extra_namespaces (kind, pattern, key_prefix).';
	END IF;
END
$unreached$;

-- 99_privileges.sql: the schema for both roles, the counter and profile
-- functions, and the check that nothing is left to PUBLIC.
GRANT USAGE ON SCHEMA cache_ext TO cache_ext_app, cache_ext_admin;
GRANT EXECUTE ON FUNCTION
  cache_ext.counter_next(text, bigint), cache_ext.counter_sync(text, bigint),
  cache_ext.counter_get(text), cache_ext.assign_number(),
  cache_ext.cache_enabled(bigint), cache_ext.set_cache_enabled(bigint, boolean)
  TO cache_ext_app, cache_ext_admin;
GRANT EXECUTE ON FUNCTION
  cache_ext.register_profile_table(regclass, name, name),
  cache_ext.unregister_profile_table(regclass), cache_ext.resync_profiles()
  TO cache_ext_admin;
GRANT EXECUTE ON PROCEDURE cache_ext.mirror_profiles(integer, bigint) TO cache_ext_admin;
GRANT SELECT ON TABLE cache_ext.profile_tables, cache_ext.gapless_counters TO cache_ext_admin;
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA cache_ext FROM PUBLIC;
REVOKE ALL ON ALL PROCEDURES IN SCHEMA cache_ext FROM PUBLIC;
REVOKE ALL ON ALL TABLES IN SCHEMA cache_ext FROM PUBLIC;
REVOKE ALL ON ALL SEQUENCES IN SCHEMA cache_ext FROM PUBLIC;
DO $check$
DECLARE
	ext oid;
	bad text;
BEGIN
	SELECT e.oid INTO ext FROM pg_catalog.pg_extension e
	 WHERE e.extname OPERATOR(pg_catalog.=) 'cache_ext';

	-- Nothing of the extension is meant for PUBLIC (README, "Security").
	SELECT pg_catalog.string_agg(pg_catalog.pg_describe_object(d.classid, d.objid, 0), ', ')
	  INTO bad
	  FROM pg_catalog.pg_depend d
	  LEFT JOIN pg_catalog.pg_class c
		ON d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass
	   AND c.oid OPERATOR(pg_catalog.=) d.objid
	 WHERE d.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_extension'::pg_catalog.regclass
	   AND d.refobjid OPERATOR(pg_catalog.=) ext
	   AND d.deptype OPERATOR(pg_catalog.=) 'e'
	   AND CASE
			WHEN d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_proc'::pg_catalog.regclass THEN
				pg_catalog.has_function_privilege('public', d.objid, 'EXECUTE')
			WHEN c.relkind OPERATOR(pg_catalog.=) 'S' THEN
				pg_catalog.has_sequence_privilege('public', d.objid, 'USAGE, SELECT, UPDATE')
			WHEN c.relkind OPERATOR(pg_catalog.=) ANY (ARRAY['r', 'v', 'm', 'p', 'f']::pg_catalog."char"[]) THEN
				pg_catalog.has_table_privilege('public', d.objid,
					'SELECT, INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER')
			ELSE false
		   END;
	IF bad IS NOT NULL THEN
		RAISE EXCEPTION 'cache_ext install script leaves objects usable by PUBLIC: %', bad
			USING HINT = 'Revoke them from PUBLIC in the fragment of sql/install/ that creates them.';
	END IF;
	IF pg_catalog.has_schema_privilege('public', 'cache_ext', 'USAGE, CREATE') THEN
		RAISE EXCEPTION 'cache_ext install script leaves schema cache_ext usable by PUBLIC';
	END IF;

	-- Every function is in a grant set, or is called only by superusers
	-- (command), the trigger manager or the event trigger manager.
	SELECT pg_catalog.string_agg(p.oid::pg_catalog.regprocedure::pg_catalog.text, ', ')
	  INTO bad
	  FROM pg_catalog.pg_depend d
	  JOIN pg_catalog.pg_proc p ON p.oid OPERATOR(pg_catalog.=) d.objid
	 WHERE d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_proc'::pg_catalog.regclass
	   AND d.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_extension'::pg_catalog.regclass
	   AND d.refobjid OPERATOR(pg_catalog.=) ext
	   AND d.deptype OPERATOR(pg_catalog.=) 'e'
	   AND NOT pg_catalog.has_function_privilege('cache_ext_app', p.oid, 'EXECUTE')
	   AND NOT pg_catalog.has_function_privilege('cache_ext_admin', p.oid, 'EXECUTE')
	   AND NOT p.proname OPERATOR(pg_catalog.=) ANY (ARRAY['command', 'check_new_triggers',
			'profile_flag_changed', 'profile_tables_dropped',
			'gapless_counters_dropped']::pg_catalog.name[]);
	IF bad IS NOT NULL THEN
		RAISE EXCEPTION 'cache_ext install script grants functions to neither cache_ext_app nor cache_ext_admin: %', bad
			USING HINT = 'Grant them in the fragment of sql/install/ that creates them, or list them in 99_privileges.sql as called by no role.';
	END IF;
END
$check$;
