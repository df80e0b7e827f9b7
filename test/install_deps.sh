#!/usr/bin/env bash
# test/install_deps.sh — owns: the Debian packages that building, testing and
# packaging cache_ext need, one list per Debian release (the one place that
# says which; test/chroot.sh builds its root from the same list), and
# installing them.  Idempotent: installs only what `dpkg -s` reports missing,
# with one `apt-get update` first.  Never starts system services (a temporary
# policy-rc.d forbids it while apt runs); the test sandbox never uses them or
# their default ports.
#
# usage: test/install_deps.sh [--bench] [--dist CODENAME] [--list] [EXTRA-PACKAGE...]
#   --bench   also the benchmark tools (memcached, pgmemcache, procps, ...)
#   --dist    the Debian release to choose the list for (default: this one)
#   --list    print the chosen packages, one a line, and install nothing
set -euo pipefail

# One list per release, mapped to that release's names.  PostgreSQL: the
# release's own major (bookworm 15, trixie 17).
common=(
	libhiredis-dev redis-server redis-tools # hiredis 0.14 / 1.2; Redis 7.0 / 8.0
	build-essential pkg-config
	procps util-linux passwd iproute2 # pgrep/ps; runuser/setpriv/flock/unshare; useradd; ss
	debhelper dpkg-dev fakeroot postgresql-server-dev-all # test/package.sh: pg_buildext
	libssl-dev openssl python3 # TLS (rediss://); certificates and the hostile server of fault_tls.sh
	valgrind # test/fault_counters_valgrind.sh
	python3-psycopg2 python3-redis # stale-read checker, fuzzers (/usr/bin/python3)
)
declare -A dist_packages=(
	[bookworm]="postgresql-15 postgresql-server-dev-15 debootstrap" # debootstrap: test/chroot.sh
	[trixie]="postgresql-17 postgresql-server-dev-17"
)
declare -A dist_bench=(
	[bookworm]="memcached postgresql-15-pgmemcache libmemcached-tools"
	[trixie]="memcached postgresql-17-pgmemcache libmemcached-tools"
)

dist='' list=0 bench=0 extra=()
while (($#)); do
	case $1 in
	--bench) bench=1 ;;
	--list) list=1 ;;
	--dist) dist=$2; shift ;;
	-h | --help) sed -n '10,13s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"; exit 0 ;;
	-*) echo "install_deps: unknown option $1" >&2; exit 2 ;;
	*) extra+=("$1") ;;
	esac
	shift
done
if [[ -z $dist ]]; then
	dist=$(. /etc/os-release 2>/dev/null && echo "${VERSION_CODENAME:-}")
fi
if [[ -z ${dist_packages[$dist]+x} ]]; then
	echo "install_deps: no package list for Debian release '${dist:-unknown}'" \
		"(known: ${!dist_packages[*]}); using bookworm's" >&2
	dist=bookworm
fi

# shellcheck disable=SC2206 # the lists are word lists
want=("${common[@]}" ${dist_packages[$dist]})
# shellcheck disable=SC2206
((bench)) && want+=(${dist_bench[$dist]})
want+=("${extra[@]}")

if ((list)); then
	printf '%s\n' "${want[@]}"
	exit 0
fi

missing=()
for pkg in "${want[@]}"; do
	if ! dpkg -s "$pkg" 2>/dev/null | grep -q '^Status: install ok installed'; then
		case " ${missing[*]:-} " in *" $pkg "*) ;; *) missing+=("$pkg") ;; esac
	fi
done
((${#missing[@]})) || exit 0

sudo=()
if ((EUID != 0)); then
	command -v sudo >/dev/null || {
		echo "install_deps: not root and no sudo; install: ${missing[*]}" >&2
		exit 1
	}
	sudo=(sudo)
fi

echo "install_deps: installing ${missing[*]}" >&2

# Keep apt from starting redis/memcached/postgresql (exit 101 = forbidden).
policy=/usr/sbin/policy-rc.d
made_policy=0
cleanup() {
	if ((made_policy)); then "${sudo[@]}" rm -f "$policy"; fi
}
trap cleanup EXIT
if [[ ! -e $policy ]]; then
	printf '#!/bin/sh\n# temporary, from cache_ext test/install_deps.sh\nexit 101\n' |
		"${sudo[@]}" tee "$policy" >/dev/null
	"${sudo[@]}" chmod 755 "$policy"
	made_policy=1
fi

apt_opts=(-o DPkg::Lock::Timeout=600 -q)
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get "${apt_opts[@]}" update >&2
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get "${apt_opts[@]}" install -y \
	--no-install-recommends "${missing[@]}" >&2
echo "install_deps: done" >&2
