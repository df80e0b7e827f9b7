#!/usr/bin/python3
"""test/stale_reads.py -- owns: the stale-read checker.

Writers UPDATE rows of a table with a cache_ext.bump_version() trigger;
readers follow the protocol the README documents for applications (read the
version key, read cache:{user}:v{version}, on a miss read the row from
PostgreSQL and store it under that version).  Every operation's real-time
start and end are recorded (CLOCK_MONOTONIC, shared by the processes).  A
read is *stale* when it started after the COMMIT of a write of the same user
had returned and still returned an older value.  Each row's value only grows
(every write is val = val + 1), so "older" is "smaller".

Modes:
  healthy  sync delivery, Redis healthy: no stale read is allowed.
  pause    sync delivery; Redis is paused (SIGSTOP/SIGCONT, or CLIENT PAUSE)
           --pauses times for --pause-ms each.  A stale read is allowed only
           if it started during a pause or at most --bound-ms after Redis
           resumed (the recovery bound); any other is a failure.
  async    writers use cache_ext.delivery = async: a stale read is allowed
           when it started at most --async-bound-ms after the COMMIT that
           made it stale returned.

Runs inside test/sandbox.sh (PGHOST/PGPORT/REDIS_PORT/SANDBOX_DIR from its
environment) after test/fault_stale_reads.sh created the table; or by hand
with --setup.  Prints the seed and every parameter first; the seed fixes the
choice of users, the think times and the pause schedule (not the
interleaving the scheduler makes of them), so a run is repeated with the
printed command line.  Exit status 0 when no read broke its mode's bound.
Only Debian's python3-psycopg2 and python3-redis are needed.
"""

import argparse
import bisect
import json
import os
import random
import shlex
import signal
import sys
import tempfile
import time
import multiprocessing as mp

import psycopg2
import redis

TABLE = "stale_rows"

# The README's version script: a missing version key is created from the
# Redis clock (as cache_ext's own bump does), never from 0 or 1.
VERSION_LUA = """
local v = redis.call('GET', KEYS[1])
if v then return v end
local t = redis.call('TIME')
redis.call('SET', KEYS[1], t[1] .. string.format('%06d', tonumber(t[2])), 'NX')
return redis.call('GET', KEYS[1])
"""


def now():
    return time.clock_gettime(time.CLOCK_MONOTONIC)


def parse_args(argv):
    p = argparse.ArgumentParser(
        description="Check that readers following the versioned-key protocol "
        "never see a value older than a committed write.")
    p.add_argument("--mode", choices=["healthy", "pause", "async"], required=True)
    p.add_argument("--seed", type=int, default=None,
                   help="random seed (default: from the clock; printed)")
    p.add_argument("--duration", type=float, default=20.0, help="seconds of load")
    p.add_argument("--long", action="store_true",
                   help="a long run: --duration 600 unless given, 10 pauses")
    p.add_argument("--users", type=int, default=8,
                   help="users written per time slot (see slots)")
    p.add_argument("--writers", type=int, default=2)
    p.add_argument("--readers", type=int, default=4)
    p.add_argument("--write-think-ms", type=float, default=5.0,
                   help="mean pause between two writes of one writer")
    p.add_argument("--read-think-ms", type=float, default=0.5,
                   help="mean pause between two reads of one reader")
    p.add_argument("--pauses", type=int, default=3)
    p.add_argument("--pause-ms", type=int, default=2000,
                   help="mean length of a pause; each is drawn from 0.5-1.5 times it")
    p.add_argument("--pause-method", choices=["stop", "client-pause"], default="stop",
                   help="SIGSTOP/SIGCONT the server, or CLIENT PAUSE ... ALL")
    p.add_argument("--bound-ms", type=float, default=500.0,
                   help="pause mode: how long after Redis resumed a stale read "
                   "is still allowed")
    p.add_argument("--async-bound-ms", type=float, default=1000.0,
                   help="async mode: how long after a COMMIT returned a read may "
                   "still miss it")
    p.add_argument("--writers-delivery", choices=["auto", "sync", "async"], default="auto",
                   help="the writers' cache_ext.delivery (auto: async in async mode, "
                   "else sync); async with --mode healthy tests the checker itself: "
                   "it must report stale reads")
    p.add_argument("--ttl", type=int, default=600, help="TTL of cache entries (s)")
    p.add_argument("--key-prefix", default="",
                   help="the server's cache_ext.key_prefix")
    p.add_argument("--dsn", default="", help="libpq connection string (default: "
                   "PGHOST/PGPORT/... of the environment)")
    p.add_argument("--redis-host", default=os.environ.get("REDIS_HOST", "127.0.0.1"))
    p.add_argument("--redis-port", type=int, default=int(os.environ.get("REDIS_PORT", "6379")))
    p.add_argument("--redis-pid", type=int, default=None,
                   help="pid of redis-server for SIGSTOP (default: "
                   "$SANDBOX_DIR/redis.pid, then $REDIS_PID)")
    p.add_argument("--setup", action="store_true",
                   help="create the table and its trigger first (superuser)")
    p.add_argument("--show", type=int, default=10, help="stale reads to list")
    p.add_argument("--json", default=None, help="write the figures to this file")
    a = p.parse_args(argv)
    if a.long:
        if "--duration" not in argv:
            a.duration = 600.0
        if "--pauses" not in argv:
            a.pauses = 10
    if a.seed is None:
        a.seed = int.from_bytes(os.urandom(4), "little")
    if a.redis_pid is None and a.mode == "pause" and a.pause_method == "stop":
        a.redis_pid = sandbox_redis_pid()
    return a


def sandbox_redis_pid():
    d = os.environ.get("SANDBOX_DIR")
    if d:
        try:
            with open(os.path.join(d, "redis.pid")) as f:
                return int(f.read().strip())
        except (OSError, ValueError):
            pass
    if os.environ.get("REDIS_PID"):
        return int(os.environ["REDIS_PID"])
    return None


def reproduce_line(a):
    args = ["test/stale_reads.py", "--mode", a.mode, "--seed", str(a.seed),
            "--duration", str(a.duration), "--users", str(a.users),
            "--writers", str(a.writers), "--readers", str(a.readers),
            "--write-think-ms", str(a.write_think_ms),
            "--read-think-ms", str(a.read_think_ms)]
    if a.mode == "pause":
        args += ["--pauses", str(a.pauses), "--pause-ms", str(a.pause_ms),
                 "--pause-method", a.pause_method, "--bound-ms", str(a.bound_ms)]
    if a.mode == "async":
        args += ["--async-bound-ms", str(a.async_bound_ms)]
    if a.key_prefix:
        args += ["--key-prefix", a.key_prefix]
    if a.writers_delivery != "auto":
        args += ["--writers-delivery", a.writers_delivery]
    return " ".join(shlex.quote(x) for x in args)


# ------------------------------------------------------------------ setup

def setup(a):
    conn = psycopg2.connect(a.dsn)
    conn.autocommit = True
    cur = conn.cursor()
    cur.execute("SET client_min_messages = warning")
    cur.execute("CREATE EXTENSION IF NOT EXISTS cache_ext")
    cur.execute(f"DROP TABLE IF EXISTS {TABLE}")
    cur.execute(f"CREATE TABLE {TABLE} (user_id int PRIMARY KEY, val bigint NOT NULL)")
    cur.execute(f"CREATE TRIGGER {TABLE}_cache AFTER INSERT OR UPDATE OR DELETE ON {TABLE} "
                "FOR EACH ROW EXECUTE FUNCTION cache_ext.bump_version()")
    conn.close()


def slots(a):
    """The run is cut into time slots; writers write only the users of the
    current slot, readers read every user.  A user is thus never written
    again after its slot: an invalidation lost during a pause is not healed
    by the next write and stays visible as stale reads to the end.  In
    pause mode pause i falls in slot i, and the last slot has none."""
    return a.pauses + 1 if a.mode == "pause" else 4


def reset_rows(a):
    """Fresh rows at val 0, their version keys bumped (sync)."""
    conn = psycopg2.connect(a.dsn)
    conn.autocommit = True
    cur = conn.cursor()
    cur.execute("SET cache_ext.delivery = sync")
    cur.execute(f"DELETE FROM {TABLE}")
    cur.execute(f"INSERT INTO {TABLE} SELECT g, 0 FROM generate_series(1, %s) g",
                (a.users * slots(a),))
    conn.close()


# ---------------------------------------------------------------- workers

def writer(a, idx, t_start, t_end, path):
    rng = random.Random(a.seed * 1000 + idx)
    delivery = a.writers_delivery
    if delivery == "auto":
        delivery = "async" if a.mode == "async" else "sync"
    opts = "-c cache_ext.delivery=" + delivery
    conn = psycopg2.connect(a.dsn, options=opts)
    conn.autocommit = True
    cur = conn.cursor()
    recs = []
    errors = 0
    warnings = 0
    wait_until(t_start)
    slot_len = (t_end - t_start) / slots(a)
    while now() < t_end:
        g = min(max(int((now() - t_start) / slot_len), 0), slots(a) - 1)
        u = g * a.users + rng.randint(1, a.users)
        t0 = now()
        try:
            cur.execute(f"UPDATE {TABLE} SET val = val + 1 WHERE user_id = %s RETURNING val",
                        (u,))
            val = cur.fetchone()[0]
        except psycopg2.Error:
            errors += 1
            continue
        t1 = now()
        recs.append((t0, t1, u, val))
        if conn.notices:
            warnings += sum(1 for n in conn.notices if "WARNING" in n)
            del conn.notices[:]
        if a.write_think_ms > 0:
            time.sleep(rng.expovariate(1000.0 / a.write_think_ms))
    conn.close()
    with open(path, "w") as f:
        json.dump({"writes": recs, "errors": errors, "warnings": warnings}, f)


def wait_until(t):
    while now() < t:
        time.sleep(min(0.01, max(t - now(), 0)))


def reader(a, idx, t_start, t_end, path):
    rng = random.Random(a.seed * 1000 + 500 + idx)
    conn = psycopg2.connect(a.dsn)
    conn.autocommit = True
    cur = conn.cursor()
    r = redis.Redis(host=a.redis_host, port=a.redis_port, socket_timeout=30,
                    socket_connect_timeout=30)
    version = r.register_script(VERSION_LUA)
    recs = []
    errors = 0
    wait_until(t_start)
    while now() < t_end:
        u = rng.randint(1, a.users * slots(a))
        t0 = now()
        try:
            v = int(version(keys=[f"{a.key_prefix}cache_user_version:{u}"]))
            key = f"{a.key_prefix}cache:{u}:v{v}:row"
            data = r.get(key)
            if data is None:
                cur.execute(f"SELECT val FROM {TABLE} WHERE user_id = %s", (u,))
                val = cur.fetchone()[0]
                r.set(key, str(val), ex=a.ttl)
                hit = False
            else:
                val = int(data)
                hit = True
        except (redis.RedisError, psycopg2.Error, OSError):
            errors += 1
            continue
        t1 = now()
        recs.append((t0, t1, u, val, hit, v))
        if a.read_think_ms > 0:
            time.sleep(rng.expovariate(1000.0 / a.read_think_ms))
    conn.close()
    with open(path, "w") as f:
        json.dump({"reads": recs, "errors": errors}, f)


def run_pauses(a, t_start, t_end):
    """Pause Redis --pauses times, spread over the run; returns the windows."""
    rng = random.Random(a.seed * 1000 + 999)
    windows = []
    if a.pauses <= 0:
        return windows
    span = (t_end - t_start) / slots(a)
    ctl = redis.Redis(host=a.redis_host, port=a.redis_port, socket_timeout=10)
    for i in range(a.pauses):
        # lengths vary, so that an outage ends at different points of the
        # sessions' and the worker's backoff
        length_ms = int(a.pause_ms * rng.uniform(0.5, 1.5))
        # a healthy second into slot i, and over before its last quarter
        begin = t_start + i * span + 1.0 + \
            rng.uniform(0.0, 1.0) * max(0.75 * span - 1.0 - length_ms / 1000.0, 0)
        while now() < begin:
            time.sleep(min(0.05, max(begin - now(), 0)))
        if a.pause_method == "stop":
            s = now()
            os.kill(a.redis_pid, signal.SIGSTOP)
            try:
                time.sleep(length_ms / 1000.0)
            finally:
                os.kill(a.redis_pid, signal.SIGCONT)
            e = now()
        else:
            s = now()
            ctl.execute_command("CLIENT", "PAUSE", length_ms, "ALL")
            time.sleep(length_ms / 1000.0)
            e = now()
        windows.append((s, e))
    return windows


# --------------------------------------------------------------- analysis

def analyse(a, writes, reads, windows):
    """Every stale read, with its age and whether the mode allows it."""
    by_user = {}
    for (t0, t1, u, val) in writes:
        by_user.setdefault(u, []).append((t1, val))
    index = {}
    for u, ws in by_user.items():
        ws.sort()
        ends = [t1 for (t1, _) in ws]
        prefix_max = []
        m = 0
        for (_, val) in ws:
            m = max(m, val)
            prefix_max.append(m)
        # earliest COMMIT return among the writes with a value above x:
        # by value, suffix minimum of the end times
        byval = sorted((val, t1) for (t1, val) in ws)
        vals = [v for (v, _) in byval]
        suffix_min = [0.0] * len(byval)
        m = float("inf")
        for i in range(len(byval) - 1, -1, -1):
            m = min(m, byval[i][1])
            suffix_min[i] = m
        index[u] = (ends, prefix_max, vals, suffix_min)

    stale = []
    for (t0, t1, u, val, hit, ver) in reads:
        if u not in index:
            continue
        ends, prefix_max, vals, suffix_min = index[u]
        k = bisect.bisect_left(ends, t0)   # writes whose COMMIT returned before t0
        if k == 0 or prefix_max[k - 1] <= val:
            continue
        j = bisect.bisect_right(vals, val)
        made_stale_at = suffix_min[j]
        age = t0 - made_stale_at
        allowed = False
        since_resume = None
        pause = None
        if windows:
            # the last pause that began before the read (negative
            # since_resume: the read began during it)
            pause = bisect.bisect_right([s for (s, _) in windows], t0) - 1
            if pause >= 0:
                since_resume = t0 - windows[pause][1]
            else:
                pause = None
        if a.mode == "pause":
            allowed = since_resume is not None and since_resume <= a.bound_ms / 1000.0
        elif a.mode == "async":
            allowed = age <= a.async_bound_ms / 1000.0
        stale.append({"user": u, "start": t0, "value": val,
                      "committed": prefix_max[k - 1], "hit": hit, "version": ver,
                      "age_ms": age * 1000.0,
                      "since_resume_ms": None if since_resume is None else since_resume * 1000.0,
                      "pause": pause, "allowed": allowed})
    return stale


def pct(xs, q):
    if not xs:
        return 0.0
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * (len(xs) - 1) + 0.5))]


def main(argv):
    a = parse_args(argv)
    if not a.dsn:
        a.dsn = "dbname=" + os.environ.get("PGDATABASE", "postgres")
    print(f"stale_reads: seed={a.seed} mode={a.mode} duration={a.duration}s "
          f"users={a.users} per slot x {slots(a)} slots writers={a.writers} readers={a.readers} "
          f"write_think_ms={a.write_think_ms} read_think_ms={a.read_think_ms} "
          f"pauses={a.pauses if a.mode == 'pause' else 0} pause_ms={a.pause_ms} "
          f"pause_method={a.pause_method} bound_ms={a.bound_ms} "
          f"async_bound_ms={a.async_bound_ms} key_prefix={a.key_prefix!r} "
          f"writers_delivery={a.writers_delivery}")
    print(f"stale_reads: reproduce with: {reproduce_line(a)}")
    sys.stdout.flush()
    if a.mode == "pause" and a.pause_method == "stop" and not a.redis_pid:
        print("stale_reads: no Redis pid for SIGSTOP (--redis-pid)", file=sys.stderr)
        return 2
    if a.setup:
        setup(a)
    reset_rows(a)

    tmp = tempfile.mkdtemp(prefix="stale_reads.")
    ctx = mp.get_context("fork")
    t_start = now() + 0.5
    t_end = t_start + a.duration
    procs = []
    for i in range(a.writers):
        procs.append((ctx.Process(target=writer, args=(a, i, t_start, t_end, f"{tmp}/w{i}.json")),
                      f"{tmp}/w{i}.json"))
    for i in range(a.readers):
        procs.append((ctx.Process(target=reader, args=(a, i, t_start, t_end, f"{tmp}/r{i}.json")),
                      f"{tmp}/r{i}.json"))
    for (p, _) in procs:
        p.start()
    windows = []
    try:
        if a.mode == "pause":
            windows = run_pauses(a, t_start, t_end)
    finally:
        if a.mode == "pause" and a.pause_method == "stop" and a.redis_pid:
            try:
                os.kill(a.redis_pid, signal.SIGCONT)
            except OSError:
                pass
    for (p, _) in procs:
        p.join(a.duration + 120)
        if p.is_alive():
            p.kill()
            p.join()
    writes, reads = [], []
    werr = rerr = warns = 0
    dead = 0
    for (p, path) in procs:
        try:
            with open(path) as f:
                d = json.load(f)
        except (OSError, ValueError):
            dead += 1
            continue
        writes += [tuple(x) for x in d.get("writes", [])]
        reads += [tuple(x) for x in d.get("reads", [])]
        werr += d.get("errors", 0) if "writes" in d else 0
        rerr += d.get("errors", 0) if "reads" in d else 0
        warns += d.get("warnings", 0)
        os.unlink(path)
    os.rmdir(tmp)

    stale = analyse(a, writes, reads, windows)
    bad = [s for s in stale if not s["allowed"]]
    hits = sum(1 for r in reads if r[4])
    wlat = [(t1 - t0) * 1000.0 for (t0, t1, _, _) in writes]
    ages = [s["age_ms"] for s in stale]
    print(f"stale_reads: {len(writes)} writes ({werr} errors, {warns} WARNINGs, "
          f"commit p50 {pct(wlat, .5):.2f} ms, max {max(wlat or [0]):.0f} ms), "
          f"{len(reads)} reads ({hits} cache hits, {rerr} errors), "
          f"{dead} worker(s) without results")
    for i, (s, e) in enumerate(windows):
        mine = [x for x in stale if x["pause"] == i]
        during = sum(1 for x in mine if x["since_resume_ms"] < 0)
        after = [x["since_resume_ms"] for x in mine if x["since_resume_ms"] >= 0]
        print(f"stale_reads: pause {i + 1}: {(e - s) * 1000:.0f} ms at +{(s - t_start):.1f} s; "
              f"stale reads: {during} during it, {len(after)} after it"
              + (f", the last {max(after):.0f} ms after Redis resumed" if after else ""))
    if windows:
        after = [x["since_resume_ms"] for x in stale
                 if x["since_resume_ms"] is not None and x["since_resume_ms"] >= 0]
        print(f"stale_reads: stale reads after Redis resumed: {len(after)}"
              + (f", starting p50 {pct(after, .5):.0f} ms, p99 {pct(after, .99):.0f} ms, "
                 f"max {max(after):.0f} ms after it (bound {a.bound_ms:.0f} ms)" if after else ""))
    print(f"stale_reads: {len(stale)} stale read(s), {len(bad)} outside the bound"
          + (f"; age p50 {pct(ages, .5):.1f} ms, p99 {pct(ages, .99):.1f} ms, "
             f"max {max(ages):.1f} ms" if ages else ""))
    for s in (bad or stale)[:a.show]:
        print("stale_reads:   {} user {} at +{:.3f} s got {} (committed {}; {}, version {}), "
              "{:.1f} ms after the COMMIT that made it stale{}".format(
                  "FAIL" if not s["allowed"] else "allowed", s["user"],
                  s["start"] - t_start, s["value"], s["committed"],
                  "cache hit" if s["hit"] else "database", s["version"], s["age_ms"],
                  "" if s["since_resume_ms"] is None else
                  ", {:.0f} ms after Redis resumed".format(s["since_resume_ms"])))
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"mode": a.mode, "seed": a.seed, "writes": len(writes),
                       "reads": len(reads), "hits": hits, "stale": len(stale),
                       "outside_bound": len(bad), "age_max_ms": max(ages or [0]),
                       "windows": [(e - s) for (s, e) in windows]}, f)
    ok = not bad and dead == 0 and len(writes) > 0 and len(reads) > 0
    print(f"stale_reads: {a.mode}: {'ok' if ok else 'FAILED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
