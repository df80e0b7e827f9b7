#!/usr/bin/env bash
# test/bench_invalidation_bulk.sh — owns: the bulk-write benchmark of the
# invalidation triggers (issue 3): one UPDATE of every row of a 1,000,000-row
# table whose rows belong to 10,000 users, with
#   none       no trigger (the baseline)
#   row        AFTER UPDATE FOR EACH ROW bump_version('cache_user_version:{user_id}')
#   statement  AFTER UPDATE ... REFERENCING OLD TABLE NEW TABLE FOR EACH
#              STATEMENT bump_version('cache_user_version:{user_id}')
# (plus "noop", an empty C row trigger, when a function
# cache_ext.noop_trigger() exists: the floor of any row trigger).
# Variants are interleaved, ROUNDS times; each UPDATE is its own
# transaction, COMMIT (and so delivery of the 10,000 bumps) included.
# Prints the minimum and median time of each variant and their ratios to
# "none".
#
# usage: SANDBOX_EXCLUSIVE=1 test/sandbox.sh -- test/bench_invalidation_bulk.sh
#   env: ROWS (1000000), USERS (10000), ROUNDS (5), LAYOUT (interleaved:
#   user_id = id % USERS; clustered: user_id = id / (ROWS / USERS))
set -euo pipefail
source "$SANDBOX_LIB"

ROWS=${ROWS:-1000000}
USERS=${USERS:-10000}
ROUNDS=${ROUNDS:-5}
LAYOUT=${LAYOUT:-interleaved}

if [[ $LAYOUT == clustered ]]; then
	user_expr="g / ($ROWS / $USERS)"
else
	user_expr="g % $USERS"
fi

bench_psql <<SQL
CREATE EXTENSION IF NOT EXISTS cache_ext;
DROP TABLE IF EXISTS bench_bulk;
CREATE TABLE bench_bulk (id int PRIMARY KEY, user_id int NOT NULL, balance int NOT NULL DEFAULT 0);
INSERT INTO bench_bulk (id, user_id) SELECT g, $user_expr FROM generate_series(1, $ROWS) g;
VACUUM ANALYZE bench_bulk;
SQL

variants=(none row statement)
if [[ $(bench_psql -c "SELECT to_regprocedure('cache_ext.noop_trigger()') IS NOT NULL") == t ]]; then
	variants+=(noop)
fi

setup() {
	bench_psql -c "DROP TRIGGER IF EXISTS bench_trg ON bench_bulk"
	case $1 in
	row) bench_psql -c "CREATE TRIGGER bench_trg AFTER UPDATE ON bench_bulk FOR EACH ROW EXECUTE FUNCTION cache_ext.bump_version('cache_user_version:{user_id}')" ;;
	statement) bench_psql -c "CREATE TRIGGER bench_trg AFTER UPDATE ON bench_bulk REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION cache_ext.bump_version('cache_user_version:{user_id}')" ;;
	noop) bench_psql -c "CREATE TRIGGER bench_trg AFTER UPDATE ON bench_bulk FOR EACH ROW EXECUTE FUNCTION cache_ext.noop_trigger()" ;;
	esac
}

# one warm-up pass so every round starts from the same table layout
bench_psql -c "UPDATE bench_bulk SET balance = balance + 1"
bench_psql -c "VACUUM bench_bulk"

declare -A times
for ((r = 1; r <= ROUNDS; r++)); do
	for v in "${variants[@]}"; do
		setup "$v"
		t0=$(date +%s%N)
		bench_psql -c "UPDATE bench_bulk SET balance = balance + 1"
		t1=$(date +%s%N)
		times[$v]+="$(((t1 - t0) / 1000000)) "
		bench_psql -c "VACUUM bench_bulk"
	done
done
setup none

# The minimum is the least disturbed by other load on a shared machine; the
# median is shown beside it.
# shellcheck disable=SC2086 # the lists are words
base_min=$(minimum ${times[none]})
# shellcheck disable=SC2086
base_med=$(median ${times[none]})
echo "bench_invalidation_bulk: $ROWS rows, $USERS users, layout $LAYOUT, $ROUNDS rounds (ms per UPDATE)"
for v in "${variants[@]}"; do
	# shellcheck disable=SC2086
	mn=$(minimum ${times[$v]})
	# shellcheck disable=SC2086
	md=$(median ${times[$v]})
	printf '  %-10s min %6d ms x%.3f   median %6.0f ms x%.3f   (runs: %s)\n' "$v" \
		"$mn" "$(echo "$mn / $base_min" | bc -l)" "$md" "$(echo "$md / $base_med" | bc -l)" "${times[$v]}"
done
if [[ -n ${REDIS_PORT:-} ]]; then
	echo "  redis keys after the runs: $(redis-cli -p "$REDIS_PORT" dbsize)"
fi
