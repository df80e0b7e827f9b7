#!/usr/bin/env bash
# test/fault_upgrade.sh — owns: "an install updated from an older release
# equals a fresh install of the current version".
#
# For every released version (sql/cache_ext--OLD.sql): install it in one
# database, ALTER EXTENSION cache_ext UPDATE, install the current version
# fresh in another, and compare the two catalogs line by line
# (test/catalog_snapshot.sql: every member object's definition, privileges,
# comments, configuration tables).  A difference means the upgrade script
# misses (or adds) something the fragments of sql/install/ do.
set -euo pipefail
source "$SANDBOX_LIB"
SB_SUITE=fault_upgrade
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)

current=$(sed -n "s/^default_version = '\(.*\)'/\1/p" "$repo/cache_ext.control")
snapshot() { sb_psql -d "$1" -f "$here/catalog_snapshot.sql"; }

sb_psql -d postgres -c "DROP DATABASE IF EXISTS upg_fresh" >/dev/null
sb_psql -d postgres -c "CREATE DATABASE upg_fresh" >/dev/null
sb_psql -d upg_fresh -c "CREATE EXTENSION cache_ext" >/dev/null
snapshot upg_fresh >"$SANDBOX_DIR/fresh.snap"
lines=$(wc -l <"$SANDBOX_DIR/fresh.snap")
((lines > 100)) && ok "fresh $current install described in $lines lines" ||
	fail "catalog snapshot of a fresh install has only $lines lines"

for script in "$repo"/sql/cache_ext--*.sql; do
	base=$(basename "$script" .sql)
	[[ $base == cache_ext--*--* ]] && continue
	old=${base#cache_ext--}
	db=upg_from_${old//./_}
	sb_psql -d postgres -c "DROP DATABASE IF EXISTS $db" >/dev/null
	sb_psql -d postgres -c "CREATE DATABASE $db" >/dev/null
	if ! out=$(sb_psql -d "$db" -c "CREATE EXTENSION cache_ext VERSION '$old'" 2>&1); then
		fail "$old: CREATE EXTENSION VERSION '$old' failed: $out"
		continue
	fi
	if ! out=$(sb_psql -d "$db" -c "ALTER EXTENSION cache_ext UPDATE" 2>&1); then
		fail "$old: ALTER EXTENSION UPDATE failed: $out"
		continue
	fi
	v=$(sb_psql -d "$db" -c "SELECT extversion FROM pg_extension WHERE extname = 'cache_ext'")
	assert_eq "$current" "$v" "$old: ALTER EXTENSION UPDATE reaches $current"
	snapshot "$db" >"$SANDBOX_DIR/$db.snap"
	if d=$(diff -u "$SANDBOX_DIR/fresh.snap" "$SANDBOX_DIR/$db.snap"); then
		ok "$old: updated catalog equals a fresh $current install"
	else
		fail "$old: updated catalog differs from a fresh $current install (- fresh, + updated):"
		head -n 80 <<<"$d"
	fi
done
finish
