#!/usr/bin/python3
"""test/recovery.py -- owns: measuring how long cache_ext takes to be whole
again after a Redis outage (issue 12, section 1).

One scenario per call (--scenario):
  stop      Redis SIGSTOPped for --down-ms, then SIGCONT ("frozen" server)
  pause     CLIENT PAUSE --down-ms ALL (Redis ends it itself)
  restart   Redis SIGKILLed, down for --down-ms, restarted empty on the
            same port (test/lib.sh: sb_redis_kill / sb_redis_start)

What happens, in real time (CLOCK_MONOTONIC):
  - one session ("loop") commits a bump of a new key every --interval-ms
    while Redis is down (each COMMIT's duration and WARNING are noted);
    the keys are new so that each is in Redis only once delivered (the
    worker coalesces bumps of one key);
  - at "back" (SIGCONT sent, the pause's end, the restarted server's first
    PONG) the same session commits a bump of key AFTER every 20 ms, until
    one COMMIT returns without a WARNING (it delivered synchronously), and
    then --after-commits more, each checked in Redis as soon as it returns;
  - meanwhile Redis is polled (2 ms) for the outage's bumps of OUT;
  - restart: cache_ext.stats.fallbacks is polled for the fallback
    invalidation owed to the new run_id, and a second session, in a 60 s
    cache_ext.reconnect_interval backoff since its own failed COMMIT during
    the outage, commits once the outage's bumps are in Redis: its bump must
    be in Redis when its COMMIT returns (it consults the shared health
    state, not its own clock).

Prints one line "recovery: {json}" with the figures (ms after "back"):
  out_ms       every bump committed during the outage is in Redis
  sync_ms      the first COMMIT of the loop session without a WARNING
                     returned (it had delivered synchronously)
  late_async   COMMITs started >= --sync-bound-ms after "back" that did not
                     deliver synchronously
  fallback_ms  (restart) the fallback invalidation completed
  backoff_ok   (restart) the 60 s-backoff session delivered synchronously
  down_commits, down_max_ms, down_timeouts   COMMITs during the outage,
                     the longest, and how many took > 150 ms (paid a
                     timeout instead of failing fast)
Runs inside test/sandbox.sh (PGHOST/PGPORT/REDIS_PORT/SANDBOX_DIR/
SANDBOX_LIB).  Only Debian's python3-psycopg2 and python3-redis.
"""

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import time

import psycopg2
import redis


def now():
    return time.monotonic()


def ms(t):
    return round(t * 1000.0, 1)


def args():
    p = argparse.ArgumentParser()
    p.add_argument("--scenario", choices=["stop", "pause", "restart"], required=True)
    p.add_argument("--down-ms", type=int, default=3000)
    p.add_argument("--interval-ms", type=int, default=100)
    p.add_argument("--sync-bound-ms", type=int, default=300)
    p.add_argument("--after-commits", type=int, default=10)
    p.add_argument("--timeout-s", type=float, default=15.0)
    return p.parse_args()


def redis_pid():
    with open(os.path.join(os.environ["SANDBOX_DIR"], "redis.pid")) as f:
        return int(f.read().strip())


def rclient():
    return redis.Redis(host=os.environ.get("REDIS_HOST", "127.0.0.1"),
                       port=int(os.environ["REDIS_PORT"]),
                       socket_timeout=0.5, socket_connect_timeout=0.5)


def rexists(r, keys):
    try:
        return r.exists(*keys)
    except (redis.RedisError, OSError):
        return -1


def rget(r, key):
    try:
        v = r.get(key)
    except (redis.RedisError, OSError):
        return "error"
    return None if v is None else int(v)


def lib(cmd):
    return subprocess.Popen(["bash", "-c", 'source "$SANDBOX_LIB"; ' + cmd],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


class Session:
    def __init__(self, *settings):
        self.conn = psycopg2.connect("", options=" ".join("-c " + s for s in settings))
        self.conn.autocommit = True
        self.cur = self.conn.cursor()

    def bump(self, key):
        """Commit a bump of key; (start, end, warned)."""
        del self.conn.notices[:]
        t0 = now()
        self.cur.execute("SELECT cache_ext.bump(%s)", (key,))
        t1 = now()
        warned = any("could not deliver" in n for n in self.conn.notices)
        return t0, t1, warned

    def one(self, sql):
        self.cur.execute(sql)
        return self.cur.fetchone()[0]


def main():
    a = args()
    tag = "%s%d" % (a.scenario, random.randrange(1 << 30))
    k_out, k_after, k_back = "rec:%s:out" % tag, "rec:%s:after" % tag, "rec:%s:back" % tag
    r = rclient()
    loop = Session()
    backoff = Session("cache_ext.reconnect_interval=60000")
    stats = Session()
    fig = {"scenario": a.scenario, "down_ms": a.down_ms}

    # healthy: every connection made, every key there
    for k in (k_out, k_after, k_back):
        loop.bump(k)
        backoff.bump(k)
    outs = []
    fallbacks0 = stats.one("SELECT fallbacks FROM cache_ext.stats")

    # down
    pid = redis_pid()
    t_down = now()
    if a.scenario == "stop":
        os.kill(pid, signal.SIGSTOP)
    elif a.scenario == "pause":
        r.execute_command("CLIENT", "PAUSE", str(a.down_ms), "ALL")
        t_down = now()
    else:
        lib("sb_redis_kill").wait()

    down_durations = []
    n_out = 0
    backoff_failed = False
    restarter = None
    try:
        while now() < t_down + a.down_ms / 1000.0:
            outs.append("%s:%d" % (k_out, n_out))
            t0, t1, warned = loop.bump(outs[-1])
            n_out += 1
            down_durations.append(t1 - t0)
            if a.scenario == "restart" and not backoff_failed and now() > t_down + 0.5:
                # its own failures: the first finds the connection lost, the
                # second is refused and starts a 60 s backoff
                backoff.bump(k_back)
                _, _, backoff_failed = backoff.bump(k_back)
            time.sleep(max(0.0, a.interval_ms / 1000.0 - (now() - t0)))
    finally:
        if a.scenario == "stop":
            os.kill(pid, signal.SIGCONT)
            t_back = now()
        elif a.scenario == "pause":
            t_back = t_down + a.down_ms / 1000.0
        else:
            restarter = lib("sb_redis_start")
            r = rclient()
            deadline = now() + 10
            while now() < deadline:
                try:
                    if r.ping():
                        break
                except (redis.RedisError, OSError):
                    time.sleep(0.002)
            t_back = now()

    fig["down_commits"] = n_out
    fig["down_max_ms"] = ms(max(down_durations)) if down_durations else None
    fig["down_timeouts"] = sum(1 for d in down_durations if d > 0.150)

    # back: poll Redis, commit in the loop session every 20 ms
    out_at = sync_at = fallback_at = None
    late_async = 0
    after_done = 0
    last_commit = 0.0
    deadline = t_back + a.timeout_s
    while now() < deadline:
        if out_at is None and rexists(r, outs) == len(outs):
            out_at = now()
        if a.scenario == "restart" and fallback_at is None:
            if stats.one("SELECT fallbacks FROM cache_ext.stats") > fallbacks0:
                fallback_at = now()
        if after_done < a.after_commits and now() - last_commit >= 0.020:
            before = rget(r, k_after)
            t0, t1, warned = loop.bump(k_after)
            last_commit = t0
            seen = rget(r, k_after)
            synced = not warned and isinstance(seen, int) and \
                (not isinstance(before, int) or seen > before)
            if synced and sync_at is None:
                sync_at = t1
            if sync_at is not None:
                after_done += 1
            if not synced and t0 - t_back >= a.sync_bound_ms / 1000.0:
                late_async += 1
        if out_at is not None and after_done >= a.after_commits and \
                (a.scenario != "restart" or fallback_at is not None):
            break
        time.sleep(0.002)

    fig["out_ms"] = ms(out_at - t_back) if out_at else None
    fig["sync_ms"] = ms(sync_at - t_back) if sync_at else None
    fig["late_async"] = late_async
    if a.scenario == "restart":
        fig["fallback_ms"] = ms(fallback_at - t_back) if fallback_at else None
        # the session in its 60 s backoff, once Redis is known to be back
        if backoff_failed and out_at is not None:
            before = rget(r, k_back)
            _, _, warned = backoff.bump(k_back)
            seen = rget(r, k_back)
            fig["backoff_ok"] = (not warned and isinstance(seen, int) and
                                 (not isinstance(before, int) or seen > before))
        else:
            fig["backoff_ok"] = None
    if restarter is not None:
        restarter.wait()
    print("recovery: " + json.dumps(fig))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
