#!/usr/bin/env bash
# test/check_chroot.sh — owns: "running a command in a test/chroot.sh root
# leaves nothing behind": no mount (findmnt) and no process inside the root
# once the command has ended, failed, or chroot.sh was interrupted (INT) or
# terminated (TERM), even when the command left a process running; and the
# command's exit status comes back.  Run by test/run_tests.sh --pg MAJOR
# before the suite, on this machine (as root).
#
# usage: test/check_chroot.sh [--pg MAJOR]
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=test/lib.sh
source "$here/lib.sh"
SB_SUITE=check_chroot

pg=17
[[ ${1:-} == --pg ]] && pg=$2
chroot_sh=(bash "$here/chroot.sh" --pg "$pg")
root=$("${chroot_sh[@]}" --print-root)
"${chroot_sh[@]}" --build-only

# inside: pids of this check's processes whose root directory is the
# chroot (chroot.sh passes CACHE_EXT_* variables in: the marker tells ours
# from those of another run using the same root)
export CACHE_EXT_CHECK_CHROOT_RUN=check_chroot-$$-$RANDOM
inside() {
	local p
	for p in $(find /proc -mindepth 2 -maxdepth 2 -name root -lname "$root" 2>/dev/null |
		sed -n 's|^/proc/\([0-9]*\)/root$|\1|p' || true); do
		tr '\0' '\n' <"/proc/$p/environ" 2>/dev/null |
			grep -qx "CACHE_EXT_CHECK_CHROOT_RUN=$CACHE_EXT_CHECK_CHROOT_RUN" && echo "$p"
	done
	return 0
}
# started: the command (sleep) runs inside the root (not merely a health
# check of chroot.sh's)
started() {
	local p
	for p in $(inside); do
		[[ $(cat "/proc/$p/comm" 2>/dev/null) == sleep ]] && return 0
	done
	return 1
}
mounts_below() { findmnt -rn -o TARGET | grep -F "$root/" || true; }

# Whatever a failed check left running inside the root goes with us (it
# could hold our caller's output pipe open).
trap 'for p in $(inside); do kill -KILL "$p" 2>/dev/null; done' EXIT

# clean WHAT: nothing mounted below the root and no process inside it.
clean() {
	local m p
	m=$(mounts_below)
	p=$(inside)
	assert_eq "" "$m" "$1: nothing mounted below the root (findmnt)"
	assert_eq "" "$p" "$1: no process left inside the root"
}

rc=0
"${chroot_sh[@]}" -- true || rc=$?
assert_eq 0 "$rc" "a command that succeeds: exit 0"
clean "success"

rc=0
"${chroot_sh[@]}" -- sh -c 'exit 3' || rc=$?
assert_eq 3 "$rc" "a command that fails: its exit status"
clean "failure"

seen=$("${chroot_sh[@]}" -- sh -c 'findmnt -rn -o TARGET | sort -u | tr "\n" " "')
for m in /proc /dev /dev/pts /dev/shm /tmp; do
	assert_contains " $m " " $seen" "$m is mounted inside"
done
assert_eq "/tmp/cache_ext" "$("${chroot_sh[@]}" -- pwd)" "the command runs in the copy of the checkout"

rc=0
"${chroot_sh[@]}" -- sh -c 'sleep 600 >/dev/null 2>&1 & exit 0' || rc=$?
assert_eq 0 "$rc" "a command leaving a process behind: exit 0"
clean "a process left behind"

# signal SIG RC: chroot.sh interrupted while its command runs.
signal() {
	local sig=$1 want=$2 pid i rc=0
	env --default-signal=INT,QUIT "${chroot_sh[@]}" -- sleep 600 >"$log" 2>&1 &
	pid=$!
	for ((i = 0; i < 600; i++)); do
		started && break
		sleep 0.1
	done
	if ! started; then
		fail "SIG$sig: the command did not start inside the root within 60 s:"
		cat "$log"
	fi
	kill "-$sig" "$pid"
	for ((i = 0; i < 600; i++)); do
		sb__alive "$pid" || break
		sleep 0.1
	done
	if sb__alive "$pid"; then
		fail "SIG$sig: chroot.sh still running 60 s later"
		kill -KILL "$pid" 2>/dev/null || true
	fi
	wait "$pid" || rc=$?
	assert_eq "$want" "$rc" "SIG$sig: chroot.sh exits $want"
	sed 's/^/    /' "$log"
	clean "SIG$sig"
}
log=$(mktemp /tmp/cache_ext-check_chroot.XXXXXX)
trap 'for p in $(inside); do kill -KILL "$p" 2>/dev/null; done; rm -f "$log"' EXIT
signal INT 130
signal TERM 143

finish
