#!/usr/bin/env bash
# test/fault_upgrade.sh — owns: "an install of an older release, in use,
# survives the server's upgrade to the current library, ALTER EXTENSION
# UPDATE, and pg_dump/restore into the current version".
#
# For every released version OLD (sql/cache_ext--OLD.sql), each in its own
# database, with the application of this script using it (bump_version
# triggers, an assign_number trigger in cache and in gapless mode, a
# registered profile table, an extra namespace, a fallback hook, prepared
# transactions with queued effects, grants to an application role):
#   1. pending update: the sandbox's library is the current one, so an OLD
#      install runs the OLD SQL on the current library, as a server upgraded
#      before anyone ran ALTER EXTENSION UPDATE.  The application keeps
#      working, and every function of the OLD install is called once: each
#      works or fails with a clean error (not XX000), never a crash.  The
#      outcome of each is printed (README "Upgrading" documents it).  This
#      runs first, before any install of the current version exists in the
#      cluster (which would create its roles).
#   2. ALTER EXTENSION cache_ext UPDATE while prepared transactions hold
#      queued effects (lock_timeout: it must not wait for them): the
#      application's triggers still exist and point at the same functions,
#      everything still works, COMMIT PREPARED delivers and ROLLBACK PREPARED
#      does not, and the catalog equals a fresh install of the current version
#      line by line (test/catalog_snapshot.sql: definitions, privileges,
#      comments, configuration tables) — so the update fixes in updated
#      installs whatever the current version fixes in its definitions and
#      ACLs.
#   3. pg_dump of an OLD database with rows in every configuration table,
#      restored into a new database: it gets the current version, the
#      configuration rows, the triggers and the application's grants, it
#      works, and apart from those grants its catalog equals a fresh install.
# Properties only, never today's list of functions: the SQL surface changes.
set -eEuo pipefail
source "$SANDBOX_LIB"
SB_SUITE=fault_upgrade
trap 'echo "fault_upgrade: line $LINENO: exit $?" >&2' ERR
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)

current=$(sed -n "s/^default_version = '\(.*\)'/\1/p" "$repo/cache_ext.control")
snapshot() { sb_psql -d "$1" -f "$here/catalog_snapshot.sql"; }
newdb() {
	q postgres "DROP DATABASE IF EXISTS $1" >/dev/null
	q postgres "CREATE DATABASE $1" >/dev/null
}

# wait_change KEY OLD: the Redis value of KEY once it differs from OLD
# (bounded: 10 s), else OLD.
wait_change() {
	local v i
	for ((i = 0; i < 200; i++)); do
		v=$(sb_redis GET "$1")
		[[ $v != "$2" ]] && break
		sleep 0.05
	done
	echo "$v"
}

# crashes: lines of the server log after line $1 that tell of a crash.
crashes() {
	tail -n +"$(($1 + 1))" "$SANDBOX_DIR/postgres.log" |
		grep -E 'terminated by signal|was terminated by exception|PANIC|TRAP:' || true
}

# The application, installed while OLD is: B is this database's base user
# id, so that Redis keys of different databases differ.
setup_app() {
	local db=$1 b=$2
	sb_psql -d "$db" -q <<-SQL
		CREATE TABLE upg_items (id serial PRIMARY KEY, user_id bigint, note text);
		CREATE TRIGGER upg_items_bump AFTER INSERT OR UPDATE OR DELETE ON upg_items
			FOR EACH ROW EXECUTE FUNCTION cache_ext.bump_version('cache_user_version:{user_id}');
		CREATE TABLE upg_invoices (id serial PRIMARY KEY, year int, invoice_no bigint);
		CREATE UNIQUE INDEX ON upg_invoices (year, invoice_no);
		CREATE TRIGGER upg_invoices_number BEFORE INSERT OR UPDATE ON upg_invoices
			FOR EACH ROW EXECUTE FUNCTION cache_ext.assign_number('invoice_no', 'upg_invoice_$b:{year}');
		CREATE TABLE upg_receipts (id serial PRIMARY KEY, shop text, no bigint);
		CREATE UNIQUE INDEX ON upg_receipts (shop, no);
		CREATE TRIGGER upg_receipts_number BEFORE INSERT OR UPDATE ON upg_receipts
			FOR EACH ROW EXECUTE FUNCTION cache_ext.assign_number('no', 'upg_receipt_$b:{shop}', 'gapless');
		CREATE TABLE upg_profiles (user_id bigint PRIMARY KEY, cache_enabled boolean NOT NULL DEFAULT true);
		INSERT INTO upg_profiles SELECT $b + i, true FROM generate_series(1, 5) i;
		SELECT cache_ext.register_profile_table('upg_profiles', 'user_id', 'cache_enabled');
		INSERT INTO cache_ext.extra_namespaces VALUES ('bump', 'upg_extra_$b:*');
		CREATE FUNCTION public.upg_hook() RETURNS void LANGUAGE sql AS 'SELECT';
		INSERT INTO cache_ext.fallback_hooks VALUES ('public.upg_hook()');
		INSERT INTO upg_items (user_id) SELECT $b + i FROM generate_series(1, 5) i;
		INSERT INTO upg_invoices (year) VALUES (2024), (2024);
		INSERT INTO upg_receipts (shop) VALUES ('north'), ('north');
		DO \$\$ BEGIN
			IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'upg_app') THEN
				CREATE ROLE upg_app;
			END IF;
		END \$\$;
		GRANT USAGE ON SCHEMA cache_ext TO upg_app;
		GRANT EXECUTE ON FUNCTION cache_ext.bump(text) TO upg_app;
	SQL
}

# app_grants DB: t when the application role still has what it was granted.
app_grants() {
	q "$1" "SELECT has_function_privilege('upg_app', 'cache_ext.bump(text)', 'EXECUTE')
		AND has_schema_privilege('upg_app', 'cache_ext', 'USAGE')"
}

# A catalog snapshot without the grants the application made (they are
# checked apart, with app_grants).
strip_app_grants() { sed -E 's/ upg_app=[^ ]*//g'; }

# The application's triggers, by table, name, function, state and arguments.
app_triggers() {
	q "$1" "SELECT string_agg(t, E'\n' ORDER BY t) FROM (
		SELECT format('%s.%s %s %s %s', tgrelid::regclass, tgname, tgfoid::regprocedure,
					  tgenabled, encode(tgargs, 'escape')) AS t
		  FROM pg_trigger WHERE NOT tgisinternal AND tgrelid::regclass::text LIKE 'upg_%') s"
}

# check_app DB B WHAT: everything the application relies on works.
check_app() {
	local db=$1 b=$2 what=$3 v0 v n before
	v0=$(sb_redis GET "cache_user_version:$((b + 1))")
	q "$db" "UPDATE upg_items SET note = 'changed' WHERE user_id = $((b + 1))" >/dev/null
	v=$(wait_change "cache_user_version:$((b + 1))" "$v0")
	if [[ -n $v && $v != "$v0" ]]; then
		ok "$what: a bump_version trigger reaches Redis"
	else
		fail "$what: a bump_version trigger did not reach Redis ('$v0' stays '$v')"
	fi

	before=$(q "$db" "SELECT max(invoice_no) FROM upg_invoices WHERE year = 2024")
	n=$(q "$db" "INSERT INTO upg_invoices (year) VALUES (2024) RETURNING invoice_no" 2>&1 | sed -n 1p)
	if [[ $n =~ ^[0-9]+$ ]] && ((n > before)); then
		ok "$what: assign_number numbers above the table's last number"
	else
		fail "$what: assign_number gave '$n' after $before"
	fi
	assert_eq "t" "$(q "$db" "SELECT count(*) = count(DISTINCT (year, invoice_no)) FROM upg_invoices")" \
		"$what: no duplicate invoice number"
	before=$(q "$db" "SELECT max(no) FROM upg_receipts WHERE shop = 'north'")
	n=$(q "$db" "INSERT INTO upg_receipts (shop) VALUES ('north') RETURNING no" 2>&1 | sed -n 1p)
	assert_eq "$((before + 1))" "$n" "$what: gapless assign_number gives the next number"

	q "$db" "UPDATE upg_profiles SET cache_enabled = NOT cache_enabled WHERE user_id = $((b + 2))" >/dev/null
	want=$(q "$db" "SELECT cache_enabled::int FROM upg_profiles WHERE user_id = $((b + 2))")
	v=$(wait_change "cache_user_enabled:$((b + 2))" "x")
	for ((i = 0; i < 200 && v != want; i++)); do
		sleep 0.05
		v=$(sb_redis GET "cache_user_enabled:$((b + 2))")
	done
	assert_eq "$want" "$v" "$what: a registered profile's flag is mirrored to Redis"
	assert_eq "$( ((want)) && echo t || echo f)" \
		"$(q "$db" "SELECT cache_ext.cache_enabled($((b + 2)))" 2>&1)" \
		"$what: cache_enabled() reads the registered profile table"

	q "$db" "SELECT cache_ext.set('upg:api:$b', '$what')" >/dev/null 2>&1 || true
	assert_eq "$what" "$(q "$db" "SELECT cache_ext.get('upg:api:$b')" 2>&1)" \
		"$what: the cache API round-trips a value"
}

# prepare_effects DB B: two prepared transactions, each with a queued bump.
prepare_effects() {
	q "$1" "BEGIN; UPDATE upg_items SET note = 'p' WHERE user_id = $(($2 + 3));
		PREPARE TRANSACTION 'upg_commit_$2'" >/dev/null
	q "$1" "BEGIN; UPDATE upg_items SET note = 'p' WHERE user_id = $(($2 + 4));
		PREPARE TRANSACTION 'upg_rollback_$2'" >/dev/null
}

# finish_prepared DB B WHAT: COMMIT PREPARED delivers, ROLLBACK PREPARED not.
finish_prepared() {
	local db=$1 b=$2 what=$3 c0 r0 v
	c0=$(sb_redis GET "cache_user_version:$((b + 3))")
	r0=$(sb_redis GET "cache_user_version:$((b + 4))")
	assert_ok "$what: COMMIT PREPARED" q "$db" "COMMIT PREPARED 'upg_commit_$b'"
	v=$(wait_change "cache_user_version:$((b + 3))" "$c0")
	if [[ -n $v && $v != "$c0" ]]; then
		ok "$what: COMMIT PREPARED delivered the queued bump"
	else
		fail "$what: COMMIT PREPARED did not deliver the queued bump"
	fi
	assert_ok "$what: ROLLBACK PREPARED" q "$db" "ROLLBACK PREPARED 'upg_rollback_$b'"
	assert_eq "$r0" "$(sb_redis GET "cache_user_version:$((b + 4))")" \
		"$what: ROLLBACK PREPARED delivered nothing"
	assert_eq "0" "$(q "$db" "SELECT count(*) FROM cache_ext.prepared_effects")" \
		"$what: no prepared effects left behind"
}

# One call of every function and procedure of the installed extension
# (triggers excepted: the application fires them), with arguments made up
# from their types; "SIGNATURE<TAB>STATEMENT", or "SIGNATURE<TAB>" when no
# argument can be made up.
sweep_calls() {
	q "$1" "
	WITH fns AS (
		SELECT p.* FROM pg_depend d JOIN pg_proc p ON p.oid = d.objid
		 WHERE d.classid = 'pg_proc'::regclass AND d.deptype = 'e'
		   AND d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'cache_ext')
		   AND p.prorettype NOT IN ('trigger'::regtype, 'event_trigger'::regtype)
	), args AS (
		SELECT f.oid, a.ord,
			   CASE a.typ
				WHEN 'text'::regtype THEN quote_literal('upg:sweep:' || a.ord) || '::text'
				WHEN 'name'::regtype THEN
					quote_literal((ARRAY['user_id', 'cache_enabled'])[least(a.nth, 2)]) || '::name'
				WHEN 'int2'::regtype THEN '1::smallint'
				WHEN 'int4'::regtype THEN '1'
				WHEN 'int8'::regtype THEN '1::bigint'
				WHEN 'bool'::regtype THEN 'true'
				WHEN 'bytea'::regtype THEN '''\\x01''::bytea'
				WHEN 'jsonb'::regtype THEN '''{\"upg\": 1}''::jsonb'
				WHEN 'regclass'::regtype THEN '''upg_profiles''::regclass'
				WHEN 'anyelement'::regtype THEN '(SELECT t FROM upg_items t ORDER BY id LIMIT 1)'
				WHEN 'text[]'::regtype THEN
					CASE WHEN f.provariadic <> 0 AND a.ord = f.pronargs
						 THEN 'VARIADIC ARRAY[''PING'']' ELSE 'ARRAY[''upg:sweep:a'']' END
			   END AS lit
		  FROM fns f,
			   LATERAL (SELECT u.typ, u.ord,
							   row_number() OVER (PARTITION BY u.typ ORDER BY u.ord) AS nth
						  FROM unnest(f.proargtypes::oid[]) WITH ORDINALITY u(typ, ord)) a
	)
	SELECT f.oid::regprocedure::text || E'\t' ||
		   CASE WHEN bool_or(a.oid IS NOT NULL AND a.lit IS NULL) THEN ''
				ELSE CASE f.prokind WHEN 'p' THEN 'CALL ' ELSE 'SELECT * FROM ' END ||
					 quote_ident(n.nspname) || '.' || quote_ident(f.proname) || '(' ||
					 COALESCE(string_agg(a.lit, ', ' ORDER BY a.ord), '') || ')'
		   END
	  FROM fns f JOIN pg_namespace n ON n.oid = f.pronamespace
	  LEFT JOIN args a ON a.oid = f.oid
	 GROUP BY f.oid, f.prokind, n.nspname, f.proname
	 ORDER BY 1"
}

sweep() {
	local db=$1 what=$2 sig stmt out rc lines state msg n=0
	while IFS=$'\t' read -r sig stmt; do
		if [[ -z $stmt ]]; then
			echo "  $what: $sig: skipped (no argument of its types can be made up)"
			continue
		fi
		n=$((n + 1))
		lines=$(wc -l <"$SANDBOX_DIR/postgres.log")
		rc=0
		out=$(PGOPTIONS='-c statement_timeout=30s' "$PG_BINDIR/psql" -X -At -q \
			-v ON_ERROR_STOP=1 -v VERBOSITY=verbose -d "$db" -c "$stmt" 2>&1) || rc=$?
		if ((rc == 0)); then
			echo "  $what: $sig: works"
		else
			state=$(sed -n 's/^ERROR:  \([0-9A-Z]\{5\}\): .*/\1/p' <<<"$out" | head -n 1)
			msg=$(sed -n 's/^ERROR:  [0-9A-Z]\{5\}: //p' <<<"$out" | head -n 1)
			echo "  $what: $sig: ERROR $state: $msg"
			if [[ -z $state || $state == XX000 ]]; then
				fail "$what: $sig fails without a clean error: $out"
			fi
		fi
		if [[ -n $(crashes "$lines") ]] || ! q "$db" "SELECT 1" >/dev/null 2>&1; then
			fail "$what: $sig crashed the server: $(crashes "$lines" | head -n 3)"
			sb_pg_log 30
			return
		fi
	done < <(sweep_calls "$db")
	if ((n > 10)); then
		ok "$what: every function of the install ($n) works or fails cleanly, none crashes"
	else
		fail "$what: only $n functions found to call"
	fi
}

versions=()
for script in "$repo"/sql/cache_ext--*.sql; do
	base=$(basename "$script" .sql)
	[[ $base == cache_ext--*--* ]] && continue
	[[ ${base#cache_ext--} == "$current" ]] && continue
	versions+=("${base#cache_ext--}")
done
if ((${#versions[@]} == 0)); then
	fail "no released install script found in sql/"
fi

# ------------------------------------------- 1. the update pending (first)
b=1000
for old in "${versions[@]}"; do
	db=upg_pending_${old//./_}
	newdb "$db"
	if ! out=$(q "$db" "CREATE EXTENSION cache_ext VERSION '$old'" 2>&1); then
		fail "$old: CREATE EXTENSION VERSION '$old' failed: $out"
		continue
	fi
	setup_app "$db" "$b"
	prepare_effects "$db" "$b"
	check_app "$db" "$b" "$old SQL on the $current library"
	finish_prepared "$db" "$b" "$old SQL on the $current library"
	sweep "$db" "$old SQL on the $current library"
	b=$((b + 1000))
done

# ------------------------------------------------ the fresh current version
newdb upg_fresh
q upg_fresh "CREATE EXTENSION cache_ext" >/dev/null
snapshot upg_fresh >"$SANDBOX_DIR/fresh.snap"
lines=$(wc -l <"$SANDBOX_DIR/fresh.snap")
((lines > 100)) && ok "fresh $current install described in $lines lines" ||
	fail "catalog snapshot of a fresh install has only $lines lines"

# --------------------------------------------- 2. ALTER EXTENSION UPDATE
for old in "${versions[@]}"; do
	db=upg_from_${old//./_}
	newdb "$db"
	if ! out=$(q "$db" "CREATE EXTENSION cache_ext VERSION '$old'" 2>&1); then
		fail "$old: CREATE EXTENSION VERSION '$old' failed: $out"
		continue
	fi
	setup_app "$db" "$b"
	prepare_effects "$db" "$b"
	triggers_before=$(app_triggers "$db")
	if ! out=$(q "$db" "SET lock_timeout = '30s'; ALTER EXTENSION cache_ext UPDATE" 2>&1); then
		fail "$old: ALTER EXTENSION UPDATE (prepared transactions pending) failed: $out"
		q "$db" "ROLLBACK PREPARED 'upg_commit_$b'" >/dev/null 2>&1 || true
		q "$db" "ROLLBACK PREPARED 'upg_rollback_$b'" >/dev/null 2>&1 || true
		continue
	fi
	v=$(q "$db" "SELECT extversion FROM pg_extension WHERE extname = 'cache_ext'")
	assert_eq "$current" "$v" "$old: ALTER EXTENSION UPDATE reaches $current"
	assert_eq "$triggers_before" "$(app_triggers "$db")" \
		"$old: the application's triggers survive the update unchanged"
	check_app "$db" "$b" "$old updated to $current"
	finish_prepared "$db" "$b" "$old updated to $current"
	assert_eq "t" "$(app_grants "$db")" "$old: the application role's grants survive the update"
	snapshot "$db" | strip_app_grants >"$SANDBOX_DIR/$db.snap"
	if d=$(diff -u "$SANDBOX_DIR/fresh.snap" "$SANDBOX_DIR/$db.snap"); then
		ok "$old: updated catalog equals a fresh $current install"
	else
		fail "$old: updated catalog differs from a fresh $current install (- fresh, + updated):"
		head -n 80 <<<"$d"
	fi
	b=$((b + 1000))
done

# ------------------------------------------- 3. pg_dump OLD, restore as new
# config_rows DB: every configuration table's rows that pg_dump dumps (its
# extcondition), in the columns the OLD database has.
config_rows() {
	local db=$1 ref=$2 t cols cond
	for t in $(q "$ref" "SELECT c::regclass::text FROM pg_extension e, unnest(e.extconfig) c
		WHERE e.extname = 'cache_ext' AND c::regclass::text NOT LIKE '%_seq' ORDER BY 1"); do
		cond=$(q "$ref" "SELECT COALESCE(u.cond, '')
			FROM pg_extension e, ROWS FROM (unnest(e.extconfig), unnest(e.extcondition)) u(c, cond)
			WHERE e.extname = 'cache_ext' AND u.c = '$t'::regclass")
		cols=$(q "$ref" "SELECT string_agg(quote_ident(attname), ', ' ORDER BY attnum)
			FROM pg_attribute WHERE attrelid = '$t'::regclass AND attnum > 0 AND NOT attisdropped")
		echo "== $t ($cols)"
		q "$db" "SELECT * FROM (SELECT $cols FROM $t $cond) s ORDER BY 1" 2>&1 || true
	done
}

for old in "${versions[@]}"; do
	db=upg_dump_${old//./_}
	newdb "$db"
	if ! out=$(q "$db" "CREATE EXTENSION cache_ext VERSION '$old'" 2>&1); then
		fail "$old: CREATE EXTENSION VERSION '$old' failed: $out"
		continue
	fi
	setup_app "$db" "$b"
	q "$db" "SELECT cache_ext.counter_sync('upg_sync_$b', 7)" >/dev/null
	config_rows "$db" "$db" >"$SANDBOX_DIR/$db.config"
	if ! grep -q "upg_hook" "$SANDBOX_DIR/$db.config" ||
		! grep -q "upg_receipt_$b" "$SANDBOX_DIR/$db.config"; then
		fail "$old: the configuration tables do not hold the application's rows:"
		cat "$SANDBOX_DIR/$db.config"
	fi
	triggers_before=$(app_triggers "$db")
	dump=$SANDBOX_DIR/$db.sql
	if ! out=$("$PG_BINDIR/pg_dump" -d "$db" -f "$dump" 2>&1); then
		fail "$old: pg_dump failed: $out"
		continue
	fi
	rdb=upg_restored_${old//./_}
	newdb "$rdb"
	if out=$(sb_psql -q -d "$rdb" -f "$dump" 2>&1); then
		ok "$old: a dump of a database using $old restores"
	else
		fail "$old: the dump does not restore: $(head -n 20 <<<"$out")"
		continue
	fi
	assert_eq "$current" "$(q "$rdb" "SELECT extversion FROM pg_extension WHERE extname = 'cache_ext'")" \
		"$old: the restored database has $current"
	config_rows "$rdb" "$db" >"$SANDBOX_DIR/$rdb.config"
	if d=$(diff -u "$SANDBOX_DIR/$db.config" "$SANDBOX_DIR/$rdb.config"); then
		ok "$old: every configuration table's dumped rows are restored"
	else
		fail "$old: configuration rows differ after restore (- $old, + restored):"
		head -n 40 <<<"$d"
	fi
	assert_eq "$triggers_before" "$(app_triggers "$rdb")" "$old: the application's triggers are restored"
	assert_eq "t" "$(app_grants "$rdb")" "$old: the application role's grants are restored"
	snapshot "$rdb" | strip_app_grants >"$SANDBOX_DIR/$rdb.snap"
	if d=$(diff -u "$SANDBOX_DIR/fresh.snap" "$SANDBOX_DIR/$rdb.snap"); then
		ok "$old: restored catalog equals a fresh $current install (but for the application's grants)"
	else
		fail "$old: restored catalog differs from a fresh $current install (- fresh, + restored):"
		head -n 60 <<<"$d"
	fi
	check_app "$rdb" "$b" "$old restored into $current"
	b=$((b + 1000))
done

for db in $(q postgres "SELECT datname FROM pg_database WHERE datname LIKE 'upg\_%'"); do
	q postgres "DROP DATABASE $db" >/dev/null 2>&1 || true
done
finish
