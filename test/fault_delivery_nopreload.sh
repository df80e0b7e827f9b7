#!/usr/bin/env bash
# test/fault_delivery_nopreload.sh — owns: delivery without
# shared_preload_libraries (no shared queue, no worker).
#
# Defined behaviour: an undelivered effect stays in a bounded (1 MB) list of
# the backend that committed it and is retried at that backend's next
# commits (with a backoff); cache_ext.delivery = async behaves as sync; what
# is still undelivered when the backend exits, or does not fit in the list,
# is lost with a loud WARNING telling to run cache_ext.run_fallback().
set -euo pipefail
source "$SANDBOX_LIB"
SB_SUITE=fault_delivery_nopreload

# Works in a --no-preload sandbox; in a preloaded one, restart without it.
if [[ ${SANDBOX_PRELOAD:-1} == 1 ]]; then
	echo "shared_preload_libraries = ''" >>"$PGDATA/postgresql.conf"
	sb_pg_ctl restart -m fast -w >/dev/null
fi

rpid=$(cat "$SANDBOX_DIR/redis.pid")

q "CREATE EXTENSION IF NOT EXISTS cache_ext" >/dev/null
sb_bind_debug_effect
sb_pg_set "cache_ext.command_timeout = '1000ms'" "cache_ext.reconnect_interval = '200ms'"
sb_redis set dlv:np:b 10 >/dev/null

# One session throughout: the retry list belongs to the backend.
cat >"$SANDBOX_DIR/np1.sql" <<SQL
SET client_min_messages = warning;
SELECT eff('bump', 'dlv:np:a');
SELECT 'healthy', cache_ext.get('dlv:np:a') IS NOT NULL;
\! kill -STOP $rpid
SELECT eff('bump', 'dlv:np:b');
SELECT 'kept', scope, queue_depth, worker_pid IS NULL FROM cache_ext.stats;
\! kill -CONT $rpid
SELECT pg_sleep(0.3);
SELECT pg_sleep(0.3);
SELECT pg_sleep(0.5);
SELECT pg_sleep(1);
SELECT pg_sleep(1);
SELECT pg_sleep(1);
SELECT 'retried', cache_ext.get('dlv:np:b')::bigint >= 11, queue_depth FROM cache_ext.stats;
SET cache_ext.delivery = async;
SELECT eff('bump', 'dlv:np:c');
SELECT 'async is sync', cache_ext.get('dlv:np:c') IS NOT NULL;
RESET cache_ext.delivery;
\! kill -STOP $rpid
SELECT count(eff('bump', 'dlv:np:overflow:' || g)) FROM generate_series(1, 30000) g;
SELECT 'overflow', queue_depth < 30000, fallback_pending, effects_dropped > 0 FROM cache_ext.stats;
\! kill -CONT $rpid
SQL
out=$(sb_psql -d postgres -f "$SANDBOX_DIR/np1.sql" 2>&1 || true)
assert_contains "healthy|t" "$out" "healthy: delivered at commit"
assert_contains "cache_ext could not deliver 1 cache invalidation(s) after commit" "$out" "Redis stopped: WARNING"
assert_contains "at this session's next commits (cache_ext is not preloaded)" "$out" "Redis stopped: WARNING says the session retries"
assert_contains "kept|backend|1|t" "$out" "Redis stopped: kept in the backend's list"
assert_contains "retried|t|0" "$out" "later commits of the session delivered it"
assert_contains "async is sync|t" "$out" "async without preload delivers at commit"
assert_contains "the retry list of this backend is full" "$out" "overflow: loud WARNING"
assert_contains "SELECT cache_ext.run_fallback()" "$out" "overflow: WARNING says how to recover"
assert_contains "overflow|t|t|t" "$out" "overflow: dropped, fallback owed (in this backend)"

# Backend exit with an undelivered effect: lost, loudly, in the server log.
cat >"$SANDBOX_DIR/np2.sql" <<SQL
SET client_min_messages = warning;
\! kill -STOP $rpid
SELECT eff('bump', 'dlv:np:exit');
\! (sleep 3; kill -CONT $rpid) &
SQL
sb_psql -d postgres -f "$SANDBOX_DIR/np2.sql" >/dev/null 2>&1 || true
for ((i = 0; i < 100; i++)); do
	grep -q "lost 1 undelivered cache invalidation(s) at backend exit" "$SANDBOX_DIR/postgres.log" && break
	sleep 0.1
done
grep -q "lost 1 undelivered cache invalidation(s) at backend exit" "$SANDBOX_DIR/postgres.log" &&
	ok "backend exit: the loss is logged as a WARNING" || fail "backend exit: the loss is logged as a WARNING"
sleep 3
kill -CONT "$rpid" 2>/dev/null || true

# The documented recovery: run_fallback() (patterns stubbed if absent).
if [[ $(q "SELECT to_regprocedure('cache_ext.namespace_patterns()') IS NULL") == t ]]; then
	q "CREATE FUNCTION cache_ext.namespace_patterns(OUT kind text, OUT pattern text)
	   RETURNS SETOF record LANGUAGE sql AS \$\$ VALUES ('bump', 'dlv:np:ns:*') \$\$" >/dev/null
else
	q "INSERT INTO cache_ext.extra_namespaces VALUES ('bump', 'dlv:np:ns:*')" >/dev/null
fi
sb_redis set dlv:np:ns:1 7 >/dev/null
q "SELECT cache_ext.run_fallback()" >/dev/null
(($(sb_redis get dlv:np:ns:1) > 1600000000000000)) && ok "run_fallback(): namespaces bumped" ||
	fail "run_fallback(): namespaces bumped"
grep -q "performed a fallback invalidation" "$SANDBOX_DIR/postgres.log" &&
	ok "run_fallback(): logged" || fail "run_fallback(): logged"

finish
