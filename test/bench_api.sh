#!/usr/bin/env bash
# test/bench_api.sh — owns: the per-call benchmark of the SQL cache API
# (issue 2): µs per call of cache_ext.get / set / incr against Redis, next to
# pgmemcache's memcache_get / memcache_set / memcache_incr against memcached
# and next to a trivial function call, all in one run.
#
# usage: test/bench_api.sh            (starts its own exclusive sandbox)
#   env: BENCH_ROUNDS (7)   rounds; each round runs every variant once, in
#                           an order rotated from round to round
#        BENCH_CALLS (5000) calls per statement in the in-statement form
#        BENCH_SECONDS (2)  pgbench -T per variant and round (0: skip)
#        BENCH_PLACEMENTS ("same cross free")  CPU placements, see place()
#        BENCH_FLOOR_CALLS (20000) calls per round of the server floor
#        BENCH_NO_BUILD=1   do not rebuild the extension
#        BENCH_SHARED=1     no exclusive lock (smoke runs; noisy figures)
#        BENCH_TLS (1)      also the cache_ext calls over TLS (0: skip)
#   quick smoke run: BENCH_ROUNDS=1 BENCH_CALLS=300 BENCH_SECONDS=1
#
# Two forms, both reported:
#   in-statement   SELECT count(EXPR) FROM generate_series(1, CALLS), timed
#                  inside the server (clock_timestamp around EXECUTE); the
#                  "loop" row (count(*)) is the executor's own per-row cost
#                  and "net" subtracts it
#   per-statement  pgbench -n -c 1 -M prepared -T SECONDS, one
#                  `SELECT EXPR;` per transaction: µs per statement,
#                  client round trip and executor start-up included
# Baseline "fn": a VOLATILE LANGUAGE internal function (PostgreSQL's own
# textlen, i.e. length(text)) called with the same text argument: a real
# fmgr call of a C function per row that cannot be constant-folded or
# inlined (a LANGUAGE sql function would be inlined, an IMMUTABLE one folded
# to a constant), so "cache API minus fn" is the cost of the network round
# trip and the client library, nothing else.
# Redis and memcached both listen on TCP loopback; values are 64 bytes;
# memcached runs one worker thread, like Redis.
# Placements: the whole measurement is repeated with the processes pinned
# (see place() below): "same" (all on one CPU: a round trip is the two
# processes' CPU work back to back), "cross" (servers on the other CPU:
# every call wakes a peer on another CPU) and "free" (the scheduler
# decides).  Unpinned, the scheduler's choice for each server changes from
# moment to moment and moves a call between ~16 µs and ~60 µs, so only
# pinned runs compare the two extensions fairly.
# Server floor: test/bench_floor.py sends the same three requests with a
# bare socket client (no client library) to both servers, in the same
# placement, so the report can split the difference between the two
# extensions into "the servers differ" and "the client sides differ".
# TLS: with BENCH_TLS=1 the sandbox Redis gets a TLS port too (a throwaway
# CA), and cache_ext.get/set/incr run once more over rediss:// to the same
# Redis in the same interleaved rounds ("tls_*" rows); reported as TLS /
# plain ratios (target: an established TLS connection <= 1.15).
# Ratios cache_ext / pgmemcache are taken per round (the two ran side by
# side) and the median over rounds reported, with the ratio of the best
# samples: the machine is shared, and other sandboxes do not take the lock.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=test/lib.sh
source "$here/lib.sh"
bench_enter_sandbox "$here/bench_api.sh" "$@"

# ------------------------------------------------------ inside the sandbox
trap bench_cleanup EXIT

ROUNDS=${BENCH_ROUNDS:-7}
CALLS=${BENCH_CALLS:-5000}
SECONDS_PER=${BENCH_SECONDS:-2}
PLACEMENTS=${BENCH_PLACEMENTS:-same cross free}
FLOOR_CALLS=${BENCH_FLOOR_CALLS:-20000}
if (($(nproc) < 2)); then
	PLACEMENTS=free
fi

bench_memcached_start

TLS=0
if [[ ${BENCH_TLS:-1} == 1 ]]; then
	sb_tls_enable
	sb_pg_set "cache_ext.tls_ca_file = '$SANDBOX_TLS_DIR/ca.crt'"
	TLS=1
fi

value=$(printf 'v%.0s' {1..64})
names=(loop fn ce_get pm_get ce_set pm_set ce_incr pm_incr)
((TLS)) && names+=(tls_get tls_set tls_incr)
declare -A expr=(
	[loop]='*'
	[fn]="bench_fn('bench_get')"
	[ce_get]="cache_ext.get('bench_get')"
	[pm_get]="memcache_get('bench_get')"
	[ce_set]="cache_ext.set('bench_set', '$value')"
	[pm_set]="memcache_set('bench_set', '$value')"
	[ce_incr]="cache_ext.incr('bench_incr')"
	[pm_incr]="memcache_incr('bench_incr')"
	[tls_get]="cache_ext.get('bench_get')"
	[tls_set]="cache_ext.set('bench_set', '$value')"
	[tls_incr]="cache_ext.incr('bench_incr')"
)
declare -A label=(
	[loop]='empty loop: count(*)'
	[fn]='trivial C fn: length(text)'
	[ce_get]='cache_ext.get'
	[pm_get]='pgmemcache memcache_get'
	[ce_set]='cache_ext.set'
	[pm_set]='pgmemcache memcache_set'
	[ce_incr]='cache_ext.incr'
	[pm_incr]='pgmemcache memcache_incr'
	[tls_get]='cache_ext.get over TLS'
	[tls_set]='cache_ext.set over TLS'
	[tls_incr]='cache_ext.incr over TLS'
)

bench_psql <<SQL
CREATE EXTENSION IF NOT EXISTS cache_ext;
CREATE EXTENSION IF NOT EXISTS pgmemcache;
ALTER DATABASE $PGDATABASE SET pgmemcache.default_servers = '127.0.0.1:$MEMCACHED_PORT';
CREATE FUNCTION bench_fn(text) RETURNS integer
  LANGUAGE internal VOLATILE STRICT AS 'textlen';
CREATE FUNCTION bench_time(expr text, n int) RETURNS double precision
LANGUAGE plpgsql AS \$\$
DECLARE
  t0 timestamptz;
  c bigint;
BEGIN
  t0 := clock_timestamp();
  EXECUTE format('SELECT count(%s) FROM generate_series(1, \$1)', expr) INTO c USING n;
  RETURN extract(epoch FROM clock_timestamp() - t0) * 1e6 / n;
END
\$\$;
SQL
# a new session, so that pgmemcache.default_servers applies
bench_psql <<SQL >/dev/null
SELECT cache_ext.set('bench_get', '$value');
SELECT cache_ext.set('bench_incr', '0');
SELECT memcache_set('bench_get', '$value');
SELECT memcache_set('bench_incr', '0');
SQL
if [[ $(bench_psql -c "SELECT memcache_get('bench_get') = cache_ext.get('bench_get')") != t ]]; then
	echo "bench_api: pgmemcache does not reach memcached on port $MEMCACHED_PORT" >&2
	exit 1
fi

echo "bench_api: $ROUNDS rounds, $CALLS calls per statement, pgbench ${SECONDS_PER}s per variant and round, placements: $PLACEMENTS"
bench_machine

# place PLACEMENT: pin PostgreSQL (the postmaster and, through it, every
# backend), Redis, memcached and pgbench to CPUs.  A loopback round trip
# costs several times more when the two processes run on different CPUs
# (the peer must be woken on the other CPU) than when they share one, and
# left alone the scheduler picks differently for each server from moment
# to moment; pinning makes both servers face the same placement.
#   free   nothing pinned (what an unconfigured machine does)
#   same   everything on CPU 0
#   cross  PostgreSQL, psql and pgbench on CPU 0, Redis and memcached on CPU 1
place() {
	local pg_cpus=0-$(($(nproc) - 1)) srv_cpus=0-$(($(nproc) - 1)) pm
	case $1 in
	free) ;;
	same) pg_cpus=0 srv_cpus=0 ;;
	cross) pg_cpus=0 srv_cpus=1 ;;
	*) echo "bench_api: unknown placement $1" >&2; return 1 ;;
	esac
	pm=$(head -n 1 "$PGDATA/postmaster.pid")
	taskset -a -p -c "$pg_cpus" "$pm" >/dev/null
	taskset -a -p -c "$srv_cpus" "$(sb__redis_pid)" >/dev/null
	taskset -a -p -c "$srv_cpus" "$BENCH_MEMCACHED_PID" >/dev/null
	taskset -p -c "$pg_cpus" $$ >/dev/null # this script, psql and pgbench
}

run_placement() {
	local placement=$1
	place "$placement"
	echo
	echo "=== placement: $placement"
	unset ins pst ins_r pst_r med_i med_n med_p
	declare -A ins pst ins_r pst_r
	nv=${#names[@]}
	for ((r = 0; r < ROUNDS; r++)); do
		order=()
		for ((i = 0; i < nv; i++)); do
			order+=("${names[$(((i + r) % nv))]}")
		done
		# in-statement: one session per round, warmed up (library loaded,
		# both connections open) before anything is timed
		sql="SELECT cache_ext.ping(), memcache_get('bench_get') IS NOT NULL, bench_fn('x');"
		for v in "${order[@]}"; do
			if [[ $v == tls_* ]]; then
				# the same session over TLS: reconnect, warm up, time
				sql+="SET cache_ext.redis_url = '$REDIS_TLS_URL'; SELECT cache_ext.ping();"
				sql+="SELECT '$v', bench_time(\$e\$${expr[$v]}\$e\$, $CALLS);"
				sql+="RESET cache_ext.redis_url; SELECT cache_ext.ping();"
			else
				sql+="SELECT '$v', bench_time(\$e\$${expr[$v]}\$e\$, $CALLS);"
			fi
		done
		while IFS='|' read -r v us; do
			if [[ -n ${expr[$v]:-} ]]; then
				ins[$v]+="$us "
				ins_r[$v,$r]=$us
			fi
		done < <(bench_psql -F'|' -c "$sql")
		# per-statement
		if ((SECONDS_PER > 0)); then
			for v in "${order[@]}"; do
				[[ $v == loop ]] && continue
				f=$SANDBOX_DIR/bench_$v.sql
				echo "SELECT ${expr[$v]};" >"$f"
				if [[ $v == tls_* ]]; then
					us=$(PGOPTIONS="-c cache_ext.redis_url=$REDIS_TLS_URL" bench_pgbench_us "$f" "$SECONDS_PER" -M prepared)
				else
					us=$(bench_pgbench_us "$f" "$SECONDS_PER" -M prepared)
				fi
				pst[$v]+="$us "
				pst_r[$v,$r]=$us
			done
			f=$SANDBOX_DIR/bench_select1.sql
			echo "SELECT 1;" >"$f"
			pst[loop]+="$(bench_pgbench_us "$f" "$SECONDS_PER" -M prepared) "
		fi
		echo "  round $((r + 1))/$ROUNDS done" >&2
	done
	
	declare -A med_i med_n med_p
	# shellcheck disable=SC2086 # word splitting wanted
	loop_med=$(median ${ins[loop]})
	for v in "${names[@]}"; do
		# shellcheck disable=SC2086 # word splitting wanted
		med_i[$v]=$(median ${ins[$v]})
		med_n[$v]=$(awk -v a="${med_i[$v]}" -v b="$loop_med" 'BEGIN { printf "%.2f", a - b }')
		# shellcheck disable=SC2086
		med_p[$v]=$(median ${pst[$v]:-})
	done
	
	echo
	echo "µs per call, median of $ROUNDS rounds (in-statement: $CALLS calls in one SELECT; net = minus the empty loop;"
	echo "per-statement: pgbench -c 1 -M prepared, one SELECT per transaction; the loop row there is SELECT 1)"
	printf '%-28s %14s %10s %15s\n' variant in-statement net per-statement
	for v in "${names[@]}"; do
		printf '%-28s %14.2f %10s %15s\n' "${label[$v]}" "${med_i[$v]}" "${med_n[$v]}" "${med_p[$v]:--}"
	done
	echo
	# Ratios: per round (the two variants ran next to each other), then the
	# median over rounds: steadier than a ratio of medians on a busy machine.
	paired() {
		local a=$1 b=$2 form=$3 r x y
		local -a rs=()
		for ((r = 0; r < ROUNDS; r++)); do
			if [[ $form == ins ]]; then
				x=${ins_r[$a,$r]:-} y=${ins_r[$b,$r]:-}
			else
				x=${pst_r[$a,$r]:-} y=${pst_r[$b,$r]:-}
			fi
			[[ -n $x && -n $y ]] && rs+=("$(ratio "$x" "$y")")
		done
		((${#rs[@]})) && median "${rs[@]}" || echo n/a
	}
	echo "cache_ext / pgmemcache, median of the per-round ratios (< 1: cache_ext is faster);"
	echo "min = ratio of the best (least disturbed) in-statement samples"
	printf '%-8s %14s %10s %15s\n' op in-statement min per-statement
	for op in get set incr; do
		# shellcheck disable=SC2086 # word splitting wanted
		printf '%-8s %14s %10s %15s\n' "$op" "$(paired "ce_$op" "pm_$op" ins)" \
			"$(ratio "$(printf '%s\n' ${ins[ce_$op]} | sort -g | head -n 1)" \
				"$(printf '%s\n' ${ins[pm_$op]} | sort -g | head -n 1)")" \
			"$( ((SECONDS_PER > 0)) && paired "ce_$op" "pm_$op" pst || echo -)"
	done
	echo
	if ((TLS)); then
		echo "TLS / plain TCP (cache_ext over rediss:// / over redis://, same Redis), median of the per-round"
		echo "ratios (target <= 1.15: an established TLS connection costs at most 15% more per call)"
		printf '%-8s %14s %10s %15s\n' op in-statement min per-statement
		for op in get set incr; do
			# shellcheck disable=SC2086 # word splitting wanted
			printf '%-8s %14s %10s %15s\n' "$op" "$(paired "tls_$op" "ce_$op" ins)" \
				"$(ratio "$(printf '%s\n' ${ins[tls_$op]} | sort -g | head -n 1)" \
					"$(printf '%s\n' ${ins[ce_$op]} | sort -g | head -n 1)")" \
				"$( ((SECONDS_PER > 0)) && paired "tls_$op" "ce_$op" pst || echo -)"
		done
		# the same ratio for a bare client (no client library): what TLS
		# costs here whatever the client
		local op2 p2 t2
		declare -A tp tt
		while read -r _ op2 p2 t2; do
			tp[$op2]+="$p2 " tt[$op2]+="$t2 "
		done < <(python3 "$here/bench_tls_floor.py" "$REDIS_PORT" "$REDIS_TLS_PORT" \
			"$SANDBOX_TLS_DIR/ca.crt" "$FLOOR_CALLS" "$ROUNDS")
		echo "TLS floor: a bare Python client (ssl module), same Redis, $FLOOR_CALLS calls x $ROUNDS rounds,"
		echo "median µs per call: what TLS costs any client here, the server's TLS work included"
		printf '%-8s %10s %10s %8s\n' op plain TLS ratio
		for op2 in get set incr; do
			# shellcheck disable=SC2086 # word splitting wanted
			p2=$(median ${tp[$op2]}) t2=$(median ${tt[$op2]})
			printf '%-8s %10s %10s %8s\n' "$op2" "$p2" "$t2" "$(ratio "$t2" "$p2")"
		done
		echo
	fi
	# The server floor: the same bare socket client against both servers
	# (test/bench_floor.py), placed like the SQL calls above.  What the
	# servers differ by here, neither client library can win back.
	local op rs ms fl
	declare -A fr fm
	while read -r _ op rs ms; do
		fr[$op]+="$rs " fm[$op]+="$ms "
	done < <(python3 "$here/bench_floor.py" "$REDIS_PORT" "$MEMCACHED_PORT" "$FLOOR_CALLS" "$ROUNDS")
	echo "server floor: bare request/reply from one Python process, no client library,"
	echo "$FLOOR_CALLS calls x $ROUNDS rounds (median µs per call); client-side difference ="
	echo "(cache_ext - pgmemcache) - (Redis floor - memcached floor), in-statement medians"
	printf '%-8s %12s %14s %8s %24s\n' op 'Redis floor' 'memcached floor' ratio 'client-side difference'
	for op in get set incr; do
		# shellcheck disable=SC2086 # word splitting wanted
		rs=$(median ${fr[$op]}) ms=$(median ${fm[$op]})
		fl=$(awk -v a="${med_i[ce_$op]}" -v b="${med_i[pm_$op]}" -v c="$rs" -v d="$ms" \
			'BEGIN { printf "%+.2f µs", (a - b) - (c - d) }')
		printf '%-8s %12s %14s %8s %24s\n' "$op" "$rs" "$ms" "$(ratio "$rs" "$ms")" "$fl"
	done
	echo
	echo "raw samples (µs/call, in-statement):"
	for v in "${names[@]}"; do
		echo "  $v: ${ins[$v]}"
	done
	if ((SECONDS_PER > 0)); then
		echo "raw samples (µs/statement, pgbench):"
		for v in "${names[@]}"; do
			echo "  $v: ${pst[$v]}"
		done
	fi
}

for placement in $PLACEMENTS; do
	run_placement "$placement"
done
