#!/usr/bin/env bash
# test/fault_profile_memory.sh — owns: "the back-fill's memory does not grow
# with the number of profiles" (issue 12: mirror_profiles kept every
# batch's Redis replies until the end of the CALL).
#
# CALL cache_ext.mirror_profiles(50) over PROF_MEM_ROWS (default 240,000)
# profiles.  Its progress NOTICEs (every 10,000 profiles) tell this script
# when to ask the backend for its memory contexts
# (pg_log_backend_memory_contexts, written to the server log): once after
# 10,000 profiles and once half-way, which leaves the request plenty of
# time to arrive before the CALL ends.  Both samples must have been taken
# inside the CALL (the back-fill's "SPI Proc" context is in them), and the
# backend's total may grow by less than 1 MB between them.  Before the fix
# it grew by about 46 bytes per profile (each batch's copied replies,
# kept to the end of the CALL): 5 MB here.
set -euo pipefail
source "$SANDBOX_LIB"
SB_SUITE=fault_profile_memory
N=${PROF_MEM_ROWS:-240000}
FIRST=10000
LAST=$((N / 20000 * 10000))

q "CREATE EXTENSION IF NOT EXISTS cache_ext" >/dev/null
q "CREATE TABLE prof_mem (user_id bigint PRIMARY KEY, cache_enabled boolean NOT NULL DEFAULT true)" >/dev/null
q "INSERT INTO prof_mem SELECT g, g % 7 <> 0 FROM generate_series(1, $N) g" >/dev/null
q "SELECT cache_ext.register_profile_table('prof_mem')" >/dev/null 2>&1

log=$SANDBOX_DIR/postgres.log
pidfile=$SANDBOX_DIR/mirror.pid
samples=$SANDBOX_DIR/samples
: >"$samples"
log_start=$(wc -l <"$log")

# psql prints the NOTICEs on stderr as they arrive; the loop reads them.
{
	printf '\\o %s\nSELECT pg_backend_pid();\n\\o\nCALL cache_ext.mirror_profiles(50);\n' "$pidfile" |
		sb_psql -d postgres 2>&1 >/dev/null
} | while IFS= read -r line; do
	case $line in
	*"mirrored $FIRST profiles so far"* | *"mirrored $LAST profiles so far"*)
		pid=$(tr -dc 0-9 <"$pidfile")
		q "SELECT pg_log_backend_memory_contexts($pid)" >/dev/null
		echo "$line" >>"$samples"
		;;
	*"mirrored "*" profiles of table"*)
		echo "$line" >>"$samples"
		;;
	esac
done
cat "$samples"
mirrored=$(grep -c "profiles of table" "$samples" || true)
assert_eq 1 "$mirrored" "the back-fill of $N profiles completed"

# The dumps, in order: "Grand total" of each, and whether it was taken
# inside the back-fill.
pid=$(tr -dc 0-9 <"$pidfile")
dumps=$(tail -n +"$((log_start + 1))" "$log" | awk -v pid="$pid" '
	index($0, "logging memory contexts of PID " pid) { inside = 1; spi = 0; next }
	inside && /SPI Proc/ { spi = 1 }
	inside && /Grand total: / {
		sub(/.*Grand total: /, ""); split($0, w, " ")
		print w[1], spi; inside = 0
	}')
echo "memory dumps (grand total bytes, taken inside the CALL):"
echo "$dumps"
count=$(grep -c . <<<"$dumps" || true)
assert_eq 2 "$count" "two memory dumps of the back-filling backend"
inside=$(awk '$2 == 1' <<<"$dumps" | grep -c . || true)
assert_eq 2 "$inside" "both taken while the back-fill ran"
m0=$(sed -n 1p <<<"$dumps" | cut -d' ' -f1)
m1=$(sed -n 2p <<<"$dumps" | cut -d' ' -f1)
if [[ -n $m0 && -n $m1 ]] && ((m1 - m0 < 1048576)); then
	ok "memory grew by $((m1 - m0)) bytes over $((LAST - FIRST)) profiles (< 1 MB)"
else
	fail "memory over $((LAST - FIRST)) profiles: ${m0:-?} -> ${m1:-?} bytes"
fi
finish
