#!/usr/bin/env bash
# test/fault_delivery_memory.sh — owns: "a backend's memory is flat across
# many transactions that bump".
#
# One session runs DLV_MEM_TXNS (default 200,000) autocommit transactions
# that each bump a key (1,000 distinct keys), interleaved with large
# transactions (20,000 distinct keys), savepoint-heavy transactions and
# rolled-back ones, and compares the backend's memory-context total
# (pg_backend_memory_contexts) and its private RSS after a warm-up and at
# the end.  The memory contexts must grow by less than 256 kB (a leak of a
# few bytes per transaction would exceed it); private dirty memory, which
# also moves with malloc's own caching and copy-on-write of the
# postmaster's pages, by less than 16 MB (a leak of 80 bytes per
# transaction would exceed it).
set -euo pipefail
source "$SANDBOX_LIB"
SB_SUITE=fault_delivery_memory
N=${DLV_MEM_TXNS:-200000}

q "CREATE EXTENSION IF NOT EXISTS cache_ext" >/dev/null
sb_bind_debug_effect

f=$SANDBOX_DIR/mem.sql
{
	echo "SET client_min_messages = warning;"
	echo "\\o $SANDBOX_DIR/pid"
	echo "SELECT pg_backend_pid();"
	echo "\\o"
	for ((i = 0; i < 2000; i++)); do echo "SELECT eff('bump', 'dlv:m:$((i % 1000))');"; done
	echo "SELECT count(eff('bump', 'dlv:m:big:' || g)) FROM generate_series(1, 20000) g;"
	echo "BEGIN; SELECT eff('set', 'dlv:m:s', 'x'); SAVEPOINT a; SELECT eff('set', 'dlv:m:s', 'y'); ROLLBACK TO a; COMMIT;"
	echo "SELECT sum(total_bytes) AS m0 FROM pg_backend_memory_contexts \\gset"
	echo "\\! grep -E '^(Rss(Anon|File)|Private_Dirty)' /proc/\$(tr -dc 0-9 < $SANDBOX_DIR/pid)/smaps_rollup > $SANDBOX_DIR/rss0"
	for ((i = 0; i < N; i++)); do
		echo "SELECT eff('bump', 'dlv:m:$((i % 1000))');"
		if ((i % 20000 == 0)); then
			echo "SELECT count(eff('bump', 'dlv:m:big:' || g)) FROM generate_series(1, 20000) g;"
			echo "BEGIN; SELECT eff('set', 'dlv:m:s', 'x'); SAVEPOINT a; SELECT eff('set', 'dlv:m:s', 'y'); ROLLBACK TO a; COMMIT;"
			echo "BEGIN; SELECT eff('bump', 'dlv:m:rolledback'); ROLLBACK;"
			echo "DO \$\$ BEGIN FOR i IN 1..200 LOOP BEGIN PERFORM eff('bump', 'dlv:m:' || i); RAISE EXCEPTION 'x'; EXCEPTION WHEN OTHERS THEN NULL; END; END LOOP; END \$\$;"
		fi
	done
	echo "SELECT sum(total_bytes) AS m1 FROM pg_backend_memory_contexts \\gset"
	echo "\\! grep -E '^(Rss(Anon|File)|Private_Dirty)' /proc/\$(tr -dc 0-9 < $SANDBOX_DIR/pid)/smaps_rollup > $SANDBOX_DIR/rss1"
	echo "SELECT 'contexts', :m0, :m1, :m1 - :m0;"
	echo "SELECT 'pending', total_bytes FROM pg_backend_memory_contexts WHERE name = 'cache_ext pending effects';"
	echo "SELECT 'stats', effects_committed, effects_sent, commit_failures FROM cache_ext.stats;"
} >"$f"
t0=$(date +%s)
out=$(sb_psql -d postgres -f "$f" 2>&1 | grep -E '^(contexts|pending|stats)\|' || true)
t1=$(date +%s)
echo "$out"
echo "rss after warm-up: $(tr '\n' ' ' <"$SANDBOX_DIR/rss0")"
echo "rss at the end:    $(tr '\n' ' ' <"$SANDBOX_DIR/rss1")"
echo "($N transactions in $((t1 - t0)) s)"
growth=$(sed -n 's/^contexts|[0-9]*|[0-9]*|\(-\{0,1\}[0-9]*\)$/\1/p' <<<"$out")
[[ -n $growth ]] && ((growth < 262144)) &&
	ok "memory contexts grew by ${growth} bytes over $N transactions (< 256 kB)" ||
	fail "memory contexts growth over $N transactions: '${growth}'"
pending=$(sed -n 's/^pending|\([0-9]*\)$/\1/p' <<<"$out")
[[ -n $pending ]] && ((pending <= 16384)) &&
	ok "pending-set context back to ${pending} bytes after the run" ||
	fail "pending-set context after the run: '${pending}'"
anon0=$(awk '/^Private_Dirty/ {print $2}' "$SANDBOX_DIR/rss0")
anon1=$(awk '/^Private_Dirty/ {print $2}' "$SANDBOX_DIR/rss1")
if [[ -n $anon0 && -n $anon1 ]] && ((anon1 - anon0 < 16384)); then
	ok "private dirty memory grew by $((anon1 - anon0)) kB (< 16 MB)"
else
	fail "private dirty memory: ${anon0:-?} kB -> ${anon1:-?} kB"
fi
finish
