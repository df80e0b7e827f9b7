#!/usr/bin/python3
"""test/recovery_edges.py -- owns: the two edges of recovery that
test/fault_recovery_edges.sh checks (issue 12, section 1), each a mode:

  stale KIND N   one session commits a bump (its connection to Redis is
                 made and used), then Redis closes that connection (KIND
                 "kill": CLIENT KILL TYPE normal; "restart": SIGKILL and
                 restart on the same port, test/lib.sh), then, the
                 connection idle well under a second, the same session
                 commits again: that COMMIT must deliver synchronously
                 (no WARNING, the bump in Redis when COMMIT returns, no
                 effect handed to the queue).  N rounds.  Prints one line
                 "stale: {json}": rounds, lost (rounds that did not
                 deliver synchronously), idle_ms_max (the longest idle
                 time of the connection before the second COMMIT),
                 commit_ms_max (the longest second COMMIT).

  load SECONDS   the delivery worker's CPU (share of one core, from
                 /proc/PID/stat) and the commands Redis received per second
                 (INFO commandstats: calls + rejected + failed, our own INFO
                 calls left out) over SECONDS.  Prints "load: {json}":
                 cpu, commands_per_s (null when Redis did not answer INFO).

Runs inside test/sandbox.sh (PGHOST/PGPORT/REDIS_PORT/SANDBOX_LIB).  Only
Debian's python3-psycopg2 and python3-redis.
"""

import json
import os
import subprocess
import sys
import time

import psycopg2
import redis


def rclient():
    return redis.Redis(host=os.environ.get("REDIS_HOST", "127.0.0.1"),
                       port=int(os.environ["REDIS_PORT"]),
                       socket_timeout=2, socket_connect_timeout=2)


def wait_pong(r, secs=10.0):
    deadline = time.monotonic() + secs
    while time.monotonic() < deadline:
        try:
            if r.ping():
                return True
        except (redis.RedisError, OSError):
            time.sleep(0.005)
    return False


def stale(kind, rounds):
    conn = psycopg2.connect("")
    conn.autocommit = True
    cur = conn.cursor()
    r = rclient()

    def queued():
        cur.execute("SELECT effects_retry_queued FROM cache_ext.stats")
        return cur.fetchone()[0]

    fig = {"kind": kind, "rounds": rounds, "lost": 0,
           "idle_ms_max": 0.0, "commit_ms_max": 0.0}
    for i in range(rounds):
        key = "edge:stale:%s:%d:%d" % (kind, os.getpid(), i)
        cur.execute("SELECT cache_ext.bump(%s)", (key,))
        used = time.monotonic()
        first = int(r.get(key) or 0)
        if kind == "kill":
            r.execute_command("CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes")
        else:
            subprocess.run(["bash", "-c",
                            'source "$SANDBOX_LIB"; sb_redis_kill; sb_redis_start'],
                           check=True, stdout=subprocess.DEVNULL)
            r = rclient()
            wait_pong(r)
            first = 0           # restarted empty
        time.sleep(0.05)        # the close reaches this host's socket
        q0 = queued()
        del conn.notices[:]
        t0 = time.monotonic()
        cur.execute("SELECT cache_ext.bump(%s)", (key,))
        t1 = time.monotonic()
        seen = int(r.get(key) or 0)
        warned = [n.strip() for n in conn.notices if "WARNING" in n]
        q1 = queued()
        fig["idle_ms_max"] = max(fig["idle_ms_max"], round((t0 - used) * 1000, 1))
        fig["commit_ms_max"] = max(fig["commit_ms_max"], round((t1 - t0) * 1000, 1))
        if warned or seen <= first or q1 != q0:
            fig["lost"] += 1
            print("round %d: not delivered synchronously (Redis %d -> %d, "
                  "queued +%d, warnings %r)" % (i, first, seen, q1 - q0, warned),
                  file=sys.stderr)
    print("stale: " + json.dumps(fig))


def cpu_ticks(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])   # utime + stime


def commands(r):
    try:
        stats = r.info("commandstats")
    except (redis.RedisError, OSError):
        return None
    total = 0
    for name, s in stats.items():
        if name in ("cmdstat_info",):
            continue
        total += s.get("calls", 0) + s.get("rejected_calls", 0) + s.get("failed_calls", 0)
    return total


def load(secs):
    conn = psycopg2.connect("")
    cur = conn.cursor()
    cur.execute("SELECT pid FROM pg_stat_activity WHERE backend_type = 'cache_ext delivery'")
    pid = cur.fetchone()[0]
    conn.close()
    r = rclient()
    hz = os.sysconf("SC_CLK_TCK")
    c0, k0, t0 = commands(r), cpu_ticks(pid), time.monotonic()
    time.sleep(secs)
    c1, k1, t1 = commands(r), cpu_ticks(pid), time.monotonic()
    fig = {"cpu": round((k1 - k0) / hz / (t1 - t0), 3),
           "commands_per_s": None if c0 is None or c1 is None
           else round((c1 - c0) / (t1 - t0), 1)}
    print("load: " + json.dumps(fig))


def main():
    if sys.argv[1] == "stale":
        stale(sys.argv[2], int(sys.argv[3]))
    elif sys.argv[1] == "load":
        load(float(sys.argv[2]))
    else:
        sys.exit("usage: recovery_edges.py stale kill|restart N | load SECONDS")


if __name__ == "__main__":
    main()
