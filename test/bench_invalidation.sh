#!/usr/bin/env bash
# test/bench_invalidation.sh — owns: the benchmark of the invalidation hooks
# (issue 3) against no trigger and against the usual alternatives.
#
# usage: test/bench_invalidation.sh [PART...]   (starts its own exclusive
#        sandbox, fsync = on; PART: tps bulk latency, default all three)
#   env: BENCH_ROUNDS (3)        interleaved rounds of the TPS part
#        BENCH_SECONDS (10)      pgbench -T per variant, setting and round
#        BENCH_CLIENTS (4)       pgbench clients
#        BENCH_SCALE (10)        pgbench scale (100,000 accounts each)
#        BENCH_BULK_ROUNDS (2)   rounds of the 1,000,000-row UPDATE part
#        BENCH_LAT_SAMPLES (500) commits per delivery mode, latency part
#        BENCH_LAT_DELAYS ("5")  cache_ext.worker_batch_delay values (ms)
#                                the latency part measures async at
#        BENCH_VARIANTS          TPS variants to run (default: all)
#        BENCH_TLS (1)           also bump_tls (see below)
#        BENCH_NO_BUILD=1        do not rebuild the extension
#        BENCH_SHARED=1          no exclusive lock (smoke runs; noisy)
#   quick smoke run (< 1 min): BENCH_ROUNDS=1 BENCH_SECONDS=1
#        BENCH_SCALE=1 BENCH_BULK_ROUNDS=1 BENCH_LAT_SAMPLES=50
#
# Part "tps": pgbench -n -M prepared -c 4 -j 4 (CLIENTS), one single-row UPDATE per
# transaction (\set aid random(1, 100000 * scale); UPDATE pgbench_accounts
# SET abalance = abalance + 1 WHERE aid = :aid) on pgbench_accounts with a
# plain column uid = aid % 1000, at synchronous_commit on and off, variants:
#   none       no trigger (the baseline)
#   floor      BEFORE UPDATE ... suppress_redundant_updates_trigger(): a C
#              row trigger shipped with PostgreSQL that does almost nothing
#              when the row really changes (compares two tuples), i.e. the
#              price of having a row trigger at all
#   bump_sync  AFTER UPDATE ... cache_ext.bump_version('cache_user_version:{uid}'),
#              cache_ext.delivery = sync (default, read-your-writes)
#   bump_async the same with cache_ext.delivery = async
#   bump_before_sync, bump_before_async   the same as a BEFORE UPDATE row
#              trigger (no after-trigger queue; see the README for its limits)
#   bump_stmt_sync, bump_stmt_async   the same as an AFTER UPDATE statement
#              trigger with transition tables (REFERENCING OLD TABLE ... NEW
#              TABLE ...): no per-row after-trigger event
#   bump_tls   bump_sync over TLS: cache_ext.redis_url = rediss:// to the same
#              Redis (its TLS port, a throwaway CA; BENCH_TLS=0 skips it);
#              reported also as the TPS ratio bump_tls / bump_sync
#   bump_unix  bump_sync to a second redis-server on a unix socket
#              (unix://; what Redis on the database's host can use;
#              BENCH_UNIX=0 skips it)
#   notify     PL/pgSQL trigger: pg_notify('cache_invalidation', key)
#   memcache   PL/pgSQL trigger: pgmemcache memcache_incr(key) per row
#              (memcached on loopback)
#   outbox     PL/pgSQL trigger: INSERT INTO an outbox table (bigserial id,
#              key, created_at), truncated before each run
# Every round runs every variant at both settings, in an order rotated from
# round to round; a CHECKPOINT precedes each run.  Reported: median TPS and
# ratio to "none" at the same setting; then each run's ratio to the "none"
# run of its own round, as the median with its range and a distribution-free
# 95 % confidence interval (median_ci; needs 6 rounds or more).  To decide one
# variant against a target, run it alone with the baseline in many short
# rounds, e.g. BENCH_VARIANTS="none bump_async" BENCH_ROUNDS=24 BENCH_SECONDS=5.
#
# Part "bulk": one UPDATE pgbench_accounts SET abalance = abalance + 1 (every
# row, one transaction, COMMIT and delivery included) with no trigger, the
# floor trigger, bump_version AFTER and BEFORE row triggers on uid (1,000
# distinct users) and uid10k = aid % 10000 (10,000), and the statement form
# with transition tables when bump_version accepts it; VACUUM after each
# run.
#
# Part "latency": commit-to-visible.  A procedure updates one row (the
# bump_version trigger fires), reads the version key before, COMMITs, then
# polls cache_ext.version() until the new version shows (bounded at 2 s),
# then pauses 0-10 ms (random) so that commits come at random times and not
# right after the previous delivery, in step with the worker's batches:
# the time from COMMIT returning to the new value being readable in Redis,
# one GET round trip (~20-50 µs) included; p50/p99 per delivery mode, with
# how often the first read already saw it, plus cache_ext.stats's own
# commit-to-delivery percentiles (the server-side view); on an idle server
# and with CLIENTS-1 pgbench clients running the same UPDATE meanwhile.
#
# Variants whose functions are missing (cache_ext.bump_version, the
# cache_ext.delivery GUC, pgmemcache) are skipped with a note.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=test/lib.sh
source "$here/lib.sh"
bench_durable_conf
bench_enter_sandbox "$here/bench_invalidation.sh" "$@"

# ------------------------------------------------------ inside the sandbox
trap bench_cleanup EXIT

ROUNDS=${BENCH_ROUNDS:-3}
SECS=${BENCH_SECONDS:-10}
CLIENTS=${BENCH_CLIENTS:-4}
SCALE=${BENCH_SCALE:-10}
BULK_ROUNDS=${BENCH_BULK_ROUNDS:-2}
LAT_SAMPLES=${BENCH_LAT_SAMPLES:-500}
LAT_DELAYS=${BENCH_LAT_DELAYS:-5}
ACCOUNTS=$((SCALE * 100000))
parts=("$@")
((${#parts[@]})) || parts=(tps bulk latency)
want_part() { [[ " ${parts[*]} " == *" $1 "* ]]; }

say() { echo "bench_invalidation: $*" >&2; }
note() { notes+=("$*"); say "$*"; }
notes=()


if [[ $(bench_psql -c "SHOW fsync") != on ]]; then
	say "fsync is off: synchronous_commit on/off would be meaningless"
	exit 1
fi

# ------------------------------------------------------------------ setup
say "pgbench -i -s $SCALE ..."
pgbench -i -q -s "$SCALE" >/dev/null 2>&1
bench_psql <<SQL
CREATE EXTENSION IF NOT EXISTS cache_ext;
ALTER TABLE pgbench_accounts ADD COLUMN uid int, ADD COLUMN uid10k int;
UPDATE pgbench_accounts SET uid = aid % 1000, uid10k = aid % 10000;
VACUUM FULL pgbench_accounts;
VACUUM ANALYZE pgbench_accounts;
CREATE TABLE cache_outbox (id bigserial PRIMARY KEY, key text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now());
CREATE FUNCTION bench_notify() RETURNS trigger LANGUAGE plpgsql AS \$\$
BEGIN
  PERFORM pg_notify('cache_invalidation', 'cache_user_version:' || NEW.uid);
  RETURN NULL;
END \$\$;
CREATE FUNCTION bench_outbox() RETURNS trigger LANGUAGE plpgsql AS \$\$
BEGIN
  INSERT INTO cache_outbox (key) VALUES ('cache_user_version:' || NEW.uid);
  RETURN NULL;
END \$\$;
SQL

have_bump=$(bench_psql -c "SELECT to_regproc('cache_ext.bump_version') IS NOT NULL")
have_async=$(bench_psql -c "SELECT count(*) > 0 FROM pg_settings WHERE name = 'cache_ext.delivery'")

# TLS (once the extension exists): the sandbox Redis gains a TLS port (restarted, empty) and every
# session trusts the throwaway CA; bump_tls points its sessions at that port
have_tls=f
if [[ ${BENCH_TLS:-1} == 1 ]]; then
	tls_ping=
	if sb_tls_enable && sb_pg_set "cache_ext.tls_ca_file = '$SANDBOX_TLS_DIR/ca.crt'"; then
		tls_ping=$(PGOPTIONS="-c cache_ext.redis_url=$REDIS_TLS_URL" bench_psql -c "SELECT cache_ext.ping()" 2>&1) || true
	fi
	if [[ $tls_ping == PONG ]]; then
		have_tls=t
	else
		say "bump_tls skipped: no TLS Redis to ping (${tls_ping:-could not enable TLS})"
	fi
fi
# unix socket (BENCH_UNIX=1): a second redis-server listening on a unix
# socket only, same settings; bump_unix points its sessions at it
have_unix=f unix_pid=''
if [[ ${BENCH_UNIX:-1} == 1 ]]; then
	unix_sock=$SANDBOX_DIR/redis-bench.sock
	unix_cmd=(redis-server --port 0 --unixsocket "$unix_sock" --unixsocketperm 777
		--save '' --appendonly no --dir "$SANDBOX_DIR" --logfile "$SANDBOX_DIR/redis-unix.log")
	if ((EUID == 0)) && [[ ${SANDBOX_OWNER:-root} != root ]]; then
		unix_cmd=(setpriv --reuid="$SANDBOX_OWNER" --regid="$SANDBOX_OWNER" --init-groups -- "${unix_cmd[@]}")
	fi
	"${unix_cmd[@]}" &
	unix_pid=$!
	for ((i = 0; i < 100; i++)); do
		[[ -S $unix_sock ]] && break
		sleep 0.05
	done
	if [[ $(PGOPTIONS="-c cache_ext.redis_url=unix://$unix_sock" bench_psql -c "SELECT cache_ext.ping()" 2>/dev/null) == PONG ]]; then
		have_unix=t
	else
		say "bump_unix skipped: no Redis on a unix socket"
	fi
fi
trap 'bench_cleanup; [[ -z $unix_pid ]] || kill "$unix_pid" 2>/dev/null || true' EXIT
[[ $have_bump == t ]] || note "cache_ext.bump_version() missing: bump variants skipped"
[[ $have_async == t ]] || note "GUC cache_ext.delivery missing: bump_async skipped"

have_memcache=f
if bench_psql -c "CREATE EXTENSION IF NOT EXISTS pgmemcache" 2>/dev/null &&
	bench_memcached_start; then
	bench_psql <<SQL
ALTER DATABASE $PGDATABASE SET pgmemcache.default_servers = '127.0.0.1:$MEMCACHED_PORT';
CREATE FUNCTION bench_memcache() RETURNS trigger LANGUAGE plpgsql AS \$\$
BEGIN
  PERFORM memcache_incr('cache_user_version:' || NEW.uid);
  RETURN NULL;
END \$\$;
SQL
	# memcache_incr does not create a missing key (it warns): create them
	if [[ $(bench_psql -c "SELECT count(*) FILTER (WHERE memcache_set('cache_user_version:' || g, '0'))
			FROM generate_series(0, 999) g") == 1000 ]]; then
		have_memcache=t
	fi
fi
[[ $have_memcache == t ]] || note "pgmemcache/memcached unusable: memcache variant skipped"

# wait_server: after a backend crash, until the server accepts connections
wait_server() {
	local i
	for ((i = 0; i < 300; i++)); do
		bench_psql -c "SELECT 1" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	say "the server did not come back"
	return 1
}

# set_trigger VARIANT [TEMPLATE-COLUMN]: the one trigger of that variant
set_trigger() {
	local col=${2:-uid} sql="DROP TRIGGER IF EXISTS bench_trg ON pgbench_accounts;"
	case $1 in
	none) ;;
	floor) sql+="CREATE TRIGGER bench_trg BEFORE UPDATE ON pgbench_accounts FOR EACH ROW EXECUTE FUNCTION suppress_redundant_updates_trigger();" ;;
	bump_before_sync | bump_before_async | bump_before) sql+="CREATE TRIGGER bench_trg BEFORE UPDATE ON pgbench_accounts FOR EACH ROW EXECUTE FUNCTION cache_ext.bump_version('cache_user_version:{$col}');" ;;
	bump_sync | bump_async | bump_tls | bump_unix | bump_row) sql+="CREATE TRIGGER bench_trg AFTER UPDATE ON pgbench_accounts FOR EACH ROW EXECUTE FUNCTION cache_ext.bump_version('cache_user_version:{$col}');" ;;
	bump_stmt | bump_stmt_sync | bump_stmt_async) sql+="CREATE TRIGGER bench_trg AFTER UPDATE ON pgbench_accounts REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION cache_ext.bump_version('cache_user_version:{$col}');" ;;
	notify) sql+="CREATE TRIGGER bench_trg AFTER UPDATE ON pgbench_accounts FOR EACH ROW EXECUTE FUNCTION bench_notify();" ;;
	memcache) sql+="CREATE TRIGGER bench_trg AFTER UPDATE ON pgbench_accounts FOR EACH ROW EXECUTE FUNCTION bench_memcache();" ;;
	outbox) sql+="TRUNCATE cache_outbox; CREATE TRIGGER bench_trg AFTER UPDATE ON pgbench_accounts FOR EACH ROW EXECUTE FUNCTION bench_outbox();" ;;
	*) say "unknown variant $1"; return 1 ;;
	esac
	bench_psql -c "$sql"
}

script=$SANDBOX_DIR/bench_update.sql
printf '\\set aid random(1, %d)\nUPDATE pgbench_accounts SET abalance = abalance + 1 WHERE aid = :aid;\n' \
	"$ACCOUNTS" >"$script"

echo "bench_invalidation: scale $SCALE ($ACCOUNTS accounts, uid = aid % 1000), fsync on, parts: ${parts[*]}"
bench_machine

# ------------------------------------------------------------- part: tps
if want_part tps; then
	variants=(none floor)
	[[ $have_bump == t ]] && variants+=(bump_sync)
	[[ $have_bump == t && $have_async == t ]] && variants+=(bump_async)
	[[ $have_bump == t ]] && variants+=(bump_before_sync)
	[[ $have_bump == t && $have_async == t ]] && variants+=(bump_before_async)
	if [[ $have_bump == t ]] && set_trigger bump_stmt uid >/dev/null 2>&1; then
		variants+=(bump_stmt_sync)
		[[ $have_async == t ]] && variants+=(bump_stmt_async)
	fi
	[[ $have_bump == t && $have_tls == t ]] && variants+=(bump_tls)
	[[ $have_bump == t && $have_unix == t ]] && variants+=(bump_unix)
	variants+=(notify)
	[[ $have_memcache == t ]] && variants+=(memcache)
	variants+=(outbox)
	if [[ -n ${BENCH_VARIANTS:-} ]]; then
		read -r -a variants <<<"$BENCH_VARIANTS"
	fi
	runs=()
	for v in "${variants[@]}"; do
		runs+=("$v/on" "$v/off")
	done
	declare -A tps
	nr=${#runs[@]}
	say "tps: $ROUNDS rounds x $nr runs x ${SECS}s"
	for ((r = 0; r < ROUNDS; r++)); do
		for ((i = 0; i < nr; i++)); do
			run=${runs[$(((i + r * 3) % nr))]}
			v=${run%/*} sc=${run#*/}
			set_trigger "$v"
			pgopts="-c synchronous_commit=$sc"
			[[ $v == bump_*_async || $v == bump_async ]] && pgopts+=" -c cache_ext.delivery=async"
			[[ ($v == *_sync || $v == bump_tls || $v == bump_unix) && $have_async == t ]] && pgopts+=" -c cache_ext.delivery=sync"
			[[ $v == bump_unix ]] && pgopts+=" -c cache_ext.redis_url=unix://$unix_sock"
			[[ $v == bump_tls ]] && pgopts+=" -c cache_ext.redis_url=$REDIS_TLS_URL"
			bench_psql -c "CHECKPOINT"
			t=$(PGOPTIONS=$pgopts bench_pgbench_tps "$script" "$SECS" "$CLIENTS" -M prepared) || t=''
			tps[$run]+="$t "
			say "  round $((r + 1)) $run: $t tps"
		done
	done
	set_trigger none
	echo
	echo "TPS, pgbench -M prepared -c $CLIENTS, single-row UPDATE, ${SECS}s x $ROUNDS interleaved rounds (median; ratio to none at the same setting)"
	printf '%-18s %12s %8s %12s %8s\n' variant 'sc=on tps' ratio 'sc=off tps' ratio
	# shellcheck disable=SC2086 # word splitting wanted
	base_on=$(median ${tps[none/on]}) base_off=$(median ${tps[none/off]})
	for v in "${variants[@]}"; do
		# shellcheck disable=SC2086
		m_on=$(median ${tps[$v/on]}) m_off=$(median ${tps[$v/off]})
		printf '%-18s %12s %8s %12s %8s\n' "$v" "$m_on" "$(ratio "$m_on" "$base_on")" \
			"$m_off" "$(ratio "$m_off" "$base_off")"
	done
	if [[ -n ${tps[bump_tls/on]:-} && -n ${tps[bump_sync/on]:-} ]]; then
		# shellcheck disable=SC2086 # word splitting wanted
		echo "TLS / plain TCP (bump_tls / bump_sync, median TPS): sc=on $(ratio "$(median ${tps[bump_tls/on]})" "$(median ${tps[bump_sync/on]})")," \
			"sc=off $(ratio "$(median ${tps[bump_tls/off]})" "$(median ${tps[bump_sync/off]})") (1 = no cost; target >= 0.87, i.e. <= 15% more per commit)"
	fi
	# the same ratios paired by round (each variant against the "none" run
	# of its own round, then the median): less swayed by a slow stretch
	# of the machine that hits a few runs of one variant
	echo "paired: median of the per-round ratios to none [range] (95 % confidence interval of that median)"
	for v in "${variants[@]}"; do
		line=''
		for sc in on off; do
			read -r -a a <<<"${tps[$v/$sc]:-}"
			read -r -a b <<<"${tps[none/$sc]:-}"
			rs=()
			for ((k = 0; k < ${#a[@]} && k < ${#b[@]}; k++)); do
				[[ -n ${a[k]} && -n ${b[k]} ]] && rs+=("$(ratio "${a[k]}" "${b[k]}")")
			done
			# shellcheck disable=SC2046 # word splitting wanted
			line+=$(printf ' %8.3f [%s-%s] (%s-%s)' "$(median "${rs[@]}")" \
				$(printf '%s\n' "${rs[@]}" | sort -g | sed -n '1p;$p') \
				$(median_ci "${rs[@]}"))
		done
		printf '%-18s%s\n' "$v" "$line"
	done
	echo "raw TPS per round:"
	for run in "${runs[@]}"; do
		echo "  $run: ${tps[$run]}"
	done
fi

# ------------------------------------------------------------ part: bulk
if want_part bulk; then
	bulk=(none floor)
	if [[ $have_bump == t ]]; then
		bulk+=(bump_row:uid bump_row:uid10k bump_before:uid bump_before:uid10k)
		# does the statement form with transition tables work?
		if set_trigger bump_stmt uid 2>/dev/null &&
			bench_psql -c "BEGIN" -c "UPDATE pgbench_accounts SET abalance = abalance WHERE aid = 1" \
				-c "ROLLBACK" >/dev/null 2>&1; then
			bulk+=(bump_stmt:uid bump_stmt:uid10k)
		else
			note "bump_version refused the statement form: bulk statement variants skipped"
		fi
		set_trigger none
	fi
	declare -A bms effects
	say "bulk: $BULK_ROUNDS rounds x ${#bulk[@]} UPDATEs of $ACCOUNTS rows"
	bench_psql -c "UPDATE pgbench_accounts SET abalance = abalance + 1" -c "VACUUM pgbench_accounts"
	for ((r = 0; r < BULK_ROUNDS; r++)); do
		for ((i = 0; i < ${#bulk[@]}; i++)); do
			b=${bulk[$(((i + r) % ${#bulk[@]}))]}
			set_trigger "${b%%:*}" "${b#*:}"
			bench_psql -c "CHECKPOINT"
			[[ $have_bump == t ]] && bench_psql -c "SELECT cache_ext.reset_stats()" >/dev/null 2>&1
			t0=$(date +%s%N)
			if ! bench_psql -c "UPDATE pgbench_accounts SET abalance = abalance + 1"; then
				note "bulk $b: the UPDATE failed (see the server log above); not counted"
				wait_server
				continue
			fi
			t1=$(date +%s%N)
			bms[$b]+="$(((t1 - t0) / 1000000)) "
			# effects the UPDATE produced: one per distinct key, not per row
			if [[ $b == bump_* ]]; then
				effects[$b]=$(bench_psql -c "SELECT effects_committed FROM cache_ext.stats" 2>/dev/null || echo '?')
			fi
			say "  round $((r + 1)) $b: $(((t1 - t0) / 1000000)) ms"
			bench_psql -c "VACUUM pgbench_accounts"
		done
	done
	set_trigger none
	echo
	echo "1 UPDATE of all $ACCOUNTS rows (one transaction, COMMIT and delivery included), ms, median of $BULK_ROUNDS"
	printf '%-18s %10s %10s %9s\n' variant ms overhead effects
	# shellcheck disable=SC2086
	base=$(median ${bms[none]})
	for b in "${bulk[@]}"; do
		# shellcheck disable=SC2086
		m=$(median ${bms[$b]:-})
		printf '%-18s %10s %9s%% %9s\n' "$b" "${m:--}" "$(awk -v a="$m" -v b="$base" 'BEGIN { if (a == "" || b == "") print "n/a"; else printf "%+.1f", (a / b - 1) * 100 }')" "${effects[$b]:--}"
	done
	echo "  (bump_row:COL / bump_before:COL / bump_stmt:COL = AFTER row / BEFORE row / statement trigger"
	echo "   on template cache_user_version:{COL}; floor = BEFORE row suppress_redundant_updates_trigger();"
	echo "   uid: 1,000 distinct keys, uid10k: 10,000; effects = cache_ext.stats effects_committed of"
	echo "   the last such UPDATE: one INCR per distinct key and transaction)"
	echo "raw ms per round:"
	for b in "${bulk[@]}"; do
		echo "  $b: ${bms[$b]:-failed}"
	done
fi

# --------------------------------------------------------- part: latency
if want_part latency && [[ $have_bump == t ]]; then
	bench_psql <<'SQL'
CREATE TABLE IF NOT EXISTS bench_latency (mode text, us double precision, first_read boolean);
CREATE OR REPLACE PROCEDURE bench_latency_probe(mode text, n int, accounts int)
LANGUAGE plpgsql AS $$
DECLARE
  k int;
  key text;
  old bigint;
  v bigint;
  t0 timestamptz;
  reads int;
  us double precision[] := '{}';
  first boolean[] := '{}';
BEGIN
  FOR i IN 1 .. n LOOP
    PERFORM pg_sleep(random() * 0.01);
    k := 1 + (random() * (accounts - 1))::int;
    key := 'cache_user_version:' || (k % 1000);
    old := cache_ext.version(key);
    UPDATE pgbench_accounts SET abalance = abalance + 1 WHERE aid = k;
    COMMIT;
    t0 := clock_timestamp();
    reads := 0;
    LOOP
      reads := reads + 1;
      v := cache_ext.version(key);
      EXIT WHEN v IS DISTINCT FROM old OR clock_timestamp() - t0 > interval '2 s';
    END LOOP;
    IF v IS DISTINCT FROM old THEN
      us := us || extract(epoch FROM clock_timestamp() - t0) * 1e6;
      first := first || (reads = 1);
    END IF;
  END LOOP;
  INSERT INTO bench_latency SELECT mode, u, f FROM unnest(us, first) AS t(u, f);
  COMMIT;
END $$;
SQL
	modes=(sync)
	if [[ $have_async == t ]]; then
		for d in $LAT_DELAYS; do modes+=("async@${d}ms"); done
	fi
	set_trigger bump_row uid
	echo
	echo "commit-to-visible latency, $LAT_SAMPLES commits per mode and load (one row, one bump each;"
	echo "client: COMMIT returns -> cache_ext.version() shows the new value, one GET round trip included;"
	echo "server: cache_ext.stats latency_p50/p99 = commit -> Redis acknowledged, all sessions;"
	echo "busy: $((CLIENTS - 1)) pgbench clients run the same UPDATE with the same delivery meanwhile)"
	printf '%-16s %8s %5s %9s %9s %11s %13s %13s\n' mode/load samples lost 'p50 µs' 'p99 µs' 'first-read' 'server p50ms' 'server p99ms'
	for load in idle busy; do
		for m in "${modes[@]}"; do
			gucs="-c synchronous_commit=off"
			[[ $have_async == t ]] && gucs+=" -c cache_ext.delivery=${m%%@*}"
			if [[ $m == *@* ]]; then
				sb_pg_set "cache_ext.worker_batch_delay = '${m#*@}'"
				sleep 0.5 # the worker reloads on its SIGHUP
			fi
			bench_psql -c "SELECT cache_ext.reset_stats()" >/dev/null 2>&1 || true
			bg=''
			if [[ $load == busy ]]; then
				PGOPTIONS=$gucs timeout 600 pgbench -n -M prepared -c "$((CLIENTS - 1))" -j 1 -T 600 \
					-f "$script" >/dev/null 2>&1 &
				bg=$!
				sleep 1
			fi
			PGOPTIONS=$gucs bench_psql -c "CALL bench_latency_probe('$m/$load', $LAT_SAMPLES, $ACCOUNTS)"
			srv=$(bench_psql -F' ' -c "SELECT coalesce(round(latency_p50_ms::numeric, 3)::text, '-'),
				coalesce(round(latency_p99_ms::numeric, 3)::text, '-') FROM cache_ext.stats" 2>/dev/null || echo '- -')
			if [[ -n $bg ]]; then
				kill -INT "$bg" 2>/dev/null || true
				wait "$bg" 2>/dev/null || true
			fi
			row=$(bench_psql -F' ' -c "SELECT count(*), $LAT_SAMPLES - count(*),
				round(percentile_cont(0.5) WITHIN GROUP (ORDER BY us)::numeric, 0),
				round(percentile_cont(0.99) WITHIN GROUP (ORDER BY us)::numeric, 0),
				round(100.0 * count(*) FILTER (WHERE first_read) / greatest(count(*), 1), 1) || '%'
				FROM bench_latency WHERE mode = '$m/$load'")
			# shellcheck disable=SC2086 # word splitting wanted
			printf '%-16s %8s %5s %9s %9s %11s %13s %13s\n' "$m/$load" $row $srv
		done
	done
	set_trigger none
fi

if ((${#notes[@]})); then
	echo
	echo "notes:"
	printf '  - %s\n' "${notes[@]}"
fi
