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

-- hook is text, not regprocedure: pg_upgrade refuses tables with reg* columns.
-- registered_by is filled by its default only: cache_ext_admin may insert
-- the hook column alone, and may not update rows (see 99_privileges.sql).
CREATE TABLE cache_ext.fallback_hooks (
  hook text PRIMARY KEY,
  registered_by name NOT NULL DEFAULT CURRENT_USER
);
COMMENT ON TABLE cache_ext.fallback_hooks IS
  'Functions without arguments called by the fallback invalidation, after every namespace pattern was invalidated (to resynchronise mirrors or counters); each runs as its owner';
COMMENT ON COLUMN cache_ext.fallback_hooks.hook IS
  'Schema-qualified signature of a function without arguments, such as ''public.resync_my_mirror()'', called in its own subtransaction as the function''s owner (restricted, search_path pg_catalog, pg_temp, the owner''s cache_ext.key_prefix); a row naming no function is skipped with a WARNING';
COMMENT ON COLUMN cache_ext.fallback_hooks.registered_by IS
  'The role that registered the hook (its default, CURRENT_USER, cannot be overridden by cache_ext_admin): the hook runs only if this role is a superuser or has the privileges of the function''s owner';
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

CREATE FUNCTION cache_ext.reset_stats()
RETURNS void
AS 'MODULE_PATHNAME', 'cache_ext_reset_stats'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION cache_ext.reset_stats() IS
  'Superusers and cache_ext_admin: reset the counters and the latency histogram of cache_ext.stats (not the queue)';

CREATE FUNCTION cache_ext.run_fallback()
RETURNS void
AS 'MODULE_PATHNAME', 'cache_ext_run_fallback'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION cache_ext.run_fallback() IS
  'Superusers and cache_ext_admin: invalidate every namespace now (cache_ext.namespace_patterns()) and call cache_ext.fallback_hooks; what the worker does after lost effects';

CREATE FUNCTION cache_ext.deliver_prepared()
RETURNS bigint
AS 'MODULE_PATHNAME', 'cache_ext_deliver_prepared'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION cache_ext.deliver_prepared() IS
  'Superusers and cache_ext_admin: deliver, when this transaction commits, the effects of committed prepared transactions still in cache_ext.prepared_effects; returns their number';

CREATE FUNCTION cache_ext.pending_effects(
  OUT kind text, OUT key text, OUT value text, OUT level integer)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'cache_ext_pending_effects'
LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION cache_ext.pending_effects() IS
  'The effects the current transaction will deliver at commit (deduplicated), with the savepoint level of their last change';

-- Privileges: nothing for PUBLIC (00_schema.sql); the roles of 01_roles.sql.
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
-- hooks: add and remove, never rewrite a row another role registered
GRANT SELECT, DELETE ON TABLE cache_ext.fallback_hooks TO cache_ext_admin;
GRANT INSERT (hook) ON TABLE cache_ext.fallback_hooks TO cache_ext_admin;
