#!/usr/bin/env bash
# test/bench_profile.sh — owns: the cost of the cache_enabled profile mirror
# (issue 5).
#
#   1. Single-row UPDATEs with pgbench, variants interleaved over ROUNDS:
#      baseline   flip the flag of an unregistered copy of the table
#      flip       flip the flag of the registered table (trigger + SET and
#                 bump delivered at commit)
#      other      update another column of the registered table (the
#                 trigger is UPDATE OF user, flag: it does not fire)
#      Reports TPS and the ratio to the baseline.
#   2. Reading the flag, same way: a plain SELECT of the column (readbase)
#      against cache_ext.cache_enabled() (read: registry + kept plan).
#   3. The back-fill of 100,000 profiles with batch sizes 100, 1000, 10000
#      (rows per second, ratio to batch 1000).
#
# usage: SANDBOX_EXCLUSIVE=1 test/sandbox.sh -- test/bench_profile.sh
# Environment: ROUNDS (3), SECONDS_PER_RUN (5), ROWS (100000).
set -euo pipefail
# shellcheck source=test/lib.sh
source "$SANDBOX_LIB"

rounds=${ROUNDS:-3}
secs=${SECONDS_PER_RUN:-5}
rows=${ROWS:-100000}
db=bench_profile
work=$(mktemp -d /tmp/bench_profile.XXXXXX)
trap 'rm -rf "$work"' EXIT
chmod 755 "$work"

sb_psql -d postgres -c "DROP DATABASE IF EXISTS $db" >/dev/null
sb_psql -d postgres -c "CREATE DATABASE $db" >/dev/null
SB_DB=$db
q "CREATE EXTENSION cache_ext" >/dev/null
for t in core_userprofile plain_profile; do
	q "CREATE TABLE $t (user_id integer PRIMARY KEY, nickname text,
		cache_enabled boolean NOT NULL DEFAULT true)" >/dev/null
	q "INSERT INTO $t SELECT g, 'u' || g FROM generate_series(1, $rows) g" >/dev/null
	q "VACUUM ANALYZE $t" >/dev/null
done
q "SELECT cache_ext.register_profile_table('core_userprofile')" >/dev/null 2>&1

cat >"$work/baseline.sql" <<EOF
\set uid random(1, $rows)
UPDATE plain_profile SET cache_enabled = NOT cache_enabled WHERE user_id = :uid;
EOF
cat >"$work/flip.sql" <<EOF
\set uid random(1, $rows)
UPDATE core_userprofile SET cache_enabled = NOT cache_enabled WHERE user_id = :uid;
EOF
cat >"$work/other.sql" <<EOF
\set uid random(1, $rows)
UPDATE core_userprofile SET nickname = 'n' || :uid WHERE user_id = :uid;
EOF

cat >"$work/readbase.sql" <<EOF
\set uid random(1, $rows)
SELECT cache_enabled FROM core_userprofile WHERE user_id = :uid;
EOF
cat >"$work/read.sql" <<EOF
\set uid random(1, $rows)
SELECT cache_ext.cache_enabled(:uid);
EOF

declare -A total
# run_group TITLE BASELINE VARIANT...: interleaved pgbench runs; TPS, the
# time per transaction and the ratio to the first variant.
run_group() {
	local title=$1 r v tps base avg
	shift
	echo "== $title, 1 client, ${secs}s per run, $rounds rounds (interleaved)"
	for v in "$@"; do total[$v]=0; done
	for ((r = 1; r <= rounds; r++)); do
		for v in "$@"; do
			tps=$("$PG_BINDIR/pgbench" -n -c 1 -T "$secs" -f "$work/$v.sql" "$db" 2>/dev/null |
				awk '/^tps/ {print $3; exit}')
			printf '  round %d %-8s %10.1f tps\n' "$r" "$v" "$tps"
			total[$v]=$(awk -v a="${total[$v]}" -v b="$tps" 'BEGIN {print a + b}')
		done
	done
	base=$(awk -v a="${total[$1]}" -v n="$rounds" 'BEGIN {print a / n}')
	for v in "$@"; do
		avg=$(awk -v a="${total[$v]}" -v n="$rounds" 'BEGIN {print a / n}')
		awk -v v="$v" -v avg="$avg" -v base="$base" -v b="$1" \
			'BEGIN {printf "  %-8s mean %10.1f tps %8.1f us/tx  ratio to %s %.2f\n",
				v, avg, 1e6 / avg, b, avg / base}'
	done
}
run_group "single-row UPDATE" baseline flip other
run_group "reading one flag" readbase read

echo "== back-fill of $rows profiles (CALL cache_ext.mirror_profiles(batch))"
declare -A ms
for b in 100 1000 10000; do ms[$b]=0; done
for ((r = 1; r <= rounds; r++)); do
	for b in 1000 100 10000; do
		sb_redis FLUSHDB >/dev/null
		start=$(date +%s%N)
		q "CALL cache_ext.mirror_profiles($b)" >/dev/null 2>&1
		end=$(date +%s%N)
		t=$(((end - start) / 1000000))
		ms[$b]=$((ms[$b] + t))
		printf '  round %d batch %-6d %6d ms\n' "$r" "$b" "$t"
	done
done
for b in 100 1000 10000; do
	awk -v b="$b" -v t="${ms[$b]}" -v t0="${ms[1000]}" -v n="$rounds" -v rows="$rows" \
		'BEGIN {printf "  batch %-6d mean %6.0f ms  %8.0f rows/s  time ratio to batch 1000 %.2f\n",
			b, t / n, rows / (t / n / 1000), t / t0}'
done

sb_psql -d postgres -c "DROP DATABASE $db" >/dev/null
