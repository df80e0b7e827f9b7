#!/usr/bin/env bash
# test/fault_connection.sh — owns: the connection's behaviour under real
# faults: a stopped (SIGSTOP) Redis, DEBUG SLEEP, CLIENT PAUSE, a restarted
# Redis, query cancel and statement_timeout while waiting.  Runs inside
# test/sandbox.sh.  Bounds on elapsed time are generous (they prove "bounded",
# not "fast").
set -euo pipefail
# shellcheck source=test/lib.sh
source "$SANDBOX_LIB"
SB_SUITE=fault_connection


# run SQL in a fresh session, capture output and elapsed ms
timed_sql() {
	local start rc=0
	start=$(now_ms)
	OUT=$(sb_psql -v ON_ERROR_STOP=0 -c "$1" 2>&1) || rc=$?
	ELAPSED=$(($(now_ms) - start))
}

sb_psql -q -c "CREATE EXTENSION IF NOT EXISTS cache_ext"
sb_psql -c "SELECT cache_ext.set('fault:k', 'v')" >/dev/null

# 1. A stopped Redis: the call fails after command_timeout, not never.
#    (The session is connected first, so this is the command timeout; a new
#    session would hit the connect/handshake timeout, tested below.)
start=$(now_ms)
OUT=$(sb_psql -v ON_ERROR_STOP=0 <<'SQL' 2>&1
SET cache_ext.command_timeout = 500;
SELECT cache_ext.set('fault:warm', 'x');
\! bash -c 'source "$SANDBOX_LIB"; sb_redis_stop'
\echo stopped
SELECT cache_ext.set('fault:warm', 'y');
SQL
) || true
ELAPSED=$(($(now_ms) - start))
assert_contains "did not answer within 500 ms" "$OUT" "stopped Redis: command timeout error"
if ((ELAPSED < 2500)); then ok "stopped Redis: failed in ${ELAPSED} ms (timeout 500 ms)"; else fail "stopped Redis: took ${ELAPSED} ms"; fi
timed_sql "SET cache_ext.connect_timeout = 500; SELECT cache_ext.get('fault:k');"
assert_contains "handshake within 500 ms" "$OUT" "stopped Redis: a new session hits the connect timeout"
if ((ELAPSED < 2500)); then ok "stopped Redis: connect failed in ${ELAPSED} ms"; else fail "stopped Redis: connect took ${ELAPSED} ms"; fi

# 2. Backoff: within reconnect_interval, later calls fail at once.
timed_sql "SET cache_ext.command_timeout = 500; SET cache_ext.connect_timeout = 500;
           SET cache_ext.reconnect_interval = 60000;
           DO \$\$ BEGIN PERFORM cache_ext.get('fault:k'); EXCEPTION WHEN OTHERS THEN NULL; END \$\$;
           DO \$\$ BEGIN FOR i IN 1..20 LOOP
             BEGIN PERFORM cache_ext.get('fault:k'); EXCEPTION WHEN OTHERS THEN NULL; END;
           END LOOP; END \$\$;
           SELECT cache_ext.get('fault:k');"
assert_contains "is unavailable" "$OUT" "backoff: calls during the interval fail fast"
if ((ELAPSED < 3000)); then ok "backoff: 22 calls cost one timeout (${ELAPSED} ms)"; else fail "backoff: 22 calls took ${ELAPSED} ms"; fi

# 3. statement_timeout interrupts a wait longer than itself.
timed_sql "SET cache_ext.command_timeout = 20000; SET cache_ext.connect_timeout = 20000;
           SET statement_timeout = 300; SELECT cache_ext.get('fault:k');"
assert_contains "canceling statement due to statement timeout" "$OUT" "statement_timeout cancels a wait on Redis"
if ((ELAPSED < 3000)); then ok "statement_timeout honoured in ${ELAPSED} ms"; else fail "statement_timeout took ${ELAPSED} ms"; fi

# 4. pg_cancel_backend interrupts a wait.
start=$(now_ms)
sb_psql -v ON_ERROR_STOP=0 -c "SET application_name = 'fault_cancel';
  SET cache_ext.command_timeout = 20000; SET cache_ext.connect_timeout = 20000;
  SELECT cache_ext.get('fault:k');" >"$SANDBOX_DIR/cancel.out" 2>&1 &
bg=$!
for _ in $(seq 1 100); do
	n=$(sb_psql -c "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'fault_cancel' AND wait_event_type = 'Extension'")
	[[ $n == 1 ]] && break
	sleep 0.05
done
assert_eq 1 "$n" "a backend waiting on Redis shows wait_event_type Extension"
sb_psql -c "SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE application_name = 'fault_cancel'" >/dev/null
wait "$bg" || true
ELAPSED=$(($(now_ms) - start))
assert_contains "canceling statement due to user request" "$(cat "$SANDBOX_DIR/cancel.out")" "pg_cancel_backend cancels a wait on Redis"
if ((ELAPSED < 5000)); then ok "cancel honoured (${ELAPSED} ms in all)"; else fail "cancel took ${ELAPSED} ms"; fi

# 5. Redis back: a new call works.
sb_redis_cont
timed_sql "SELECT cache_ext.get('fault:k');"
assert_eq v "$(echo "$OUT" | tail -n 1)" "after SIGCONT the next call succeeds"

# 6. DEBUG SLEEP and CLIENT PAUSE stall Redis for everyone: bounded.
sb_redis DEBUG SLEEP 3 >/dev/null &
sleep 0.2
timed_sql "SET cache_ext.command_timeout = 300; SET cache_ext.connect_timeout = 300; SELECT cache_ext.get('fault:k');"
assert_contains "within 300 ms" "$OUT" "DEBUG SLEEP: timeout error"
if ((ELAPSED < 2000)); then ok "DEBUG SLEEP: failed in ${ELAPSED} ms"; else fail "DEBUG SLEEP: took ${ELAPSED} ms"; fi
wait
sb_redis CLIENT PAUSE 3000 ALL >/dev/null
timed_sql "SET cache_ext.command_timeout = 300; SET cache_ext.connect_timeout = 300; SELECT cache_ext.get('fault:k');"
assert_contains "within 300 ms" "$OUT" "CLIENT PAUSE: timeout error"
if ((ELAPSED < 2000)); then ok "CLIENT PAUSE: failed in ${ELAPSED} ms"; else fail "CLIENT PAUSE: took ${ELAPSED} ms"; fi
sb_redis CLIENT UNPAUSE >/dev/null

# 7. A Redis restart under an open session: a connection is checked for a
#    close before every reuse, so the stale connection is noticed and
#    replaced and the next call succeeds without a spurious error, however
#    recently it was used (test/fault_recovery_edges.sh: a COMMIT's delivery).
OUT=$(sb_psql -v ON_ERROR_STOP=0 <<SQL 2>&1
SELECT cache_ext.set('fault:before', '1');
\! bash -c 'source "\$SANDBOX_LIB"; sb_redis_kill; sb_redis_start; sleep 1.2' >/dev/null 2>&1
SELECT 'after:' || coalesce(cache_ext.get('fault:before'), 'gone');
SQL
)
assert_contains "after:gone" "$OUT" "after a Redis restart an idle session reconnects transparently"
OUT=$(sb_psql -v ON_ERROR_STOP=0 <<SQL 2>&1
SELECT cache_ext.set('fault:before', '1');
\! bash -c 'source "\$SANDBOX_LIB"; sb_redis_kill; sb_redis_start' >/dev/null 2>&1
SELECT 'first:' || coalesce(cache_ext.get('fault:before'), 'gone');
SQL
)
assert_contains "first:gone" "$OUT" "after a Redis restart a session used just before reconnects transparently"

# 8. Nothing crashed: no backend was terminated by a signal.
if grep -qE "terminated by signal|was terminated" "$SANDBOX_DIR/postgres.log"; then
	fail "a backend crashed (see postgres.log)"
else
	ok "no backend crashed"
fi
finish
