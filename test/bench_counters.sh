#!/usr/bin/env bash
# test/bench_counters.sh — owns: the counter benchmarks (run inside
# test/sandbox.sh, e.g. `test/sandbox.sh -- test/bench_counters.sh`).
#
#  A. INSERTs per second into the same table (same unique index on
#     (year, no)) numbered four ways: no numbering, a native sequence
#     default, assign_number 'cache', assign_number 'gapless'; pgbench, one
#     client and four clients, ROUNDS short runs each, variants interleaved.
#  B. counter_next calls per second (pgbench, one client) against raw Redis
#     INCR (redis-benchmark, one client) and a trivial `SELECT 1` through
#     pgbench, interleaved.
#  C. The same costs without the client round trip, which on a small busy
#     machine is dominated by scheduling three processes (pgbench, backend,
#     redis-server): microseconds per row of one 2000-row INSERT ... SELECT
#     per variant, and per call of counter_next against the raw INCR of
#     cache_ext.command, in a loop inside one statement.
# Ratios are against the baseline of the same run.  Environment: ROUNDS (3),
# SECONDS_PER_RUN (4).
set -euo pipefail
# shellcheck source=test/lib.sh
source "$SANDBOX_LIB"

ROUNDS=${ROUNDS:-3}
SECS=${SECONDS_PER_RUN:-4}
DB=counters_bench
sb_psql -d postgres -c "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB" >/dev/null
export PGDATABASE=$DB
work=$(mktemp -d "$SANDBOX_DIR/bench.XXXXXX")
chmod 755 "$work"
trap 'rm -rf "$work"' EXIT

sb_psql >/dev/null <<'SQL'
CREATE EXTENSION cache_ext;
CREATE TABLE b_none (year int NOT NULL, no bigint, note text, UNIQUE (year, no));
CREATE SEQUENCE b_seq_no;
CREATE TABLE b_seq (year int NOT NULL, no bigint DEFAULT nextval('b_seq_no'), note text,
	UNIQUE (year, no));
CREATE TABLE b_cache (year int NOT NULL, no bigint, note text, UNIQUE (year, no));
CREATE TRIGGER n BEFORE INSERT OR UPDATE ON b_cache FOR EACH ROW
	EXECUTE FUNCTION cache_ext.assign_number('no', 'bench_cache:{year}');
CREATE TABLE b_gapless (year int NOT NULL, no bigint, note text, UNIQUE (year, no));
CREATE TRIGGER n BEFORE INSERT OR UPDATE ON b_gapless FOR EACH ROW
	EXECUTE FUNCTION cache_ext.assign_number('no', 'bench_gapless:{year}', 'gapless');
-- microseconds per row (or call) of one statement
CREATE FUNCTION bench_us(stmt text, n int) RETURNS float8 LANGUAGE plpgsql AS $$
DECLARE
	t0 timestamptz := clock_timestamp();
BEGIN
	EXECUTE stmt;
	RETURN extract(epoch FROM clock_timestamp() - t0) * 1e6 / n;
END $$;
SQL

variants=(none seq cache gapless)
for v in "${variants[@]}"; do
	printf 'INSERT INTO b_%s (year, note) VALUES (2024, %s);\n' "$v" "'invoice'" >"$work/ins_$v.sql"
done
echo "SELECT cache_ext.counter_next('bench_next', 0);" >"$work/next.sql"
echo "SELECT 1;" >"$work/one.sql"

# tps SCRIPT CLIENTS: one pgbench run, prints its tps
tps() {
	local out
	out=$(timeout $((SECS + 60)) pgbench -n -c "$2" -j "$(($2 > 1 ? 2 : 1))" -T "$SECS" -f "$1" 2>&1) || {
		echo "pgbench failed: $out" >&2
		echo 0
		return
	}
	sed -n 's/^tps = \([0-9.]*\) .*/\1/p' <<<"$out" | head -n 1
}

declare -A res=()
for ((r = 1; r <= ROUNDS; r++)); do
	for c in 1 4; do
		for v in "${variants[@]}"; do
			res[$v.$c]+="$(tps "$work/ins_$v.sql" "$c") "
		done
	done
	res[one]+="$(tps "$work/one.sql" 1) "
	res[next]+="$(tps "$work/next.sql" 1) "
	res[incr]+="$(timeout 120 redis-benchmark -h 127.0.0.1 -p "$REDIS_PORT" -c 1 -n 20000 -q \
		incr bench_incr | tr '\r' '\n' |
		sed -n 's/.*: \([0-9.]*\) requests per second.*/\1/p' | tail -n 1) "
	for v in "${variants[@]}"; do
		res[row.$v]+="$(sb_psql -c "SELECT bench_us('INSERT INTO b_$v (year, note) SELECT 2025, ''bulk'' FROM generate_series(1, 2000)', 2000)") "
	done
	res[call.next]+="$(sb_psql -c "SELECT bench_us('SELECT count(cache_ext.counter_next(''bench_loop'', 0)) FROM generate_series(1, 2000)', 2000)") "
	res[call.incr]+="$(sb_psql -c "SELECT bench_us('SELECT count(cache_ext.command(''INCR'', ''bench_loop_raw'')) FROM generate_series(1, 2000)', 2000)") "
	echo "round $r done" >&2
done

# shellcheck disable=SC2086 # the list is words
med() { median ${res[$1]}; }

echo "== A. INSERTs/s (pgbench -T $SECS, median of $ROUNDS interleaved rounds; ratio vs no numbering)"
printf '%-28s %12s %8s %12s %8s\n' variant "1 client" ratio "4 clients" ratio
for v in "${variants[@]}"; do
	a1=$(med "$v.1") a4=$(med "$v.4") b1=$(med none.1) b4=$(med none.4)
	printf '%-28s %12.0f %8.2f %12.0f %8.2f\n' "$v" "$a1" "$(awk "BEGIN{print $a1/$b1}")" \
		"$a4" "$(awk "BEGIN{print $a4/$b4}")"
done
echo
echo "== B. counter calls/s, one client (median of $ROUNDS; ratio vs raw Redis INCR)"
incr=$(med incr)
for k in incr next one; do
	case $k in
	incr) label="redis-benchmark INCR" ;;
	next) label="SELECT counter_next (pgbench)" ;;
	one) label="SELECT 1 (pgbench)" ;;
	esac
	v=$(med "$k")
	printf '%-32s %12.0f %8.2f\n' "$label" "$v" "$(awk "BEGIN{print $v/$incr}")"
done
echo
echo "== C. inside one statement (median of $ROUNDS): microseconds per row / per call"
for v in "${variants[@]}"; do
	printf '%-32s %10.1f us/row\n' "2000-row INSERT, $v" "$(med "row.$v")"
done
printf '%-32s %10.1f us/call\n' "counter_next" "$(med call.next)"
printf '%-32s %10.1f us/call\n' "cache_ext.command('INCR')" "$(med call.incr)"
echo
echo "rows: $(sb_psql -c "SELECT string_agg(format('%s=%s', t, n), ' ') FROM (
	SELECT 'none' t, count(*) n FROM b_none UNION ALL SELECT 'seq', count(*) FROM b_seq UNION ALL
	SELECT 'cache', count(*) FROM b_cache UNION ALL SELECT 'gapless', count(*) FROM b_gapless) s")"
echo "gapless contiguous: $(sb_psql -c "SELECT bool_and(m = n) FROM (SELECT max(no) m, count(*) n FROM b_gapless GROUP BY year) s")"
echo "cache distinct: $(sb_psql -c "SELECT count(DISTINCT (year, no)) = count(*) FROM b_cache")"
sb_psql -d postgres -c "DROP DATABASE $DB" >/dev/null 2>&1 || true
