#!/usr/bin/env bash
# test/bench_invalidation_cpu.sh — owns: where the CPU of the invalidation
# benchmark goes, process by process (issue 3).
#
# usage: test/bench_invalidation_cpu.sh   (starts its own exclusive sandbox,
#        fsync = on)
#   env: BENCH_SECONDS (10)   pgbench -T per variant and setting
#        BENCH_ROUNDS (2)     interleaved rounds (each figure: the median)
#        BENCH_BATCH_DELAYS ("1 5")  cache_ext.worker_batch_delay values
#                             (ms) tried for the async variant
#        BENCH_NO_BUILD=1     do not rebuild the extension
#
# The same pgbench workload as bench_invalidation.sh's "tps" part (scale
# 10, 4 clients, -M prepared, one single-row UPDATE per transaction, a
# bump_version trigger on uid = aid % 1000), at synchronous_commit on and
# off.  While pgbench runs, the user + system CPU time of each process
# class is read from /proc/PID/stat at two instants and divided by the
# transactions committed in between (pg_stat_database): µs of CPU per
# transaction spent by the backends, the cache_ext worker, redis-server,
# the other PostgreSQL processes (WAL writer, checkpointer, ...) and
# pgbench.  On a machine where the cores are the bottleneck, the ratio of
# two variants' TPS is about the inverse ratio of their CPU per
# transaction, and this table says which process the difference comes
# from.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=test/lib.sh
source "$here/lib.sh"
bench_durable_conf
bench_enter_sandbox "$here/bench_invalidation_cpu.sh" "$@"

# ------------------------------------------------------ inside the sandbox
trap bench_cleanup EXIT

SECS=${BENCH_SECONDS:-10}
ROUNDS=${BENCH_ROUNDS:-2}
DELAYS=${BENCH_BATCH_DELAYS:-1 5}
classes=(backends worker redis other_pg pgbench)

echo "bench_invalidation_cpu: pgbench -i -s 10 ..." >&2
pgbench -i -q -s 10 >/dev/null 2>&1
bench_psql <<SQL
CREATE EXTENSION IF NOT EXISTS cache_ext;
ALTER TABLE pgbench_accounts ADD COLUMN uid int;
UPDATE pgbench_accounts SET uid = aid % 1000;
VACUUM FULL pgbench_accounts;
VACUUM ANALYZE pgbench_accounts;
SQL
script=$SANDBOX_DIR/bench_update.sql
printf '\\set aid random(1, 1000000)\nUPDATE pgbench_accounts SET abalance = abalance + 1 WHERE aid = :aid;\n' >"$script"
bench_machine

# ticks PID...: user + system clock ticks of these processes
ticks() {
	local total=0 pid
	local -a f
	for pid in "$@"; do
		read -r -a f <"/proc/$pid/stat" 2>/dev/null || continue
		total=$((total + f[13] + f[14]))
	done
	echo "$total"
}
pids_of() {
	bench_psql -c "SELECT coalesce(string_agg(pid::text, ' '), '') FROM pg_stat_activity WHERE $1"
}
commits() {
	bench_psql -c "SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()"
}

# variants: label, trigger, PGOPTIONS, batch delay (async only)
variants=("none||" "floor|floor|" "bump_sync|bump|-c cache_ext.delivery=sync")
for d in $DELAYS; do
	variants+=("bump_async_${d}ms|bump|-c cache_ext.delivery=async|$d")
done
# the BEFORE row form (no after-trigger queue), at the default batch delay
variants+=("before_sync|bump_before|-c cache_ext.delivery=sync"
	"before_async_5ms|bump_before|-c cache_ext.delivery=async|5")
# the statement form with transition tables (no per-row after-trigger event)
variants+=("stmt_sync|bump_stmt|-c cache_ext.delivery=sync"
	"stmt_async_5ms|bump_stmt|-c cache_ext.delivery=async|5")

set_trigger() {
	local sql="DROP TRIGGER IF EXISTS bench_trg ON pgbench_accounts;"
	case $1 in
	floor) sql+="CREATE TRIGGER bench_trg BEFORE UPDATE ON pgbench_accounts FOR EACH ROW EXECUTE FUNCTION suppress_redundant_updates_trigger();" ;;
	bump) sql+="CREATE TRIGGER bench_trg AFTER UPDATE ON pgbench_accounts FOR EACH ROW EXECUTE FUNCTION cache_ext.bump_version('cache_user_version:{uid}');" ;;
	bump_before) sql+="CREATE TRIGGER bench_trg BEFORE UPDATE ON pgbench_accounts FOR EACH ROW EXECUTE FUNCTION cache_ext.bump_version('cache_user_version:{uid}');" ;;
	bump_stmt) sql+="CREATE TRIGGER bench_trg AFTER UPDATE ON pgbench_accounts REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION cache_ext.bump_version('cache_user_version:{uid}');" ;;
	esac
	bench_psql -c "$sql" 2>/dev/null
}

declare -A res
tick=$(getconf CLK_TCK)
for ((r = 0; r < ROUNDS; r++)); do
	for sc in on off; do
		for ((i = 0; i < ${#variants[@]}; i++)); do
			IFS='|' read -r label trg opts delay <<<"${variants[$(((i + r) % ${#variants[@]}))]}"
			set_trigger "$trg"
			if [[ -n $delay ]]; then
				bench_psql -c "ALTER SYSTEM SET cache_ext.worker_batch_delay = $delay" \
					-c "SELECT pg_reload_conf()" >/dev/null
			fi
			bench_psql -c "CHECKPOINT"
			PGOPTIONS="-c synchronous_commit=$sc $opts" \
				pgbench -n -M prepared -c 4 -j 2 -T "$SECS" -f "$script" \
				>"$SANDBOX_DIR/pgbench.out" 2>&1 &
			pgb=$!
			sleep 1
			declare -A pids=(
				[backends]=$(pids_of "application_name = 'pgbench'")
				[worker]=$(pids_of "backend_type LIKE 'cache_ext%'")
				[redis]=$REDIS_PID
				[other_pg]="$(head -n 1 "$PGDATA/postmaster.pid") $(pids_of "backend_type IN ('walwriter', 'checkpointer', 'background writer', 'autovacuum launcher', 'logical replication launcher')")"
				[pgbench]=$pgb
			)
			declare -A t0=() t1=()
			# shellcheck disable=SC2086 # a list of PIDs
			for c in "${classes[@]}"; do t0[$c]=$(ticks ${pids[$c]}); done
			c0=$(commits)
			sleep $((SECS - 2))
			# shellcheck disable=SC2086
			for c in "${classes[@]}"; do t1[$c]=$(ticks ${pids[$c]}); done
			c1=$(commits)
			wait "$pgb"
			key="$label/$sc"
			res[$key,tps]+="$(awk '/^tps = / { printf "%.0f", $3 }' "$SANDBOX_DIR/pgbench.out") "
			for c in "${classes[@]}"; do
				res[$key,$c]+="$(awk -v d=$((t1[$c] - t0[$c])) -v n=$((c1 - c0)) -v t="$tick" \
					'BEGIN { printf "%.1f", (n > 0 ? d / t * 1e6 / n : 0) }') "
			done
			echo "  round $((r + 1)) $key done" >&2
		done
	done
done
[[ -n ${BENCH_DEBUG:-} ]] && declare -p res >&2
bench_psql -c "ALTER SYSTEM RESET cache_ext.worker_batch_delay" -c "SELECT pg_reload_conf()" >/dev/null

echo
echo "CPU µs per committed transaction by process class (median of $ROUNDS rounds x ${SECS}s; /proc ticks of $((1000 / tick)) ms)"
for sc in on off; do
	echo
	echo "synchronous_commit = $sc"
	printf '%-18s %8s %7s' variant tps ratio
	printf ' %9s' "${classes[@]}" total
	echo
	# shellcheck disable=SC2086 # word splitting wanted
	base=$(median ${res[none/$sc,tps]})
	for v in "${variants[@]}"; do
		label=${v%%|*}
		key="$label/$sc"
		# shellcheck disable=SC2086
		tps=$(median ${res[$key,tps]})
		printf '%-18s %8s %7s' "$label" "$tps" "$(ratio "$tps" "$base")"
		total=0
		for c in "${classes[@]}"; do
			# shellcheck disable=SC2086
			m=$(median ${res[$key,$c]})
			total=$(awk -v a="$total" -v b="$m" 'BEGIN { printf "%.1f", a + b }')
			printf ' %9s' "$m"
		done
		printf ' %9s\n' "$total"
	done
done
