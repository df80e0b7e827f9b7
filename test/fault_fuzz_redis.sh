#!/usr/bin/env bash
# test/fault_fuzz_redis.sh — owns: running test/fuzz_redis_replies.py: cache_ext
# through a proxy that answers with mutated RESP (wrong types, truncated
# frames, huge and negative lengths, deep nesting, garbage, endless lines,
# one-byte writes, stalls, closed connections) on every call path (SQL API,
# sync and async delivery, the worker, counters, handshakes).  Outcomes
# only, never error texts: results or clean ERRORs, no crash, bounded
# memory, no duplicate number, no lost invalidation once Redis is honest.
#
# usage (inside test/sandbox.sh): test/fault_fuzz_redis.sh [--long] [--seed N]
#   --long     an hour of hostile traffic
#   --seed N   rerun with the mutations of a printed seed (default:
#              CACHE_EXT_TEST_SEED, else random; --long: random)
# Environment: HOSTILE_REDIS_SECONDS (default 20).
set -euo pipefail
source "$SANDBOX_LIB"
SB_SUITE=fault_fuzz_redis

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
py=/usr/bin/python3
[[ -x $py ]] || py=python3

args=(--duration "${HOSTILE_REDIS_SECONDS:-20}")
[[ -n ${CACHE_EXT_TEST_SEED:-} ]] && args+=(--seed "$CACHE_EXT_TEST_SEED")
while (($#)); do
	case $1 in
	--long) args=(--long) ;;
	--seed) args+=(--seed "$2"); shift ;;
	*) echo "fault_fuzz_redis: unknown option $1" >&2; exit 2 ;;
	esac
	shift
done

# thousands of expected ERRORs stay out of the server log
sb_pg_set "log_min_messages = log" "log_min_error_statement = panic"

rc=0
"$py" "$here/fuzz_redis_replies.py" "${args[@]}" >"$SANDBOX_DIR/hostile.log" 2>&1 || rc=$?
cut -c1-600 "$SANDBOX_DIR/hostile.log"
if ((rc == 0)); then
	ok "hostile Redis: clean errors, no crash, bounded memory, no duplicate, no lost invalidation"
else
	fail "hostile Redis: see the FINDING lines above (exit $rc)"
fi
if grep -qE 'terminated by signal|was terminated by' "$SANDBOX_DIR/postgres.log"; then
	fail "no server process terminated by a signal"
else
	ok "no server process terminated by a signal"
fi
finish
