#!/usr/bin/env bash
# test/check_ports.sh — owns: "a port the harness picks can be listened on,
# and a test server that cannot start says so".
#
# The fault scripts start servers (Redis, sentinels, test/hostile_redis.py)
# on ports from sb__pick_port.  A port some outgoing connection uses as its
# local port is not listening, yet nobody can listen on it (EADDRINUSE): a
# sanitizer run once picked such a port in the kernel's ephemeral range,
# hostile_redis.py died on bind, and fault_counters_replies went on against
# nothing and failed three checks with "Connection refused".  Runs outside
# any sandbox; needs python3 and ss.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=test/lib.sh
source "$here/lib.sh"
SB_SUITE=check_ports
SANDBOX_DIR=$(mktemp -d /tmp/cache_ext-ports.XXXXXX)
holder=
cleanup() {
	[[ -n $holder ]] && kill "$holder" 2>/dev/null
	rm -rf "$SANDBOX_DIR"
	true
}
trap cleanup EXIT

# 1. Never a port of the kernel's ephemeral range, where any connection
#    may take it as its local port between the pick and the bind.
read -r eph_lo eph_hi </proc/sys/net/ipv4/ip_local_port_range
inside=0
for ((i = 0; i < 300; i++)); do
	p=$(sb__pick_port)
	((p >= eph_lo && p <= eph_hi)) && inside=$((inside + 1))
done
if ((eph_lo <= 21000 && eph_hi >= 64000)); then
	ok "ephemeral range $eph_lo-$eph_hi leaves no room outside it (not checked)"
else
	assert_eq 0 "$inside" "no picked port lies in the ephemeral range $eph_lo-$eph_hi (of 300)"
fi

# 2. A port held by a connected socket, with nothing listening on it, is
#    not free.
python3 - "$SANDBOX_DIR/held" <<'EOF' &
import os, socket, sys, time
lsock = socket.socket()
lsock.bind(("127.0.0.1", 0))
lsock.listen(1)
conn = socket.socket()
conn.connect(lsock.getsockname())
peer, _ = lsock.accept()
lsock.close()                    # only the two connected ends are left
with open(sys.argv[1] + ".tmp", "w") as f:
    f.write("%d\n" % conn.getsockname()[1])
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
time.sleep(60)
EOF
holder=$!
for ((i = 0; i < 100; i++)); do
	[[ -s $SANDBOX_DIR/held ]] && break
	sleep 0.05
done
held=$(cat "$SANDBOX_DIR/held")
if sb__port_free "$held"; then
	fail "a port held by a connected socket ($held) counts as free"
else
	ok "a port held by a connected socket ($held) is not free"
fi

# 3. sb_start_hostile on that port fails at once and says why, instead of
#    leaving the test to talk to nothing.
rc=0
start=$(now_ms)
out=$(sb_start_hostile "$held" nil 2>&1) || rc=$?
elapsed=$(($(now_ms) - start))
if ((rc != 0)) && [[ $out == *"did not start"* && $out == *"in use"* ]]; then
	ok "sb_start_hostile on a taken port fails, saying why"
else
	fail "sb_start_hostile on a taken port (exit $rc): $out"
fi
if ((elapsed < 15000)); then
	ok "... within 15 s (${elapsed} ms)"
else
	fail "... after ${elapsed} ms"
fi

# 4. On a picked port it starts, and answers.
port=$(sb__pick_port "$held")
if sb_start_hostile "$port" nil; then
	ok "sb_start_hostile on a picked port ($port) starts"
	if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
		ok "... and accepts a connection"
	else
		fail "... but refuses a connection"
	fi
	kill "$HOSTILE_PID" 2>/dev/null || true
else
	fail "sb_start_hostile on a picked port ($port)"
fi
finish
