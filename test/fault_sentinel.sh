#!/usr/bin/env bash
# test/fault_sentinel.sh — owns: Redis Sentinel discovery and failover
# (issue 11), with real processes on loopback: one primary, one replica and
# three sentinels (redis-server --sentinel, config files written here, torn
# down at the end), under a 4-client pgbench load of bump-trigger updates
# and assign_number inserts.
#
#   0. the counters' high-water mark: an uncommitted number survives a
#      FLUSHALL (no unique_violation for the next insert)
#   1. SENTINEL FAILOVER (planned): the sessions, under load, leave the
#      old primary within seconds (the worker's poll of the sentinels), not
#      when the sentinels demote it some 10 s later
#   2. the primary SIGKILLed: automatic failover
#   3. stale promotion: the replica SIGSTOPped and cut off while the primary
#      takes bumps and numbers (one number held by an open transaction),
#      then the primary killed and the replica promoted
#   4. sentinels unreachable (SIGSTOP), and sentinels that name a replica
#      (to a session's discovery, and to the worker's poll: nobody moves)
#   then the stale-read checker on the settled pair, a session's backoff
#   ended by the worker's probe (the shared health state, per Sentinel
#   service), and the channels the sentinel password must never reach
#   (pg_settings, the server log).
#
# Figures are printed (promotion -> sessions on the new primary, promotion
# -> fallback complete); bounds are generous, never timing assertions.
set -euo pipefail
source "$SANDBOX_LIB"
SB_SUITE=fault_sentinel

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
T=$SANDBOX_DIR/sentinel
mkdir -p "$T"
SECRET='Sent1nel-Pa55-q7'
PW=(-a "$SECRET" --no-auth-warning)

P1=$(sb__pick_port "$REDIS_PORT" "$PGPORT")
P2=$(sb__pick_port "$REDIS_PORT" "$PGPORT" "$P1")
S1=$(sb__pick_port "$REDIS_PORT" "$PGPORT" "$P1" "$P2")
S2=$(sb__pick_port "$REDIS_PORT" "$PGPORT" "$P1" "$P2" "$S1")
S3=$(sb__pick_port "$REDIS_PORT" "$PGPORT" "$P1" "$P2" "$S1" "$S2")
FAKE=$(sb__pick_port "$REDIS_PORT" "$PGPORT" "$P1" "$P2" "$S1" "$S2" "$S3")

declare -A PID=()
cleanup() {
	local p
	for p in "${PID[@]}"; do
		kill -CONT "$p" 2>/dev/null || true
		kill -KILL "$p" 2>/dev/null || true
	done
	wait 2>/dev/null || true
}
trap cleanup EXIT

rcli() { timeout 5 redis-cli -h 127.0.0.1 -p "$1" "${@:2}" 2>/dev/null; }
role_of() { rcli "$1" ROLE | head -1; }

start_redis() {
	local port=$1
	shift
	redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no \
		--dir "$T" --logfile "$T/redis-$port.log" "$@" &
	PID[$port]=$!
	for ((i = 0; i < 100; i++)); do
		[[ $(rcli "$port" PING) == PONG ]] && return 0
		sleep 0.05
	done
	echo "redis on $port did not start" >&2
	return 1
}

start_sentinel() {
	local port=$1
	cat >"$T/sentinel-$port.conf" <<EOF
port $port
bind 127.0.0.1
dir $T
logfile $T/sentinel-$port.log
requirepass $SECRET
sentinel sentinel-pass $SECRET
sentinel monitor mymaster 127.0.0.1 $P1 2
sentinel down-after-milliseconds mymaster 1000
sentinel failover-timeout mymaster 2000
sentinel parallel-syncs mymaster 1
EOF
	redis-server "$T/sentinel-$port.conf" --sentinel &
	PID[$port]=$!
	for ((i = 0; i < 100; i++)); do
		[[ $(rcli "$port" "${PW[@]}" PING) == PONG ]] && return 0
		sleep 0.05
	done
	echo "sentinel on $port did not start" >&2
	return 1
}

# the port the sentinels name now
sentinel_primary() { rcli "$S1" "${PW[@]}" SENTINEL get-master-addr-by-name mymaster | tail -1; }

# wait until PORT says master; prints the time (ms) it did
wait_master() {
	local port=$1 secs=$2 i
	for ((i = 0; i < secs * 20; i++)); do
		if [[ $(role_of "$port") == master ]]; then
			now_ms
			return 0
		fi
		sleep 0.05
	done
	return 1
}

# clients of PostgreSQL on PORT: normal connections that are no sentinel's
pg_clients_on() {
	rcli "$1" CLIENT LIST TYPE normal | grep -v 'name=sentinel-' | grep -vc 'cmd=client' || true
}

# wait until cache_ext.stats names PORT as the primary (a process
# connected to it); prints the time (ms)
wait_clients() {
	local port=$1 secs=$3 i
	for ((i = 0; i < secs * 10; i++)); do
		if [[ $(q "SELECT redis_primary FROM cache_ext.stats" 2>/dev/null) == "127.0.0.1:$port" ]]; then
			now_ms
			return 0
		fi
		sleep 0.05
	done
	return 1
}

# wait until no process of PostgreSQL is connected to PORT; prints the time (ms)
wait_left() {
	local port=$1 secs=$2 i
	for ((i = 0; i < secs * 20; i++)); do
		if (($(pg_clients_on "$port") == 0)); then
			now_ms
			return 0
		fi
		sleep 0.05
	done
	return 1
}

# wait until a fallback completed after AT_MS; prints the time (ms)
wait_fallback_after() {
	local at=$1 secs=$2 i got
	for ((i = 0; i < secs * 10; i++)); do
		got=$(q "SELECT coalesce((extract(epoch FROM last_fallback_at) * 1000)::bigint, 0)
			FROM cache_ext.stats" 2>/dev/null || echo 0)
		if ((got > at)) && [[ $(q "SELECT fallback_pending FROM cache_ext.stats") == f ]]; then
			now_ms
			return 0
		fi
		sleep 0.1
	done
	return 1
}

# ------------------------------------------------------------------ set-up
start_redis "$P1"
start_redis "$P2" --replicaof 127.0.0.1 "$P1"
start_sentinel "$S1"
start_sentinel "$S2"
start_sentinel "$S3"
# the sentinels know each other and the replica
for ((i = 0; i < 100; i++)); do
	n=$(rcli "$S1" "${PW[@]}" SENTINEL master mymaster | grep -A1 -x 'num-other-sentinels' | tail -1 || true)
	r=$(rcli "$S1" "${PW[@]}" SENTINEL master mymaster | grep -A1 -x 'num-slaves' | tail -1 || true)
	[[ $n == 2 && $r == 1 ]] && break
	sleep 0.1
done
assert_eq "2 1" "$n $r" "the three sentinels see each other and the replica"

q "CREATE EXTENSION IF NOT EXISTS cache_ext" >/dev/null
URL="redis+sentinel://127.0.0.1:$S1,127.0.0.1:$S2,127.0.0.1:$S3/mymaster"
sb_pg_set "log_statement = 'all'" "log_min_error_statement = 'error'"
sb_pg_set "cache_ext.redis_url = '$URL'" "cache_ext.sentinel_password = '$SECRET'" \
	"cache_ext.connect_timeout = '500ms'" "cache_ext.command_timeout = '1000ms'" \
	"cache_ext.reconnect_interval = '200ms'"

OUT=$(q "SELECT cache_ext.ping()" 2>&1 || true)
assert_eq "PONG" "$OUT" "a redis+sentinel:// URL finds the primary (AUTH with cache_ext.sentinel_password)"
assert_eq "127.0.0.1:$P1" "$(q "SELECT redis_primary FROM cache_ext.stats")" "cache_ext.stats shows the primary as host:port"

# the secret is shown nowhere
OUT=$(q "SELECT setting || reset_val || coalesce(boot_val, '') FROM pg_settings WHERE name = 'cache_ext.sentinel_password'")
assert_eq "****************" "$OUT" "pg_settings (setting, reset_val) shows the mask only"
q "DROP ROLE IF EXISTS sentinel_reader; CREATE ROLE sentinel_reader LOGIN IN ROLE pg_read_all_settings" >/dev/null
OUT=$(sb_psql -U sentinel_reader -d postgres -c "SELECT string_agg(concat_ws('|', setting, reset_val, boot_val), ',') FROM pg_settings WHERE name LIKE 'cache_ext.%'" 2>&1 || true)
if [[ $OUT == *"$SECRET"* ]]; then fail "pg_settings shows the sentinel password to pg_read_all_settings"; else ok "pg_settings shows no sentinel password to pg_read_all_settings"; fi
OUT=$(q "ALTER ROLE sentinel_reader SET cache_ext.sentinel_password = 'R0le-$SECRET'" 2>&1 || true)
assert_contains "cannot be set here" "$OUT" "ALTER ROLE ... SET of the sentinel password is refused"
if [[ $OUT == *"$SECRET"* ]]; then fail "the refusal quotes the password"; else ok "the refusal quotes no password"; fi
OUT=$(q "SET cache_ext.sentinel_password = 'Sess-$SECRET'; SELECT current_setting('cache_ext.sentinel_password')" 2>&1 || true)
assert_eq "********" "$OUT" "a session SET shows the mask"
OUT=$(q "SET cache_ext.sentinel_password = 'Wr0ng-$SECRET'; SELECT cache_ext.ping()" 2>&1 || true)
assert_contains "refused authentication" "$OUT" "a wrong sentinel password is refused with a clear error"
if [[ $OUT == *"Wr0ng"* ]]; then fail "the error shows the sentinel password"; else ok "the error shows no sentinel password"; fi

# -------------------------------------------------------- tables and load
q "CREATE TABLE IF NOT EXISTS ha_users (user_id int PRIMARY KEY, val bigint NOT NULL DEFAULT 0)" >/dev/null
q "CREATE TRIGGER ha_users_cache AFTER UPDATE ON ha_users FOR EACH ROW EXECUTE FUNCTION cache_ext.bump_version()" >/dev/null
q "INSERT INTO ha_users (user_id) SELECT g FROM generate_series(1, 40) g" >/dev/null
q "CREATE TABLE ha_invoices (year int NOT NULL, invoice_no bigint, UNIQUE (year, invoice_no))" >/dev/null
q "CREATE TRIGGER ha_number BEFORE INSERT OR UPDATE ON ha_invoices FOR EACH ROW
	EXECUTE FUNCTION cache_ext.assign_number('invoice_no', 'invoice_seq:{year}')" >/dev/null
cat >"$T/load.sql" <<'SQL'
\set uid random(1, 40)
UPDATE ha_users SET val = val + 1 WHERE user_id = :uid;
INSERT INTO ha_invoices (year) VALUES (2026);
SQL

# start_load SECONDS NAME: 4 clients in the background
start_load() {
	timeout $(($1 + 60)) pgbench -n -c 4 -j 2 -T "$1" -f "$T/load.sql" postgres >"$T/load-$2.out" 2>&1 &
	LOAD_PID=$!
}

# check_load NAME: every insert and update succeeded, no number repeated
check_load() {
	local name=$1 rc=0
	wait "$LOAD_PID" || rc=$?
	if ((rc == 0)) && ! grep -q 'aborted' "$T/load-$name.out"; then
		ok "$name: no failed transaction under load ($(grep -E '^number of transactions actually processed' "$T/load-$name.out" | sed 's/.*: //'))"
	else
		fail "$name: pgbench exit $rc: $(grep -E 'aborted|ERROR|error' "$T/load-$name.out" | head -3)"
	fi
	assert_eq 0 "$(q "SELECT count(*) - count(DISTINCT invoice_no) FROM ha_invoices")" "$name: no invoice number repeats"
}

# settled NAME SECONDS: the queue drained and no fallback owed
settled() {
	local got
	got=$(poll_eq "0 false" "$2" "SELECT queue_depth || ' ' || fallback_pending FROM cache_ext.stats" || true)
	assert_eq "0 false" "$got" "$1: every effect delivered (queue empty, no fallback owed)"
}

# ------------------------------------------ 0. high-water mark (FLUSHALL)
echo "---- 0. an uncommitted number survives FLUSHALL ----"
q "INSERT INTO ha_invoices (year) VALUES (2026)" >/dev/null
coproc HELD { sb_psql -q -d postgres 2>&1; }
held_pid=${HELD_PID:-} # bash unsets HELD_PID once the coproc has exited
echo "BEGIN; INSERT INTO ha_invoices (year) VALUES (2026) RETURNING invoice_no;" >&"${HELD[1]}"
read -r -t 10 held_no <&"${HELD[0]}" || held_no=''
rcli "$P1" FLUSHALL >/dev/null
# without the mark, this insert would take the held number and wait for it
OUT=$(q "SET statement_timeout = '5s'; INSERT INTO ha_invoices (year) VALUES (2026) RETURNING invoice_no" 2>&1 || true)
echo "COMMIT;" >&"${HELD[1]}"
exec {HELD[1]}>&-
wait "$held_pid" 2>/dev/null || true
if [[ -n $held_no && $OUT =~ ^[0-9]+$ ]] && ((OUT > held_no)); then
	ok "after FLUSHALL the next number ($OUT) is above the uncommitted one ($held_no)"
else
	fail "after FLUSHALL: held $held_no, next insert: $OUT"
fi
assert_eq 0 "$(q "SELECT count(*) - count(DISTINCT invoice_no) FROM ha_invoices")" "FLUSHALL: no invoice number repeats"

# ---------------------------------------------------- 1. planned failover
echo "---- 1. SENTINEL FAILOVER ----"
old=$P1 new=$P2
start_load 10 planned
sleep 2
rcli "$S1" "${PW[@]}" SENTINEL FAILOVER mymaster >/dev/null
t_promo=$(wait_master "$new" 20 || echo 0)
t_sessions=$(wait_clients "$new" 4 20 || echo 0)
# every session (and the worker) off the old primary, which is still a
# writable primary until the sentinels demote it some 10 s later: while
# the load still runs, or the sessions merely ended
t_left=$(wait_left "$old" 20 || echo 0)
if kill -0 "$LOAD_PID" 2>/dev/null; then left_under_load=1; else left_under_load=0; fi
t_fallback=$(wait_fallback_after "$t_promo" 30 || echo 0)
check_load planned
settled planned 20
if ((t_promo > 0 && t_sessions > 0 && t_left > 0 && t_fallback > 0)); then
	ok "planned failover: promotion -> first session on the new primary $((t_sessions - t_promo)) ms, -> no session left on the old one $((t_left - t_promo)) ms, -> fallback complete $((t_fallback - t_promo)) ms"
	echo "figure: planned promotion_to_sessions_ms=$((t_sessions - t_promo)) promotion_to_all_sessions_ms=$((t_left - t_promo)) promotion_to_fallback_ms=$((t_fallback - t_promo))"
else
	fail "planned failover: promotion $t_promo, sessions $t_sessions, all left $t_left, fallback $t_fallback"
fi
# a generous bound (the sentinels take up to about 1 s to name the promoted
# replica, the worker polls them every second): without the poll, the
# sessions stay on the old primary until it is demoted (11-15 s)
if ((t_left > 0 && left_under_load == 1 && t_left - t_promo < 4000)); then
	ok "planned: the sessions under load left the old primary within 4 s of the promotion"
else
	fail "planned: the sessions under load did not leave the old primary within 4 s of the promotion (left after $((t_left - t_promo)) ms, load still running: $left_under_load)"
fi
assert_eq "127.0.0.1:$new" "$(q "SELECT redis_primary FROM cache_ext.stats")" "planned: cache_ext.stats names the new primary"
for ((i = 0; i < 100; i++)); do (($(pg_clients_on "$old") == 0)) && break; sleep 0.1; done
assert_eq 0 "$(pg_clients_on "$old")" "planned: no session left on the demoted primary (the worker's ROLE check included)"
assert_eq "t" "$(q "SELECT failovers >= 1 AND last_failover_at IS NOT NULL FROM cache_ext.stats")" "planned: the failover is counted"
# the sentinels demote the old primary at their next look at it (~10 s
# after the promotion); scenario 2 needs it a replica of the new one
for ((i = 0; i < 300; i++)); do
	[[ $(role_of "$old") == slave ]] && rcli "$old" INFO replication | grep -q 'master_link_status:up' && break
	sleep 0.1
done
assert_eq slave "$(role_of "$old")" "planned: the sentinels demoted the old primary"

# --------------------------------------------------- 2. primary SIGKILLed
echo "---- 2. primary SIGKILLed ----"
old=$P2 new=$P1
start_load 10 killed
sleep 2
kill -KILL "${PID[$old]}"
t_kill=$(now_ms)
t_promo=$(wait_master "$new" 30 || echo 0)
t_sessions=$(wait_clients "$new" 4 20 || echo 0)
t_fallback=$(wait_fallback_after "$t_promo" 30 || echo 0)
check_load killed
settled killed 20
if ((t_promo > 0 && t_sessions > 0 && t_fallback > 0)); then
	ok "killed primary: kill -> promotion $((t_promo - t_kill)) ms, promotion -> first session on the new primary $((t_sessions - t_promo)) ms, promotion -> fallback complete $((t_fallback - t_promo)) ms"
	echo "figure: killed kill_to_promotion_ms=$((t_promo - t_kill)) promotion_to_sessions_ms=$((t_sessions - t_promo)) promotion_to_fallback_ms=$((t_fallback - t_promo))"
else
	fail "killed primary: promotion $t_promo, sessions $t_sessions, fallback $t_fallback"
fi
OUT=$(q "SELECT commit_failures FROM cache_ext.stats")
echo "figure: killed commit_failures(after-commit deliveries that failed, retried)=$OUT"
# the old primary comes back as a replica of the new one
start_redis "$old" --replicaof 127.0.0.1 "$new"
for ((i = 0; i < 100; i++)); do
	rcli "$old" INFO replication | grep -q 'master_link_status:up' && break
	sleep 0.1
done

# ------------------------------------------------- 3. stale promotion
echo "---- 3. stale promotion ----"
primary=$P1 replica=$P2
start_load 12 stale
sleep 1.5
kill -STOP "${PID[$replica]}"
rcli "$primary" CLIENT KILL TYPE replica >/dev/null || true
# a number handed out by the doomed primary, committed after the failover
coproc HELD { sb_psql -q -d postgres 2>&1; }
held_pid=${HELD_PID:-} # bash unsets HELD_PID once the coproc has exited
echo "BEGIN; INSERT INTO ha_invoices (year) VALUES (2026) RETURNING invoice_no;" >&"${HELD[1]}"
read -r -t 10 held_no <&"${HELD[0]}" || held_no=''
sleep 1.5
before_counter=$(rcli "$primary" GET invoice_seq:2026)
mapfile -t before_versions < <(for u in $(seq 1 40); do rcli "$primary" GET "cache_user_version:$u"; done)
kill -KILL "${PID[$primary]}"
kill -CONT "${PID[$replica]}"
stale_counter=$(rcli "$replica" GET invoice_seq:2026)
t_promo=$(wait_master "$replica" 30 || echo 0)
t_fallback=$(wait_fallback_after "$t_promo" 30 || echo 0)
echo "COMMIT;" >&"${HELD[1]}"
exec {HELD[1]}>&-
wait "$held_pid" 2>/dev/null && held_ok=1 || held_ok=0
check_load stale
settled stale 20
echo "figure: stale counter before=$before_counter on_promoted_replica=$stale_counter held_number=$held_no"
if [[ -n $stale_counter && -n $before_counter && -n $held_no ]] && ((stale_counter < held_no)); then
	ok "stale: the promoted replica's counter ($stale_counter) was below a number handed out ($held_no)"
else
	fail "stale: the promoted replica was not stale (counter $stale_counter, before $before_counter, held $held_no)"
fi
assert_eq "1 1" "$held_ok $(q "SELECT count(*) FROM ha_invoices WHERE year = 2026 AND invoice_no = ${held_no:-0}")" \
	"stale: the held number committed, once"
if ((t_promo > 0 && t_fallback > 0)); then
	ok "stale: the fallback invalidation ran after the promotion ($((t_fallback - t_promo)) ms)"
	echo "figure: stale promotion_to_fallback_ms=$((t_fallback - t_promo))"
else
	fail "stale: no fallback after the promotion (promotion $t_promo, fallback $t_fallback)"
fi
lower=0
for u in $(seq 1 40); do
	v=$(rcli "$replica" GET "cache_user_version:$u")
	b=${before_versions[$((u - 1))]}
	[[ -n $b && -n $v ]] && ((v < b)) && lower=$((lower + 1))
done
echo "figure: stale version keys lower than before the failover (all covered by the fallback): $lower of 40"

# ------------------------------------------------ the stale-read checker
echo "---- stale reads after the failovers settled ----"
rc=0
timeout 60 /usr/bin/python3 "$here/stale_reads.py" --mode healthy --setup --duration 5 \
	--redis-port "$replica" >"$T/stale.log" 2>&1 || rc=$?
summary=$(grep -E '^stale_reads: [0-9]+ stale read' "$T/stale.log" || true)
if ((rc == 0)); then ok "stale reads on the promoted replica: ${summary#stale_reads: }"; else fail "stale reads: exit $rc: $summary"; fi

# ------------------------------- the shared health state, Sentinel URL
# A session whose COMMIT timed out backs off for its reconnect_interval
# (here 60 s); once the worker's probe has seen Redis answer again, its
# next COMMIT delivers at once instead of waiting out the interval.  The
# shared state is kept per endpoint: with a Sentinel URL, the session and
# the worker must agree that they serve the same one, whichever server
# their discovery last talked to (they did not: the session stayed in its
# own backoff).  CLIENT PAUSE WRITE holds the bump, not the sentinels' PING.
echo "---- a session's backoff ends with the worker's probe (Sentinel URL) ----"
prim=$(sentinel_primary)
OUT=$(sb_psql -X -d postgres 2>&1 <<SQL || true
SET cache_ext.reconnect_interval = '60s';
SET cache_ext.command_timeout = '200ms';
SELECT cache_ext.bump('health:a');
\warn MARK-pause
\! timeout 5 redis-cli -h 127.0.0.1 -p $prim CLIENT PAUSE 1000 WRITE >/dev/null
SELECT cache_ext.bump('health:b');
\warn MARK-back
\! sleep 2
SELECT cache_ext.bump('health:c');
\warn MARK-end
SQL
)
during=$(sed -n '/MARK-pause/,/MARK-back/p' <<<"$OUT")
after=$(sed -n '/MARK-back/,/MARK-end/p' <<<"$OUT")
assert_contains "could not deliver" "$during" "health: the COMMIT during the pause timed out (the session backs off for 60 s)"
if [[ $after == *"could not deliver"* || $after != *MARK-end* ]]; then
	fail "health: after the pause, the session in its backoff did not deliver: $after"
else
	ok "health: after the pause, the session in its 60 s backoff delivered (the worker's probe vouched for Redis)"
fi

# and the worker, which probes only while the shared state says "down",
# does not probe before each batch (it did: its own reports were ignored)
printf '\\set uid random(1, 40)\nUPDATE ha_users SET val = val + 1 WHERE user_id = :uid;\n' >"$T/bump.sql"
timeout 4 redis-cli -h 127.0.0.1 -p "$prim" MONITOR >"$T/monitor.out" 2>/dev/null &
mon=$!
sleep 0.3
PGOPTIONS="-c cache_ext.delivery=async" timeout 30 pgbench -n -c 2 -T 2 -f "$T/bump.sql" postgres >/dev/null 2>&1 || true
wait "$mon" || true
probes=$(grep -c 'cache_ext:probe' "$T/monitor.out" || true)
incrs=$(grep -c '"INCR"' "$T/monitor.out" || true)
if ((incrs > 0 && probes <= 1)); then
	ok "health: the worker sent its batches without probing first ($incrs INCR, $probes probes)"
else
	fail "health: the worker probed before its batches ($incrs INCR, $probes probes)"
fi

# ---------------------------------------------- 4. sentinels unreachable
echo "---- 4. sentinels unreachable ----"
for s in "$S1" "$S2" "$S3"; do kill -STOP "${PID[$s]}"; done
start_load 4 nosentinel
sleep 0.5
rcli "$replica" CLIENT KILL TYPE normal >/dev/null || true
sleep 2
OUT=$(q "SELECT last_error FROM cache_ext.stats")
assert_contains "no sentinel of service \"mymaster\" named its primary" "$OUT" "sentinels unreachable: a clear error"
for s in "$S1" "$S2" "$S3"; do kill -CONT "${PID[$s]}"; done
check_load nosentinel
settled nosentinel 30

# sentinels that name a replica: a fake sentinel answering the old primary's address
start_redis "$P1" --replicaof 127.0.0.1 "$replica"
python3 - "$FAKE" "$P1" >"$T/fake.log" 2>&1 <<'PY' &
import socket, sys
port, target = int(sys.argv[1]), sys.argv[2]
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", port)); s.listen(8)
ans = b"*2\r\n$9\r\n127.0.0.1\r\n$%d\r\n%s\r\n" % (len(target), target.encode())
while True:
    c, _ = s.accept()
    c.settimeout(2)
    try:
        data = b""
        while b"get-master-addr-by-name" not in data:
            chunk = c.recv(4096)
            if not chunk:
                break
            data += chunk
        if data.startswith(b"*2\r\n$4\r\nAUTH"):
            c.sendall(b"+OK\r\n")
        c.sendall(ans)
    except OSError:
        pass
    c.close()
PY
PID[$FAKE]=$!
for ((i = 0; i < 200; i++)); do sb__port_listening "$FAKE" && break; sleep 0.05; done
sb__port_listening "$FAKE" || echo "the fake sentinel did not start: $(tail -n 3 "$T/fake.log")" >&2
FAKEURL="SET cache_ext.sentinel_password = ''; SET cache_ext.redis_url = 'redis+sentinel://127.0.0.1:$FAKE/mymaster'"
# the replica named is never written to: its ROLE names its primary, which
# is used once its own ROLE confirms it
OUT=$(q "$FAKEURL; SELECT cache_ext.ping(); SELECT cache_ext.command('SET', 'ha_probe', 'x')" 2>&1 || true)
assert_eq "PONG
OK" "$OUT" "a sentinel naming a replica: the replica's own primary is used, confirmed by ROLE"
assert_eq "x" "$(rcli "$replica" GET ha_probe)" "...and the write reached the primary"
# the worker's poll of the sentinels: an answer naming a replica moves
# nobody (no announcement, no failover counted, no fallback owed), however
# many sentinels give it (here the only one, a majority)
failovers_before=$(q "SELECT failovers FROM cache_ext.stats")
sb_pg_set "cache_ext.redis_url = 'redis+sentinel://127.0.0.1:$FAKE/mymaster'"
if poll_log "moves no session: Redis at 127.0.0.1:$P1 is not the primary (ROLE says slave)" 15; then
	ok "the worker's poll: a sentinel naming a replica is refused by ROLE, and said so"
else
	fail "the worker's poll did not refuse a sentinel naming a replica (no log line)"
fi
start_load 2 fakepoll
check_load fakepoll
got=$(poll_eq "$failovers_before 0 false" 10 "SELECT failovers || ' ' || queue_depth || ' ' || fallback_pending FROM cache_ext.stats" || true)
assert_eq "$failovers_before 0 false" "$got" \
	"the worker's poll: no failover counted, nothing queued, no fallback owed for a sentinel naming a replica"
assert_eq 0 "$(pg_clients_on "$P1")" "the worker's poll: no session and not the worker on the replica named"
assert_eq "127.0.0.1:$replica" "$(q "SELECT redis_primary FROM cache_ext.stats")" "the worker's poll: the primary stays the one confirmed"
sb_pg_set "cache_ext.redis_url = '$URL'"

# a replica of nothing reachable: a clear error, and commits still succeed
DEAD=$(sb__pick_port "$REDIS_PORT" "$PGPORT" "$P1" "$P2" "$S1" "$S2" "$S3" "$FAKE")
rcli "$P1" REPLICAOF 127.0.0.1 "$DEAD" >/dev/null
OUT=$(q "$FAKEURL; SELECT cache_ext.ping()" 2>&1 || true)
assert_contains "no primary of service \"mymaster\" confirmed by ROLE" "$OUT" "sentinels naming only replicas: a clear error"
OUT=$(q "$FAKEURL; BEGIN; UPDATE ha_users SET val = val + 1 WHERE user_id = 1; COMMIT;" 2>&1 || true)
if [[ $OUT == *ERROR* ]]; then fail "a commit failed because the sentinels are wrong: $OUT"; else ok "a commit succeeds while the sentinels are wrong"; fi

# ------------------------------------------------------ the secret, again
if grep -qF "$SECRET" "$SANDBOX_DIR/postgres.log"; then
	fail "the sentinel password reached the server log: $(grep -F "$SECRET" "$SANDBOX_DIR/postgres.log" | head -2)"
else
	ok "no sentinel password in the server log (reload, SET, failed ALTER ROLE, log_statement)"
fi
grep -q 'parameter "cache_ext.sentinel_password" changed to "\*\*\*\*\*\*\*\*"' "$SANDBOX_DIR/postgres.log" &&
	ok "the reload message shows the mask" || fail "the reload message of the sentinel password is not masked"

if grep -qE 'terminated by signal|server process .* was terminated' "$SANDBOX_DIR/postgres.log"; then
	fail "no backend crashed"
else
	ok "no backend crashed"
fi
finish
