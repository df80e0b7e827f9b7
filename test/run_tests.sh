#!/usr/bin/env bash
# test/run_tests.sh — owns: the whole cache_ext test suite (what README and CI
# run).  Builds and installs the extension once, then:
#   0. the static checks: the SQL in src/ (test/check_sql_rule.py), the
#      links between the documents (test/check_doc_links.py); and the
#      harness's own check that a port it picks can be listened on
#      (test/check_ports.sh);
#   1. `make installcheck`: the Makefile's REGRESS list (pg_regress) and its
#      ISOLATION list, the specs of test/isolation (pg_isolation_regress), in
#      one preloaded sandbox; then the built library's exported symbols
#      (test/check_exports.sh);
#   2. the regression tests again without shared_preload_libraries
#      (`make installcheck PRELOADED=no`);
#   3. every executable test/fault_*.sh, each in its own fresh sandbox;
#   4. test/package.sh: the Debian package, built and smoke-tested.
# Prints regression.diffs on failure, the wall time, and last one line
# "cache_ext: N passed, M failed"; exits non-zero when anything failed.
#
# usage: test/run_tests.sh [--pg MAJOR]
#   --pg 15 (the default): on this machine's PostgreSQL 15 (Debian bookworm).
#   --pg 17: the same suite inside a Debian trixie root with PostgreSQL 17,
#     hiredis 1.2 and Redis 8 (test/chroot.sh builds and caches the root),
#     after test/check_chroot.sh; it ends with the same last line.
# Environment: CACHE_EXT_REGRESS_TIMEOUT (s, default 1800) bounds step 1,
#   CACHE_EXT_FAULT_TIMEOUT (s, default 600) bounds each fault script,
#   SANDBOX_EXCLUSIVE=1 holds the machine-wide
#   sandbox lock for the whole run, CACHE_EXT_WERROR (default 1: build with
#   -Werror, as CI does; 0 to allow warnings), CACHE_EXT_SANITIZE (e.g.
#   address,undefined: the whole suite against a sanitizer build of
#   cache_ext, see test/sandbox.sh; prints "sanitizers: ..." first, and the
#   reports found last), CACHE_EXT_TEST_SEED (the seeded tests' seed;
#   default: from the commit, see below).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
cd "$repo"
# shellcheck source=test/lib.sh
source "$here/lib.sh"

# count_pg_regress LOG: "PASSED FAILED" from pg_regress output lines
# "test NAME ... ok" / "... FAILED" (15) or "ok N - NAME" / "not ok N" (16+).
count_pg_regress() {
	local p f
	p=$(grep -cE '\.\.\. ok( |$)|^ok [0-9]+ ' "$1" || true)
	f=$(grep -cE '\.\.\. FAILED|^not ok [0-9]+ ' "$1" || true)
	echo "$p $f"
}

# step_counts LOG RC [SILENT]: "PASSED FAILED" of a step, from the last
# "N passed, M failed" line of its LOG.  A step that exited non-zero (RC)
# counts one failure at least.  A LOG without that line counts as SILENT when
# the step exited 0 (default "0 1": it never said it passed; the fault
# scripts that are one check and print no count pass "1 0"), else "0 1".
step_counts() {
	local line p f
	line=$(grep -E '^([A-Za-z0-9_.-]+: )?[0-9]+ passed, [0-9]+ failed' "$1" | tail -n 1 || true)
	if [[ $line =~ ([0-9]+)\ passed,\ ([0-9]+)\ failed ]]; then
		p=${BASH_REMATCH[1]} f=${BASH_REMATCH[2]}
		if (($2 != 0 && f == 0)); then f=1; fi
		echo "$p $f"
	elif (($2 == 0)); then
		echo "${3:-0 1}"
	else
		echo "0 1"
	fi
}

# ------------------------------------------------- step 1, inside a sandbox
# `make installcheck` runs pg_regress, then the isolation specs; make stops
# before the specs when pg_regress failed, and they then run alone
# (`make installcheck REGRESS=`).  Each part is counted from its own log.
if [[ ${1:-} == --inside-regress ]]; then
	out=$2
	rc=0 irc=0
	rm -rf output_iso
	make installcheck 2>&1 | tee "$out/installcheck.log" || rc=$?
	sed '/^+++ isolation install-check/,$d' "$out/installcheck.log" >"$out/regress.log"
	sed -n '/^+++ isolation install-check/,$p' "$out/installcheck.log" >"$out/iso.log"
	if ((rc != 0)) && [[ ! -s $out/iso.log ]]; then
		make installcheck REGRESS= 2>&1 | tee "$out/iso.log" || irc=$?
	elif ((rc != 0)); then
		irc=$rc rc=0
	fi
	read -r p f < <(count_pg_regress "$out/regress.log")
	if ((rc != 0 && f == 0)); then f=1; fi
	echo "$p $f" >"$out/regress.counts"
	read -r p f < <(count_pg_regress "$out/iso.log")
	if ((irc != 0 && f == 0)); then f=1; fi
	echo "$p $f" >"$out/iso.counts"
	exit 0
fi

# The seed of the seeded tests (fault_fuzz_sql, fault_fuzz_redis,
# fault_stale_reads): the commit's, so that a run of a commit is a run of
# the same inputs (a red run is rerun as it was, on any machine and any
# major), while each new commit tries new ones.  CACHE_EXT_TEST_SEED=N picks
# one; outside a git checkout, a random one.  Printed, and passed on to the
# root of --pg 17 (chroot.sh passes every CACHE_EXT_* variable).
if [[ -z ${CACHE_EXT_TEST_SEED:-} ]]; then
	commit=$(git -C "$repo" rev-parse --verify --quiet HEAD 2>/dev/null || true)
	if [[ $commit =~ ^[0-9a-f]{8} ]]; then
		CACHE_EXT_TEST_SEED=$((16#${commit:0:8}))
		echo "seed: $CACHE_EXT_TEST_SEED (from commit ${commit:0:12})"
	else
		CACHE_EXT_TEST_SEED=$((RANDOM * 32768 + RANDOM))
		echo "seed: $CACHE_EXT_TEST_SEED (random: not a git checkout)"
	fi
fi
export CACHE_EXT_TEST_SEED

# ------------------------------------------- --pg MAJOR: another major
# Only --pg is taken out of the arguments here; the rest go on as given (to
# the run inside the root, too).
pg=15
args=()
while (($#)); do
	case $1 in
	--pg) pg=${2:?--pg needs a major version}; shift 2 ;;
	--pg=*) pg=${1#--pg=}; shift ;;
	*) args+=("$1"); shift ;;
	esac
done
set -- "${args[@]}"
if [[ $pg != 15 ]]; then
	start=$SECONDS
	passed=0 failed=0
	bash "$here/install_deps.sh" # debootstrap, on this machine
	out=$(mktemp -d /tmp/cache_ext-results.XXXXXX)
	trap 'rm -rf "$out"' EXIT
	echo "==== the PostgreSQL $pg root (test/chroot.sh) ===="
	t0=$SECONDS rc=0
	bash "$here/chroot.sh" --pg "$pg" --build-only || rc=$?
	echo "root ready in $((SECONDS - t0))s: $(bash "$here/chroot.sh" --pg "$pg" --print-root)"
	if ((rc)); then
		echo "cache_ext: 0 passed, 1 failed"
		exit 1
	fi
	echo "==== test/check_chroot.sh: nothing left behind by the root ===="
	rc=0
	timeout --foreground -k 15 300 bash "$here/check_chroot.sh" --pg "$pg" 2>&1 |
		tee "$out/check_chroot.log" || rc=$?
	read -r p f < <(step_counts "$out/check_chroot.log" "$rc")
	passed=$((passed + p)) failed=$((failed + f))
	echo "==== the suite on PostgreSQL $pg, inside the root ===="
	rc=0
	bash "$here/chroot.sh" --pg "$pg" -- bash test/run_tests.sh "$@" 2>&1 |
		tee "$out/inside.log" || rc=$?
	read -r p f < <(step_counts "$out/inside.log" "$rc")
	passed=$((passed + p)) failed=$((failed + f))
	echo "total wall time (PostgreSQL $pg): $((SECONDS - start))s"
	echo "cache_ext: $passed passed, $failed failed"
	((failed == 0))
	exit
fi

# ------------------------------------------------------------ the driver
start=$SECONDS
passed=0 failed=0
add() { passed=$((passed + $1)); failed=$((failed + $2)); }

bash "$here/install_deps.sh"
export SANDBOX_SKIP_DEPS=1
export CACHE_EXT_WERROR=${CACHE_EXT_WERROR:-1}
((CACHE_EXT_WERROR == 1)) && echo "build: -Werror"
if [[ ${SANDBOX_EXCLUSIVE:-0} == 1 ]]; then
	sb_lock # one lock for the whole run; the sandboxes below see it held
fi

out=$(mktemp -d /tmp/cache_ext-results.XXXXXX)
trap 'rm -rf "$out"' EXIT

# Sanitizer mode: every sandbox below preloads the runtime and fails when a
# report mentions cache_ext or hiredis (exit 86); reports are collected here.
if [[ -n ${CACHE_EXT_SANITIZE:-} ]]; then
	echo "sanitizers: $CACHE_EXT_SANITIZE"
	export CACHE_EXT_SANITIZE CACHE_EXT_SANITIZER_DIR=$out/sanitizer
fi
# ASAN_OPTIONS for some fault scripts' servers: those that measure a
# backend's memory, which ASan's quarantine of freed blocks (256 MB) fills.
declare -A fault_asan_options=([fault_delivery_memory]=quarantine_size_mb=0
	[fault_fuzz_redis]=quarantine_size_mb=0)

# Static: the SQL cache_ext runs itself follows the rule of src/prelude.h.
echo "==== static: SQL text in src/ (test/check_sql_rule.py) ===="
if /usr/bin/python3 "$here/check_sql_rule.py" "$repo"/src/*.c; then add 1 0; else add 0 1; fi
# Static: every link and anchor between README.md and docs/*.md resolves.
echo "==== static: links between the documents (test/check_doc_links.py) ===="
if /usr/bin/python3 "$here/check_doc_links.py" "$repo"; then add 1 0; else add 0 1; fi

# The harness: a port it picks can be listened on (test/check_ports.sh).
echo "==== harness: ports (test/check_ports.sh) ===="
rc=0
bash "$here/check_ports.sh" 2>&1 | tee "$out/check_ports.log" || rc=$?
read -r p f < <(step_counts "$out/check_ports.log" "$rc")
add "$p" "$f"

echo "==== build + pg_regress + isolation (one preloaded sandbox) ===="
rc=0
timeout --foreground -k 15 "${CACHE_EXT_REGRESS_TIMEOUT:-1800}" \
	bash "$here/sandbox.sh" -- bash "$here/run_tests.sh" --inside-regress "$out" || rc=$?

built=1
if [[ ! -f $out/regress.counts ]]; then
	echo "run_tests: the build or the sandbox failed (exit $rc); see above"
	add 0 1
	built=0
else
	read -r p f <"$out/regress.counts"
	add "$p" "$f"
	echo "pg_regress: $p ok, $f failed"
	if ((f)) && [[ -f regression.diffs ]]; then
		echo "==== regression.diffs ===="
		cat regression.diffs
	fi
	if [[ -f $out/iso.counts ]]; then
		read -r p f <"$out/iso.counts"
		add "$p" "$f"
		echo "isolation: $p ok, $f failed"
		if ((f)) && [[ -f output_iso/regression.diffs ]]; then
			echo "==== output_iso/regression.diffs ===="
			cat output_iso/regression.diffs
		fi
	fi
	if ((rc != 0)); then
		echo "run_tests: the regression sandbox exited $rc"
		add 0 1
	fi
fi

# The built library exports PostgreSQL's entry points and nothing else.
if ((built)); then
	echo "==== the library's exported symbols (test/check_exports.sh) ===="
	rc=0
	bash "$here/check_exports.sh" "$repo/cache_ext.so" 2>&1 | tee "$out/check_exports.log" || rc=$?
	read -r p f < <(step_counts "$out/check_exports.log" "$rc")
	add "$p" "$f"
fi

# The library must also work when merely loaded by CREATE EXTENSION: the
# same regression suite without shared_preload_libraries, whose first test
# (setup_nopreload) fails unless the server really does not preload it.
if ((built)); then
	echo "==== pg_regress without shared_preload_libraries ===="
	rc=0
	timeout --foreground -k 15 "${CACHE_EXT_REGRESS_TIMEOUT:-1800}" \
		bash "$here/sandbox.sh" --no-build --no-preload -- make installcheck PRELOADED=no \
		>"$out/regress_nopreload.log" 2>&1 || rc=$?
	grep -E '^test |tests (passed|failed)' "$out/regress_nopreload.log" || true
	read -r p f < <(count_pg_regress "$out/regress_nopreload.log")
	if ((rc != 0 && f == 0)); then f=1; fi
	add "$p" "$f"
	echo "pg_regress (no preload): $p ok, $f failed"
	if ((f)); then
		tail -n 60 "$out/regress_nopreload.log"
		[[ -f regression.diffs ]] && cat regression.diffs
	fi
fi

faults=()
for s in "$here"/fault_*.sh; do
	[[ -f $s && -x $s ]] && faults+=("$s")
done
for s in "${faults[@]}"; do
	name=$(basename "$s" .sh)
	if ((!built)); then
		echo "==== $name: skipped (no build) ===="
		add 0 1
		continue
	fi
	echo "==== $name (own sandbox) ===="
	rc=0
	SANDBOX_ASAN_OPTIONS=${fault_asan_options[$name]:-} \
		timeout --foreground -k 15 "${CACHE_EXT_FAULT_TIMEOUT:-600}" \
		bash "$here/sandbox.sh" --no-build -- "$s" 2>&1 | tee "$out/$name.log" || rc=$?
	read -r p f < <(step_counts "$out/$name.log" "$rc" "1 0")
	((rc == 0)) || echo "run_tests: $name exited $rc"
	add "$p" "$f"
done

# The Debian package: built, installed into its own sandbox, smoke-tested
# (not again in the sanitizer run: the package is built without them).
if ((built)) && [[ -z ${CACHE_EXT_SANITIZE:-} ]]; then
	echo "==== test/package.sh: the Debian package ===="
	rc=0
	timeout --foreground -k 15 "${CACHE_EXT_FAULT_TIMEOUT:-600}" \
		bash "$here/package.sh" 2>&1 | tee "$out/package.log" || rc=$?
	# its last count line is package.sh's own (after package-smoke's)
	read -r p f < <(step_counts "$out/package.log" "$rc")
	((rc == 0)) || echo "run_tests: package.sh exited $rc"
	add "$p" "$f"
fi

if [[ -n ${CACHE_EXT_SANITIZE:-} ]]; then
	nrep=0 nbad=0
	for f in "$out"/sanitizer/*.txt; do
		[[ -f $f ]] || continue
		nrep=$((nrep + $(grep -c '^---- sanitizer report ' "$f" || true)))
		nbad=$((nbad + $(grep -c '^---- sanitizer report .*\[cache_ext/hiredis\]' "$f" || true)))
	done
	echo "sanitizers: $CACHE_EXT_SANITIZE: $nrep report(s), $nbad mentioning cache_ext or hiredis" \
		"(each failed its step; printed above by its sandbox)"
fi

echo "total wall time: $((SECONDS - start))s"
echo "cache_ext: $passed passed, $failed failed"
((failed == 0))
