#!/usr/bin/env bash
# test/package.sh — owns: "the Debian package builds, holds what it must,
# and works once installed".
#
# Builds the binary package from debian/ (pg_buildext, for the major of
# PG_CONFIG: postgresql-15-cache-ext here, postgresql-17-cache-ext inside
# the trixie root of test/chroot.sh) in a copy of the checkout, checks its
# version against cache_ext.control, META.json and the Makefile, its
# dependencies and its files (the library and every install and upgrade
# script), unpacks it with dpkg -x into a private tree (never into this
# machine's PostgreSQL), and runs a smoke test in a sandbox that installs
# cache_ext from that tree only (test/sandbox.sh --from): CREATE EXTENSION,
# a bump_version trigger reaching Redis, and ALTER EXTENSION UPDATE from
# every released version.  Last line: "package: N passed, M failed".
#
# usage: test/package.sh
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
# shellcheck source=test/lib.sh
source "$here/lib.sh"

# ---------------------------------------------------- the smoke test, inside
if [[ ${1:-} == --smoke ]]; then
	SB_SUITE=package-smoke
	current=$2
	assert_eq "$current" "$(q postgres "SELECT default_version FROM pg_available_extensions
		WHERE name = 'cache_ext'")" "the packaged control file offers $current"
	q postgres "CREATE DATABASE pkg_smoke" >/dev/null
	assert_ok "CREATE EXTENSION cache_ext" q pkg_smoke "CREATE EXTENSION cache_ext"
	assert_eq "PONG" "$(q pkg_smoke "SELECT cache_ext.ping()" 2>&1)" "the packaged library reaches Redis"
	q pkg_smoke "CREATE TABLE items (id int PRIMARY KEY, user_id bigint);
		CREATE TRIGGER items_bump AFTER INSERT OR UPDATE OR DELETE ON items
			FOR EACH ROW EXECUTE FUNCTION cache_ext.bump_version('cache_user_version:{user_id}')" >/dev/null
	before=$(sb_redis GET cache_user_version:42)
	q pkg_smoke "INSERT INTO items VALUES (1, 42)" >/dev/null
	for ((i = 0; i < 200; i++)); do
		after=$(sb_redis GET cache_user_version:42)
		[[ $after != "$before" ]] && break
		sleep 0.05
	done
	if [[ -n $after && $after != "$before" ]]; then
		ok "a bump_version trigger's bump reaches Redis"
	else
		fail "a bump_version trigger's bump did not reach Redis"
	fi
	# the server (preloading it) mapped the unpacked package's library
	lib=$SANDBOX_ROOT$("$PG_CONFIG" --pkglibdir)/cache_ext.so
	maps=$(grep -F cache_ext.so "/proc/$(head -n 1 "$PGDATA/postmaster.pid")/maps" | awk '{print $6}' | sort -u)
	assert_eq "$lib" "$maps" "the server runs the packaged library"
	for script in "$SANDBOX_ROOT$("$PG_CONFIG" --sharedir)"/extension/cache_ext--*.sql; do
		[[ -e $script ]] || continue
		base=$(basename "$script" .sql)
		[[ $base == cache_ext--*--* ]] && continue
		old=${base#cache_ext--}
		[[ $old == "$current" ]] && continue
		db=pkg_from_${old//./_}
		q postgres "CREATE DATABASE $db" >/dev/null
		if q "$db" "CREATE EXTENSION cache_ext VERSION '$old'; ALTER EXTENSION cache_ext UPDATE" >/dev/null &&
			[[ $(q "$db" "SELECT extversion FROM pg_extension WHERE extname = 'cache_ext'") == "$current" ]]; then
			ok "the packaged scripts update $old to $current"
		else
			fail "the packaged scripts do not update $old to $current"
		fi
	done
	finish
	exit
fi

# ------------------------------------------------------------------ build
SB_SUITE=package
PG_CONFIG=${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}
[[ -x $PG_CONFIG ]] || PG_CONFIG=pg_config
export PG_CONFIG
major=$("$PG_CONFIG" --version | sed -n 's/^PostgreSQL \([0-9]*\).*/\1/p')
pkg=postgresql-$major-cache-ext
current=$(sed -n "s/^default_version = '\(.*\)'/\1/p" "$repo/cache_ext.control")

work=$(mktemp -d /tmp/cache_ext-package.XXXXXX)
trap 'rm -rf "$work"' EXIT
src=$work/cache-ext
mkdir -p "$src"
if git -C "$repo" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	git -C "$repo" ls-files -z -c -o --exclude-standard |
		while IFS= read -r -d '' f; do
			[[ -e $repo/$f || -L $repo/$f ]] && printf '%s\0' "$f"
		done | tar -C "$repo" --null -T - -cf - | tar -C "$src" -xf -
else
	tar -C "$repo" --exclude-vcs --exclude='*.o' --exclude='*.so' -cf - . | tar -C "$src" -xf -
fi
(cd "$src" && make -s clean >/dev/null 2>&1) || true

# versions: one number everywhere
deb_version=$(cd "$src" && dpkg-parsechangelog -S Version)
assert_eq "$current" "${deb_version%-*}" "debian/changelog's upstream version is cache_ext.control's"
assert_eq "$current" "$(sed -n 's/^EXTVERSION = //p' "$src/Makefile")" "the Makefile's EXTVERSION is cache_ext.control's"
meta=$(python3 -c 'import json, sys
m = json.load(open(sys.argv[1]))
print(m["version"], m["provides"]["cache_ext"]["version"], m["name"], m["license"])' "$src/META.json" 2>&1)
assert_eq "$current $current cache_ext postgresql" "$meta" "META.json: name, versions and license"

# The control file for this machine's majors (debian/control is committed
# for bookworm's), then a binary-only build.
echo "package: building $pkg (dpkg-buildpackage, pg_buildext)"
rc=0
(cd "$src" && pg_buildext updatecontrol && dpkg-buildpackage -b -us -uc) >"$work/build.log" 2>&1 || rc=$?
deb=
for f in "$work/${pkg}_${deb_version}"_*.deb; do
	[[ -f $f ]] && deb=$f
done
if ((rc == 0)) && [[ -n $deb ]]; then
	ok "dpkg-buildpackage builds $(basename "$deb")"
else
	fail "dpkg-buildpackage failed (exit $rc) or built no $pkg"
	tail -n 40 "$work/build.log"
	finish
	exit
fi
if grep -E '(^|[^-])warning:' "$work/build.log" | grep -v 'dpkg-' >"$work/warnings"; then
	fail "the package build has compiler warnings:"
	head -n 20 "$work/warnings"
else
	ok "the package build has no compiler warnings"
fi

depends=$(dpkg-deb -f "$deb" Depends)
assert_contains "postgresql-$major" "$depends" "$pkg depends on postgresql-$major"
assert_contains "libhiredis" "$depends" "$pkg depends on the hiredis library"
files=$(dpkg-deb -c "$deb" | awk '{print $6}')
libdir=$("$PG_CONFIG" --pkglibdir)
extdir=$("$PG_CONFIG" --sharedir)/extension
assert_contains ".$libdir/cache_ext.so" "$files" "$pkg holds the library"
assert_contains ".$extdir/cache_ext.control" "$files" "$pkg holds the control file"
assert_contains ".$extdir/cache_ext--$current.sql" "$files" "$pkg holds the $current install script"
missing=
for s in "$repo"/sql/cache_ext--*.sql; do
	[[ $files == *".$extdir/$(basename "$s")"* ]] || missing+=" $(basename "$s")"
done
assert_eq "" "$missing" "$pkg holds every released and upgrade script of sql/"

# ---------------------------------------------------------- install, smoke
dpkg -x "$deb" "$work/root"
ok "dpkg -x unpacks $pkg into a private tree"
# the packaged library, built by debian/rules, exports what a checkout's does
exports=$(bash "$here/check_exports.sh" "$work/root$libdir/cache_ext.so" 2>&1 | tail -n 1)
assert_contains " passed, 0 failed" "$exports" "the packaged library exports the module's entry points only"
rc=0
SANDBOX_SKIP_DEPS=1 timeout --foreground -k 15 300 \
	bash "$here/sandbox.sh" --from "$work/root" -- bash "$here/package.sh" --smoke "$current" \
	2>&1 | tee "$work/smoke.log" || rc=$?
line=$(grep -E '^package-smoke: [0-9]+ passed, [0-9]+ failed' "$work/smoke.log" | tail -n 1 || true)
if [[ $line =~ ([0-9]+)\ passed,\ ([0-9]+)\ failed ]]; then
	SB_PASS=$((SB_PASS + BASH_REMATCH[1])) SB_FAIL=$((SB_FAIL + BASH_REMATCH[2]))
	((rc == 0 || BASH_REMATCH[2] > 0)) || fail "the smoke test's sandbox exited $rc"
else
	fail "the smoke test did not run (exit $rc)"
fi
finish
