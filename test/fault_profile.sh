#!/usr/bin/env bash
# test/fault_profile.sh — owns: process-level checks of the cache_enabled
# profile mirror (issue 5) that pg_regress cannot do: Redis paused while a
# flag flips and while the back-fill runs, Redis restarted empty and the
# mirror rebuilt, and a pg_dump/restore round trip of a registered table.
#
# Runs inside test/sandbox.sh (preloaded, so delivery's retry worker runs):
#   test/sandbox.sh -- test/fault_profile.sh
set -euo pipefail
# shellcheck source=test/lib.sh
source "$SANDBOX_LIB"

db=fault_profile
SB_DB=$db
sb_psql -d postgres -c "DROP DATABASE IF EXISTS $db" >/dev/null
sb_psql -d postgres -c "DROP DATABASE IF EXISTS ${db}_restored" >/dev/null
sb_psql -d postgres -c "CREATE DATABASE $db" >/dev/null
# tq SECONDS ARGS...: psql bounded by timeout(1) (which cannot run functions).
tq() {
	local secs=$1
	shift
	timeout "$secs" "$PG_BINDIR/psql" -X -v ON_ERROR_STOP=1 -At -d "$db" "$@"
}

# wait_key KEY WANT [SECONDS]: poll Redis until GET KEY prints WANT.
wait_key() {
	local key=$1 want=$2 secs=${3:-30} i v=
	for ((i = 0; i < secs * 20; i++)); do
		v=$(sb_redis GET "$key" 2>/dev/null || true)
		[[ $v == "$want" ]] && break
		sleep 0.05
	done
	printf '%s' "$v"
}

q "CREATE EXTENSION cache_ext" >/dev/null
q "ALTER DATABASE $db SET cache_ext.command_timeout = 300" >/dev/null
q "CREATE TABLE core_userprofile (user_id integer PRIMARY KEY, nickname text)" >/dev/null
q "INSERT INTO core_userprofile SELECT g, 'u' || g FROM generate_series(1, 2000) g" >/dev/null
q "SELECT cache_ext.register_profile_table('core_userprofile')" >/dev/null 2>&1
sb_redis FLUSHDB >/dev/null

# 1. Redis paused (SIGSTOP): flipping a flag still commits, within the
#    timeout, and the mirror arrives once Redis is back (retry queue).
sb_redis_stop
if out=$(tq 20 -c "SELECT cache_ext.set_cache_enabled(7, false)" 2>&1); then
	ok "a flip commits while Redis is paused"
else
	fail "a flip failed while Redis is paused: $out"
fi
assert_eq "f" "$(q "SELECT cache_ext.cache_enabled(7)")" "the flip is visible in SQL"
sb_redis_cont
assert_eq "0" "$(wait_key cache_user_enabled:7 0)" "the mirror arrives after Redis is back"
for ((i = 0; i < 200; i++)); do
	v=$(sb_redis GET cache_user_version:7)
	[[ $v =~ ^[0-9]+$ ]] && break
	sleep 0.05
done
if [[ $v =~ ^[0-9]+$ ]]; then
	ok "the version bump arrives after Redis is back"
else
	fail "the version bump did not arrive after Redis is back (got '$v')"
fi

# 2. Back-fill while Redis is paused: a bounded error, not a hang; the
#    transaction of that batch rolls back.
sb_redis_stop
if out=$(tq 20 -c "CALL cache_ext.mirror_profiles(500)" 2>&1); then
	fail "the back-fill succeeded with Redis paused"
else
	rc=$?
	if ((rc == 124)); then
		fail "the back-fill hung with Redis paused"
	else
		ok "the back-fill fails with Redis paused"
		assert_contains "ERROR" "$out" "the back-fill reports an error"
	fi
fi
# With ignore_errors it stops with a WARNING and returns the count so far.
if out=$(tq 20 -c "SET cache_ext.ignore_errors = on" \
	-c "CALL cache_ext.mirror_profiles(500)" 2>&1); then
	assert_contains "WARNING" "$out" "ignore_errors: the back-fill warns"
else
	fail "ignore_errors: the back-fill failed: $out"
fi
sb_redis_cont

# 3. Redis restarted empty: the back-fill rebuilds the mirror.
sb_redis_kill
sb_redis_start
sb_redis FLUSHDB >/dev/null
out=$(q "CALL cache_ext.mirror_profiles(500)" 2>&1)
assert_contains "2000" "$out" "the back-fill reports 2000 profiles"
assert_eq "0" "$(sb_redis GET cache_user_enabled:7)" "the disabled user is mirrored again"
assert_eq "1" "$(sb_redis GET cache_user_enabled:2000)" "the last user is mirrored"
assert_eq "2000" "$(sb_redis DBSIZE)" "one key per profile"
# The fallback hook does the same.
sb_redis FLUSHDB >/dev/null
assert_eq "2000" "$(q "SELECT cache_ext.resync_profiles()")" "resync_profiles mirrors every profile"
assert_eq "0" "$(sb_redis GET cache_user_enabled:7)" "resync_profiles mirrors the disabled user"

# 4. pg_dump / restore: the registration and the triggers come back, and
#    writes in the restored database mirror again.
q "CREATE FUNCTION public.app_hook() RETURNS void LANGUAGE sql AS 'SELECT'" >/dev/null
q "INSERT INTO cache_ext.fallback_hooks VALUES ('public.app_hook()')" >/dev/null
dump=$SANDBOX_DIR/fault_profile.sql
"$PG_BINDIR/pg_dump" -d "$db" -f "$dump"
sb_psql -d postgres -c "CREATE DATABASE ${db}_restored" >/dev/null
if out=$("$PG_BINDIR/psql" -X -q -v ON_ERROR_STOP=1 -d "${db}_restored" -f "$dump" 2>&1); then
	ok "the dump restores"
else
	fail "the dump does not restore: $out"
fi
r() { sb_psql -d "${db}_restored" -c "$1"; }
assert_eq "core_userprofile|user_id|cache_enabled" \
	"$(r "SELECT profile, user_column, flag_column FROM cache_ext.profile_tables")" \
	"the registration is restored"
assert_eq "2" "$(r "SELECT count(*) FROM pg_trigger WHERE tgrelid = 'core_userprofile'::regclass")" \
	"both triggers are restored"
assert_eq "f" "$(r "SELECT cache_ext.cache_enabled(7)")" "the flag is restored"
assert_eq "cache_ext.resync_profiles()|public.app_hook()" \
	"$(r "SELECT string_agg(hook::text, '|' ORDER BY hook::text) FROM cache_ext.fallback_hooks")" \
	"the extension's hook comes back once (from CREATE EXTENSION), the application's from the dump"
r "SELECT cache_ext.set_cache_enabled(8, false)" >/dev/null
assert_eq "0" "$(wait_key cache_user_enabled:8 0)" "a flip in the restored database reaches Redis"

sb_psql -d postgres -c "DROP DATABASE ${db}_restored" >/dev/null
sb_psql -d postgres -c "DROP DATABASE $db" >/dev/null
rm -f "$dump"
finish
