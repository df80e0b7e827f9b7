#!/usr/bin/env bash
# test/bench_api_cpu.sh — owns: where the time of one cache call goes, client
# side against server side, for cache_ext + Redis and pgmemcache + memcached
# (issue 2).
#
# usage: test/bench_api_cpu.sh   (starts its own exclusive sandbox; needs
#        perf, from Debian's linux-perf, installed with the bench tools)
#   env: BENCH_CALLS (200000)  calls per operation and extension
#        BENCH_NO_BUILD=1      do not rebuild the extension
#
# Everything (PostgreSQL, Redis, memcached, psql) is pinned to CPU 0, so a
# call is the backend's work and the server's work back to back and the CPU
# is never idle during the loop.  `perf record -C 0` samples that CPU while
# one statement makes BENCH_CALLS calls (SELECT count(f(...)) FROM
# generate_series); samples are split by process (the backend, the server)
# and by user space vs kernel, and turned into µs per call.  The "client"
# columns are what each extension and its client library cost (PostgreSQL's
# own executor included, identical for both); the "server" columns are what
# Redis and memcached cost to answer, system calls and wake-ups included.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=test/lib.sh
source "$here/lib.sh"
if [[ -z ${SANDBOX_DIR:-} ]]; then
	bash "$here/install_deps.sh" --bench linux-perf >&2
fi
bench_enter_sandbox "$here/bench_api_cpu.sh" "$@"

# ------------------------------------------------------ inside the sandbox
trap bench_cleanup EXIT

CALLS=${BENCH_CALLS:-200000}
if ! perf record -o /dev/null -C 0 -- true >/dev/null 2>&1; then
	echo "bench_api_cpu: perf cannot sample CPU 0 here (perf_event_paranoid, or no perf); skipped" >&2
	exit 0
fi

bench_memcached_start
value=$(printf 'v%.0s' {1..64})
bench_psql <<SQL
CREATE EXTENSION IF NOT EXISTS cache_ext;
CREATE EXTENSION IF NOT EXISTS pgmemcache;
ALTER DATABASE $PGDATABASE SET pgmemcache.default_servers = '127.0.0.1:$MEMCACHED_PORT';
SQL
bench_psql >/dev/null <<SQL
SELECT cache_ext.set('bench_get', '$value'), memcache_set('bench_get', '$value');
SELECT cache_ext.set('bench_incr', '0'), memcache_set('bench_incr', '0');
SQL

taskset -a -p -c 0 "$(head -n 1 "$PGDATA/postmaster.pid")" >/dev/null
taskset -a -p -c 0 "$REDIS_PID" >/dev/null
taskset -a -p -c 0 "$BENCH_MEMCACHED_PID" >/dev/null
taskset -p -c 0 $$ >/dev/null
echo "bench_api_cpu: $CALLS calls per row, everything on CPU 0"
bench_machine

declare -A expr=(
	[cache_ext/get]="cache_ext.get('bench_get')"
	[pgmemcache/get]="memcache_get('bench_get')"
	[cache_ext/set]="cache_ext.set('bench_set', '$value')"
	[pgmemcache/set]="memcache_set('bench_set', '$value')"
	[cache_ext/incr]="cache_ext.incr('bench_incr')"
	[pgmemcache/incr]="memcache_incr('bench_incr')"
)
data=$SANDBOX_DIR/perf.data
hz=4000

echo
printf '%-16s %9s | %11s %11s %11s | %11s %11s %11s | %6s %6s\n' '' 'µs/call' \
	'client usr' 'client sys' 'client' 'server usr' 'server sys' 'server' idle other
for op in get set incr; do
	for ext in cache_ext pgmemcache; do
		e=${expr[$ext/$op]}
		bench_psql -c "SELECT count($e) FROM generate_series(1, 1000)" >/dev/null
		perf record -q -F "$hz" -C 0 -o "$data" -- \
			psql -X -q -At -c "SELECT count($e) FROM generate_series(1, $CALLS)" >/dev/null 2>&1
		# comm, dso, samples -> µs per call by side and mode
		perf report -i "$data" --no-children --sort comm,dso -q -g none -n 2>/dev/null |
			awk -v n="$CALLS" -v hz="$hz" -v label="$ext/$op" '
				{
					us = $2 / hz * 1e6 / n
					total += us
					side = ($3 == "postgres") ? "c" : ($3 ~ /^(redis-server|mc-worker|memcached)$/ ? "s" : "")
					if ($3 == "swapper") idle += us
					if (side == "") { other += us; next }
					mode = ($4 == "[kernel.kallsyms]") ? "sys" : "usr"
					t[side mode] += us
				}
				END {
					printf "%-16s %9.2f | %11.2f %11.2f %11.2f | %11.2f %11.2f %11.2f | %6.2f %6.2f\n", label, total,
						t["cusr"], t["csys"], t["cusr"] + t["csys"],
						t["susr"], t["ssys"], t["susr"] + t["ssys"], idle, other - idle
				}'
	done
done
echo
echo "µs/call: CPU 0's time while the statement ran (every sample, idle included) / calls;"
echo "client = the PostgreSQL backend (executor, extension, client library, its system calls);"
echo "server = redis-server or memcached's worker thread; usr = user space, sys = kernel;"
echo "idle = CPU 0 idle; other = any other process on CPU 0 (perf itself, kernel threads)."
