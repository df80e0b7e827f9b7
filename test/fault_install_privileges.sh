#!/usr/bin/env bash
# test/fault_install_privileges.sh — owns: "the install script refuses to
# leave anything of the extension usable by PUBLIC".
#
# sql/install/99_privileges.sql ends the install script with a check that
# makes CREATE EXTENSION fail if PUBLIC may use a function, procedure,
# table, view or sequence of the extension, or its schema, or if a function
# is granted to neither cache_ext_app nor cache_ext_admin.  A regression test
# can only look at an install that passed; this script installs variants of
# the current install script into the sandbox's private extension
# directory, each with one leak planted just before the check, and expects
# CREATE EXTENSION to fail naming the object.  A variant with the same leak
# and the check removed must install: that is what shows the check, not
# something else, refuses the others.
set -euo pipefail
source "$SANDBOX_LIB"
SB_SUITE=fault_install_privileges

extdir="$SANDBOX_ROOT$("$PG_CONFIG" --sharedir)/extension"
version=$(sed -n "s/^default_version = '\(.*\)'/\1/p" "$extdir/cache_ext.control")
script="$extdir/cache_ext--$version.sql"
[[ -r $script ]] || { fail "install script $script not found"; finish; }
grep -q '^DO \$check\$' "$script" || { fail "no privilege check in $script"; finish; }

# variant NAME SQL [nocheck]: the install script with SQL inserted before
# the check (and, with nocheck, the check cut off).
variant() {
	local name=$1 sql=$2 nocheck=${3:-}
	local out="$extdir/cache_ext--$name.sql"
	if [[ -n $nocheck ]]; then
		sed -n '/^DO \$check\$/q; p' "$script" >"$out"
		printf '%s\n' "$sql" >>"$out"
	else
		awk -v sql="$sql" '/^DO \$check\$/ { print sql } { print }' "$script" >"$out"
	fi
	chmod a+r "$out"
}

# try NAME: CREATE EXTENSION at version NAME in a fresh database; prints
# "installed" or the error.
try() {
	local db="privtest_${1//[^a-z0-9_]/_}"
	q "DROP DATABASE IF EXISTS $db" >/dev/null
	q "CREATE DATABASE $db" >/dev/null
	if out=$(sb_psql -d "$db" -c "CREATE EXTENSION cache_ext VERSION '$1'" 2>&1); then
		echo installed
	else
		echo "$out"
	fi
	q "DROP DATABASE $db" >/dev/null
}

expect_refused() {
	local name=$1 needle=$2 got
	got=$(try "$name")
	assert_contains "$needle" "$got" "$name: CREATE EXTENSION refused, naming $needle"
}

variant leak_function 'GRANT EXECUTE ON FUNCTION cache_ext.ping() TO PUBLIC;'
expect_refused leak_function 'usable by PUBLIC: function ping()'

variant leak_procedure 'GRANT EXECUTE ON PROCEDURE cache_ext.mirror_profiles(integer, bigint) TO PUBLIC;'
expect_refused leak_procedure 'mirror_profiles(integer,bigint)'

variant leak_table 'GRANT SELECT ON cache_ext.extra_namespaces TO PUBLIC;'
expect_refused leak_table 'usable by PUBLIC: table extra_namespaces'

variant leak_view 'GRANT SELECT ON cache_ext.stats TO PUBLIC;'
expect_refused leak_view 'usable by PUBLIC: view stats'

variant leak_sequence 'GRANT USAGE ON SEQUENCE cache_ext.prepared_effects_id_seq TO PUBLIC;'
expect_refused leak_sequence 'usable by PUBLIC: sequence prepared_effects_id_seq'

variant leak_schema 'GRANT USAGE ON SCHEMA cache_ext TO PUBLIC;'
expect_refused leak_schema 'leaves schema cache_ext usable by PUBLIC'

variant orphan_function 'REVOKE EXECUTE ON FUNCTION cache_ext.ping() FROM cache_ext_app, cache_ext_admin;'
expect_refused orphan_function 'neither cache_ext_app nor cache_ext_admin: ping()'

# The controls: the script as shipped installs, and a leak installs once
# the check is cut off.
got=$(try "$version")
assert_eq installed "$got" "the install script as shipped installs"
variant leak_unchecked 'GRANT EXECUTE ON FUNCTION cache_ext.ping() TO PUBLIC;' nocheck
got=$(try leak_unchecked)
assert_eq installed "$got" "without the check, the same leak installs (so the check is what refuses it)"

rm -f "$extdir"/cache_ext--leak_*.sql "$extdir"/cache_ext--orphan_*.sql
finish
