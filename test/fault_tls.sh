#!/usr/bin/env bash
# test/fault_tls.sh — owns: TLS (rediss://), certificate checks, name
# resolution, failover answers, hostile servers and the password's
# visibility, against real servers.  Runs inside test/sandbox.sh (as
# run_tests.sh runs every fault script); gives the sandbox Redis a TLS port
# with a throwaway CA (sb_tls_enable) and starts extra TLS Redis servers of
# its own (wrong host name, mutual TLS) and a hostile one
# (test/hostile_redis.py).
#
# Root-only parts (skipped otherwise, and said so): a name resolving to a
# closed address first and a working one second, and a DNS server that never
# answers, need PostgreSQL restarted in a private mount namespace with its
# own /etc/hosts and /etc/resolv.conf (nothing leaves the loopback).
#
# Bounds on elapsed time are generous (they prove "bounded", not "fast").
set -euo pipefail
# shellcheck source=test/lib.sh
source "$SANDBOX_LIB"
SB_SUITE=fault_tls

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
pids=()
cleanup() {
	local p
	for p in "${pids[@]}"; do
		kill -KILL "$p" 2>/dev/null || true
	done
}
trap cleanup EXIT

# run SQL in a fresh session: OUT holds stdout+stderr, ELAPSED the ms taken
run() {
	local start rc=0
	start=$(now_ms)
	OUT=$(sb_psql -v ON_ERROR_STOP=0 "$@" 2>&1) || rc=$?
	ELAPSED=$(($(now_ms) - start))
}
within() { # MS MESSAGE
	if ((ELAPSED < $1)); then ok "$2 (${ELAPSED} ms)"; else fail "$2 took ${ELAPSED} ms (bound $1)"; fi
}

# start_redis NAME PORT ARGS...: an extra Redis as the sandbox owner, killed
# with this script
start_redis() {
	local name=$1 port=$2 i
	shift 2
	local -a cmd=(redis-server --bind 127.0.0.1 --port 0 --tls-port "$port"
		--save '' --appendonly no --daemonize no --dir "$SANDBOX_DIR"
		--logfile "$SANDBOX_DIR/redis-$name.log" "$@")
	if ((EUID == 0)); then
		cmd=(setpriv --reuid="$SANDBOX_OWNER" --regid="$SANDBOX_OWNER" --init-groups
			--pdeathsig=KILL -- "${cmd[@]}")
	fi
	# started by this shell itself: --pdeathsig fires when the script ends
	"${cmd[@]}" </dev/null >/dev/null 2>&1 &
	pids+=($!)
	disown $! 2>/dev/null || true
	for ((i = 0; i < 100; i++)); do
		if redis-cli --tls --cacert "$T/ca.crt" --cert "$T/client.crt" --key "$T/client.key" \
			--insecure -h 127.0.0.1 -p "$port" ping 2>/dev/null | grep -q PONG; then
			return 0
		fi
		sleep 0.1
	done
	echo "could not start redis $name" >&2
	return 1
}

# hostile PORT MODE [--tls]: sb_start_hostile, with this file's certificate
# for --tls; the server is killed at exit with the others
hostile() {
	local -a extra=()
	[[ ${3:-} == --tls ]] && extra=(--tls "$T/server.crt" "$T/server.key")
	sb_start_hostile "$1" "$2" "${extra[@]}"
	pids+=("$HOSTILE_PID")
}

sb_psql -q -c "CREATE EXTENSION IF NOT EXISTS cache_ext"
sb_tls_enable
T=$SANDBOX_TLS_DIR
TP=$REDIS_TLS_PORT
CA="SET cache_ext.tls_ca_file = '$T/ca.crt';"
sb_psql -q -c "SELECT cache_ext.ping()" >/dev/null

# ------------------------------------------------------- verification
run -c "$CA SET cache_ext.redis_url = 'rediss://127.0.0.1:$TP/0';" \
	-c "SELECT cache_ext.set('tls:ip', 'by-ip')" -c "SELECT 'got:' || cache_ext.get('tls:ip')"
assert_contains "got:by-ip" "$OUT" "full verification by IP address (subjectAltName IP:127.0.0.1)"
assert_eq by-ip "$(sb_redis get tls:ip)" "the value went to the same Redis over TLS"

run -c "$CA SET cache_ext.redis_url = 'rediss://localhost:$TP/0';" \
	-c "SELECT 'got:' || cache_ext.get('tls:ip')"
assert_contains "got:by-ip" "$OUT" "full verification by DNS name (localhost, SNI sent)"
# an idle TLS connection (TLS 1.3 sends session tickets after the handshake,
# which make the socket readable) is reused, not taken for a closed one
run -c "$CA SET cache_ext.redis_url = 'rediss://localhost:$TP/0';" \
	-c "SELECT 'id1:' || cache_ext.command('CLIENT', 'ID')" -c "SELECT pg_sleep(1.3)" \
	-c "SELECT 'id2:' || cache_ext.command('CLIENT', 'ID')"
id1=$(grep -o 'id1:[0-9]*' <<<"$OUT" | cut -d: -f2)
id2=$(grep -o 'id2:[0-9]*' <<<"$OUT" | cut -d: -f2)
if [[ -n $id1 && $id1 == "$id2" ]]; then ok "an idle TLS connection is reused (client id $id1)"; else fail "an idle TLS connection was replaced ($id1 -> $id2): $OUT"; fi

run -c "SET cache_ext.tls_ca_file = '$T/wrong-ca.crt'; SET cache_ext.redis_url = 'rediss://127.0.0.1:$TP/0';" \
	-c "SELECT cache_ext.get('tls:ip')"
assert_contains "certificate verify failed" "$OUT" "a certificate from another CA is refused"

run -c "SET cache_ext.tls_ca_file = '$T/nonexistent.crt'; SET cache_ext.redis_url = 'rediss://127.0.0.1:$TP/0';" \
	-c "SELECT cache_ext.get('tls:ip')"
assert_contains "could not load cache_ext.tls_ca_file" "$OUT" "a missing CA file is named"

OTHER=$(sb__pick_port "$REDIS_PORT" "$TP" "$PGPORT")
start_redis other "$OTHER" --tls-cert-file "$T/other.crt" --tls-key-file "$T/other.key" \
	--tls-ca-cert-file "$T/ca.crt" --tls-auth-clients no
run -c "$CA SET cache_ext.redis_url = 'rediss://127.0.0.1:$OTHER/0';" -c "SELECT cache_ext.ping()"
assert_contains "does not match the address \"127.0.0.1\" (host name mismatch" "$OUT" "full: a host-name mismatch is refused"
run -c "$CA SET cache_ext.redis_url = 'rediss://localhost:$OTHER/0';" -c "SELECT cache_ext.ping()"
assert_contains "does not match the host name \"localhost\"" "$OUT" "full: a DNS-name mismatch is refused"
run -c "$CA SET cache_ext.tls_verify = ca; SET cache_ext.redis_url = 'rediss://localhost:$OTHER/0';" \
	-c "SELECT 'ping:' || cache_ext.ping()"
assert_contains "ping:PONG" "$OUT" "ca: the same certificate is accepted (chain only)"
run -c "SET cache_ext.tls_verify = none; SET cache_ext.redis_url = 'rediss://localhost:$OTHER/0';" \
	-c "SELECT 'ping:' || cache_ext.ping()"
assert_contains "ping:PONG" "$OUT" "none: no CA needed"
assert_contains "without verifying its certificate" "$OUT" "none: a WARNING says so"

# -------------------------------------------------------- mutual TLS
MUTUAL=$(sb__pick_port "$REDIS_PORT" "$TP" "$PGPORT" "$OTHER")
start_redis mutual "$MUTUAL" --tls-cert-file "$T/server.crt" --tls-key-file "$T/server.key" \
	--tls-ca-cert-file "$T/ca.crt" --tls-auth-clients yes
run -c "$CA SET cache_ext.redis_url = 'rediss://127.0.0.1:$MUTUAL/0';" -c "SELECT 'ping:' || cache_ext.ping()"
if [[ $OUT != *ping:PONG* && $OUT == *ERROR* ]]; then ok "mutual TLS: refused without a client certificate"; else fail "mutual TLS without a client certificate: $OUT"; fi
run -c "$CA SET cache_ext.tls_cert_file = '$T/client.crt'; SET cache_ext.tls_key_file = '$T/client.key';
        SET cache_ext.redis_url = 'rediss://127.0.0.1:$MUTUAL/0';" -c "SELECT 'ping:' || cache_ext.ping()"
assert_contains "ping:PONG" "$OUT" "mutual TLS: accepted with the client certificate"
cp -p "$T/client.key" "$T/open.key"
chmod 644 "$T/open.key"
run -c "$CA SET cache_ext.tls_cert_file = '$T/client.crt'; SET cache_ext.tls_key_file = '$T/open.key';
        SET cache_ext.redis_url = 'rediss://127.0.0.1:$MUTUAL/0';" -c "SELECT cache_ext.ping()"
assert_contains "has group or world access" "$OUT" "a key file readable by others is refused, like libpq"
run -c "$CA SET cache_ext.tls_cert_file = '$T/client.crt';
        SET cache_ext.redis_url = 'rediss://127.0.0.1:$MUTUAL/0';" -c "SELECT cache_ext.ping()"
assert_contains "must be set together" "$OUT" "a certificate without its key is refused"

# ------------------------------------------- password over TLS, never shown
SECRET='S3cr3t-TLS-pw'
sb_redis ACL SETUSER tlsuser on ">$SECRET" '~*' '+@all' >/dev/null
printf 'tlsuser:%s\n' "$SECRET" >"$T/redis.pass"
chmod 600 "$T/redis.pass"
((EUID == 0)) && chown "$SANDBOX_OWNER:" "$T/redis.pass"
run -c "$CA SET cache_ext.redis_password_file = '$T/redis.pass';
        SET cache_ext.redis_url = 'rediss://127.0.0.1:$TP/0';" \
	-c "SELECT 'who:' || cache_ext.command('ACL', 'WHOAMI')"
assert_contains "who:tlsuser" "$OUT" "password file (user:password) authenticates over TLS"
printf 'tlsuser:wrong-%s\n' "$SECRET" >"$T/bad.pass"
chmod 600 "$T/bad.pass"
((EUID == 0)) && chown "$SANDBOX_OWNER:" "$T/bad.pass"
run -c "$CA SET cache_ext.redis_password_file = '$T/bad.pass';
        SET cache_ext.redis_url = 'rediss://127.0.0.1:$TP/0';" -c "SELECT cache_ext.ping()"
assert_contains "refused authentication: WRONGPASS" "$OUT" "a wrong password is refused"
if [[ $OUT == *"$SECRET"* ]]; then fail "the error shows the password"; else ok "the error shows no password"; fi
chmod 644 "$T/bad.pass"
run -c "$CA SET cache_ext.redis_password_file = '$T/bad.pass';
        SET cache_ext.redis_url = 'rediss://127.0.0.1:$TP/0';" -c "SELECT cache_ext.ping()"
assert_contains "no group or world permissions" "$OUT" "a password file readable by others is refused"
run -c "$CA SET cache_ext.redis_url = 'rediss://tlsuser:$SECRET@127.0.0.1:$TP/0';" \
	-c "SELECT setting FROM pg_settings WHERE name = 'cache_ext.redis_url'" \
	-c "SELECT 'who:' || cache_ext.command('ACL', 'WHOAMI')"
assert_contains "who:tlsuser" "$OUT" "a session SET of a URL with a password authenticates"
assert_contains "used by this session only" "$OUT" "... with a WARNING"
if [[ $OUT == *"$SECRET"* ]]; then fail "pg_settings shows the session's password"; else ok "pg_settings.setting of a session SET holds no password"; fi

# finding 7: pg_settings for a pg_read_all_settings member, the reload log,
# a failed SET, ALTER SYSTEM
sb_psql -q -c "CREATE ROLE settings_reader LOGIN IN ROLE pg_read_all_settings"
FILE_SECRET='F1le-S3cret'
printf "cache_ext.redis_url = 'redis://:%s@127.0.0.1:%s/0'\n" "$FILE_SECRET" "$REDIS_PORT" >>"$PGDATA/postgresql.conf"
sb_pg_ctl reload -s >/dev/null
sleep 1
grep -q "must not contain a password here" "$SANDBOX_DIR/postgres.log" &&
	ok "reload: a URL with a password in postgresql.conf is refused" ||
	fail "reload: no refusal logged for a password in postgresql.conf"
run -U settings_reader -d postgres -c "SELECT setting, reset_val, boot_val, coalesce(sourcefile, '') FROM pg_settings WHERE name LIKE 'cache_ext.%'"
if [[ $OUT == *"$FILE_SECRET"* || $OUT == *"$SECRET"* ]]; then fail "pg_settings shows a password to a pg_read_all_settings member"; else ok "pg_settings (every column) shows no password to a pg_read_all_settings member"; fi
sed -i "/$FILE_SECRET/d" "$PGDATA/postgresql.conf"
sb_pg_ctl reload -s >/dev/null
run -c "SET cache_ext.redis_url = 'redis://:Fa1led-S3t@bad host:1/0'"
assert_contains "invalid value for cache_ext.redis_url" "$OUT" "a malformed URL with a password is refused"
run -c "ALTER SYSTEM SET cache_ext.redis_url = 'redis://:Alt3r-S3cret@127.0.0.1:1/0'"
assert_contains "must not contain a password here" "$OUT" "ALTER SYSTEM refuses a URL with a password"
run -c "ALTER ROLE settings_reader SET cache_ext.redis_url = 'redis://:R0le-S3cret@127.0.0.1:1/0'"
assert_contains "must not contain a password here" "$OUT" "ALTER ROLE ... SET refuses a URL with a password"
sleep 0.5
if grep -qE "$SECRET|$FILE_SECRET|Fa1led-S3t|Alt3r-S3cret|R0le-S3cret" "$SANDBOX_DIR/postgres.log" "$PGDATA/postgresql.auto.conf" 2>/dev/null; then
	fail "a password reached the server log or postgresql.auto.conf: $(grep -hE "$SECRET|$FILE_SECRET|Fa1led-S3t|Alt3r-S3cret|R0le-S3cret" "$SANDBOX_DIR/postgres.log" | head -3)"
else
	ok "no password in the server log (reload, failed SET, ALTER SYSTEM, ALTER ROLE)"
fi

# ---------------------------------------------------- protocol mix-ups
run -c "SET cache_ext.connect_timeout = 1000; SET cache_ext.command_timeout = 1000;
        SET cache_ext.redis_url = 'redis://127.0.0.1:$TP/0';" -c "SELECT cache_ext.get('tls:ip')"
assert_contains "use rediss://" "$OUT" "redis:// to a TLS port fails, naming the likely mix-up"
within 5000 "redis:// to a TLS port fails within the timeouts"
echo "    ($(echo "$OUT" | grep ERROR | head -1))"
run -c "$CA SET cache_ext.connect_timeout = 1000; SET cache_ext.command_timeout = 1000;
        SET cache_ext.redis_url = 'rediss://127.0.0.1:$REDIS_PORT/0';" -c "SELECT cache_ext.get('tls:ip')"
assert_contains "plain-text" "$OUT" "rediss:// to a plain port fails, naming the likely mix-up"
within 5000 "rediss:// to a plain port fails within the timeouts"

# a TLS handshake that hangs (a plain Redis waits for a line end that never
# comes) is interrupted by statement_timeout, like any wait
run -c "$CA SET cache_ext.connect_timeout = 20000; SET statement_timeout = 300;
        SET cache_ext.redis_url = 'rediss://127.0.0.1:$REDIS_PORT/0';" -c "SELECT cache_ext.get('tls:ip')"
assert_contains "canceling statement due to statement timeout" "$OUT" "statement_timeout interrupts a hanging TLS handshake"
within 4000 "... promptly"

# ------------------------------------------------------- hostile servers
HP=$(sb__pick_port "$REDIS_PORT" "$TP" "$PGPORT" "$OTHER" "$MUTUAL")
declare -A expect=(
	[garbage]="could not parse a reply" [bighead]="announced as 4611686018427387904 bytes"
	[hugearray]="array elements" [deep]="could not parse a reply"
	[flood]="longer than 65536 bytes" [truncated]="lost the connection"
	[resp3]="could not parse a reply" [close]="Redis at"
)
for tls in plain tls; do
	for mode in garbage bighead hugearray deep flood truncated resp3 close onebyte extra hshake; do
		[[ $mode == hshake && $tls == plain ]] && continue
		# a fresh port each time: a killed listener's port may linger
		HP=$(sb__pick_port "$REDIS_PORT" "$TP" "$PGPORT" "$OTHER" "$MUTUAL")
		if [[ $tls == tls ]]; then
			hostile "$HP" "$mode" --tls
			url="rediss://127.0.0.1:$HP/0"
			[[ $mode == hshake ]] && expect[hshake]="TLS handshake"
		else
			hostile "$HP" "$mode"
			url="redis://127.0.0.1:$HP/0"
		fi
		run -c "$CA SET cache_ext.tls_verify = ca; SET cache_ext.connect_timeout = 2000;
		        SET cache_ext.command_timeout = 2000; SET cache_ext.redis_url = '$url';" \
			-c "SELECT 'got:' || cache_ext.get('k')" -c "SELECT 'again:' || cache_ext.get('k')" \
			-c "RESET cache_ext.redis_url; RESET cache_ext.tls_verify;" -c "SELECT 'after:' || cache_ext.get('tls:ip')"
		case $mode in
		onebyte) assert_contains "got:hello" "$OUT" "hostile $tls $mode: a reply in one-byte writes is read" ;;
		extra)
			assert_contains "got:hello" "$OUT" "hostile $tls $mode: the answer is read"
			assert_contains "no command asked for" "$OUT" "hostile $tls $mode: the surplus reply drops the connection"
			;;
		*) assert_contains "${expect[$mode]}" "$OUT" "hostile $tls $mode: a clear error" ;;
		esac
		within 8000 "hostile $tls $mode: bounded"
		assert_contains "after:by-ip" "$OUT" "hostile $tls $mode: the session works again on a sane Redis"
		kill -KILL "$HOSTILE_PID" 2>/dev/null || true
		wait "$HOSTILE_PID" 2>/dev/null || true
	done
done

# SNI: the host name is sent, an IP address is not (RFC 6066)
HP=$(sb__pick_port "$REDIS_PORT" "$TP" "$PGPORT" "$OTHER" "$MUTUAL")
hostile "$HP" onebyte --tls
run -c "$CA SET cache_ext.redis_url = 'rediss://localhost:$HP/0';" -c "SELECT cache_ext.get('k')"
run -c "$CA SET cache_ext.redis_url = 'rediss://127.0.0.1:$HP/0';" -c "SELECT cache_ext.get('k')"
assert_eq "sni: localhost|sni: None" "$(grep sni: "$SANDBOX_DIR/hostile.out" | paste -sd '|')" \
	"SNI carries the host name, and nothing for an IP address"
kill -KILL "$HOSTILE_PID" 2>/dev/null || true
wait "$HOSTILE_PID" 2>/dev/null || true

# failover answers from a server: the connection is dropped and the next
# call connects again (the server counts its connections)
for mode in loading masterdown; do
	HP=$(sb__pick_port "$REDIS_PORT" "$TP" "$PGPORT" "$OTHER" "$MUTUAL")
	hostile "$HP" "$mode" --tls
	run -c "$CA SET cache_ext.tls_verify = ca; SET cache_ext.redis_url = 'rediss://127.0.0.1:$HP/0';" \
		-c "SELECT cache_ext.get('k')" -c "SELECT cache_ext.get('k')"
	n=$(grep -c accepted "$SANDBOX_DIR/hostile.out" || true)
	assert_contains "${mode^^}" "$OUT" "$mode: the answer is reported"
	assert_eq 2 "$n" "$mode: the connection is dropped after it, and the next call reconnects"
	kill -KILL "$HOSTILE_PID" 2>/dev/null || true
	wait "$HOSTILE_PID" 2>/dev/null || true
done

# -------------------------------------- the server itself over TLS (worker)
sb_pg_set "cache_ext.tls_ca_file = '$T/ca.crt'" "cache_ext.redis_url = 'rediss://localhost:$TP/0'" \
	"cache_ext.command_timeout = '500ms'" "cache_ext.reconnect_interval = '200ms'"
sb_psql -q -c "SELECT cache_ext.reset_stats()"
run -c "BEGIN; SELECT cache_ext.bump('tls:sync'); COMMIT;"
v=$(sb_redis get tls:sync)
[[ $v =~ ^[0-9]+$ ]] && ok "sync delivery over TLS: bump in Redis when COMMIT returns" || fail "sync delivery over TLS (got '$v': $OUT)"
run -c "SET cache_ext.delivery = async; BEGIN; SELECT cache_ext.bump('tls:async'); COMMIT;"
if poll_cmd 1 10 bash -c 'source "$SANDBOX_LIB"; [[ -n $(sb_redis get tls:async) ]] && echo 1'; then
	ok "the async worker delivers over TLS"
else
	fail "the async worker did not deliver over TLS"
fi
run -c "SELECT 'n:' || cache_ext.counter_next('tls:counter')" -c "SELECT 'n:' || cache_ext.counter_next('tls:counter')"
assert_contains "n:2" "$OUT" "counters over TLS"

# a paused TLS Redis under commits: bounded, then delivered by the worker
sb_redis_stop
run -c "BEGIN; SELECT cache_ext.bump('tls:paused'); COMMIT;"
within 4000 "a commit with the TLS Redis stopped returns within command_timeout + slack"
assert_contains "WARNING" "$OUT" "... with a WARNING"
sb_redis_cont
if poll_cmd 1 15 bash -c 'source "$SANDBOX_LIB"; [[ -n $(sb_redis get tls:paused) ]] && echo 1'; then
	ok "after the pause the bump is delivered over TLS by the worker"
else
	fail "the bump committed during the pause never arrived"
fi

# failover answers: READONLY (a replica) is retried and reconnects
sb_psql -q -c "SELECT cache_ext.reset_stats()"
sb_redis REPLICAOF 127.0.0.1 1 >/dev/null
run -c "BEGIN; SELECT cache_ext.bump('tls:readonly'); COMMIT;" \
	-c "SELECT 'queued:' || (effects_retry_queued > 0), 'err:' || last_error FROM cache_ext.stats"
assert_contains "queued:t" "$OUT" "an effect a replica answers READONLY is queued for a retry"
sb_redis REPLICAOF NO ONE >/dev/null
if poll_cmd 1 15 bash -c 'source "$SANDBOX_LIB"; [[ -n $(sb_redis get tls:readonly) ]] && echo 1'; then
	ok "an effect answered READONLY is retried and delivered after the failover"
else
	fail "the effect answered READONLY never arrived"
fi
run -c "SELECT 'failed:' || effects_failed, 'failover:' || (reconnects_failover > 0) FROM cache_ext.stats"
assert_contains "failed:0" "$OUT" "... and not counted as permanently failed"
assert_contains "failover:t" "$OUT" "... and counted in reconnects_failover"

# ------------------------------------------ the regression tests over TLS
# (the server's redis_url is rediss://localhost now: the API and delivery
# tests run unchanged against it)
pgxs=$(dirname "$("$PG_CONFIG" --pgxs)")/..
mkdir -p "$SANDBOX_DIR/regress_tls"
((EUID == 0)) && chown "$SANDBOX_OWNER:" "$SANDBOX_DIR/regress_tls"
if (cd "$repo" && "$pgxs/test/regress/pg_regress" --inputdir=. --outputdir="$SANDBOX_DIR/regress_tls" \
	--bindir="$PG_BINDIR" --dbname=cache_ext_regress_tls \
	setup api delivery_basic delivery_prepared delivery_prefix invalidation_rows counters_functions \
	>"$SANDBOX_DIR/regress_tls/out.log" 2>&1); then
	ok "pg_regress over TLS: setup api delivery_basic delivery_prepared delivery_prefix invalidation_rows counters_functions"
else
	fail "pg_regress over TLS"
	grep -E "^test|FAILED" "$SANDBOX_DIR/regress_tls/out.log" || true
	head -60 "$SANDBOX_DIR/regress_tls/regression.diffs" 2>/dev/null || true
fi

# ----------------------------- the backend's own SSL beside cache_ext's
cp -p "$T/server.crt" "$PGDATA/server.crt"
cp -p "$T/server.key" "$PGDATA/server.key"
sb_pg_set "ssl = on" "ssl_cert_file = 'server.crt'" "ssl_key_file = 'server.key'"
run -h 127.0.0.1 -d "dbname=postgres sslmode=require" \
	-c "SELECT 'ssl:' || ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()" \
	-c "SELECT 'ping:' || cache_ext.ping()" \
	-c "SET cache_ext.tls_ca_file = '$T/wrong-ca.crt'" -c "SELECT cache_ext.ping()" \
	-c "RESET cache_ext.tls_ca_file" \
	-c "SELECT 'big:' || length(string_agg(repeat('x', 1000), '')) FROM generate_series(1, 2000)" \
	-c "SELECT 'ping2:' || cache_ext.ping()" -c "SELECT 'still:' || ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()"
assert_contains "ssl:t" "$OUT" "a client connected over SSL (ssl = on)"
assert_contains "ping:PONG" "$OUT" "cache_ext uses TLS inside that SSL session"
assert_contains "certificate verify failed" "$OUT" "a failed cache_ext handshake there is reported"
assert_contains "big:2000000" "$OUT" "the client's SSL stream is undisturbed afterwards (2 MB result)"
assert_contains "still:t" "$OUT" "the session is still the same SSL session"
if [[ $OUT == *"SSL error"* || $OUT == *"SSL SYSCALL"* || $OUT == *"connection to server"* ]]; then
	fail "the client's SSL connection was disturbed: $OUT"
else
	ok "no SSL error on the client connection"
fi
sb_pg_set "ssl = off"

# ------------------------------------------------- name resolution (root)
# PostgreSQL restarted in a private mount namespace whose /etc/hosts maps
# cacheext-twoaddr to ::1 (where nothing listens) first and 127.0.0.1
# second, and whose /etc/resolv.conf names a DNS server on the loopback that
# never answers.  Nothing outside the namespace changes.
ns_ok=0
if ((EUID == 0)) && command -v unshare >/dev/null && unshare -m true 2>/dev/null; then
	NS=$SANDBOX_DIR/ns
	mkdir -p "$NS"
	printf '127.0.0.1 localhost\n::1 cacheext-twoaddr\n127.0.0.1 cacheext-twoaddr\n' >"$NS/hosts"
	printf 'nameserver 127.0.0.1\noptions timeout:5 attempts:1\n' >"$NS/resolv.conf"
	python3 -u -c '
import socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 53))
print("ready", flush=True)
end = time.time() + 120
s.settimeout(1)
while time.time() < end:
    try:
        s.recvfrom(4096)
    except socket.timeout:
        pass
' >"$SANDBOX_DIR/dns.out" 2>&1 &
	pids+=($!)
	dns_ok=0
	for ((i = 0; i < 50; i++)); do
		if grep -q ready "$SANDBOX_DIR/dns.out" 2>/dev/null; then dns_ok=1; break; fi
		sleep 0.1
	done
	sb_pg_ctl stop -m fast -w >/dev/null
	if unshare -m bash -c "mount --bind '$NS/hosts' /etc/hosts && mount --bind '$NS/resolv.conf' /etc/resolv.conf &&
		runuser -u '$SANDBOX_OWNER' -- '$PG_BINDIR/pg_ctl' -D '$PGDATA' -l '$SANDBOX_DIR/postgres.log' -w -t 60 start" >/dev/null 2>&1; then
		ns_ok=1
	else
		sb_pg_ctl start -w >/dev/null
	fi
fi
if ((ns_ok)); then
	sb_redis set tls:twoaddr found >/dev/null
	run -c "$CA SET cache_ext.redis_url = 'rediss://cacheext-twoaddr:$TP/0';" \
		-c "SELECT 'got:' || cache_ext.get('tls:twoaddr')"
	assert_contains "got:found" "$OUT" "a name resolving to a closed address (::1) first and a working one second connects"
	if ((dns_ok)); then
		run -c "SET cache_ext.connect_timeout = 700; SET cache_ext.redis_url = 'redis://no-such-host.cacheext.test:1/0';" \
			-c "SELECT cache_ext.get('k')"
		assert_contains "within cache_ext.connect_timeout (700 ms)" "$OUT" "a resolver that never answers is bounded by connect_timeout"
		within 4000 "... and the call returns"
		run -c "SET cache_ext.connect_timeout = 20000; SET statement_timeout = 300;
		        SET cache_ext.redis_url = 'redis://other-host.cacheext.test:1/0';" -c "SELECT cache_ext.get('k')"
		assert_contains "canceling statement due to statement timeout" "$OUT" "statement_timeout interrupts name resolution"
		within 4000 "... promptly"
	else
		ok "silent-DNS tests skipped (127.0.0.1:53 is taken: $(head -c 200 "$SANDBOX_DIR/dns.out"))"
	fi
	run -c "SET cache_ext.redis_url = 'redis://127.0.0.1:$REDIS_PORT/0';" -c "SELECT 'numeric:' || cache_ext.ping()"
	assert_contains "numeric:PONG" "$OUT" "a numeric address connects while the DNS server is silent"
	# back outside the namespace
	sb_pg_ctl stop -m fast -w >/dev/null
	sb_pg_ctl start -w >/dev/null
else
	ok "name-resolution tests skipped (they need root and a private mount namespace)"
fi

# ------------------------------------------------------------ no crash
if grep -qE "terminated by signal|was terminated|server process .* exited" "$SANDBOX_DIR/postgres.log"; then
	fail "a backend crashed (see postgres.log)"
	grep -E "terminated by signal|was terminated" "$SANDBOX_DIR/postgres.log" | head -5
else
	ok "no backend crashed"
fi
finish
