#!/usr/bin/env bash
# test/check_exports.sh — owns: "cache_ext.so exports what PostgreSQL looks
# up in it, and nothing else".
#
# PostgreSQL finds a module's entry points by name (dlsym): Pg_magic_func,
# _PG_init, each SQL-callable function and its pg_finfo_ record, and the
# background workers' main functions.  Every other global symbol of ours
# (EndpointParseUrl, QueueInit, the GUC variables, ...) is internal: were
# it exported, the dynamic linker could bind a call to a same-named symbol
# of the server or of another loaded module instead, or theirs to ours.
# PostgreSQL 16 and later build modules with -fvisibility=hidden; the
# Makefile does the same on 15.  Runs after the build; needs nm.
#
# usage: test/check_exports.sh [PATH/cache_ext.so]   (default: ./cache_ext.so)
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
# shellcheck source=test/lib.sh
source "$here/lib.sh"
SB_SUITE=check_exports
so=${1:-$repo/cache_ext.so}

if [[ ! -f $so ]]; then
	fail "$so exists (build first)"
	finish
	exit 1
fi

# What may be exported: the fmgr entry points named by PG_FUNCTION_INFO_V1
# in src/, their pg_finfo_ records, the module's magic and init, and the
# functions declared PGDLLEXPORT (the workers' mains).
allowed=$(mktemp)
exported=$(mktemp)
trap 'rm -f "$allowed" "$exported"' EXIT
{
	echo Pg_magic_func
	echo _PG_init
	sed -nE 's/^PG_FUNCTION_INFO_V1\(([A-Za-z0-9_]+)\);.*/\1\npg_finfo_\1/p' "$repo"/src/*.c
	sed -nE 's/^PGDLLEXPORT [a-z ]+[ *]([A-Za-z0-9_]+)\(.*/\1/p' "$repo"/src/*.c "$repo"/src/*.h
} | sort -u >"$allowed"
nm -D --defined-only "$so" | awk '$2 ~ /^[TDBRVWiu]$/ { print $3 }' |
	grep -vxE '_init|_fini' | sort -u >"$exported"

extra=$(comm -13 "$allowed" "$exported")
missing=$(comm -23 "$allowed" "$exported")
nfun=$(grep -c '^pg_finfo_' "$allowed" || true)
if [[ -z $extra ]]; then
	ok "nothing exported beyond the module's entry points ($(wc -l <"$exported") symbols)"
else
	fail "nothing exported beyond the module's entry points; also exported ($(wc -l <<<"$extra")): $(head -n 12 <<<"$extra" | tr '\n' ' ')"
fi
if [[ -z $missing ]]; then
	ok "every entry point is exported ($nfun SQL-callable functions, _PG_init, the magic block, the workers)"
else
	fail "every entry point is exported; missing: $(tr '\n' ' ' <<<"$missing")"
fi
finish
