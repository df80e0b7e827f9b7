#!/usr/bin/env bash
# test/fault_counters_valgrind.sh — owns: "assign_number's per-backend cache
# never reads memory it did not initialise" (issue 12: the relcache
# callback compared relid/query_relid of an entry that an ERROR had left
# half-built).
#
# Stops the sandbox server, runs a short SQL script in a single-user
# backend under Valgrind's memcheck (triggers whose arguments are refused,
# each followed by DDL that sends relcache invalidations through the
# callback), and fails on any memcheck error with a frame in cache_ext.
# PostgreSQL itself is not built for Valgrind: its own reports (WAL
# padding written uninitialised) are not ours and are ignored.  About a
# minute; needs valgrind (test/install_deps.sh installs it).
set -euo pipefail
source "$SANDBOX_LIB"
SB_SUITE=fault_counters_valgrind

# Valgrind cannot run a library built with AddressSanitizer (the sanitizer
# suite checks the same paths its own way): nothing to do there.
if [[ -n ${SANDBOX_SANITIZE:-} ]]; then
	ok "skipped: cache_ext is built with sanitizers ($SANDBOX_SANITIZE), which valgrind cannot run"
	finish
	exit
fi
if ! command -v valgrind >/dev/null; then
	fail "valgrind is not installed (test/install_deps.sh installs it)"
	finish
fi

sql=$SANDBOX_DIR/valgrind.sql
out=$SANDBOX_DIR/valgrind.out
cat >"$sql" <<'SQL'
CREATE EXTENSION cache_ext;

CREATE TABLE halfbuilt (no int UNIQUE, k int);

CREATE TRIGGER t1 BEFORE INSERT ON halfbuilt FOR EACH ROW
	EXECUTE FUNCTION cache_ext.assign_number('no');

INSERT INTO halfbuilt (k) VALUES (1);

CREATE TABLE other (x int);

ALTER TABLE other ADD COLUMN y int;

DROP TRIGGER t1 ON halfbuilt;

CREATE TRIGGER t2 BEFORE INSERT ON halfbuilt FOR EACH ROW
	EXECUTE FUNCTION cache_ext.assign_number('nope', 'k:{k}');

INSERT INTO halfbuilt (k) VALUES (1);

ALTER TABLE other ADD COLUMN z int;

ALTER TABLE halfbuilt ADD COLUMN w int;

DROP TRIGGER t2 ON halfbuilt;

CREATE TRIGGER t3 BEFORE INSERT ON halfbuilt FOR EACH ROW
	EXECUTE FUNCTION cache_ext.assign_number('no', 'k:{k}', 'gapless');

INSERT INTO halfbuilt (k) VALUES (1);

ALTER TABLE other ADD COLUMN v int;

INSERT INTO halfbuilt (k) VALUES (1);

SELECT count(*) FROM halfbuilt;

SQL
chmod 644 "$sql"

sb_pg_ctl stop -m fast -w >/dev/null
rc=0
sb__as_owner valgrind --error-limit=no --num-callers=30 \
	"$PG_BINDIR/postgres" --single -j -D "$PGDATA" postgres <"$sql" >"$out" 2>&1 || rc=$?
sb_pg_ctl start -w >/dev/null

assert_eq 0 "$rc" "the single-user backend ran the script under valgrind"
assert_contains "passes 1 arguments to assign_number" "$(cat "$out")" "a trigger with one argument was refused"
assert_contains 'column "nope" of public.halfbuilt does not exist' "$(cat "$out")" "a trigger naming a missing column was refused"
assert_contains 'count = "2"' "$(cat "$out")" "the trigger fixed in between numbered both rows"
assert_contains "ERROR SUMMARY" "$(cat "$out")" "memcheck reported its summary"
# memcheck error blocks ("==pid== <what>" up to an empty "==pid==" line)
# with a frame in one of our source files
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
files=$(cd "$here/../src" && ls *.c | sed 's/\.c$//' | paste -sd'|')
ours=$(awk -v files="$files" '
	/^==[0-9]+== [A-Z]/ && !/ERROR SUMMARY|HEAP SUMMARY|LEAK SUMMARY|Memcheck|Copyright|Using Valgrind|Command:|For lists|For counts|Rerun with|All heap blocks|in use at exit|total heap usage/ {
		block = $0; inblock = 1; next }
	inblock && /^==[0-9]+== *$/ { if (block ~ ("[( ](" files ")\\.c:[0-9]+\\)")) print block; inblock = 0; next }
	inblock { block = block "\n" $0 }' "$out")
if [[ -z $ours ]]; then
	ok "no memcheck error in cache_ext"
else
	fail "memcheck errors in cache_ext:"
	echo "$ours" | head -n 60
fi
finish
