#!/usr/bin/env bash
# test/fault_counters_replies.sh — owns: "a counter never takes a number from
# an answer its script does not give".
#
# The counter script answers with the counter as a decimal bulk string.  A
# server (or a proxy in between) that answers nil, an integer, or a number
# not above the floor must not make counter_next return NULL or a number
# (the seeded reply fuzzer found both: NULL for nil, and a duplicate from an
# integer reply), and must not make assign_number fail: the trigger numbers
# the row in PostgreSQL, with a WARNING.  test/hostile_redis.py plays the
# server.
set -euo pipefail
source "$SANDBOX_LIB"
SB_SUITE=fault_counters_replies

q "CREATE EXTENSION IF NOT EXISTS cache_ext" >/dev/null
q "CREATE TABLE rep_inv (year int, no int, UNIQUE (year, no))" >/dev/null
q "INSERT INTO rep_inv VALUES (2024, 1), (2024, 2)" >/dev/null
q "CREATE TRIGGER t BEFORE INSERT ON rep_inv FOR EACH ROW
	EXECUTE FUNCTION cache_ext.assign_number('no', 'rep:{year}')" >/dev/null

port=$(sb__pick_port)
pid=
cleanup() { [[ -n $pid ]] && kill "$pid" 2>/dev/null; true; }
trap cleanup EXIT

for mode in nil integer lowstring; do
	cleanup
	if ! sb_start_hostile "$port" "$mode" --lifetime 60; then
		fail "$mode: the hostile server did not start (its checks skipped)"
		continue
	fi
	pid=$HOSTILE_PID
	set_url="SET cache_ext.redis_url = 'redis://127.0.0.1:$port/0'; SET cache_ext.reconnect_interval = 0;"

	rc=0
	out=$(sb_psql -d postgres -c "$set_url SELECT cache_ext.counter_next('rep:x', 100) IS NULL AS is_null" 2>&1) || rc=$?
	if ((rc != 0)) && [[ $out == *"is not a counter"* || $out == *"not above the floor"* ]]; then
		ok "$mode: counter_next raises a clear error, returns no number and no NULL"
	else
		fail "$mode: counter_next (exit $rc): $out"
	fi
	rc=0
	out=$(sb_psql -d postgres -c "$set_url SELECT cache_ext.counter_sync('rep:x', 5)" 2>&1) || rc=$?
	if ((rc != 0)) && [[ $out == *"is not a counter"* || $out == *"below the value"* ]]; then
		ok "$mode: counter_sync raises a clear error"
	else
		fail "$mode: counter_sync (exit $rc): $out"
	fi

	rc=0
	out=$(sb_psql -d postgres -c "$set_url INSERT INTO rep_inv (year) VALUES (2024) RETURNING no" 2>&1) || rc=$?
	n=$(grep -E '^[0-9]+$' <<<"$out" | head -n 1 || true)
	if ((rc == 0)) && [[ -n $n ]] && ((n > 2)); then
		ok "$mode: assign_number numbers the row in PostgreSQL ($n)"
	else
		fail "$mode: assign_number (exit $rc): $out"
	fi
	if [[ $mode != lowstring ]]; then
		assert_contains "numbering the row of" "$out" "$mode: with a WARNING saying so"
	fi
done
dups=$(q "SELECT count(*) - count(DISTINCT no) FROM rep_inv")
assert_eq "0" "$dups" "no number was handed out twice"
finish
