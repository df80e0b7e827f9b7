#!/usr/bin/env bash
# test/chroot.sh — owns: the Debian root file systems in which cache_ext is
# built and tested on PostgreSQL majors this machine's release does not ship
# (17: Debian trixie), and running one command inside such a root.
#
# usage: test/chroot.sh [--pg MAJOR] [--rebuild] [--] COMMAND [ARGS...]
#        test/chroot.sh [--pg MAJOR] [--rebuild] --build-only
#        test/chroot.sh [--pg MAJOR] --print-root
#
#   --pg MAJOR    PostgreSQL major (default 17; 17 -> Debian trixie)
#   --rebuild     build the root anew even when the cached one is sound
#   --build-only  make sure the root exists and is sound, run nothing
#   --print-root  print the root's directory (it may not exist yet)
#
# The root is made with debootstrap from the Debian archive this machine's
# apt sources name, with the packages test/install_deps.sh lists for that
# release (plus the user the sandbox runs servers as), and cached in
# ${CACHE_EXT_ROOT_CACHE:-/var/cache/cache_ext}/RELEASE-root.HASH, HASH
# being a content hash of the package list and of how the root is made: a
# changed list makes a new root, and older roots are removed.  A root that is
# missing, half built or fails its health check is built again.  Building
# takes an exclusive lock on the cache, running a shared one.
#
# COMMAND runs as root inside the root, in a copy of this checkout (tracked
# and untracked-but-not-ignored files) at /tmp/cache_ext, with PG_CONFIG set
# to the major's pg_config, a clean environment (PATH, HOME, LANG, CI, and
# every CACHE_EXT_*, SANDBOX_* and ISOLATION_OPTS variable passed through),
# and /proc, /dev (recursively: /dev/pts, /dev/shm) and a fresh tmpfs on /tmp
# mounted.  All mounts are made in a private mount namespace (unshare), so
# the host never sees them and they vanish with the last process in it; they
# are also unmounted explicitly, and every process left inside the root is
# killed, when COMMAND ends, fails or on INT/TERM.  Exit status: COMMAND's;
# 1 when the root cannot be built or entered.
# shellcheck disable=SC2317 # functions run from traps
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)

# Bumped when the way a root is made changes (not the package list: that is
# hashed itself), so that cached roots are rebuilt.
ROOT_FORMAT=1

say() { echo "chroot: $*" >&2; }

# CI may start us with standard input closed; the command gets /dev/null then.
{ : <&0; } 2>/dev/null || exec </dev/null
die() { say "$*"; exit 1; }

# ------------------------------------------------------------------ options
pg=17 rebuild=0 mode=run inside_ns=0 root_dir='' ns_file=''
while (($#)); do
	case $1 in
	--pg) pg=$2; shift ;;
	--rebuild) rebuild=1 ;;
	--build-only) mode=build ;;
	--print-root) mode=print ;;
	--in-namespace) inside_ns=1 ;; # internal: the half that runs after unshare
	--root-dir) root_dir=$2; shift ;; # internal: a root being built
	--ns-file) ns_file=$2; shift ;; # internal: where the namespace is noted
	--) shift; break ;;
	-h | --help) sed -n '6,14s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"; exit 0 ;;
	-*) die "unknown option $1" ;;
	*) break ;;
	esac
	shift
done
case $pg in
17) dist=trixie ;;
*) die "no root known for PostgreSQL $pg (known: 17); PostgreSQL 15 runs on this machine" ;;
esac
if [[ $mode == run ]] && (($# == 0)); then
	die "no command given (see --help)"
fi

cache=${CACHE_EXT_ROOT_CACHE:-/var/cache/cache_ext}
# shellcheck disable=SC1091
host_dist=$(. /etc/os-release 2>/dev/null && echo "${VERSION_CODENAME:-}")

# apt_sources: "URI SUITE" for every enabled binary source of this machine
# (one-line lists and deb822 .sources files).
apt_sources() {
	local f
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[[ -f $f ]] || continue
		awk '$1 == "deb" { i = 2; if ($2 ~ /^\[/) { while ($i !~ /\]$/) i++; i++ }
			print $i, $(i + 1) }' "$f"
	done
	for f in /etc/apt/sources.list.d/*.sources; do
		[[ -f $f ]] || continue
		awk 'BEGIN { RS = ""; FS = "\n" }
			{ uris = ""; suites = ""; types = ""; on = 1
			  for (i = 1; i <= NF; i++) {
				if ($i ~ /^URIs:/) { uris = $i; sub(/^URIs:[ \t]*/, "", uris) }
				else if ($i ~ /^Suites:/) { suites = $i; sub(/^Suites:[ \t]*/, "", suites) }
				else if ($i ~ /^Types:/) types = $i
				else if ($i ~ /^Enabled:[ \t]*no/) on = 0 }
			  if (on && types ~ /[: ]deb( |$)/) {
				n = split(uris, u, " "); m = split(suites, s, " ")
				for (a = 1; a <= n; a++) for (b = 1; b <= m; b++) print u[a], s[b] } }' "$f"
	done
}

# The target release's sources: every source of this machine whose suite is
# this release or one of its -updates/-security suites, renamed.
root_sources() {
	local uri suite
	while read -r uri suite; do
		case $suite in
		"$host_dist" | "$host_dist"-*) echo "deb $uri ${suite/#$host_dist/$dist} main" ;;
		esac
	done < <(apt_sources) | awk '!seen[$0]++'
}
sources=$(root_sources)
mirror=$(awk -v d="$dist" '$3 == d { print $2; exit }' <<<"$sources")
if [[ -z $mirror ]]; then
	mirror=http://deb.debian.org/debian
	sources="deb $mirror $dist main"
fi
packages=$(bash "$here/install_deps.sh" --dist "$dist" --list)
owner=cacheext # the user test/sandbox.sh runs servers as
# The apt settings of this machine that decide whether its archive is
# usable (a snapshot archive has expired Valid-Until dates).
apt_conf=$(apt-config dump 2>/dev/null | grep -E '^Acquire::Check-(Valid-Until|Date) ' || true)

hash=$(printf '%s\n' "format $ROOT_FORMAT" "$dist" "$sources" "$packages" "$owner" "$apt_conf" |
	sha256sum | cut -c1-12)
root=${root_dir:-$cache/$dist-root.$hash}
stamp=$root/.cache_ext-root

if [[ $mode == print ]]; then
	echo "$root"
	exit 0
fi
((EUID == 0)) || die "must run as root (debootstrap, chroot and mount need it)"

# ------------------------------------------------------ inside the namespace
# Runs after `unshare --mount --propagation private`: mounts made here are
# invisible outside and die with the namespace.
mounted=()
cmd_pid='' cmd_rc='' tearing=0

# root_pids DIR NS: the processes whose root directory is DIR and whose
# mount namespace is NS (a readlink of /proc/PID/ns/mnt): those of one run,
# not of another run using the same root at the same time.
root_pids() {
	local p
	for p in $(find /proc -mindepth 2 -maxdepth 2 -name root -lname "$1" 2>/dev/null |
		sed -n 's|^/proc/\([0-9]*\)/root$|\1|p' || true); do
		[[ $(readlink "/proc/$p/ns/mnt" 2>/dev/null) == "$2" ]] && echo "$p"
	done
	return 0
}

# kill_root_processes: every process of this namespace whose root directory
# is $root (the command and whatever it left running), TERM then KILL.
kill_root_processes() {
	local p pids=() round
	for round in TERM KILL; do
		mapfile -t pids < <(root_pids "$root" "$my_ns")
		((${#pids[@]})) || return 0
		[[ $round == TERM ]] && say "stopping ${#pids[@]} process(es) left inside the root"
		kill -CONT "${pids[@]}" 2>/dev/null || true
		kill "-$round" "${pids[@]}" 2>/dev/null || true
		for _ in $(seq 50); do
			local alive=0
			for p in "${pids[@]}"; do
				[[ -d /proc/$p ]] && ! grep -q '^State:.*Z' "/proc/$p/status" 2>/dev/null && alive=1
			done
			((alive)) || break
			sleep 0.1
		done
	done
}

unmount_all() {
	local i m
	for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do
		m=${mounted[i]}
		umount -R "$m" 2>/dev/null || umount -R -l "$m" 2>/dev/null ||
			say "could not unmount $m"
	done
	mounted=()
}

ns_teardown() {
	local rc=$?
	((tearing)) && return 0
	tearing=1
	set +eu
	trap '' INT TERM
	[[ -n $cmd_rc ]] && rc=$cmd_rc
	kill_root_processes
	unmount_all
	exit "$rc"
}

in_namespace() {
	my_ns=$(readlink /proc/self/ns/mnt)
	[[ -n $ns_file ]] && echo "$my_ns" >"$ns_file"
	trap ns_teardown EXIT
	# started in the background by a script, this shell ignores SIGINT and
	# cannot trap it: the outer half turns INT into TERM
	trap 'say "caught SIGTERM, tearing down"; cmd_rc=143; exit 143' TERM

	mount -t proc proc "$root/proc" && mounted+=("$root/proc")
	mount --rbind /dev "$root/dev" && mounted+=("$root/dev")
	mount --make-rslave "$root/dev"
	mount -t tmpfs -o mode=1777 tmpfs "$root/tmp" && mounted+=("$root/tmp")
	cp /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null || true

	if [[ $mode == build ]]; then
		cp "$here/install_deps.sh" "$root/tmp/install_deps.sh"
		chroot "$root" /usr/bin/env -i HOME=/root LANG=C.UTF-8 \
			PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
			bash /tmp/install_deps.sh --dist "$dist"
		exit 0
	fi

	# A copy of the checkout: the build inside must not mix its objects
	# with this machine's, and the copy goes away with the tmpfs.
	local src=$root/tmp/cache_ext f
	mkdir -p "$src"
	if git -C "$repo" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
		git -C "$repo" ls-files -z -c -o --exclude-standard |
			while IFS= read -r -d '' f; do
				[[ -e $repo/$f || -L $repo/$f ]] && printf '%s\0' "$f"
			done | tar -C "$repo" --null -T - -cf - | tar -C "$src" -xf -
	else
		tar -C "$repo" --exclude-vcs --exclude='*.o' --exclude='*.so' -cf - . |
			tar -C "$src" -xf -
	fi

	local -a env=(HOME=/root LANG=C.UTF-8 TERM="${TERM:-dumb}"
		PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
		PG_CONFIG="/usr/lib/postgresql/$pg/bin/pg_config" CACHE_EXT_CHROOT="$dist")
	[[ -n ${CI:-} ]] && env+=(CI="$CI")
	local v
	while IFS= read -r v; do
		env+=("$v=${!v}")
	done < <(compgen -e | grep -E '^(CACHE_EXT_|SANDBOX_|ISOLATION_OPTS$)' || true)

	# In the background so that INT/TERM reach our traps at once.
	chroot "$root" /usr/bin/env -i "${env[@]}" \
		bash -c 'cd /tmp/cache_ext && exec "$@"' bash "$@" <&0 &
	cmd_pid=$!
	local rc=0
	wait "$cmd_pid" || rc=$?
	cmd_pid=
	cmd_rc=$rc
	exit "$rc"
}

if ((inside_ns)); then
	in_namespace "$@"
fi

outer_teardown() {
	local p left=0 ns
	# The namespace's own teardown killed what was left inside; a command
	# that escaped it (the namespace killed with SIGKILL) is stopped here.
	ns=$(cat "$ns_file" 2>/dev/null || true)
	if [[ -n $ns ]]; then
		for p in $(root_pids "$root" "$ns"); do
			left=1
			kill -KILL "$p" 2>/dev/null || true
		done
	fi
	rm -f "$ns_file"
	((left)) && say "killed processes that were still inside $root"
	if findmnt -rn -o TARGET | grep -qF "$root/"; then
		say "mounts left below $root:"
		findmnt -rn -o TARGET | grep -F "$root/" >&2
	fi
}

# Traps from here on, so that INT or TERM during the preparation (health
# check, lock, build) ends the run too: without one, bash ignores a SIGINT
# that arrives while it waits for a child that did not get it.
child=''
on_outer_signal() {
	say "caught SIG$1, tearing down"
	if [[ -n $child ]]; then
		kill -TERM "$child" 2>/dev/null
		wait "$child" 2>/dev/null || true
	fi
	outer_teardown
	exit "$2"
}
trap 'on_outer_signal INT 130' INT
trap 'on_outer_signal TERM 143' TERM

# --------------------------------------------------------------- the cache
mkdir -p "$cache"
exec {lock_fd}>>"$cache/.lock"

# root_sound: the stamp names this root's hash and the tools answer.
root_sound() {
	[[ -f $stamp && $(cat "$stamp" 2>/dev/null) == "$hash" ]] || return 1
	chroot "$root" /usr/lib/postgresql/"$pg"/bin/postgres --version >/dev/null 2>&1 &&
		chroot "$root" /usr/lib/postgresql/"$pg"/bin/pg_config --pgxs >/dev/null 2>&1 &&
		chroot "$root" redis-server --version >/dev/null 2>&1 &&
		chroot "$root" gcc --version >/dev/null 2>&1 &&
		chroot "$root" getent passwd "$owner" >/dev/null 2>&1
}

# remove_tree DIR: rm -rf, refusing while anything is mounted below DIR.
remove_tree() {
	local d=$1
	[[ -d $d ]] || return 0
	if findmnt -rn -o TARGET | grep -qF "$d/"; then
		say "not removing $d: something is mounted below it"
		return 1
	fi
	rm -rf --one-file-system "$d"
}

build_root() {
	local tmp=$root.building t0=$SECONDS
	remove_tree "$tmp"
	remove_tree "$root"
	say "building the $dist root in $root (PostgreSQL $pg; mirror $mirror)"
	mkdir -p "$tmp"
	if ! debootstrap --variant=minbase --components=main "$dist" "$tmp" "$mirror" \
		>"$cache/debootstrap.log" 2>&1; then
		tail -n 30 "$cache/debootstrap.log" >&2
		die "debootstrap failed (log: $cache/debootstrap.log)"
	fi
	printf '%s\n' "$sources" >"$tmp/etc/apt/sources.list"
	if [[ -n $apt_conf ]]; then
		printf '%s\n' "$apt_conf" | sed 's/$/;/' >"$tmp/etc/apt/apt.conf.d/50cache-ext-host"
	fi
	# services never start inside the root
	printf '#!/bin/sh\n# cache_ext test/chroot.sh: no services in this root\nexit 101\n' \
		>"$tmp/usr/sbin/policy-rc.d"
	chmod 755 "$tmp/usr/sbin/policy-rc.d"
	# the packages, installed by the same script and list as on this machine
	if ! unshare --mount --propagation private -- \
		bash "${BASH_SOURCE[0]}" --pg "$pg" --build-only --in-namespace --root-dir "$tmp" \
		</dev/null >"$cache/install.log" 2>&1; then
		tail -n 30 "$cache/install.log" >&2
		die "installing packages into the $dist root failed (log: $cache/install.log)"
	fi
	chroot "$tmp" useradd --system --user-group --no-create-home --home-dir /nonexistent \
		--shell /usr/sbin/nologin "$owner"
	chroot "$tmp" apt-get clean
	echo "$hash" >"$tmp/.cache_ext-root"
	mv "$tmp" "$root"
	say "built $root in $((SECONDS - t0))s"
}

# Shared while the root is used: other runs may use it at the same time
# (each in its own namespace, with its own /tmp); exclusive to build or
# remove a root, which waits for the runs using one to end.
flock -s "$lock_fd"
if ((rebuild)) || ! root_sound; then
	flock -u "$lock_fd"
	if ! flock -xn "$lock_fd"; then
		say "waiting for other runs in $cache to end before building"
		flock -x "$lock_fd"
	fi
	if ((rebuild)) || ! root_sound; then
		build_root
		root_sound || die "the freshly built root at $root fails its health check"
	fi
	flock -s "$lock_fd"
fi
# older roots of this release (another package list or format), when no
# other run holds the cache
if flock -xn "$lock_fd"; then
	for d in "$cache/$dist-root."*; do
		[[ -d $d && $d != "$root" ]] || continue
		say "removing the outdated root $d"
		remove_tree "$d" || true
	done
	flock -s "$lock_fd"
fi

[[ $mode == build ]] && exit 0

# ----------------------------------------------------------------- the run
rc=0
# (without the lock: nothing left running inside may hold it)
ns_file=$(mktemp /tmp/cache_ext-chroot-ns.XXXXXX)
unshare --mount --propagation private -- \
	bash "${BASH_SOURCE[0]}" --pg "$pg" --in-namespace --ns-file "$ns_file" -- "$@" \
	<&0 {lock_fd}>&- &
child=$!
wait "$child" || rc=$?
child=
outer_teardown
exit "$rc"
