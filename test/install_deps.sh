#!/usr/bin/env bash
# test/install_deps.sh — owns: installing the Debian packages that building and
# testing cache_ext need.  Idempotent: installs only what `dpkg -s` reports
# missing, with one `apt-get update` first.  Never starts system services
# (a temporary policy-rc.d forbids it while apt runs); the test sandbox never
# uses them or their default ports.
#
# usage: test/install_deps.sh [--bench] [EXTRA-PACKAGE...]
#   --bench   also the benchmark tools (memcached, pgmemcache, procps, ...)
set -euo pipefail

base=(
	postgresql-15 postgresql-server-dev-15 # server, client, contrib, PGXS
	libhiredis-dev redis-server redis-tools
	libssl-dev openssl python3 # TLS (rediss://); certificates and the hostile server of fault_tls.sh
	build-essential pkg-config
	procps util-linux passwd # pgrep/ps; runuser/setpriv/flock; useradd
	valgrind                 # test/fault_counters_valgrind.sh
	python3-psycopg2 python3-redis # stale-read checker, fuzzers (/usr/bin/python3)
)
bench=(memcached postgresql-15-pgmemcache procps libmemcached-tools)

want=("${base[@]}")
while (($#)); do
	case $1 in
	--bench) want+=("${bench[@]}") ;;
	-h | --help) sed -n '8,9s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"; exit 0 ;;
	-*) echo "install_deps: unknown option $1" >&2; exit 2 ;;
	*) want+=("$1") ;;
	esac
	shift
done

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
