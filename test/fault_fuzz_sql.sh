#!/usr/bin/env bash
# test/fault_fuzz_sql.sh — owns: running the SQL input fuzzer
# (test/fuzz_sql.py) against the sandbox: key templates, Redis URLs, keys
# and patterns, counter values, stream names, and values in Redis that SQL
# functions parse.  Every input must end in a result or a clean ERROR, and
# no backend may crash.
#
# usage (inside test/sandbox.sh): test/fault_fuzz_sql.sh [--long] [--seed N]
#   --long     up to 3 hours (10,000,000 iterations)
#   --seed N   reproduce a run (the seed is printed; one input of it is
#              reproduced with test/fuzz_sql.py --seed N --start I --iterations 1)
#   The default seed is CACHE_EXT_TEST_SEED (run_tests.sh sets it from the
#   commit), else a random one; --long takes a random one unless --seed follows.
# Environment: FUZZ_SQL_ITERATIONS (default 4000), FUZZ_SQL_SECONDS (default
#   60: the short run stops there even if iterations remain).
set -euo pipefail
source "$SANDBOX_LIB"
SB_SUITE=fault_fuzz_sql

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
py=/usr/bin/python3
[[ -x $py ]] || py=python3

args=(--iterations "${FUZZ_SQL_ITERATIONS:-4000}" --max-seconds "${FUZZ_SQL_SECONDS:-60}")
[[ -n ${CACHE_EXT_TEST_SEED:-} ]] && args+=(--seed "$CACHE_EXT_TEST_SEED")
while (($#)); do
	case $1 in
	--long) args=(--long) ;;
	--seed) args+=(--seed "$2"); shift ;;
	*) echo "fault_fuzz_sql: unknown option $1" >&2; exit 2 ;;
	esac
	shift
done

# Thousands of expected ERRORs: keep them (and their statements, some
# 70 kB long) out of the server log; crashes are logged at LOG level.
sb_pg_set "log_min_messages = log" "log_min_error_statement = panic"

rc=0
"$py" "$here/fuzz_sql.py" "${args[@]}" --verbose >"$SANDBOX_DIR/fuzz_sql.log" 2>&1 || rc=$?
cut -c1-400 "$SANDBOX_DIR/fuzz_sql.log"
if ((rc == 0)); then
	ok "every fuzzed input got a result or a clean ERROR, no backend crashed"
else
	fail "fuzz_sql found problems (exit $rc; see FINDING lines above)"
fi
if grep -qE 'terminated by signal|was terminated by' "$SANDBOX_DIR/postgres.log"; then
	fail "no server process terminated by a signal"
else
	ok "no server process terminated by a signal"
fi
finish
