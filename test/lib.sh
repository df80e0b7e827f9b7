# shellcheck shell=bash
# test/lib.sh — owns: the bash helpers shared by the test harness.
#
# Sourced by scripts that run inside test/sandbox.sh (as "$SANDBOX_LIB"), and
# by sandbox.sh / run_tests.sh themselves (the sb__* internals: lock, ports,
# running as the cluster owner, launching Redis).  Defines functions only;
# safe under `set -euo pipefail`.
#
# Public helpers (inside a sandbox):
#   sb_psql ARGS...          psql -X -v ON_ERROR_STOP=1 -At against the sandbox
#   q [DB] SQL               one statement, quietly (no command tags), in DB
#                            or ${SB_DB:-postgres}; prints the rows
#   poll_eq EXPECTED SECONDS SQL    run SQL (q) every 0.1 s until it prints
#                            EXPECTED (bounded); prints what it got last
#   poll_cmd EXPECTED SECONDS CMD...  the same for a command
#   poll_log NEEDLE SECONDS  until NEEDLE appears in the server log (bounded)
#   now_ms                   milliseconds since the epoch
#   sb_bind_debug_effect [DB]  bind the test-only door to the pending set,
#                            public.eff(kind, key [, value]) (test/debug_effect.sql)
#   sb_redis ARGS...         redis-cli against the sandbox Redis
#   sb_start_hostile PORT MODE [ARGS...]  test/hostile_redis.py on PORT, up
#                            and listening (HOSTILE_PID), or a failure saying why
#   sb_pg_ctl ARGS...        pg_ctl as the cluster owner (-D/-l preset),
#                            e.g. sb_pg_ctl restart -m fast -w
#   sb_pg_set "guc = 'v'"    append a line to postgresql.conf and reload
#   sb_redis_stop / sb_redis_cont    SIGSTOP / SIGCONT the Redis server
#   sb_redis_kill            SIGKILL Redis and wait until it is gone
#   sb_redis_start           start Redis again on the same port and options
#   sb_pg_log [N]            last N (50) lines of the server log
#   sb_tls_make_certs DIR    a throwaway CA and certificates (see below)
#   sb_tls_enable            give the sandbox Redis a TLS port too (restarts
#                            it): REDIS_TLS_PORT, REDIS_TLS_URL, SANDBOX_TLS_DIR
#   sb_redis_tls ARGS...     redis-cli over TLS against that port
#   assert_eq EXPECTED ACTUAL MESSAGE
#   assert_contains NEEDLE HAYSTACK MESSAGE
#   assert_ok MESSAGE CMD...     / assert_fails MESSAGE CMD...
#   ok MESSAGE / fail MESSAGE    count a pass / a failure
#   finish                   print "${SB_SUITE:-fault}: N passed, M failed";
#                            returns 1 when anything failed
#
# Numbers: median NUMBERS... (the mean of the middle two for an even
# count), median_ci NUMBERS... (a 95 % confidence interval for it),
# minimum NUMBERS..., ratio A B (3 decimals, "n/a" when either is
# empty).  The benchmark helpers (bench_*) are described at their section,
# at the end.

: "${SB_PASS:=0}"
: "${SB_FAIL:=0}"
sb__here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

# ---------------------------------------------------------------- internals

# sb__alive PID: true while PID exists and is not a zombie.
sb__alive() {
	local pid=$1 line
	[[ -n $pid && -r /proc/$pid/status ]] || return 1
	while IFS= read -r line; do
		if [[ $line == State:* ]]; then
			# explicit status: a bare `return` in a trap handler returns
			# the status from before the trap
			if [[ $line == *zombie* || $line == *"Z ("* ]]; then
				return 1
			fi
			return 0
		fi
	done 2>/dev/null </proc/"$pid"/status
	return 1
}

# sb__wait_gone PID SECONDS: poll until PID is gone; reap it if it is our child.
sb__wait_gone() {
	local pid=$1 i n=$(($2 * 10))
	for ((i = 0; i < n; i++)); do
		sb__alive "$pid" || break
		sleep 0.1
	done
	if sb__alive "$pid"; then
		return 1
	fi
	wait "$pid" 2>/dev/null || true
	return 0
}

# sb__stop_pid PID [SECONDS]: SIGCONT, SIGTERM, bounded wait, then SIGKILL.
sb__stop_pid() {
	local pid=$1 secs=${2:-5}
	sb__alive "$pid" || { wait "$pid" 2>/dev/null || true; return 0; }
	kill -CONT "$pid" 2>/dev/null || true
	kill -TERM "$pid" 2>/dev/null || true
	sb__wait_gone "$pid" "$secs" && return 0
	kill -KILL "$pid" 2>/dev/null || true
	sb__wait_gone "$pid" 5
}

# sb__descendants PID: PID's descendants (children first), one per line.
sb__descendants() {
	local -A kids=()
	local f pid ppid line
	for f in /proc/[0-9]*/status; do
		pid=${f#/proc/}
		pid=${pid%/status}
		ppid=
		while IFS= read -r line; do
			if [[ $line == PPid:* ]]; then
				ppid=${line#PPid:}
				ppid=${ppid//[[:space:]]/}
				break
			fi
		done 2>/dev/null <"$f" || continue
		[[ -n $ppid ]] && kids[$ppid]+="$pid "
	done
	local -a queue=("$1")
	while ((${#queue[@]})); do
		pid=${queue[0]}
		queue=("${queue[@]:1}")
		for f in ${kids[$pid]:-}; do
			echo "$f"
			queue+=("$f")
		done
	done
}

# sb__kill_tree PID: stop PID and everything below it (TERM, then KILL).
sb__kill_tree() {
	local root=$1 p
	local -a all
	mapfile -t all < <(sb__descendants "$root")
	all=("$root" "${all[@]}")
	for p in "${all[@]}"; do
		kill -CONT "$p" 2>/dev/null || true
		kill -TERM "$p" 2>/dev/null || true
	done
	for p in "${all[@]}"; do
		sb__wait_gone "$p" 5 && continue
		kill -KILL "$p" 2>/dev/null || true
		sb__wait_gone "$p" 2 || true
	done
}

# sb__as_owner CMD...: run CMD as the sandbox cluster owner (from /).
sb__as_owner() {
	local owner=${SANDBOX_OWNER:-$(id -un)}
	(
		cd /
		if [[ -n ${SB_LOCK_FD:-} ]]; then exec {SB_LOCK_FD}>&-; fi
		if ((EUID == 0)) && [[ $owner != root ]]; then
			exec runuser -u "$owner" -- "$@"
		fi
		exec "$@"
	)
}

# sb__port_free PORT: true when no TCP socket uses PORT as its local port.
# Not only listeners: a port that an outgoing connection took as its local
# port cannot be listened on either (EADDRINUSE).
sb__port_free() {
	local p=$1
	if command -v ss >/dev/null 2>&1; then
		[[ -z $(ss -Hatn "sport = :$p" 2>/dev/null) ]]
	else
		! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null
	fi
}

# sb__port_listening PORT: true when something listens on PORT (TCP).
sb__port_listening() {
	[[ -n $(ss -Hltn "sport = :$1" 2>/dev/null) ]]
}

# sb__port_range: "LOW HIGH", where sb__pick_port picks: 20000 up to the
# kernel's ephemeral range (from which every connect() takes its local port,
# so a port picked there may be taken between the pick and the bind), or
# above it; 20000-40000 when the ephemeral range leaves no room.
sb__port_range() {
	local lo=32768 hi=60999
	[[ -r /proc/sys/net/ipv4/ip_local_port_range ]] &&
		read -r lo hi </proc/sys/net/ipv4/ip_local_port_range
	if ((lo > 21000)); then
		echo "20000 $((lo - 1))"
	elif ((hi < 64000)); then
		echo "$((hi + 1)) 65000"
	else
		echo "20000 40000"
	fi
}

# sb__pick_port [AVOID...]: a free random loopback port (sb__port_range).
sb__pick_port() {
	local p i a taken lo hi
	read -r lo hi < <(sb__port_range)
	for ((i = 0; i < 200; i++)); do
		p=$((lo + (RANDOM * 32768 + RANDOM) % (hi - lo + 1)))
		taken=0
		for a in "$@"; do [[ $p == "$a" ]] && taken=1; done
		((taken)) && continue
		if sb__port_free "$p"; then
			echo "$p"
			return 0
		fi
	done
	echo "sandbox: no free port found" >&2
	return 1
}

# sb_lock: take the machine-wide sandbox lock for the life of this shell,
# unless SANDBOX_LOCK_HELD names a live process (an enclosing run holds it).
sb_lock() {
	local f=/tmp/cache_ext-sandbox.lock held=${SANDBOX_LOCK_HELD:-}
	if [[ $held =~ ^[0-9]+$ && -d /proc/$held ]]; then
		return 0
	fi
	[[ -e $f ]] || (umask 0 && : >>"$f") 2>/dev/null || true
	exec {SB_LOCK_FD}<"$f"
	if ! flock -n "$SB_LOCK_FD"; then
		echo "sandbox: waiting for $f (another sandbox run holds it)..." >&2
		flock "$SB_LOCK_FD"
		echo "sandbox: lock acquired" >&2
	fi
	export SANDBOX_LOCK_HELD=$$
}

# sb__redis_wait PORT PID SECONDS: wait for PONG; fail early if PID dies.
sb__redis_wait() {
	local port=$1 pid=$2 n=$(($3 * 10)) i
	for ((i = 0; i < n; i++)); do
		if [[ $(timeout 2 redis-cli -h 127.0.0.1 -p "$port" ping 2>/dev/null) == PONG ]]; then
			return 0
		fi
		sb__alive "$pid" || return 1
		sleep 0.1
	done
	return 1
}

# sb__redis_launch [--die-with-parent]: start redis-server on $REDIS_PORT in
# the background as the owner; record its pid in $SANDBOX_DIR/redis.pid and
# REDIS_PID.  --die-with-parent (sandbox.sh's own launch): Redis is killed if
# the calling shell dies without its teardown (SIGKILL).  Not for restarts
# from test scripts: they may call from a subshell that exits at once.
# shellcheck disable=SC2120 # the option is passed by sandbox.sh only
sb__redis_launch() {
	local owner=${SANDBOX_OWNER:-$(id -un)} major
	local -a priv=()
	local -a cmd=(redis-server --bind 127.0.0.1 --port "$REDIS_PORT"
		--save '' --appendonly no --daemonize no
		--dir "$SANDBOX_DIR/redis" --logfile "$SANDBOX_DIR/redis.log"
		--unixsocket "$SANDBOX_DIR/redis/redis.sock" --unixsocketperm 777)
	major=$(redis-server --version | sed -n 's/.* v=\([0-9]*\).*/\1/p')
	if [[ ${major:-0} -ge 7 ]]; then
		cmd+=(--enable-debug-command yes)
	fi
	# TLS (sb_tls_enable): the same server listens on a TLS port as well
	if [[ -n ${REDIS_TLS_PORT:-} && -n ${SANDBOX_TLS_DIR:-} ]]; then
		cmd+=(--tls-port "$REDIS_TLS_PORT"
			--tls-cert-file "$SANDBOX_TLS_DIR/server.crt"
			--tls-key-file "$SANDBOX_TLS_DIR/server.key"
			--tls-ca-cert-file "$SANDBOX_TLS_DIR/ca.crt"
			--tls-auth-clients no)
	fi
	if ((EUID == 0)) && [[ $owner != root ]]; then
		priv+=(--reuid="$owner" --regid="$owner" --init-groups)
	fi
	if [[ ${1:-} == --die-with-parent ]]; then
		priv+=(--pdeathsig=KILL)
	fi
	if ((${#priv[@]})); then
		cmd=(setpriv "${priv[@]}" -- "${cmd[@]}")
	fi
	# Neither the lock fd nor our stdio: a restarted Redis must hold no pipe.
	(
		cd /
		if [[ -n ${SB_LOCK_FD:-} ]]; then exec {SB_LOCK_FD}>&-; fi
		exec "${cmd[@]}"
	) </dev/null >>"$SANDBOX_DIR/redis.log" 2>&1 &
	REDIS_PID=$!
	disown "$REDIS_PID" 2>/dev/null || true # no "Killed" job notices
	export REDIS_PID
	echo "$REDIS_PID" >"$SANDBOX_DIR/redis.pid"
	if ! sb__redis_wait "$REDIS_PORT" "$REDIS_PID" 10; then
		echo "sandbox: redis-server did not answer PING on port $REDIS_PORT" >&2
		tail -n 20 "$SANDBOX_DIR/redis.log" >&2 2>/dev/null || true
		return 1
	fi
}

# sb__sanitizer_scan LOG OUT: copy every sanitizer report of LOG (from its
# "ERROR: AddressSanitizer" or "runtime error:" line to its "SUMMARY:" line,
# at most 200 lines) to OUT; print "REPORTS MENTIONING", the second count
# being the reports that name cache_ext or hiredis in a frame or a path.
sb__sanitizer_scan() {
	awk -v out="$2" '
		function flush() {
			if (inrep) {
				n++
				if (block ~ /cache_ext|hiredis/) { bad++; tag = "[cache_ext/hiredis] " } else tag = "[other] "
				printf "---- sanitizer report %d %s----\n%s", n, tag, block > out
			}
			inrep = 0; block = ""; lines = 0
		}
		/==[0-9]+==ERROR: [A-Za-z]+Sanitizer|: runtime error: / { flush(); inrep = 1 }
		inrep { block = block $0 "\n"; lines++ }
		inrep && (/^SUMMARY: [A-Za-z]+Sanitizer/ || lines >= 200) { flush() }
		END { flush(); print n + 0, bad + 0 }
	' "$1"
}

sb__redis_pid() {
	cat "$SANDBOX_DIR/redis.pid" 2>/dev/null || echo "${REDIS_PID:-}"
}

# ------------------------------------------------------------ public helpers

sb_psql() {
	"${PG_BINDIR:-$("${PG_CONFIG:-pg_config}" --bindir)}/psql" -X -v ON_ERROR_STOP=1 -At "$@"
}

sb_redis() {
	redis-cli -h "${REDIS_HOST:-127.0.0.1}" -p "$REDIS_PORT" "$@"
}

# In sanitizer mode (SANDBOX_SAN_PRELOAD, set by sandbox.sh) the server is
# started and restarted with the sanitizer runtime preloaded.
sb_pg_ctl() {
	local -a envs=()
	if [[ -n ${SANDBOX_SAN_PRELOAD:-} ]]; then
		envs=(env "LD_PRELOAD=$SANDBOX_SAN_PRELOAD")
		[[ -n ${SANDBOX_ASAN_OPTIONS:-} ]] && envs+=("ASAN_OPTIONS=$SANDBOX_ASAN_OPTIONS")
	fi
	sb__as_owner "${envs[@]}" "$PG_BINDIR/pg_ctl" -D "$PGDATA" -l "$SANDBOX_DIR/postgres.log" "$@"
}

# sb_pg_set "name = 'value'": append to postgresql.conf, reload, and wait
# until the postmaster has re-read its configuration.
sb_pg_set() {
	local before now i
	printf '%s\n' "$@" >>"$PGDATA/postgresql.conf"
	before=$(sb_psql -d postgres -c "SELECT pg_conf_load_time()")
	sb_pg_ctl reload -s >/dev/null
	for ((i = 0; i < 100; i++)); do
		now=$(sb_psql -d postgres -c "SELECT pg_conf_load_time()" 2>/dev/null || true)
		[[ -n $now && $now != "$before" ]] && return 0
		sleep 0.05
	done
	echo "sb_pg_set: server did not reload its configuration" >&2
	return 1
}

sb_redis_stop() { kill -STOP "$(sb__redis_pid)"; }
sb_redis_cont() { kill -CONT "$(sb__redis_pid)"; }

sb_redis_kill() {
	local pid
	pid=$(sb__redis_pid)
	kill -KILL "$pid" 2>/dev/null || true
	sb__wait_gone "$pid" 10
}

sb_redis_start() {
	local pid
	pid=$(sb__redis_pid)
	if sb__alive "$pid"; then
		echo "sb_redis_start: redis (pid $pid) is still running" >&2
		return 1
	fi
	# shellcheck disable=SC2119 # no --die-with-parent here, on purpose
	sb__redis_launch
}

# sb_tls_make_certs DIR: a throwaway certificate authority and certificates,
# made with openssl, owned by the sandbox owner, keys mode 0600:
#   ca.crt           the CA the servers' certificates are signed by
#   wrong-ca.crt     another CA, which signed nothing here
#   server.crt/.key  subjectAltName localhost, cacheext-twoaddr, 127.0.0.1, ::1
#   other.crt/.key   subjectAltName other.invalid only (a host-name mismatch)
#   client.crt/.key  a client certificate for mutual TLS
sb_tls_make_certs() {
	local dir=$1 name
	mkdir -p "$dir"
	(
		cd "$dir"
		openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=cache_ext-test-ca \
			-keyout ca.key -out ca.crt
		openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=cache_ext-wrong-ca \
			-keyout wrong-ca.key -out wrong-ca.crt
		for name in server other client; do
			openssl req -newkey rsa:2048 -nodes -subj "/CN=cache_ext-$name" \
				-keyout "$name.key" -out "$name.csr"
		done
		printf 'subjectAltName=DNS:localhost,DNS:cacheext-twoaddr,IP:127.0.0.1,IP:::1\n' >server.ext
		printf 'subjectAltName=DNS:other.invalid\n' >other.ext
		printf 'extendedKeyUsage=clientAuth\n' >client.ext
		for name in server other client; do
			openssl x509 -req -in "$name.csr" -CA ca.crt -CAkey ca.key -CAcreateserial \
				-days 2 -extfile "$name.ext" -out "$name.crt"
		done
	) >/dev/null 2>&1
	chmod 600 "$dir"/*.key
	chmod 644 "$dir"/*.crt
	if ((EUID == 0)); then
		chown -R "${SANDBOX_OWNER:-root}:" "$dir"
	fi
	chmod 755 "$dir"
	[[ -s $dir/server.crt && -s $dir/client.crt && -s $dir/other.crt ]]
}

# sb_tls_enable: certificates in $SANDBOX_DIR/tls and a TLS port for the
# sandbox Redis (restarted, emptied), kept by later sb_redis_start.
sb_tls_enable() {
	SANDBOX_TLS_DIR=$SANDBOX_DIR/tls
	sb_tls_make_certs "$SANDBOX_TLS_DIR" || {
		echo "sb_tls_enable: openssl could not make the certificates" >&2
		return 1
	}
	REDIS_TLS_PORT=$(sb__pick_port "$REDIS_PORT" "${PGPORT:-0}")
	REDIS_TLS_URL=rediss://127.0.0.1:$REDIS_TLS_PORT/0
	export SANDBOX_TLS_DIR REDIS_TLS_PORT REDIS_TLS_URL
	sb_redis_kill
	sb_redis_start
}

sb_redis_tls() {
	redis-cli --tls --cacert "$SANDBOX_TLS_DIR/ca.crt" -h 127.0.0.1 -p "$REDIS_TLS_PORT" "$@"
}

sb_pg_log() {
	tail -n "${1:-50}" "$SANDBOX_DIR/postgres.log"
}

q() {
	if (($# > 1)); then
		sb_psql -q -d "$1" -c "$2"
	else
		sb_psql -q -d "${SB_DB:-postgres}" -c "$1"
	fi
}

poll_eq() {
	local want=$1 secs=$2 sql=$3 got='' i
	for ((i = 0; i < secs * 10; i++)); do
		got=$(q "$sql" 2>/dev/null || true)
		[[ $got == "$want" ]] && { echo "$got"; return 0; }
		sleep 0.1
	done
	echo "$got"
	return 1
}

# poll_cmd EXPECTED SECONDS CMD...: quiet; says on stderr what it got last.
poll_cmd() {
	local want=$1 secs=$2 got='' i
	shift 2
	for ((i = 0; i < secs * 10; i++)); do
		got=$("$@" 2>/dev/null || true)
		[[ $got == "$want" ]] && return 0
		sleep 0.1
	done
	echo "poll_cmd: wanted '$want', last got '$got'" >&2
	return 1
}

# now_ms: milliseconds since the epoch.
now_ms() { date +%s%3N; }

# poll_log NEEDLE SECONDS: until NEEDLE appears in the server log (bounded).
poll_log() {
	local needle=$1 secs=$2 i
	for ((i = 0; i < secs * 10; i++)); do
		grep -q -- "$needle" "$SANDBOX_DIR/postgres.log" && return 0
		sleep 0.1
	done
	return 1
}

# sb_start_hostile PORT MODE [ARGS...]: start test/hostile_redis.py on PORT
# (ARGS go to it, e.g. --tls CERT KEY; --lifetime defaults to 120), wait
# until it listens, set HOSTILE_PID.  Its output goes to
# $SANDBOX_DIR/hostile.out.  When it cannot start, retry a few times (a
# previous server's port may not be free yet), then print why on stderr and
# return 1: a test must not go on against nothing.
sb_start_hostile() {
	local port=$1 mode=$2 attempt i
	shift 2
	local -a extra=("$@")
	[[ " ${extra[*]} " == *" --lifetime "* ]] || extra+=(--lifetime 120)
	for attempt in 1 2 3 4 5; do
		# removed here, not truncated by the child's redirection, which may
		# happen after the grep below read the previous server's "ready"
		rm -f "$SANDBOX_DIR/hostile.out"
		python3 "$sb__here/hostile_redis.py" "$port" "$mode" "${extra[@]}" \
			>"$SANDBOX_DIR/hostile.out" 2>&1 &
		HOSTILE_PID=$!
		for ((i = 0; i < 200; i++)); do
			# "ready", and the kernel lists the port as listening (once, a
			# TLS mode's port refused the first connection after "ready" in
			# a loaded trixie run; a probe connection would be counted)
			if grep -q ready "$SANDBOX_DIR/hostile.out" 2>/dev/null &&
				sb__port_listening "$port"; then
				return 0
			fi
			sb__alive "$HOSTILE_PID" || break
			sleep 0.05
		done
		kill -KILL "$HOSTILE_PID" 2>/dev/null || true
		wait "$HOSTILE_PID" 2>/dev/null || true
		sleep 0.3
	done
	echo "hostile_redis.py did not start on port $port: $(tail -n 3 "$SANDBOX_DIR/hostile.out" 2>/dev/null)" >&2
	return 1
}

sb_bind_debug_effect() {
	sb_psql -q -d "${1:-${SB_DB:-postgres}}" -f "$sb__here/debug_effect.sql" >/dev/null
}

ok() {
	SB_PASS=$((SB_PASS + 1))
	printf 'ok - %s\n' "$*"
}

fail() {
	SB_FAIL=$((SB_FAIL + 1))
	printf 'FAIL - %s\n' "$*"
}

assert_eq() {
	if [[ $1 == "$2" ]]; then
		ok "$3"
	else
		fail "$3 (expected '$1', got '$2')"
	fi
}

assert_contains() {
	if [[ $2 == *"$1"* ]]; then
		ok "$3"
	else
		fail "$3 (expected to contain '$1', got '$2')"
	fi
}

# assert_ok MESSAGE CMD...: CMD must exit 0.
assert_ok() {
	local msg=$1 out rc=0
	shift
	out=$("$@" 2>&1) || rc=$?
	if ((rc == 0)); then ok "$msg"; else fail "$msg (exit $rc: $out)"; fi
}

# assert_fails MESSAGE CMD...: CMD must exit non-zero.
assert_fails() {
	local msg=$1 out rc=0
	shift
	out=$("$@" 2>&1) || rc=$?
	if ((rc != 0)); then ok "$msg"; else fail "$msg (unexpectedly succeeded: $out)"; fi
}

finish() {
	echo "${SB_SUITE:-fault}: $SB_PASS passed, $SB_FAIL failed"
	((SB_FAIL == 0))
}

# ------------------------------------------------------------------ numbers

median() {
	printf '%s\n' "$@" | { grep -v '^$' || true; } | sort -g |
		awk '{ a[NR] = $1 } END { if (NR == 0) print ""; else if (NR % 2) print a[(NR + 1) / 2]; else printf "%.6g\n", (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}

ratio() {
	if [[ -z $1 || -z $2 ]]; then
		echo n/a
		return
	fi
	awk -v a="$1" -v b="$2" 'BEGIN { if (b == 0) print "n/a"; else printf "%.3f\n", a / b }'
}

minimum() {
	printf '%s\n' "$@" | { grep -v '^$' || true; } | sort -g | head -n 1
}

# median_ci NUMBERS...: "LOW HIGH", a distribution-free 95 % confidence
# interval for the median: the order statistics k and n + 1 - k, with the
# largest k for which P(Binomial(n, 1/2) < k) <= 0.025; "n/a n/a" below six
# numbers, which are too few for one.
median_ci() {
	printf '%s\n' "$@" | { grep -v '^$' || true; } | sort -g |
		awk '{ a[NR] = $1 }
		END {
			n = NR; k = 0; cum = 0; p = 0.5 ^ n
			for (j = 0; j < n; j++) {
				cum += p
				if (cum > 0.025) break
				k = j + 1
				p = p * (n - j) / (j + 1)
			}
			if (k < 1) print "n/a n/a"; else print a[k], a[n + 1 - k]
		}'
}

# --------------------------------------------------------------- benchmarks
# For the benchmark scripts (test/bench_*.sh), which source this file
# before they enter their sandbox:
#   bench_enter_sandbox SCRIPT ARGS...   re-exec SCRIPT inside
#       `SANDBOX_EXCLUSIVE=1 test/sandbox.sh [--no-build] --` unless already
#       inside one (BENCH_NO_BUILD=1 passes --no-build); installs the bench
#       dependencies (memcached, pgmemcache) first; BENCH_SHARED=1 skips
#       the exclusive lock (smoke runs only: figures are then noisy)
#   bench_durable_conf                   (before bench_enter_sandbox) fsync on,
#       large shared_buffers and WAL: the invalidation benchmarks' server
#   bench_memcached_start                start memcached on a free loopback
#       port as the sandbox owner; sets MEMCACHED_PORT; stopped by
#       bench_cleanup (call it from the script's EXIT trap)
#   bench_psql ARGS...                   psql -X -q -At, stop on error
#   bench_pgbench_us FILE SECONDS [PGBENCH-OPTS...]   run pgbench -n -c 1
#       on FILE and print the mean time per transaction in µs (1e6 / TPS)
#   bench_pgbench_tps FILE SECONDS CLIENTS [PGBENCH-OPTS...]  print the TPS
#   bench_machine                        one line: CPU, load, kernel, versions

# bench_durable_conf: before bench_enter_sandbox, the server settings of
# the invalidation benchmarks: fsync on (or synchronous_commit on/off would
# measure nothing), space for a million-row UPDATE without checkpoints.
bench_durable_conf() {
	[[ -n ${SANDBOX_DIR:-} ]] && return 0
	export SANDBOX_PG_CONF="${SANDBOX_PG_CONF:-}
fsync = on
shared_buffers = 512MB
max_wal_size = 8GB
checkpoint_timeout = 30min"
}

bench_enter_sandbox() {
	local script=$1
	shift
	if [[ -n ${SANDBOX_DIR:-} && -n ${PGPORT:-} ]]; then
		return 0
	fi
	bash "$sb__here/install_deps.sh" --bench
	local -a opts=()
	[[ ${BENCH_NO_BUILD:-0} == 1 ]] && opts+=(--no-build)
	if [[ ${BENCH_SHARED:-0} == 1 ]]; then
		export SANDBOX_EXCLUSIVE=0
	else
		export SANDBOX_EXCLUSIVE=1
	fi
	export SANDBOX_SKIP_DEPS=1
	exec bash "$sb__here/sandbox.sh" "${opts[@]}" -- bash "$script" "$@"
}

: "${BENCH_MEMCACHED_PID:=}"

bench_memcached_start() {
	local owner=${SANDBOX_OWNER:-$(id -un)} i _
	local -a cmd
	for _ in 1 2 3; do
		MEMCACHED_PORT=$(sb__pick_port "${REDIS_PORT:-0}" "${PGPORT:-0}")
		cmd=(memcached -l 127.0.0.1 -p "$MEMCACHED_PORT" -U 0 -t 1 -m 64 -c 256)
		if ((EUID == 0)) && [[ $owner != root ]]; then
			cmd=(setpriv --reuid="$owner" --regid="$owner" --init-groups -- "${cmd[@]}")
		fi
		(
			cd /
			if [[ -n ${SB_LOCK_FD:-} ]]; then exec {SB_LOCK_FD}>&-; fi
			exec "${cmd[@]}"
		) </dev/null >>"$SANDBOX_DIR/memcached.log" 2>&1 &
		BENCH_MEMCACHED_PID=$!
		for ((i = 0; i < 50; i++)); do
			if (exec 3<>"/dev/tcp/127.0.0.1/$MEMCACHED_PORT") 2>/dev/null; then
				export MEMCACHED_PORT
				return 0
			fi
			sb__alive "$BENCH_MEMCACHED_PID" || break
			sleep 0.1
		done
		sb__stop_pid "$BENCH_MEMCACHED_PID" 2 || true
		BENCH_MEMCACHED_PID=''
	done
	echo "bench: could not start memcached" >&2
	return 1
}

bench_cleanup() {
	if [[ -n $BENCH_MEMCACHED_PID ]]; then
		sb__stop_pid "$BENCH_MEMCACHED_PID" 5 || true
		BENCH_MEMCACHED_PID=''
	fi
}

bench_psql() {
	psql -X -q -v ON_ERROR_STOP=1 -At "$@"
}

bench_pgbench_us() {
	local file=$1 secs=$2 out
	shift 2
	out=$(pgbench -n -c 1 -j 1 -T "$secs" -f "$file" "$@" 2>&1) || {
		echo "$out" >&2
		return 1
	}
	# from the TPS: "latency average" is printed in whole µs only
	awk '/^tps = / { printf "%.2f\n", 1e6 / $3 }' <<<"$out"
}

bench_pgbench_tps() {
	local file=$1 secs=$2 clients=$3 out
	shift 3
	out=$(pgbench -n -c "$clients" -j "$clients" -T "$secs" -f "$file" "$@" 2>&1) || {
		echo "$out" >&2
		return 1
	}
	awk '/^tps = / { printf "%.0f\n", $3 }' <<<"$out"
}

bench_machine() {
	local cpu
	cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
	echo "machine: $(nproc) x ${cpu:-unknown cpu}; load $(cut -d' ' -f1-3 /proc/loadavg);" \
		"$(uname -sr); postgres $(postgres -V | awk '{print $3}');" \
		"redis $(redis-server --version | sed -n 's/.* v=\([^ ]*\).*/\1/p');" \
		"memcached $(memcached -V 2>/dev/null | awk '{print $2}')"
}
