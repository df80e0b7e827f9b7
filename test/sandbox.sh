#!/usr/bin/env bash
# test/sandbox.sh — owns: one throwaway PostgreSQL cluster + Redis server
# around one command.
#
# usage: test/sandbox.sh [--no-preload] [--no-build] [--from DIR] [--keep] [--tls] [--] COMMAND [ARGS...]
#
#   --no-preload  do not put cache_ext in shared_preload_libraries
#   --no-build    do not build the extension first (it is still installed)
#   --from DIR    install cache_ext from DIR, a tree of installed files (a
#                 .deb unpacked with dpkg -x), not from the checkout
#   --keep        keep the sandbox directory after teardown
#   --tls         Redis listens on a TLS port too (throwaway CA), and
#                 cache_ext.redis_url is rediss:// to it (REDIS_URL stays
#                 the plain one; REDIS_TLS_URL, REDIS_TLS_PORT,
#                 SANDBOX_TLS_DIR are exported)
#
# Environment read:  SANDBOX_SKIP_DEPS=1 (skip test/install_deps.sh),
#   SANDBOX_PG_CONF (extra postgresql.conf lines, appended last),
#   SANDBOX_LOCK_HELD (pid of a live process already holding the lock),
#   PG_CONFIG (default /usr/lib/postgresql/15/bin/pg_config, else the
#   pg_config on PATH; test/chroot.sh sets it for other majors),
#   CACHE_EXT_WERROR (default 1: build with -Werror, no warnings allowed),
#   CACHE_EXT_SANITIZE (e.g. address,undefined: build cache_ext with those
#   sanitizers and start PostgreSQL with their runtime preloaded; at
#   teardown, sanitizer reports in the server log are printed, and any that
#   mentions cache_ext or hiredis makes the exit status 86),
#   SANDBOX_ASAN_OPTIONS (ASAN_OPTIONS for the server, over the defaults of
#   test/sanitizer_shim.c), CACHE_EXT_SANITIZER_DIR (copy reports there).
# Environment given to COMMAND: SANDBOX_DIR PGHOST PGPORT PGUSER PGDATABASE
#   PGDATA PG_BINDIR PG_CONFIG REDIS_HOST REDIS_PORT REDIS_PID REDIS_URL REDIS_SOCKET
#   SANDBOX_LIB SANDBOX_OWNER SANDBOX_PRELOAD SANDBOX_LOCK_HELD
#   SANDBOX_SANITIZE SANDBOX_SAN_PRELOAD (sanitizer mode: the sanitizers, and
#   the LD_PRELOAD the server runs with); PATH starts with PG_BINDIR.
#
# The extension is installed into a private copy of the PostgreSQL tree inside
# the sandbox directory (never into the system directories), so sandboxes of
# different checkouts can run at once; SANDBOX_EXCLUSIVE=1 (benchmarks) takes
# an exclusive flock on /tmp/cache_ext-sandbox.lock for the whole run.
# Servers run as the user `cacheext` when started as
# root (created if missing), otherwise as the caller; they listen on random
# free loopback ports in 20000-40000 only.  Teardown (always: exit, error,
# INT, TERM) stops both servers and removes the directory.  Exit status is
# COMMAND's; setup failures exit 1.
# shellcheck disable=SC2317 # teardown/on_signal run from traps
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
# shellcheck source=test/lib.sh
source "$here/lib.sh"

usage() {
	sed -n 's/^# \{0,1\}//; 4,16p' "${BASH_SOURCE[0]}"
}

preload=1 build=1 keep=0 tls=0 from=
while (($#)); do
	case $1 in
	--no-preload) preload=0 ;;
	--tls) tls=1 ;;
	--no-build) build=0 ;;
	--keep) keep=1 ;;
	--from) from=$(cd "$2" && pwd); build=0; shift ;;
	--) shift; break ;;
	-h | --help) usage; exit 0 ;;
	-*) echo "sandbox: unknown option $1" >&2; usage >&2; exit 2 ;;
	*) break ;;
	esac
	shift
done
if (($# == 0)); then
	usage >&2
	exit 2
fi

say() { echo "sandbox: $*" >&2; }

# CI may start us with standard input closed; COMMAND gets /dev/null then.
{ : <&0; } 2>/dev/null || exec </dev/null

if [[ ${SANDBOX_SKIP_DEPS:-0} != 1 ]]; then
	bash "$here/install_deps.sh"
fi

if [[ -z ${PG_CONFIG:-} ]]; then
	if [[ -x /usr/lib/postgresql/15/bin/pg_config ]]; then
		PG_CONFIG=/usr/lib/postgresql/15/bin/pg_config
	else
		PG_CONFIG=pg_config
	fi
fi
export PG_CONFIG
PG_BINDIR=$("$PG_CONFIG" --bindir)
export PG_BINDIR

# ------------------------------------------------------------------ teardown
SANDBOX_DIR='' PGDATA='' cmd_pid='' cmd_rc='' tearing=0

teardown() {
	local rc=$? pid
	((tearing)) && return 0
	tearing=1
	set +eu
	trap '' INT TERM
	if [[ -n $cmd_pid ]] && sb__alive "$cmd_pid"; then
		say "stopping the command (pid $cmd_pid)"
		sb__kill_tree "$cmd_pid"
	fi
	[[ -n $cmd_rc ]] && rc=$cmd_rc
	if [[ -n $SANDBOX_DIR && -d $SANDBOX_DIR ]]; then
		if ((rc != 0)) && [[ -s $SANDBOX_DIR/postgres.log ]]; then
			echo "---- last 50 lines of $SANDBOX_DIR/postgres.log ----" >&2
			tail -n 50 "$SANDBOX_DIR/postgres.log" >&2
			echo "---- end of postgres.log ----" >&2
		fi
		if [[ -f $PGDATA/postmaster.pid ]]; then
			pid=$(head -n 1 "$PGDATA/postmaster.pid" 2>/dev/null)
			kill -CONT "$pid" 2>/dev/null
			sb__as_owner "$PG_BINDIR/pg_ctl" -D "$PGDATA" -m immediate -w -t 30 stop >/dev/null 2>&1
			if [[ -n $pid ]] && sb__alive "$pid"; then
				kill -KILL "$pid" 2>/dev/null
				sb__wait_gone "$pid" 10
			fi
		fi
		pid=$(sb__redis_pid)
		[[ -n $pid ]] && sb__stop_pid "$pid" 5
		if [[ -n ${SANDBOX_SANITIZE:-} ]]; then
			# after the server stopped, so that every report is complete
			sb__sanitizer_teardown
			((rc == 0 && san_bad)) && rc=86
		fi
		if ((keep)); then
			say "kept $SANDBOX_DIR"
		else
			rm -rf "$SANDBOX_DIR"
		fi
	fi
	exit "$rc"
}

on_signal() {
	say "caught SIG$1, tearing down"
	cmd_rc=$2
	exit "$2"
}

trap teardown EXIT
trap 'on_signal INT 130' INT
trap 'on_signal TERM 143' TERM

# ------------------------------------------------------------------- lock
# Sandboxes no longer share anything (each installs into its own tree,
# below), so they run side by side; benchmarks ask for the machine to
# themselves with SANDBOX_EXCLUSIVE=1.
if [[ ${SANDBOX_EXCLUSIVE:-0} == 1 ]]; then
	sb_lock
fi

# ------------------------------------------------------------- directories
if ((EUID == 0)); then
	SANDBOX_OWNER=cacheext
	if ! getent passwd "$SANDBOX_OWNER" >/dev/null; then
		useradd --system --user-group --no-create-home --home-dir /nonexistent \
			--shell /usr/sbin/nologin "$SANDBOX_OWNER" 2>/dev/null ||
			getent passwd "$SANDBOX_OWNER" >/dev/null
	fi
else
	SANDBOX_OWNER=$(id -un)
fi
export SANDBOX_OWNER

SANDBOX_DIR=$(mktemp -d /tmp/cache_ext-sb.XXXXXX)
PGDATA=$SANDBOX_DIR/data
PGHOST=$SANDBOX_DIR/sock
export SANDBOX_DIR PGDATA PGHOST
mkdir -p "$PGHOST" "$SANDBOX_DIR/redis"
: >"$SANDBOX_DIR/postgres.log"
: >"$SANDBOX_DIR/redis.log"
chmod 755 "$SANDBOX_DIR" "$PGHOST"
if ((EUID == 0)); then
	chown -R "$SANDBOX_OWNER:" "$SANDBOX_DIR"
fi

# ------------------------------------------------------- build and install
# The extension is installed into a private copy of the PostgreSQL tree
# ($SANDBOX_DIR/root), not into the system directories: PostgreSQL finds its
# share and lib directories relative to the postgres binary, so a copied
# binary next to symlinks of everything else loads this tree's cache_ext and
# nobody else's.  Several sandboxes can thus run at once, from different
# checkouts, and the system installation is never touched.
if ((build)); then
	if ! (cd "$repo" && { make -s clean >/dev/null 2>&1 || true; } &&
		CACHE_EXT_WERROR=${CACHE_EXT_WERROR:-1} make -s) >&2; then
		say "build of cache_ext failed"
		exit 1
	fi
fi
SANDBOX_ROOT=$SANDBOX_DIR/root
if [[ -n $from ]]; then
	mkdir -p "$SANDBOX_ROOT"
	cp -a "$from/." "$SANDBOX_ROOT/"
elif ! (cd "$repo" && make -s install DESTDIR="$SANDBOX_ROOT") >"$SANDBOX_DIR/install.log" 2>&1; then
	cat "$SANDBOX_DIR/install.log" >&2
	say "install of cache_ext into $SANDBOX_ROOT failed"
	exit 1
fi
sb__overlay() {
	local src=$1 dst=$2 entry name
	mkdir -p "$dst"
	for entry in "$src"/*; do
		name=${entry##*/}
		if [[ ! -e $dst/$name && ! -L $dst/$name ]]; then
			ln -s "$entry" "$dst/$name"
		elif [[ -d $dst/$name && ! -L $dst/$name && -d $entry ]]; then
			sb__overlay "$entry" "$dst/$name"
		fi
	done
}
sys_bindir=$PG_BINDIR
sys_pkglibdir=$("$PG_CONFIG" --pkglibdir)
sys_sharedir=$("$PG_CONFIG" --sharedir)
PG_BINDIR=$SANDBOX_ROOT$sys_bindir
mkdir -p "$PG_BINDIR"
# real copies: postgres computes its paths from its own location, and
# pg_ctl looks for postgres beside itself (after resolving symlinks)
cp "$sys_bindir/postgres" "$sys_bindir/pg_ctl" "$PG_BINDIR/"
sb__overlay "$sys_bindir" "$PG_BINDIR"
sb__overlay "$sys_pkglibdir" "$SANDBOX_ROOT$sys_pkglibdir"
sb__overlay "$sys_sharedir" "$SANDBOX_ROOT$sys_sharedir"
export PG_BINDIR SANDBOX_ROOT
if ((EUID == 0)); then
	chown -R "$SANDBOX_OWNER:" "$SANDBOX_ROOT"
fi

# ------------------------------------------------------------- sanitizers
# CACHE_EXT_SANITIZE: the build above instrumented cache_ext (the Makefile
# reads the variable); PostgreSQL is not instrumented, so the runtime must be
# preloaded into it, behind test/sanitizer_shim.c (why: see that file).
SANDBOX_SANITIZE=${CACHE_EXT_SANITIZE:-}
SANDBOX_SAN_PRELOAD=
san_bad=0
if [[ -n $SANDBOX_SANITIZE ]]; then
	if ! gcc -shared -fPIC -O2 -o "$SANDBOX_DIR/sanitizer_shim.so" \
		"$here/sanitizer_shim.c" >&2; then
		say "could not build test/sanitizer_shim.c"
		exit 1
	fi
	SANDBOX_SAN_PRELOAD=$SANDBOX_DIR/sanitizer_shim.so
	IFS=, read -ra sans <<<"$SANDBOX_SANITIZE"
	for s in "${sans[@]}"; do
		case $s in
		address) lib=libasan.so ;;
		undefined) lib=libubsan.so ;;
		*) lib= ;;
		esac
		[[ -n $lib ]] || continue
		lib=$(readlink -f "$(gcc -print-file-name="$lib")")
		if [[ ! -f $lib ]]; then
			say "sanitizer runtime for $s not found"
			exit 1
		fi
		SANDBOX_SAN_PRELOAD+=" $lib"
	done
	say "sanitizers: $SANDBOX_SANITIZE (server preload: $SANDBOX_SAN_PRELOAD)"
fi
export SANDBOX_SANITIZE SANDBOX_SAN_PRELOAD

# sb__sanitizer_teardown: print the server log's sanitizer reports, copy them
# to CACHE_EXT_SANITIZER_DIR, and set san_bad when one mentions cache_ext or
# hiredis (reports about PostgreSQL alone are shown, not counted).
sb__sanitizer_teardown() {
	local reports=$SANDBOX_DIR/sanitizer-reports.txt n bad
	read -r n bad < <(sb__sanitizer_scan "$SANDBOX_DIR/postgres.log" "$reports")
	((n)) || return 0
	say "$n sanitizer report(s) in the server log, $bad mentioning cache_ext or hiredis:"
	cat "$reports" >&2
	if [[ -n ${CACHE_EXT_SANITIZER_DIR:-} ]]; then
		mkdir -p "$CACHE_EXT_SANITIZER_DIR"
		cp "$reports" "$CACHE_EXT_SANITIZER_DIR/$(basename "$SANDBOX_DIR").txt"
	fi
	((bad == 0)) || san_bad=1
}

# -------------------------------------------------------------------- Redis
REDIS_HOST=127.0.0.1
export REDIS_HOST
if ((tls)); then
	SANDBOX_TLS_DIR=$SANDBOX_DIR/tls
	export SANDBOX_TLS_DIR
	if ! sb_tls_make_certs "$SANDBOX_TLS_DIR"; then
		say "openssl could not make the TLS certificates"
		exit 1
	fi
fi
for attempt in 1 2 3; do
	REDIS_PORT=$(sb__pick_port)
	export REDIS_PORT
	if ((tls)); then
		REDIS_TLS_PORT=$(sb__pick_port "$REDIS_PORT")
		REDIS_TLS_URL=rediss://127.0.0.1:$REDIS_TLS_PORT/0
		export REDIS_TLS_PORT REDIS_TLS_URL
	fi
	if sb__redis_launch --die-with-parent; then
		break
	fi
	sb__stop_pid "$(sb__redis_pid)" 2
	if ((attempt == 3)); then
		say "could not start redis-server"
		exit 1
	fi
done
REDIS_URL=redis://127.0.0.1:$REDIS_PORT/0
REDIS_SOCKET=$SANDBOX_DIR/redis/redis.sock
export REDIS_URL REDIS_SOCKET

# --------------------------------------------------------------- PostgreSQL
if ! sb__as_owner "$PG_BINDIR/initdb" -D "$PGDATA" --auth=trust \
	--username="$SANDBOX_OWNER" -E UTF8 --locale=C --no-sync \
	>"$SANDBOX_DIR/initdb.log" 2>&1; then
	cat "$SANDBOX_DIR/initdb.log" >&2
	say "initdb failed"
	exit 1
fi

{
	echo "# ---- test/sandbox.sh ----"
	echo "listen_addresses = '127.0.0.1'"
	echo "port = 5432 # sandbox port"
	echo "unix_socket_directories = '$PGHOST'"
	echo "max_connections = 100"
	echo "max_prepared_transactions = 10"
	echo "log_min_messages = warning"
	echo "logging_collector = off"
	echo "fsync = off"
	if ((preload)); then
		echo "shared_preload_libraries = 'cache_ext'"
	fi
	if ((tls)); then
		echo "cache_ext.redis_url = '$REDIS_TLS_URL'"
		echo "cache_ext.tls_ca_file = '$SANDBOX_TLS_DIR/ca.crt'"
	else
		echo "cache_ext.redis_url = '$REDIS_URL'"
	fi
	if [[ -n ${SANDBOX_PG_CONF:-} ]]; then
		echo "# ---- SANDBOX_PG_CONF ----"
		printf '%s\n' "$SANDBOX_PG_CONF"
	fi
} >>"$PGDATA/postgresql.conf"

for attempt in 1 2 3; do
	PGPORT=$(sb__pick_port "$REDIS_PORT")
	export PGPORT
	# rewrite in place (keeps the file's owner and mode)
	conf=$(sed "s/^port = [0-9]* # sandbox port\$/port = $PGPORT # sandbox port/" "$PGDATA/postgresql.conf")
	printf '%s\n' "$conf" >"$PGDATA/postgresql.conf"
	log_lines=$(wc -l <"$SANDBOX_DIR/postgres.log")
	if sb_pg_ctl -w -t 60 start >/dev/null 2>&1; then
		break
	fi
	if ((attempt < 3)) && tail -n +"$((log_lines + 1))" "$SANDBOX_DIR/postgres.log" |
		grep -q 'Address already in use'; then
		say "port $PGPORT was taken, retrying"
		continue
	fi
	cmd_rc=1
	say "PostgreSQL failed to start (its log follows)"
	exit 1
done

PGUSER=$SANDBOX_OWNER
PGDATABASE=postgres
SANDBOX_LIB=$here/lib.sh
SANDBOX_PRELOAD=$preload
PATH=$PG_BINDIR:$PATH
export PGUSER PGDATABASE SANDBOX_LIB SANDBOX_PRELOAD PATH
unset PGHOSTADDR PGSERVICE PGSERVICEFILE PGPASSWORD PGPASSFILE PGOPTIONS PGSSLMODE

say "dir $SANDBOX_DIR (owner $SANDBOX_OWNER)"
say "postgres $("$PG_BINDIR/postgres" -V | awk '{print $3}') port $PGPORT socket $PGHOST" \
	"preload=$( ((preload)) && echo cache_ext || echo none)"
say "redis $REDIS_URL${REDIS_TLS_URL:+ and $REDIS_TLS_URL} pid $REDIS_PID"

# ------------------------------------------------------------------ command
# In the background so that INT/TERM reach our trap at once; stdin kept; the
# SIGINT/SIGQUIT that bash ignores for background jobs restored.
defsig=()
if env --default-signal=INT true 2>/dev/null; then
	defsig=(env '--default-signal=INT,QUIT' --)
fi
(
	if [[ -n ${SB_LOCK_FD:-} ]]; then exec {SB_LOCK_FD}>&-; fi
	exec "${defsig[@]}" "$@"
) <&0 &
cmd_pid=$!
rc=0
wait "$cmd_pid" || rc=$?
cmd_pid=
cmd_rc=$rc
exit "$rc"
