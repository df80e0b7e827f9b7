#!/usr/bin/env bash
# test/bench_invalidation_callgrind.sh — owns: instructions per transaction
# of the invalidation trigger variants, counted by valgrind (issue 13).
#
# usage: test/bench_invalidation_callgrind.sh [--bulk] [VARIANT...]
#   env: BENCH_TXNS ("500 1500")  two transaction counts; the figure is the
#                                  difference of the two runs' instructions
#                                  divided by the difference of the counts,
#                                  so start-up and set-up cancel out
#        BENCH_BULK_ROWS (100000) --bulk: rows of the table (uid10k =
#                                  aid % 10000); the figure is one UPDATE of
#                                  every row (runs of 0 and 1 UPDATE)
#        BENCH_KEEP_OUT=DIR       keep the callgrind output files in DIR
#        BENCH_NO_BUILD=1         do not rebuild the extension
#   VARIANT: none floor bump_async bump_sync bump_before_async (default: all
#            but bump_sync, which needs a round trip per transaction);
#            --bulk: none floor bump_async bump_before_async bump_stmt_async
#
# Wall-clock TPS is noisy on a shared machine; instruction counts are not.
# Each run starts from a copy of the same data directory and runs a
# single-user backend (postgres --single, the library preloaded,
# synchronous_commit off) under valgrind --tool=callgrind on the same
# sequence of one-row UPDATEs of pgbench_accounts (uid = aid % 1000), each
# its own transaction (--bulk: one UPDATE of every row), and prints the
# instructions per transaction, the difference to "none" and the ratio.
# Single-user mode has no background worker: async hand-offs stay in the
# queue (large enough for the counts above).  What it cannot see: system
# calls' kernel time, sleeps and wake-ups, the worker and Redis (use
# test/bench_invalidation_cpu.sh for those).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=test/lib.sh
source "$here/lib.sh"
if [[ -z ${SANDBOX_DIR:-} ]]; then
	opts=()
	[[ ${BENCH_NO_BUILD:-0} == 1 ]] && opts+=(--no-build)
	SANDBOX_SKIP_DEPS=1 exec bash "$here/sandbox.sh" "${opts[@]}" -- bash "$0" "$@"
fi

command -v valgrind >/dev/null || { echo "bench_invalidation_callgrind: valgrind missing" >&2; exit 1; }
bulk=0
if [[ ${1:-} == --bulk ]]; then
	bulk=1
	shift
fi
read -r -a txns <<<"${BENCH_TXNS:-500 1500}"
((bulk)) && txns=(0 1)
variants=("$@")
if ((${#variants[@]} == 0)); then
	variants=(none floor bump_async bump_before_async)
	((bulk)) && variants+=(bump_stmt_async)
fi
rows=${BENCH_BULK_ROWS:-100000}
col=uid
((bulk)) && col=uid10k

pgbench -i -q -s 1 >/dev/null 2>&1
bench_psql <<SQL
CREATE EXTENSION IF NOT EXISTS cache_ext;
ALTER TABLE pgbench_accounts ADD COLUMN uid int, ADD COLUMN uid10k int;
DELETE FROM pgbench_accounts WHERE aid > $rows;
UPDATE pgbench_accounts SET uid = aid % 1000, uid10k = aid % 10000;
VACUUM FULL pgbench_accounts;
VACUUM ANALYZE pgbench_accounts;
SQL
bench_psql -c "CHECKPOINT"
db=$PGDATABASE
sb_pg_ctl -w stop >/dev/null
# every run starts from this copy: the same pages, no dead rows of a
# previous run
cp -a "$PGDATA" "$SANDBOX_DIR/data.orig"

trigger_sql() {
	case $1 in
	floor) echo "CREATE TRIGGER bench_trg BEFORE UPDATE ON pgbench_accounts FOR EACH ROW EXECUTE FUNCTION suppress_redundant_updates_trigger();" ;;
	bump_async | bump_sync) echo "CREATE TRIGGER bench_trg AFTER UPDATE ON pgbench_accounts FOR EACH ROW EXECUTE FUNCTION cache_ext.bump_version('cache_user_version:{$col}');" ;;
	bump_before_async) echo "CREATE TRIGGER bench_trg BEFORE UPDATE ON pgbench_accounts FOR EACH ROW EXECUTE FUNCTION cache_ext.bump_version('cache_user_version:{$col}');" ;;
	bump_stmt_async) echo "CREATE TRIGGER bench_trg AFTER UPDATE ON pgbench_accounts REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION cache_ext.bump_version('cache_user_version:{$col}');" ;;
	esac
}

# run VARIANT N: instructions of a single-user backend running N UPDATEs
run() {
	local v=$1 n=$2 in=$SANDBOX_DIR/cg_$1_$2.sql out=$SANDBOX_DIR/cg_$1_$2.out mode=async
	[[ $v == bump_sync ]] && mode=sync
	{
		echo "DROP TRIGGER IF EXISTS bench_trg ON pgbench_accounts"
		trigger_sql "$v"
		for ((i = 0; i < n; i++)); do
			if ((bulk)); then
				echo "UPDATE pgbench_accounts SET abalance = abalance + 1"
			else
				echo "UPDATE pgbench_accounts SET abalance = abalance + 1 WHERE aid = $(((i * 7919) % rows + 1))"
			fi
		done
		echo "DROP TRIGGER IF EXISTS bench_trg ON pgbench_accounts"
	} >"$in"
	chown "$SANDBOX_OWNER:" "$in" 2>/dev/null || true
	rm -rf "$PGDATA"
	cp -a "$SANDBOX_DIR/data.orig" "$PGDATA"
	sb__as_owner valgrind --tool=callgrind --callgrind-out-file="$out" \
		"$PG_BINDIR/postgres" --single -D "$PGDATA" -c synchronous_commit=off \
		-c "cache_ext.delivery=$mode" "$db" <"$in" >"$SANDBOX_DIR/cg_$1_$2.log" 2>&1
	if grep -q 'ERROR' "$SANDBOX_DIR/cg_$1_$2.log"; then
		grep ERROR "$SANDBOX_DIR/cg_$1_$2.log" | head -3 >&2
	fi
	[[ -n ${BENCH_KEEP_OUT:-} ]] && cp "$out" "$BENCH_KEEP_OUT/"
	sed -n 's/^summary: //p; s/^totals: //p' "$out" | head -n 1
}

declare -A per
for v in "${variants[@]}"; do
	a=$(run "$v" "${txns[0]}")
	b=$(run "$v" "${txns[1]}")
	per[$v]=$(((b - a) / (txns[1] - txns[0])))
	echo "  $v: ${per[$v]} instructions per transaction" >&2
done
echo
unit=xact
((bulk)) && unit="UPDATE of $rows rows"
printf '%-20s %16s %14s %9s\n' variant "instr per $unit" '- none' '/ none'
for v in "${variants[@]}"; do
	d='' r=''
	if [[ -n ${per[none]:-} ]]; then
		d=$((per[$v] - per[none]))
		r=$(awk -v a="${per[$v]}" -v b="${per[none]}" 'BEGIN { printf "%.3f", a / b }')
	fi
	printf '%-20s %16s %14s %9s\n' "$v" "${per[$v]}" "$d" "$r"
done
sb_pg_ctl -w start >/dev/null
