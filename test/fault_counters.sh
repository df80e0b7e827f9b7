#!/usr/bin/env bash
# test/fault_counters.sh — owns: the counter guarantees that need process
# control or real concurrency (run inside test/sandbox.sh):
#   1. many sessions numbering at once, plus an application INCRing the same
#      Redis keys and inserting those numbers (pgbench, the unique index as
#      referee), year partitions independent;
#   2. Redis killed: inserts are still numbered (in PostgreSQL, serialized
#      per partition), and the Redis counter is raised once Redis is back;
#   3. Redis restarted without persistence: numbering resumes above the
#      table's max;
#   4. Redis frozen (SIGSTOP): numbering falls back after command_timeout;
#      Redis answering errors (OOM): likewise, with a WARNING;
#   5. gapless mode: many sessions committing and rolling back: 1..N.
# Every wait is a bounded poll; pgbench runs are bounded by transaction count
# and by `timeout`.
set -euo pipefail
# shellcheck source=test/lib.sh
source "$SANDBOX_LIB"
SB_SUITE=fault_counters

# The background worker that retries deliveries serves cache_ext.database
# (postgres by default), so the tables live there.
export PGDATABASE=postgres
work=$(mktemp -d "$SANDBOX_DIR/counters.XXXXXX")
chmod 755 "$work"


# wait_counter KEY VALUE: poll Redis (bounded) until KEY >= VALUE; echo it.
wait_counter() {
	local v i
	for ((i = 0; i < 300; i++)); do
		v=$(sb_redis GET "$1" 2>/dev/null || true)
		if [[ $v =~ ^-?[0-9]+$ ]] && ((v >= $2)); then
			echo "$v"
			return 0
		fi
		sleep 0.1
	done
	echo "${v:-none}"
}

# wait_redis_up: until the sandbox Redis answers PING (bounded).
wait_redis_up() {
	local i
	for ((i = 0; i < 100; i++)); do
		[[ $(sb_redis PING 2>/dev/null || true) == PONG ]] && return 0
		sleep 0.1
	done
	return 1
}

run_pgbench() {
	timeout 120 pgbench -n -j 2 "$@" >"$work/pgbench.out" 2>&1
}

q "CREATE EXTENSION IF NOT EXISTS cache_ext" >/dev/null
q "CREATE TABLE invoices (year int NOT NULL, invoice_no bigint, source text NOT NULL DEFAULT 'trigger',
	UNIQUE (year, invoice_no))" >/dev/null
q "CREATE TRIGGER number_invoices BEFORE INSERT OR UPDATE ON invoices FOR EACH ROW
	EXECUTE FUNCTION cache_ext.assign_number('invoice_no', 'invoice_seq:{year}')" >/dev/null

# ---------------------------------------------------------------------------
# 1. concurrency and interop
cat >"$work/trigger.sql" <<'SQL'
\set y random(2024, 2025)
INSERT INTO invoices (year) VALUES (:y);
SQL
# What the Django application does: INCR the counter itself, then save the
# invoice with that number.
cat >"$work/app.sql" <<'SQL'
\set y random(2024, 2025)
SELECT cache_ext.command('INCR', 'invoice_seq:' || :y) AS n \gset
INSERT INTO invoices (year, invoice_no, source) VALUES (:y, :n, 'app');
SQL
# An outside client INCRing the same key at the same time (numbers it takes
# and never uses are gaps, never duplicates).
(
	for ((i = 0; i < 3000; i++)); do echo "INCR invoice_seq:2024"; done |
		timeout 60 redis-cli -h 127.0.0.1 -p "$REDIS_PORT" >/dev/null 2>&1
) &
incr_pid=$!
rc=0
run_pgbench -c 8 -t 250 -f "$work/trigger.sql@3" -f "$work/app.sql@1" || rc=$?
wait "$incr_pid" || true
if ((rc == 0)); then
	ok "8 clients x 250 inserts (trigger and application INCR mixed): no error"
else
	fail "pgbench failed (exit $rc): $(tail -n 15 "$work/pgbench.out")"
fi
assert_eq "2000 2000" "$(q "SELECT count(*), count(DISTINCT (year, invoice_no)) FROM invoices" | tr '|' ' ')" \
	"every row numbered, all (year, number) distinct"
assert_eq "t" "$(q "SELECT count(*) = 2 AND bool_and(n > 0) FROM (SELECT year, count(*) n FROM invoices GROUP BY year) s")" \
	"both year partitions numbered"
max24=$(q "SELECT max(invoice_no) FROM invoices WHERE year = 2024")
assert_eq t "$(q "SELECT $(sb_redis GET invoice_seq:2024) >= $max24")" \
	"the Redis counter is at or above the table's max"

# ---------------------------------------------------------------------------
# 2. Redis killed: numbered in PostgreSQL, Redis raised once back
before=$(q "SELECT max(invoice_no) FROM invoices WHERE year = 2024")
sb_redis_kill
got=$(q "INSERT INTO invoices (year) VALUES (2024) RETURNING invoice_no")
assert_eq "$((before + 1))" "$got" "Redis down: the insert is numbered max + 1 in PostgreSQL"
rc=0
run_pgbench -c 4 -t 50 -f "$work/trigger.sql" || rc=$?
if ((rc == 0)); then
	ok "Redis down: 4 clients x 50 inserts, no error"
else
	fail "Redis down: pgbench failed (exit $rc): $(tail -n 15 "$work/pgbench.out")"
fi
assert_eq "2201 2201" "$(q "SELECT count(*), count(DISTINCT (year, invoice_no)) FROM invoices" | tr '|' ' ')" \
	"Redis down: all numbers distinct"
gaps=$(q "SELECT count(*) FROM invoices WHERE year = 2024 AND invoice_no > $before")
assert_eq "$((before + gaps))" "$(q "SELECT max(invoice_no) FROM invoices WHERE year = 2024")" \
	"Redis down: PostgreSQL allocates without gaps (max + 1 each time)"
max24=$(q "SELECT max(invoice_no) FROM invoices WHERE year = 2024")
max25=$(q "SELECT max(invoice_no) FROM invoices WHERE year = 2025")
sb_redis_start
wait_redis_up
assert_eq "$max24" "$(wait_counter invoice_seq:2024 "$max24")" \
	"Redis back: counter invoice_seq:2024 raised to the table's max"
assert_eq "$max25" "$(wait_counter invoice_seq:2025 "$max25")" \
	"Redis back: counter invoice_seq:2025 raised to the table's max"
# once Redis is reachable again (after the reconnect interval), it allocates
for ((i = 0; i < 50; i++)); do
	got=$(q "INSERT INTO invoices (year) VALUES (2025) RETURNING invoice_no")
	[[ $(sb_redis GET invoice_seq:2025) == "$got" ]] && break
	sleep 0.1
done
assert_eq "$got" "$(sb_redis GET invoice_seq:2025)" "Redis back: Redis allocates again"

# ---------------------------------------------------------------------------
# 3. Redis restarted without persistence: the counter is gone
max24=$(q "SELECT max(invoice_no) FROM invoices WHERE year = 2024")
sb_redis_kill
sb_redis_start
wait_redis_up
assert_eq "" "$(sb_redis GET invoice_seq:2024)" "restarted Redis has no counter"
for ((i = 0; i < 50; i++)); do
	got=$(q "INSERT INTO invoices (year) VALUES (2024) RETURNING invoice_no")
	[[ -n $(sb_redis GET invoice_seq:2024) ]] && break
	sleep 0.1
done
assert_eq t "$(q "SELECT $got > $max24")" "after a restart without persistence: number above the committed max"
assert_eq "$got" "$(sb_redis GET invoice_seq:2024)" "the counter is primed from the table again"

# ---------------------------------------------------------------------------
# 4. Redis frozen: the command times out, the number comes from PostgreSQL
sb_pg_set "cache_ext.command_timeout = 300"
max24=$(q "SELECT max(invoice_no) FROM invoices WHERE year = 2024")
sb_redis_stop
got=$(timeout 30 psql -X -q -At -c "INSERT INTO invoices (year) VALUES (2024) RETURNING invoice_no" \
	2>"$work/frozen.err" || echo failed)
sb_redis_cont
[[ $got == failed ]] && sed 's/^/  frozen insert: /' "$work/frozen.err" >&2
assert_eq "$((max24 + 1))" "$got" "Redis frozen: numbered max + 1 after the timeout"
if [[ $got =~ ^[0-9]+$ ]]; then
	assert_eq "$got" "$(wait_counter invoice_seq:2024 "$got")" "Redis thawed: counter raised"
else
	fail "Redis thawed: counter raised (the frozen insert gave no number)"
fi

# ---------------------------------------------------------------------------
# 4b. Redis answers with an error (here OOM: maxmemory reached with
#     noeviction): numbered in PostgreSQL, with a WARNING naming the reply
max24=$(q "SELECT max(invoice_no) FROM invoices WHERE year = 2024")
sb_redis CONFIG SET maxmemory-policy noeviction >/dev/null
sb_redis CONFIG SET maxmemory 1 >/dev/null
out=$(sb_psql -q -c "INSERT INTO invoices (year) VALUES (2024) RETURNING invoice_no" 2>&1 || true)
sb_redis CONFIG SET maxmemory 0 >/dev/null
assert_eq "$((max24 + 1))" "$(tail -n 1 <<<"$out")" "Redis refusing writes (OOM): numbered max + 1 in PostgreSQL"
assert_contains "numbering the row of public.invoices in PostgreSQL" "$out" "... with a WARNING naming the reply"
assert_eq "$((max24 + 1))" "$(wait_counter invoice_seq:2024 "$((max24 + 1))")" "Redis accepting writes again: counter raised"

# ---------------------------------------------------------------------------
# 5. gapless: many sessions, commits and rollbacks mixed
q "CREATE TABLE receipts (shop text NOT NULL, no int, UNIQUE (shop, no))" >/dev/null
q "CREATE TRIGGER number_receipts BEFORE INSERT OR UPDATE ON receipts FOR EACH ROW
	EXECUTE FUNCTION cache_ext.assign_number('no', 'receipt:{shop}', 'gapless')" >/dev/null
cat >"$work/gapless.sql" <<'SQL'
\set r random(0, 2)
\set s random(1, 2)
BEGIN;
INSERT INTO receipts (shop) VALUES ('shop' || :s);
\if :r = 0
ROLLBACK;
\else
COMMIT;
\endif
SQL
rc=0
run_pgbench -c 8 -t 100 -f "$work/gapless.sql" || rc=$?
if ((rc == 0)); then
	ok "gapless: 8 clients x 100 transactions, a third rolled back, no error"
else
	fail "gapless: pgbench failed (exit $rc): $(tail -n 15 "$work/pgbench.out")"
fi
assert_eq "shop1 true|shop2 true" \
	"$(q "SELECT shop || ' ' || (min(no) = 1 AND max(no) = count(*) AND count(DISTINCT no) = count(*))
		FROM receipts GROUP BY shop ORDER BY shop" | paste -sd '|')" \
	"gapless: committed numbers are exactly 1..N in each partition"
n1=$(q "SELECT count(*) FROM receipts WHERE shop = 'shop1'")
assert_eq "$n1" "$(wait_counter receipt:shop1 "$n1")" "gapless: Redis counter follows after commit"
# Redis plays no part in gapless allocation: down, numbering goes on
sb_redis_kill
got=$(q "INSERT INTO receipts (shop) VALUES ('shop1') RETURNING no")
assert_eq "$((n1 + 1))" "$got" "gapless with Redis down: next number"
sb_redis_start
wait_redis_up
assert_eq "$got" "$(wait_counter receipt:shop1 "$got")" "gapless: counter raised when Redis is back"

rm -rf "$work"
finish
