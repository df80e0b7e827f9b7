# shellcheck shell=bash
# test/bench_lib.sh — owns: the helpers shared by the benchmark scripts
# (test/bench_*.sh): running themselves inside an exclusive sandbox, a
# throwaway memcached, pgbench runs, medians and tables.
#
# Sourced by a bench_*.sh script; defines functions only.
#
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
#   median NUMBERS...                    the median (mean of the middle two
#       for an even count)
#   ratio A B                            A / B with 3 decimals ("n/a" when
#       either is empty)
#   bench_machine                        one line: CPU, load, kernel, versions

bench_here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

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
	bash "$bench_here/install_deps.sh" --bench
	local -a opts=()
	[[ ${BENCH_NO_BUILD:-0} == 1 ]] && opts+=(--no-build)
	if [[ ${BENCH_SHARED:-0} == 1 ]]; then
		export SANDBOX_EXCLUSIVE=0
	else
		export SANDBOX_EXCLUSIVE=1
	fi
	export SANDBOX_SKIP_DEPS=1
	exec bash "$bench_here/sandbox.sh" "${opts[@]}" -- bash "$script" "$@"
}

BENCH_MEMCACHED_PID=''

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

bench_machine() {
	local cpu
	cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
	echo "machine: $(nproc) x ${cpu:-unknown cpu}; load $(cut -d' ' -f1-3 /proc/loadavg);" \
		"$(uname -sr); postgres $(postgres -V | awk '{print $3}');" \
		"redis $(redis-server --version | sed -n 's/.* v=\([^ ]*\).*/\1/p');" \
		"memcached $(memcached -V 2>/dev/null | awk '{print $2}')"
}
