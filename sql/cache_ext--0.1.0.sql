-- cache_ext install script, assembled by the Makefile from the fragments in sql/install/.

-- complain if script is sourced in psql, rather than via CREATE EXTENSION
\echo Use "CREATE EXTENSION cache_ext" to load this file. \quit

/*
 * Privileges: nothing cache_ext creates is usable by PUBLIC.  Grant what an
 * application role needs explicitly (see README, "Privileges"):
 *
 *   GRANT USAGE ON SCHEMA cache_ext TO app;
 *   GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA cache_ext TO app;
 *
 * Every fragment revokes EXECUTE from PUBLIC on the functions it creates;
 * the last statement of the script (99_privileges.sql) checks that none was
 * missed.
 */
REVOKE ALL ON SCHEMA cache_ext FROM PUBLIC;

COMMENT ON SCHEMA cache_ext IS
  'cache_ext: keeps an application''s Redis cache coherent from inside PostgreSQL';

/*
 * The SQL cache API (src/api.c): one Redis round trip per call.  Keys are
 * prefixed with cache_ext.key_prefix.
 */

CREATE FUNCTION cache_ext.ping()
RETURNS text
AS 'MODULE_PATHNAME', 'cache_ext_ping'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION cache_ext.ping() IS
  'Round trip to Redis; returns PONG';

CREATE FUNCTION cache_ext.get(key text)
RETURNS text
AS 'MODULE_PATHNAME', 'cache_ext_get'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION cache_ext.get(text) IS
  'Value of a key as text; NULL when the key does not exist';

CREATE FUNCTION cache_ext.get_bytea(key text)
RETURNS bytea
AS 'MODULE_PATHNAME', 'cache_ext_get_bytea'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION cache_ext.get_bytea(text) IS
  'Value of a key as bytes (for values that are not text, such as pickles); NULL when absent';

CREATE FUNCTION cache_ext.set(key text, value text, ttl_seconds int DEFAULT NULL)
RETURNS void
AS 'MODULE_PATHNAME', 'cache_ext_set'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION cache_ext.set(text, text, int) IS
  'Store a value, expiring after ttl_seconds (NULL: never); immediate, not transactional';

CREATE FUNCTION cache_ext.set_bytea(key text, value bytea, ttl_seconds int DEFAULT NULL)
RETURNS void
AS 'MODULE_PATHNAME', 'cache_ext_set_bytea'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION cache_ext.set_bytea(text, bytea, int) IS
  'Store bytes, expiring after ttl_seconds (NULL: never); immediate, not transactional';

CREATE FUNCTION cache_ext.add(key text, value text, ttl_seconds int DEFAULT NULL)
RETURNS boolean
AS 'MODULE_PATHNAME', 'cache_ext_add'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION cache_ext.add(text, text, int) IS
  'Store a value only if the key does not exist (SET NX); true when stored';

CREATE FUNCTION cache_ext.incr(key text, delta bigint DEFAULT 1)
RETURNS bigint
AS 'MODULE_PATHNAME', 'cache_ext_incr'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION cache_ext.incr(text, bigint) IS
  'Add delta to an integer value atomically (a missing key counts as 0); returns the new value';

CREATE FUNCTION cache_ext.delete(key text)
RETURNS boolean
AS 'MODULE_PATHNAME', 'cache_ext_delete'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION cache_ext.delete(text) IS
  'Remove a key now (UNLINK); true when it existed';

CREATE FUNCTION cache_ext.delete_many(keys text[])
RETURNS bigint
AS 'MODULE_PATHNAME', 'cache_ext_delete_many'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION cache_ext.delete_many(text[]) IS
  'Remove many keys in one round trip; returns how many existed';

CREATE FUNCTION cache_ext.ttl(key text)
RETURNS int
AS 'MODULE_PATHNAME', 'cache_ext_ttl'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION cache_ext.ttl(text) IS
  'Seconds before the key expires; -1 when it never expires; NULL when it does not exist';

CREATE FUNCTION cache_ext.lock_acquire(name text, ttl_seconds int)
RETURNS text
AS 'MODULE_PATHNAME', 'cache_ext_lock_acquire'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION cache_ext.lock_acquire(text, int) IS
  'Take a lock held for at most ttl_seconds; returns a random token to release it with, NULL when held by someone else';

CREATE FUNCTION cache_ext.lock_release(name text, token text)
RETURNS boolean
AS 'MODULE_PATHNAME', 'cache_ext_lock_release'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION cache_ext.lock_release(text, text) IS
  'Release a lock if token is the one lock_acquire returned (atomic compare-and-delete); true when released';

CREATE FUNCTION cache_ext.cursor_bump(stream text, event jsonb DEFAULT NULL)
RETURNS bigint
AS 'MODULE_PATHNAME', 'cache_ext_cursor_bump'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION cache_ext.cursor_bump(text, jsonb) IS
  'Advance {stream}:stream:cursor and store event at {stream}:stream:last_event atomically; returns the new cursor';

CREATE FUNCTION cache_ext.cursor_get(stream text)
RETURNS bigint
AS 'MODULE_PATHNAME', 'cache_ext_cursor_get'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION cache_ext.cursor_get(text) IS
  'Current cursor of a stream; 0 when it was never bumped';

CREATE FUNCTION cache_ext.cursor_last_event(stream text)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'cache_ext_cursor_last_event'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION cache_ext.cursor_last_event(text) IS
  'Event stored by the last cursor_bump of a stream; NULL when none';

CREATE FUNCTION cache_ext.cursor_reset(stream text)
RETURNS void
AS 'MODULE_PATHNAME', 'cache_ext_cursor_reset'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION cache_ext.cursor_reset(text) IS
  'Remove a stream''s cursor and last event';

CREATE FUNCTION cache_ext.command(VARIADIC args text[])
RETURNS text
AS 'MODULE_PATHNAME', 'cache_ext_command'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION cache_ext.command(text[]) IS
  'Superusers only: run a raw Redis command (no key prefix); arrays are rendered as JSON';
/*
 * Delivery of invalidations after commit (src/pending.c, src/delivery.c,
 * src/queue.c, src/worker.c): statistics (src/stats.c), the fallback
 * invalidation (src/fallback.c), prepared transactions (src/prepared.c).
 */

CREATE TABLE cache_ext.prepared_effects (
  id          bigserial PRIMARY KEY,
  prepared_at timestamptz NOT NULL DEFAULT now(),
  neffects    integer NOT NULL,
  effects     bytea NOT NULL
);
COMMENT ON TABLE cache_ext.prepared_effects IS
  'Cache effects of transactions prepared with PREPARE TRANSACTION: a row commits or rolls back with its transaction; committed rows are delivered (and deleted) by COMMIT PREPARED, the background worker or cache_ext.deliver_prepared()';
COMMENT ON COLUMN cache_ext.prepared_effects.id IS 'Row identifier';
COMMENT ON SEQUENCE cache_ext.prepared_effects_id_seq IS 'Identifiers of cache_ext.prepared_effects rows';
COMMENT ON COLUMN cache_ext.prepared_effects.prepared_at IS 'When the transaction was prepared';
COMMENT ON COLUMN cache_ext.prepared_effects.neffects IS 'Number of effects in the row';
COMMENT ON COLUMN cache_ext.prepared_effects.effects IS 'The serialized effects (internal format of cache_ext)';

-- hook is text, not regprocedure: pg_upgrade refuses tables with reg* columns
CREATE TABLE cache_ext.fallback_hooks (
  hook text PRIMARY KEY
);
COMMENT ON TABLE cache_ext.fallback_hooks IS
  'Functions without arguments called by the fallback invalidation, after every namespace pattern was invalidated (to resynchronise mirrors or counters)';
COMMENT ON COLUMN cache_ext.fallback_hooks.hook IS
  'Signature of a function without arguments, such as ''public.resync_my_mirror()'', called in its own subtransaction; a row naming no function is skipped with a WARNING';
SELECT pg_catalog.pg_extension_config_dump('cache_ext.fallback_hooks', '');

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
  OUT stats_reset timestamptz)
RETURNS record
AS 'MODULE_PATHNAME', 'cache_ext_delivery_stats'
LANGUAGE C VOLATILE STRICT PARALLEL SAFE;
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

CREATE FUNCTION cache_ext.reset_stats()
RETURNS void
AS 'MODULE_PATHNAME', 'cache_ext_reset_stats'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION cache_ext.reset_stats() IS
  'Reset the counters and the latency histogram of cache_ext.stats (not the queue)';

CREATE FUNCTION cache_ext.run_fallback()
RETURNS void
AS 'MODULE_PATHNAME', 'cache_ext_run_fallback'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION cache_ext.run_fallback() IS
  'Invalidate every namespace now (cache_ext.namespace_patterns()) and call cache_ext.fallback_hooks; what the worker does after lost effects';

CREATE FUNCTION cache_ext.deliver_prepared()
RETURNS bigint
AS 'MODULE_PATHNAME', 'cache_ext_deliver_prepared'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION cache_ext.deliver_prepared() IS
  'Deliver, when this transaction commits, the effects of committed prepared transactions still in cache_ext.prepared_effects; returns their number';

CREATE FUNCTION cache_ext.pending_effects(
  OUT kind text, OUT key text, OUT value text, OUT level integer)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'cache_ext_pending_effects'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION cache_ext.pending_effects() IS
  'The effects the current transaction will deliver at commit (deduplicated), with the savepoint level of their last change';
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
-- 30_counters.sql: counters that never hand out the same number twice.
--
-- counter_next / counter_sync / counter_get are one atomic Lua step each in
-- Redis; assign_number is the BEFORE INSERT OR UPDATE row trigger that
-- numbers rows (invoices) from them, with the table itself as the floor so
-- that a Redis that lost or rolled back a counter can never make a number
-- come around again.  gapless_counters holds the counters of the 'gapless'
-- mode, allocated under a PostgreSQL row lock.

CREATE FUNCTION cache_ext.counter_next(key text, floor bigint DEFAULT 0)
RETURNS bigint
LANGUAGE c VOLATILE PARALLEL UNSAFE
AS 'MODULE_PATHNAME', 'cache_ext_counter_next';

COMMENT ON FUNCTION cache_ext.counter_next(text, bigint) IS
'Next value of the Redis counter key (cache_ext.key_prefix applies), in one atomic step: a counter that is missing or not above floor is first raised to floor, then incremented, so the result is always greater than floor.';

CREATE FUNCTION cache_ext.counter_sync(key text, value bigint)
RETURNS bigint
LANGUAGE c VOLATILE PARALLEL UNSAFE
AS 'MODULE_PATHNAME', 'cache_ext_counter_sync';

COMMENT ON FUNCTION cache_ext.counter_sync(text, bigint) IS
'Atomically raise the Redis counter key to value when it is lower (or missing); returns the counter afterwards.  Never lowers a counter.';

CREATE FUNCTION cache_ext.counter_get(key text)
RETURNS bigint
LANGUAGE c VOLATILE PARALLEL UNSAFE
AS 'MODULE_PATHNAME', 'cache_ext_counter_get';

COMMENT ON FUNCTION cache_ext.counter_get(text) IS
'Current value of the Redis counter key, or NULL when the key does not exist.';

CREATE FUNCTION cache_ext.assign_number()
RETURNS trigger
LANGUAGE c
AS 'MODULE_PATHNAME', 'cache_ext_assign_number';

COMMENT ON FUNCTION cache_ext.assign_number() IS
'BEFORE INSERT OR UPDATE row trigger, arguments (column, key template [, mode]): fills a NULL number column from a counter named by the template (mode ''cache'', the default: the Redis counter, never below the largest number already in the table for the same template columns; mode ''gapless'': cache_ext.gapless_counters under a row lock) and syncs the counter to explicit numbers after commit.  Needs a unique index over the template columns and the number column.';

CREATE TABLE cache_ext.gapless_counters (
	key		text PRIMARY KEY,
	value	bigint NOT NULL
);

COMMENT ON TABLE cache_ext.gapless_counters IS
'Counters of assign_number''s gapless mode, one row per rendered key template (without cache_ext.key_prefix).  Numbers are taken under this row''s lock, so they commit or roll back with the row that uses them.  Changed only by the trigger, which runs its queries as this table''s owner.';

COMMENT ON COLUMN cache_ext.gapless_counters.key IS
'The rendered key template, e.g. invoice_seq:2024 (the Redis key without cache_ext.key_prefix).';

COMMENT ON COLUMN cache_ext.gapless_counters.value IS
'The last number handed out (or synced from an explicit number) for this key.';

-- Counter state is data, not configuration: pg_dump must keep it.
SELECT pg_catalog.pg_extension_config_dump('cache_ext.gapless_counters', '');

REVOKE ALL ON cache_ext.gapless_counters FROM PUBLIC;

-- Nothing for PUBLIC (see 00_schema.sql).  A role creating assign_number
-- triggers needs EXECUTE on it; the trigger itself then runs for whoever
-- inserts, with no further grant.
REVOKE ALL ON FUNCTION cache_ext.counter_next(text, bigint) FROM PUBLIC;
REVOKE ALL ON FUNCTION cache_ext.counter_sync(text, bigint) FROM PUBLIC;
REVOKE ALL ON FUNCTION cache_ext.counter_get(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION cache_ext.assign_number() FROM PUBLIC;
-- cache_enabled per user profile (src/profile.c).
--
-- The application's profile table (one row per user) carries a boolean
-- flag; cache_ext mirrors every change of it to Redis after commit as
-- cache_user_enabled:{user_id} = 1/0 and bumps cache_user_version:{user_id}.

-- The registry: at most one profile table.  pg_dump keeps its rows.
CREATE TABLE cache_ext.profile_tables (
	profile regclass PRIMARY KEY,
	user_column name NOT NULL,
	flag_column name NOT NULL
);
-- One profile table at a time: the Redis mirror has room for one flag per user.
CREATE UNIQUE INDEX profile_tables_single ON cache_ext.profile_tables ((true));
SELECT pg_catalog.pg_extension_config_dump('cache_ext.profile_tables', '');

COMMENT ON TABLE cache_ext.profile_tables IS
'The table registered with cache_ext.register_profile_table (at most one row): its user id column and its cache_enabled flag column.';
COMMENT ON COLUMN cache_ext.profile_tables.profile IS 'The profile table, one row per user.';
COMMENT ON COLUMN cache_ext.profile_tables.user_column IS 'Its user id column (smallint, integer or bigint, unique).';
COMMENT ON COLUMN cache_ext.profile_tables.flag_column IS 'Its boolean flag column; false turns caching off for the user.';
COMMENT ON INDEX cache_ext.profile_tables_single IS 'Allows at most one registered profile table.';

-- Nobody but the extension's owner needs privileges on the registry: the C
-- functions read and write it with the owner's rights.
REVOKE ALL ON cache_ext.profile_tables FROM PUBLIC;

CREATE FUNCTION cache_ext.profile_flag_changed()
RETURNS trigger
LANGUAGE C
AS 'MODULE_PATHNAME', 'cache_ext_profile_flag_changed';
COMMENT ON FUNCTION cache_ext.profile_flag_changed() IS
'Trigger installed by register_profile_table (args: user column, flag column): queues the Redis mirror cache_user_enabled:{user_id} and a bump of cache_user_version:{user_id}, delivered after commit, whenever a user''s effective flag may change.';

CREATE FUNCTION cache_ext.register_profile_table(
	profile regclass,
	user_column name DEFAULT 'user_id',
	flag_column name DEFAULT 'cache_enabled')
RETURNS void
LANGUAGE C
AS 'MODULE_PATHNAME', 'cache_ext_register_profile_table';
COMMENT ON FUNCTION cache_ext.register_profile_table(regclass, name, name) IS
'Adopts the application''s profile table: adds the flag column as boolean NOT NULL DEFAULT true when missing (no table rewrite), installs the mirroring triggers and records the registration.  Idempotent.';

CREATE FUNCTION cache_ext.unregister_profile_table(profile regclass)
RETURNS void
LANGUAGE C
AS 'MODULE_PATHNAME', 'cache_ext_unregister_profile_table';
COMMENT ON FUNCTION cache_ext.unregister_profile_table(regclass) IS
'Removes the profile triggers and the registration; the flag column and its data stay.';

CREATE FUNCTION cache_ext.cache_enabled(user_id bigint)
RETURNS boolean
LANGUAGE C STABLE
AS 'MODULE_PATHNAME', 'cache_ext_cache_enabled';
COMMENT ON FUNCTION cache_ext.cache_enabled(bigint) IS
'The user''s cache_enabled flag from the registered profile table; true when the user has no profile row (or a NULL flag).';

CREATE FUNCTION cache_ext.set_cache_enabled(user_id bigint, enabled boolean)
RETURNS void
LANGUAGE C
AS 'MODULE_PATHNAME', 'cache_ext_set_cache_enabled';
COMMENT ON FUNCTION cache_ext.set_cache_enabled(bigint, boolean) IS
'Updates the user''s flag in the registered profile table (the trigger mirrors it to Redis after commit); an error when the user has no profile row.';

CREATE PROCEDURE cache_ext.mirror_profiles(
	batch_size integer DEFAULT 1000,
	INOUT mirrored bigint DEFAULT NULL)
LANGUAGE C
AS 'MODULE_PATHNAME', 'cache_ext_mirror_profiles';
COMMENT ON PROCEDURE cache_ext.mirror_profiles(integer, bigint) IS
'Back-fill: writes every profile''s flag to its Redis mirror, batch_size rows per pipeline, committing after each batch when called outside a transaction block; reports progress; returns the number of profiles mirrored.';

CREATE FUNCTION cache_ext.resync_profiles()
RETURNS bigint
LANGUAGE C
AS 'MODULE_PATHNAME', 'cache_ext_resync_profiles';
COMMENT ON FUNCTION cache_ext.resync_profiles() IS
'Fallback resync hook: the back-fill of mirror_profiles in the caller''s transaction; 0 when no profile table is registered.';

-- Forget the registration when the table (or our trigger on it) is dropped.
-- SECURITY DEFINER: whoever drops the table need not be able to write the
-- registry.
CREATE FUNCTION cache_ext.profile_tables_dropped()
RETURNS event_trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
	DELETE FROM cache_ext.profile_tables p
	 WHERE NOT EXISTS (SELECT FROM pg_catalog.pg_trigger t
						WHERE t.tgrelid = p.profile
						  AND t.tgname = 'cache_ext_profile_flag');
END
$$;
COMMENT ON FUNCTION cache_ext.profile_tables_dropped() IS
'Event trigger function: removes registrations whose profile table or profile trigger has been dropped.';

CREATE EVENT TRIGGER cache_ext_profile_tables_dropped ON sql_drop
	EXECUTE FUNCTION cache_ext.profile_tables_dropped();
COMMENT ON EVENT TRIGGER cache_ext_profile_tables_dropped IS
'Keeps cache_ext.profile_tables free of dropped tables.';

REVOKE ALL ON FUNCTION cache_ext.profile_flag_changed() FROM PUBLIC;
REVOKE ALL ON FUNCTION cache_ext.register_profile_table(regclass, name, name) FROM PUBLIC;
REVOKE ALL ON FUNCTION cache_ext.unregister_profile_table(regclass) FROM PUBLIC;
REVOKE ALL ON FUNCTION cache_ext.cache_enabled(bigint) FROM PUBLIC;
REVOKE ALL ON FUNCTION cache_ext.set_cache_enabled(bigint, boolean) FROM PUBLIC;
REVOKE ALL ON PROCEDURE cache_ext.mirror_profiles(integer, bigint) FROM PUBLIC;
REVOKE ALL ON FUNCTION cache_ext.resync_profiles() FROM PUBLIC;
REVOKE ALL ON FUNCTION cache_ext.profile_tables_dropped() FROM PUBLIC;

-- The delivery room's fallback invalidation calls every hook listed here
-- when queued invalidations were lost (20_delivery.sql creates the table).
INSERT INTO cache_ext.fallback_hooks VALUES ('cache_ext.resync_profiles()');

-- pg_dump must not dump the hooks this script inserts: CREATE EXTENSION
-- inserts them again on restore, and the dumped copy would then collide
-- with the primary key and stop the restore.  Dump only the hooks that are
-- not functions of the extension itself (the application's own hooks).
SELECT pg_catalog.pg_extension_config_dump('cache_ext.fallback_hooks',
	$$WHERE pg_catalog.to_regprocedure(hook)::pg_catalog.oid NOT IN
		(SELECT d.objid FROM pg_catalog.pg_depend d
		  WHERE d.classid = 'pg_catalog.pg_proc'::pg_catalog.regclass
			AND d.refclassid = 'pg_catalog.pg_extension'::pg_catalog.regclass
			AND d.deptype = 'e'
			AND d.refobjid = (SELECT e.oid FROM pg_catalog.pg_extension e
							   WHERE e.extname = 'cache_ext'))$$);

/*
 * Belt and braces: whatever the fragments above created, PUBLIC may execute
 * none of it.  (Functions are executable by PUBLIC by default.)
 */
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA cache_ext FROM PUBLIC;
REVOKE ALL ON ALL PROCEDURES IN SCHEMA cache_ext FROM PUBLIC;
REVOKE ALL ON ALL TABLES IN SCHEMA cache_ext FROM PUBLIC;
