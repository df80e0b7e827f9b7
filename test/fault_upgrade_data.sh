#!/usr/bin/env bash
# test/fault_upgrade_data.sh — owns: what the update from 0.1.0 does with
# what an install of 0.1.0 holds (issue 9), beyond the catalog comparison
# of test/fault_upgrade.sh:
#   - 0.1.0's gapless counters (keyed by the rendered key alone) become one
#     row per table that numbers gaplessly, under the key prefix of the
#     session that updates; numbering goes on where it stopped (a deleted
#     last number is not handed out again), before the update (the new
#     library on 0.1.0's objects) and after it;
#   - a dump of a 0.1.0 database restores, its gapless counters honoured;
#   - an install of 0.1.0 in a schema cache_ext that an ordinary role had
#     created beforehand is not updated until a superuser owns the schema.
set -euo pipefail
source "$SANDBOX_LIB"
SB_SUITE=fault_upgrade_data

sb_psql -d postgres -c "DROP DATABASE IF EXISTS upg_data" >/dev/null
sb_psql -d postgres -c "CREATE DATABASE upg_data" >/dev/null
sb_psql -d upg_data -c "CREATE EXTENSION cache_ext VERSION '0.1.0'" >/dev/null
# What 0.1.0 left: numbered rows and its gapless counters (written here
# by hand, as 0.1.0 keyed them: by the rendered key alone).
sb_psql -d upg_data >/dev/null <<'SQL'
CREATE TABLE inv (year int, no int, UNIQUE (year, no));
INSERT INTO inv VALUES (2024, 1), (2024, 2), (2025, 1);
CREATE TRIGGER t BEFORE INSERT OR UPDATE ON inv FOR EACH ROW
	EXECUTE FUNCTION cache_ext.assign_number('no', 'inv:{year}', 'gapless');
CREATE TABLE parted (year int, no int, UNIQUE (year, no)) PARTITION BY LIST (year);
CREATE TABLE parted_2024 PARTITION OF parted FOR VALUES IN (2024);
INSERT INTO parted VALUES (2024, 1), (2024, 2);
CREATE TRIGGER t BEFORE INSERT OR UPDATE ON parted FOR EACH ROW
	EXECUTE FUNCTION cache_ext.assign_number('no', 'part:{year}', 'Gapless');
CREATE TABLE cached (year int, no int, UNIQUE (year, no));
CREATE TRIGGER t BEFORE INSERT OR UPDATE ON cached FOR EACH ROW
	EXECUTE FUNCTION cache_ext.assign_number('no', 'c:{year}');
INSERT INTO cached (year) VALUES (2024);
-- inv's number 3 was handed out, then its row deleted
INSERT INTO cache_ext.gapless_counters VALUES ('inv:2024', 3), ('inv:2025', 1), ('part:2024', 2);
SQL
# The server runs this library before ALTER EXTENSION UPDATE: gapless
# numbering goes on with 0.1.0's counters (inv's deleted 3 is not reused).
next=$(sb_psql -d upg_data -c "INSERT INTO inv (year) VALUES (2024) RETURNING no" | grep -E "^[0-9]+$" | head -n 1)
assert_eq "4" "$next" "before the update, gapless numbering goes on with 0.1.0's counters"

sb_psql -d upg_data -c "SET cache_ext.key_prefix = 'app:'; ALTER EXTENSION cache_ext UPDATE" >/dev/null
after=$(sb_psql -d upg_data -c "SELECT string_agg(tbl::text || '/' || prefix || '/' || key || '=' || value, ' ' ORDER BY tbl::text, key) FROM cache_ext.gapless_counters")
assert_eq "inv/app:/inv:2024=4 inv/app:/inv:2025=1 inv/app:/part:2024=2 parted/app:/inv:2024=4 parted/app:/inv:2025=1 parted/app:/part:2024=2" \
	"$after" "each gapless table gets the counters, under the updating session's key prefix; the cache-mode table none"

next=$(sb_psql -d upg_data -c "SET cache_ext.key_prefix = 'app:'; INSERT INTO inv (year) VALUES (2024) RETURNING no" | grep -E "^[0-9]+$" | head -n 1)
assert_eq "5" "$next" "gapless numbering goes on after the update"
next=$(sb_psql -d upg_data -c "SET cache_ext.key_prefix = 'app:'; INSERT INTO parted (year) VALUES (2024) RETURNING no" | grep -E "^[0-9]+$" | head -n 1)
assert_eq "3" "$next" "a partitioned table's gapless numbering goes on after the update"
next=$(sb_psql -d upg_data -c "SET cache_ext.key_prefix = 'app:'; INSERT INTO cached (year) VALUES (2024) RETURNING no" | grep -E "^[0-9]+$" | head -n 1)
assert_eq "2" "$next" "cache-mode numbering goes on after the update"
sb_psql -d upg_data -c "DROP TABLE inv" >/dev/null
left=$(sb_psql -d upg_data -c "SELECT string_agg(DISTINCT tbl::text, ' ') FROM cache_ext.gapless_counters")
assert_eq "parted" "$left" "a dropped table's gapless counters go with it"

# A dump of a 0.1.0 database restored into this version: 0.1.0's gapless
# counters (key and value only) load as rows of table 0, and a table's
# first number for a key counts from them (number 5 was handed out, its row
# deleted: it must not come back).
sb_psql -d postgres -c "DROP DATABASE IF EXISTS upg_dump_src" -c "DROP DATABASE IF EXISTS upg_dump_dst" >/dev/null
sb_psql -d postgres -c "CREATE DATABASE upg_dump_src" -c "CREATE DATABASE upg_dump_dst" >/dev/null
sb_psql -d upg_dump_src >/dev/null <<'SQL'
CREATE EXTENSION cache_ext VERSION '0.1.0';
CREATE TABLE d (year int, no int, UNIQUE (year, no));
INSERT INTO d VALUES (2024, 1), (2024, 2);
CREATE TRIGGER t BEFORE INSERT OR UPDATE ON d FOR EACH ROW
	EXECUTE FUNCTION cache_ext.assign_number('no', 'd:{year}', 'gapless');
INSERT INTO cache_ext.gapless_counters VALUES ('d:2024', 5);
SQL
"$PG_BINDIR/pg_dump" -d upg_dump_src -f "$SANDBOX_DIR/upg_dump_src.sql"
rc=0
out=$(sb_psql -q -d upg_dump_dst -f "$SANDBOX_DIR/upg_dump_src.sql" 2>&1) || rc=$?
assert_eq "0" "$rc" "a dump of 0.1.0 with gapless counters restores into this version${out:+ ($out)}"
next=$(sb_psql -d upg_dump_dst -c "INSERT INTO d (year) VALUES (2024) RETURNING no" | grep -E "^[0-9]+$" | head -n 1)
assert_eq "6" "$next" "after the restore, gapless numbering counts from 0.1.0's counter (5 is not handed out again)"

# A schema cache_ext prepared by an ordinary role before CREATE EXTENSION
# (0.1.0 accepted it).
sb_psql -d postgres -c "DROP DATABASE IF EXISTS upg_squat" >/dev/null
sb_psql -d postgres -c "DROP ROLE IF EXISTS upg_squatter" >/dev/null
sb_psql -d postgres -c "CREATE DATABASE upg_squat" >/dev/null
sb_psql -d upg_squat >/dev/null <<'SQL'
CREATE ROLE upg_squatter;
GRANT CREATE ON DATABASE upg_squat TO upg_squatter;
SET ROLE upg_squatter;
CREATE SCHEMA cache_ext;
RESET ROLE;
CREATE EXTENSION cache_ext VERSION '0.1.0';
SQL
rc=0
out=$(sb_psql -d upg_squat -c "ALTER EXTENSION cache_ext UPDATE" 2>&1) || rc=$?
if ((rc != 0)); then ok "update refused while an ordinary role owns schema cache_ext"; else fail "update of a squatted schema went through"; fi
assert_contains "schema cache_ext is owned by upg_squatter, who is not a superuser" "$out" "the refusal names the owner"
sb_psql -d upg_squat -c "ALTER SCHEMA cache_ext OWNER TO CURRENT_USER" >/dev/null
sb_psql -d upg_squat -c "GRANT CREATE ON SCHEMA cache_ext TO upg_squatter" >/dev/null
rc=0
out=$(sb_psql -d upg_squat -c "ALTER EXTENSION cache_ext UPDATE" 2>&1) || rc=$?
if ((rc != 0)); then ok "update refused while another role may create objects in schema cache_ext"; else fail "update went through with CREATE granted to another role"; fi
assert_contains "role upg_squatter may create objects in schema cache_ext" "$out" "the refusal names the role"
sb_psql -d upg_squat -c "REVOKE CREATE ON SCHEMA cache_ext FROM upg_squatter" >/dev/null
v=$(sb_psql -d upg_squat -c "ALTER EXTENSION cache_ext UPDATE; SELECT extversion FROM pg_extension WHERE extname = 'cache_ext'" | tail -n 1)
assert_eq "0.2.0" "$v" "updated once a superuser owns the schema and nobody else may create in it"
sb_psql -d postgres -c "DROP DATABASE upg_squat" >/dev/null
sb_psql -d postgres -c "DROP ROLE upg_squatter" >/dev/null
finish
