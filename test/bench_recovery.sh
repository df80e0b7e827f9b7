#!/usr/bin/env bash
# test/bench_recovery.sh — owns: the benchmark-style report of how long
# cache_ext takes to be whole again after a Redis outage (issue 12,
# section 1); the same scenarios as test/fault_recovery.sh (measured by
# test/recovery.py), repeated, interleaved, figures as medians and maxima.
#
# usage: test/bench_recovery.sh   (starts its own sandbox, preloaded)
#   env: BENCH_REPS (5)          repetitions of every scenario, interleaved
#        BENCH_DOWN_MS (3000)    length of the SIGSTOP and CLIENT PAUSE
#        BENCH_RESTART_DOWN_MS (5000)  how long Redis is down before its restart
#        BENCH_COMMAND_TIMEOUT (300ms) cache_ext.command_timeout
#        BENCH_NO_BUILD=1        do not rebuild the extension
#        BENCH_SHARED=1          no exclusive lock (smoke runs)
#
# Reported per scenario (ms after Redis answers again: SIGCONT sent, the
# pause's end, the restarted server's first PONG):
#   out       every bump committed during the outage is in Redis
#   sync      the committing session's first synchronous delivery
#   fallback  (restart) the fallback invalidation is done
#   helper    (restart) from the worker's "restarted" LOG to the SQL
#             helper's "performed a fallback invalidation" LOG (start-up of
#             the helper worker and the fallback itself; log timestamps)
#   timeouts  COMMITs during the outage that paid a timeout
# Targets: out and sync <= 200 ms after a pause, out and fallback <= 1 s
# after a restart.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

if [[ -z ${SANDBOX_DIR:-} || -z ${PGPORT:-} ]]; then
	opts=()
	[[ ${BENCH_NO_BUILD:-0} == 1 ]] && opts+=(--no-build)
	if [[ ${BENCH_SHARED:-0} == 1 ]]; then export SANDBOX_EXCLUSIVE=0; else export SANDBOX_EXCLUSIVE=1; fi
	export SANDBOX_SKIP_DEPS=1
	exec bash "$here/sandbox.sh" "${opts[@]}" -- bash "$0" "$@"
fi
# shellcheck source=test/lib.sh
source "$SANDBOX_LIB"

py=/usr/bin/python3
[[ -x $py ]] || py=python3
reps=${BENCH_REPS:-5}
down=${BENCH_DOWN_MS:-3000}
rdown=${BENCH_RESTART_DOWN_MS:-5000}

sb_psql -q -c "CREATE EXTENSION IF NOT EXISTS cache_ext"
sb_pg_set "cache_ext.command_timeout = '${BENCH_COMMAND_TIMEOUT:-300ms}'" \
	"cache_ext.reconnect_interval = '1000ms'"
bench_machine
echo "bench_recovery: $reps repetition(s); stop/pause ${down} ms, restart after ${rdown} ms down; $(git -C "$here/.." rev-parse --short HEAD 2>/dev/null || echo '?')"

results=$SANDBOX_DIR/recovery_results
: >"$results"
# log timestamps (ms) of the worker's restart LOG and the fallback LOG after it
helper_ms() {
	"$py" - "$SANDBOX_DIR/postgres.log" "$1" <<'PY'
import sys, datetime
path, skip = sys.argv[1], int(sys.argv[2])
def ts(line):
    return datetime.datetime.strptime(line[:23], "%Y-%m-%d %H:%M:%S.%f")
lines = open(path, errors="replace").read().splitlines()[skip:]
start = None
for l in lines:
    if "restarted or failed over; every namespace" in l:
        start = ts(l)
    elif start is not None and "performed a fallback invalidation" in l:
        print(round((ts(l) - start).total_seconds() * 1000, 1))
        break
PY
}

for ((i = 1; i <= reps; i++)); do
	# a rotated order: no scenario always follows the same one
	order=(stop pause restart)
	for ((k = 0; k < (i - 1) % 3; k++)); do order=("${order[@]:1}" "${order[0]}"); done
	for sc in "${order[@]}"; do
		d=$down
		[[ $sc == restart ]] && d=$rdown
		skip=$(wc -l <"$SANDBOX_DIR/postgres.log")
		line=$("$py" "$here/recovery.py" --scenario "$sc" --down-ms "$d" 2>/dev/null |
			sed -n 's/^recovery: //p' | tail -1)
		kill -CONT "$(sb__redis_pid)" 2>/dev/null || true
		[[ -n $line ]] || { echo "bench_recovery: $sc, repetition $i: no figures" >&2; continue; }
		h=""
		[[ $sc == restart ]] && h=$(helper_ms "$skip")
		echo "$sc $i $line" | tee -a "$results"
		[[ -n $h ]] && echo "helper $i $h" >>"$results"
		sleep 1
	done
done

"$py" - "$results" <<'PY'
import json, statistics, sys
rows = {}
helper = []
for line in open(sys.argv[1]):
    sc, _, rest = line.split(" ", 2)
    if sc == "helper":
        helper.append(float(rest))
        continue
    rows.setdefault(sc, []).append(json.loads(rest))
def fmt(vals):
    vals = [v for v in vals if v is not None]
    if not vals:
        return "n/a"
    return "median %7.1f  max %7.1f" % (statistics.median(vals), max(vals))
print("bench_recovery: ms after Redis answers again (n = repetitions)")
for sc in ("stop", "pause", "restart"):
    rs = rows.get(sc, [])
    if not rs:
        continue
    print("  %-8s n=%d" % (sc, len(rs)))
    print("    out       " + fmt([r["out_ms"] for r in rs]))
    print("    sync      " + fmt([r["sync_ms"] for r in rs]))
    if sc == "restart":
        print("    fallback  " + fmt([r.get("fallback_ms") for r in rs]))
        print("    helper    " + fmt(helper))
        print("    60 s-backoff session synchronous: %d/%d" %
              (sum(1 for r in rs if r.get("backoff_ok")), len(rs)))
    print("    timeouts  " + fmt([r["down_timeouts"] for r in rs]) +
          "   late async COMMITs: %d" % sum(r["late_async"] for r in rs))
PY
