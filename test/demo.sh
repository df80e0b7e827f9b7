#!/usr/bin/env bash
# test/demo.sh — owns: the README's "see it work" demo.  Starts a sandbox
# (test/sandbox.sh: builds, installs, PostgreSQL 15 + Redis), then plays short
# scripted scenarios: each SQL call as "SQL> ...", then what Redis now holds
# for the keys it touched as "redis> ...".
#
# usage: test/demo.sh [sandbox options, e.g. --no-build --keep] [-- SCENARIO...]
#   SCENARIO names: see SCENARIOS below (default: all, in order).
# To add a scenario: write a function scenario_NAME and append NAME to
# SCENARIOS.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

if [[ -z ${CACHE_EXT_DEMO_INSIDE:-} ]]; then
	opts=()
	while (($#)) && [[ $1 != -- ]]; do
		opts+=("$1")
		shift
	done
	(($#)) && shift
	export CACHE_EXT_DEMO_INSIDE=1
	exec bash "$here/sandbox.sh" "${opts[@]}" -- bash "$here/demo.sh" "$@"
fi

# ------------------------------------------------------ inside the sandbox
# shellcheck source=test/lib.sh
source "$SANDBOX_LIB"

# scenario_setup always runs first; these follow (all, or those named).
SCENARIOS=(cache counters locks cursors invalidation invoices profiles)
steps_failed=0

indent() { sed 's/^/        /'; }

title() {
	printf '\n=== %s ===\n' "$*"
}

note() {
	printf '# %s\n' "$*"
}

# sql STATEMENT: show it, run it, show the result (or the error), keep the
# result in $result; returns psql's status (callers that can go on after an
# error add `|| true`).
result=
sql() {
	local rc=0
	printf 'SQL> %s\n' "$1"
	result=$(sb_psql -P 'null=(null)' -c "$1" 2>&1) || rc=$?
	if [[ -n $result ]]; then printf '%s\n' "$result" | indent; fi
	if ((rc != 0)); then
		steps_failed=$((steps_failed + 1))
	fi
	return "$rc"
}

# rcmd ARGS...: show and run one redis-cli command.
rcmd() {
	printf 'redis> %s\n' "$*"
	sb_redis --no-raw "$@" 2>&1 | indent
}

# show KEY: what Redis holds for KEY, and for any key containing it (the
# extension may prefix its keys): value by type, then TTL.
show() {
	local pattern key type found=0
	pattern="*$(printf '%s' "$1" | sed 's/[][*?\\]/\\&/g')*"
	while IFS= read -r key; do
		[[ -n $key ]] || continue
		found=1
		type=$(sb_redis TYPE "$key")
		case $type in
		string) rcmd GET "$key" ;;
		hash) rcmd HGETALL "$key" ;;
		list) rcmd LRANGE "$key" 0 -1 ;;
		set) rcmd SMEMBERS "$key" ;;
		zset) rcmd ZRANGE "$key" 0 -1 WITHSCORES ;;
		stream) rcmd XRANGE "$key" - + ;;
		*) rcmd TYPE "$key" ;;
		esac
		rcmd TTL "$key"
	done < <(sb_redis --scan --pattern "$pattern" | sort)
	if ((!found)); then
		printf 'redis> SCAN 0 MATCH %s\n' "$pattern"
		echo "(no such key)" | indent
	fi
}

# ---------------------------------------------------------------- scenarios

scenario_setup() {
	title "Install the extension"
	sql "CREATE EXTENSION cache_ext;" || {
		echo "demo: cannot go on without the extension" >&2
		exit 1
	}
	sql "SELECT cache_ext.ping();" || true
}

scenario_cache() {
	title "Cache: set a value with a TTL, read it back"
	sql "SELECT cache_ext.set('greeting', 'hello', 60);" || true
	show greeting
	sql "SELECT cache_ext.get('greeting');" || true
	show greeting
}

scenario_counters() {
	title "Counters: a sequence that lives in Redis"
	sql "SELECT cache_ext.incr('invoice_seq:2026');" || true
	sql "SELECT cache_ext.incr('invoice_seq:2026');" || true
	show invoice_seq:2026
}

scenario_locks() {
	title "Locks: one cron run at a time"
	sql "SELECT cache_ext.lock_acquire('cron:full_backup:run_lock', 30);" || true
	show cron:full_backup:run_lock
	local token=$result
	note "a second acquire while the lock is held gets NULL:"
	sql "SELECT cache_ext.lock_acquire('cron:full_backup:run_lock', 30);" || true
	if [[ $token =~ ^[0-9a-zA-Z_-]+$ ]]; then
		note "release it with the token the first acquire returned:"
		sql "SELECT cache_ext.lock_release('cron:full_backup:run_lock', '$token');" || true
		show cron:full_backup:run_lock
	fi
}

scenario_cursors() {
	title "Cursors: remember how far a job got"
	sql "SELECT cache_ext.cursor_bump('calendar_reminders', '{\"id\":1}');" || true
	show calendar_reminders
}

scenario_invalidation() {
	title "Invalidation: a write bumps the user's namespace version after commit"
	sql "CREATE TABLE notes (id int PRIMARY KEY, user_id bigint, body text);" || true
	sql "CREATE TRIGGER notes_cache AFTER INSERT OR UPDATE OR DELETE ON notes FOR EACH ROW EXECUTE FUNCTION cache_ext.bump_version('cache_user_version:{user_id}');" || true
	sql "INSERT INTO notes VALUES (1, 7, 'hello');" || true
	note "a missing version key is created from the Redis clock, never from 1:"
	show cache_user_version:7
	sql "UPDATE notes SET body = 'hello again' WHERE id = 1;" || true
	show cache_user_version:7
	note "a rolled-back write sends nothing:"
	sql "BEGIN; UPDATE notes SET body = 'never' WHERE id = 1; ROLLBACK;" || true
	show cache_user_version:7
	note "a row moved to another user bumps both users:"
	sql "UPDATE notes SET user_id = 8 WHERE id = 1;" || true
	show cache_user_version:7
	show cache_user_version:8
	note "a bulk write sends one bump per distinct user, in one pipeline:"
	sql "INSERT INTO notes SELECT g, 100 + g % 5, 'bulk' FROM generate_series(2, 5001) g;" || true
	sql "SELECT effects_committed, effects_sent, queue_depth FROM cache_ext.stats;" || true
	sql "SELECT cache_ext.user_version(101) IS NOT NULL AS bumped;" || true
}

scenario_invoices() {
	title "Invoice numbers: allocated from a Redis counter, never duplicated"
	sql "CREATE TABLE invoices (id serial PRIMARY KEY, year int NOT NULL, invoice_no bigint);" || true
	sql "CREATE UNIQUE INDEX ON invoices (year, invoice_no);" || true
	sql "CREATE TRIGGER invoices_number BEFORE INSERT OR UPDATE ON invoices FOR EACH ROW EXECUTE FUNCTION cache_ext.assign_number('invoice_no', 'invoice_seq:{year}');" || true
	sql "INSERT INTO invoices (year) VALUES (2026), (2026) RETURNING year, invoice_no;" || true
	show invoice_seq:2026
	note "Redis loses the counter; the next number still follows the table's maximum:"
	rcmd DEL invoice_seq:2026
	sql "INSERT INTO invoices (year) VALUES (2026) RETURNING year, invoice_no;" || true
	show invoice_seq:2026
}

scenario_profiles() {
	title "cache_enabled per user: visible to SQL, mirrored to Redis"
	sql "CREATE TABLE core_userprofile (user_id bigint PRIMARY KEY);" || true
	sql "INSERT INTO core_userprofile VALUES (7), (8);" || true
	sql "SELECT cache_ext.register_profile_table('core_userprofile');" || true
	sql "SELECT cache_ext.set_cache_enabled(7, false);" || true
	show cache_user_enabled:7
	show cache_user_version:7
	sql "SELECT cache_ext.cache_enabled(7), cache_ext.cache_enabled(8);" || true
	note "the middleware reads flag and version in one round trip:"
	rcmd MGET cache_user_enabled:7 cache_user_version:7
}

# ------------------------------------------------------------------- main
run=("$@")
((${#run[@]})) || run=("${SCENARIOS[@]}")
for s in "${run[@]}"; do
	if ! declare -F "scenario_$s" >/dev/null; then
		echo "demo: no scenario '$s' (have: ${SCENARIOS[*]})" >&2
		exit 2
	fi
done
printf 'cache_ext demo: PostgreSQL on port %s, Redis on %s\n' "$PGPORT" "$REDIS_URL"
scenario_setup
for s in "${run[@]}"; do
	"scenario_$s"
done
echo
if ((steps_failed)); then
	echo "demo: $steps_failed SQL step(s) failed"
	exit 1
fi
echo "demo: done"
