#!/usr/bin/python3
"""test/fuzz_sql.py -- owns: fuzzing cache_ext's input parsers through SQL.

Generated and mutated inputs (random text, multibyte characters at length
limits, very long strings, nested and unbalanced braces, %-escapes, glob
characters, extreme integers; NUL bytes and invalid UTF-8 where SQL allows
them: bytea values, and values placed in Redis that SQL functions parse)
are fed to:

  render      cache_ext.render_key(template, row)
  trigger     CREATE TRIGGER ... bump_version / invalidate_keys /
              invalidate_on_truncate / assign_number (args...), then a write
              that fires it, committed (delivered) or rolled back
  url         SET cache_ext.redis_url (+ SHOW; ping when the host is an IP)
  prefix      SET cache_ext.key_prefix, then bumps and pattern invalidations
  api         keys, patterns, values, TTLs, deltas, lock names and tokens,
              stream names and events, counter keys, floors and values
  parse       values stored in Redis (raw bytes) read back by cursor_get,
              cursor_last_event, version, user_version, counter_get,
              counter_next, get, get_bytea

Every input must get a result or a clean ERROR: an SQLSTATE other than
XX000 (internal error: an elog for a "can't happen" case).  No backend may
crash: a lost connection, a postmaster restart or "terminated by signal" in
the server log fails the run.  Non-superuser work runs as an unprivileged
role.  Iteration i draws everything from Random(seed, i), so one input is
reproduced with --seed S --start i --iterations 1 (server state built by
earlier iterations aside).  Needs python3-psycopg2 and python3-redis; runs
inside test/sandbox.sh.
"""

import argparse
import os
import random
import re
import sys
import time

import psycopg2
import redis

APP_ROLE = "cache_ext_fuzz_app"

# Findings already known and owned by other work: reported on every hit,
# but they do not fail the run.  Remove an entry when its fix lands.
KNOWN = set()
TARGETS = ["render", "trigger", "url", "prefix", "api", "parse"]

# ------------------------------------------------------------- generators

TEMPLATES = [
    "cache_user_version:{user_id}", "cache:{user_id}:{name}", "{Mixed Case}",
    "{ключ}:{a b}", "{{literal}}", "x:{ts}", "p:{u}:*", "{n}", "k:{name}:{name}:{name}",
    "{user_id}", "{d}", "v:{long}", "a{{b}}c{user_id}", "booking:{user_id}:*",
]
KEYS = ["k", "cache_user_version:1", "a:b:c", "*", "a*b?c[d]", "\\*", "ключ:€", "𝄞",
        "x" * 1024, "y" * 1025, "%", "{x}", " ", "\t\n", "k'\"", "[", "[]", "[^a]",
        "a\\", "\\", "?"]
URLS = ["redis://127.0.0.1:{port}/0", "redis://:pw{tok}@127.0.0.1:{port}/0",
        "redis://user:pw{tok}@127.0.0.1:{port}/1", "redis://[::1]:{port}/0",
        "unix:///tmp/nonexistent.sock?db=2", "unix://:pw{tok}@/tmp/x.sock",
        "redis://127.0.0.1", "redis://127.0.0.1:0/0", "redis://127.0.0.1:65536/0",
        "rediss://127.0.0.1:{port}/0", "redis://u%3Ax:p%40w{tok}@127.0.0.1:{port}/0",
        "redis://127.0.0.1:{port}/-1", "redis://127.0.0.1:{port}/99999999999"]
INSERTS = ["{", "}", "{{", "}}", "{}", "{user_id", "user_id}", "%", "%0", "%00", "%zz",
           "%ff", "%2", "*", "?", "[", "]", "\\", "'", '"', ":", "/", "@", "[::1]", " ",
           "\t", "\n", "é", "€", "𝄞", "\u200b", "\ufeff", "\u0301", "ä" * 3, "//", "?db=",
           ":", "-", "9999999999999999999999", "-1", "0x10", "1e3", "\x7f", "\x01"]
INTS = [0, 1, -1, 2, 2**31 - 1, -2**31, 2**31, 2**63 - 1, -2**63, 2**62, 1000, -1000]
RAW_VALUES = [b"", b"0", b"-0", b"1", b" 1", b"1 ", b"+1", b"01", b"1e3", b"0x10",
              b"9223372036854775807", b"9223372036854775808", b"-9223372036854775808",
              b"-9223372036854775809", b"99999999999999999999999999", b"1\x002",
              b"\x00", b"\xff\xfe", b"\xc3\x28", b"{", b"{\"a\": 1}", b"[1,2", b"null",
              b"\"str\"", b"nan", b"inf", b"-", b"1.5", b"\xe2\x82", b"a" * 70000]


MAX_INPUT = 200_000     # characters


def rand_text(rng, n):
    """n random characters: ASCII, Latin, CJK, astral; never NUL or surrogates."""
    out = []
    for _ in range(n):
        r = rng.random()
        if r < 0.6:
            out.append(chr(rng.randint(1, 0x7f)))
        elif r < 0.8:
            out.append(chr(rng.randint(0x80, 0x7ff)))
        elif r < 0.95:
            c = rng.randint(0x800, 0xfffd)
            out.append(chr(c) if not 0xd800 <= c <= 0xdfff else "x")
        else:
            out.append(chr(rng.randint(0x10000, 0x10ffff)))
    return "".join(out)


def mutate(rng, s, rounds=None):
    for _ in range(rounds if rounds is not None else rng.randint(1, 4)):
        op = rng.randrange(10)
        pos = rng.randint(0, len(s))
        if op == 0:
            s = s[:pos] + rng.choice(INSERTS) + s[pos:]
        elif op == 1 and s:
            end = rng.randint(pos, min(len(s), pos + 8))
            s = s[:pos] + s[end:]
        elif op == 2:
            s = s[:pos] + rand_text(rng, rng.randint(1, 12)) + s[pos:]
        elif op == 3 and s:
            end = rng.randint(pos, min(len(s), pos + 16))
            s = s[:pos] + s[pos:end] * rng.randint(2, 50) + s[pos:]
        elif op == 4:
            k = rng.randint(1, 30)
            s = "{" * k + s + "}" * rng.choice([0, k, k - 1, k + 1])
        elif op == 5:
            # a multibyte character straddling a length limit (bytes)
            limit = rng.choice([255, 256, 257, 1023, 1024, 1025, 8191, 8192])
            ch = rng.choice(["é", "€", "𝄞"])
            pad = max(limit - len(ch.encode()) // 2 - len(s.encode()), 0)
            s = s + "a" * pad + ch
        elif op == 6:
            s = s * rng.choice([2, 10, 100])
        elif op == 7:
            s = rng.choice(["x" * rng.choice([1023, 1024, 1025, 4096, 70000]),
                            "{" + "x" * 70000 + "}", "%" * 3000])
        elif op == 8:
            s = rand_text(rng, rng.randint(0, 40))
        else:
            s = s.upper() if rng.random() < 0.5 else s.replace(":", rng.choice(["", "::", "{:}"]))
        # repeated growth can reach tens of MB: any statement then takes
        # seconds to parse, which tests nothing of ours
        s = s[:MAX_INPUT]
    return s


def clip(s, limit=300):
    r = repr(s)
    return r if len(r) <= limit else r[:limit] + f"...<{len(s)} chars>"


# ------------------------------------------------------------------ runner

class Fuzzer:
    def __init__(self, a):
        self.a = a
        self.log_path = os.path.join(os.environ.get("SANDBOX_DIR", ""), "postgres.log")
        self.log_offset = os.path.getsize(self.log_path) if os.path.exists(self.log_path) else 0
        self.su = self.connect(superuser=True)
        self.app = None
        self.r = redis.Redis(host=a.redis_host, port=a.redis_port, socket_timeout=10)
        self.start_time = self.query1(self.su, "SELECT pg_postmaster_start_time()")
        self.findings = []
        self.counts = {}
        self.crashed = False
        self.samples = {}
        self.known = {}

    def connect(self, superuser):
        dsn = self.a.dsn + ("" if superuser else f" user={APP_ROLE}")
        conn = psycopg2.connect(dsn)
        conn.autocommit = True
        cur = conn.cursor()
        cur.execute("SET statement_timeout = '10s'")
        cur.execute("SET cache_ext.connect_timeout = 500")
        cur.execute("SET cache_ext.command_timeout = 2000")
        cur.execute("SET client_min_messages = error")
        return conn

    @staticmethod
    def query1(conn, sql, args=None):
        cur = conn.cursor()
        cur.execute(sql, args)
        row = cur.fetchone()
        return row[0] if row else None

    def setup(self):
        cur = self.su.cursor()
        cur.execute("CREATE EXTENSION IF NOT EXISTS cache_ext")
        cur.execute(f"SELECT 1 FROM pg_roles WHERE rolname = '{APP_ROLE}'")
        if cur.fetchone() is None:
            cur.execute(f"CREATE ROLE {APP_ROLE} LOGIN")
        cur.execute(f"GRANT USAGE ON SCHEMA cache_ext TO {APP_ROLE}")
        cur.execute(f"GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA cache_ext TO {APP_ROLE}")
        cur.execute(f"GRANT CREATE ON SCHEMA public TO {APP_ROLE}")
        cur.execute("DROP TABLE IF EXISTS public.fuzz_rows, public.fuzz_inv")
        cur.execute('CREATE TABLE public.fuzz_rows (id int PRIMARY KEY, user_id bigint, name text, '
                    '"Mixed Case" text, "ключ" text, "a b" int, ts timestamptz, u uuid, '
                    'd numeric, n int, long text)')
        cur.execute("INSERT INTO public.fuzz_rows VALUES "
                    "(1, 42, 'a*b?[c]\\\\', 'MiXeD', 'значение€', 7, '2024-02-29 12:00+00', "
                    "'00000000-0000-0000-0000-000000000001', 12.50, NULL, repeat('L', 5000)), "
                    "(2, -9223372036854775808, '{x}', '', '𝄞', -1, 'infinity', "
                    "'ffffffff-ffff-ffff-ffff-ffffffffffff', 'NaN', 0, '')")
        cur.execute("CREATE TABLE public.fuzz_inv (id bigserial PRIMARY KEY, year int, "
                    "no bigint, label text)")
        cur.execute("CREATE UNIQUE INDEX ON public.fuzz_inv (year, no)")
        cur.execute(f"ALTER TABLE public.fuzz_rows OWNER TO {APP_ROLE}")
        cur.execute(f"ALTER TABLE public.fuzz_inv OWNER TO {APP_ROLE}")
        self.app = self.connect(superuser=False)

    # -- one statement list, classified
    def run(self, target, i, conn_name, stmts, note="", end="commit"):
        """Run [(sql, args)] in one transaction on the named connection,
        ended by COMMIT or ROLLBACK (a single statement to commit runs
        alone)."""
        conn = self.su if conn_name == "su" else self.app
        cur = conn.cursor()
        block = len(stmts) > 1 or end != "commit"
        try:
            if block:
                cur.execute("BEGIN")
            for (sql, args) in stmts:
                cur.execute(sql, args)
            if block:
                cur.execute("COMMIT" if end == "commit" else "ROLLBACK")
            self.count(target, "ok")
            return True, None
        except psycopg2.Error as e:
            code = e.pgcode
            broken = conn.closed != 0 or isinstance(e, (psycopg2.OperationalError,
                                                        psycopg2.InterfaceError)) and code is None
            if broken:
                self.count(target, "connection lost")
                self.finding(target, i, f"connection lost: {str(e).strip()[:200]}", stmts, note)
                self.recover()
                return False, None
            try:
                cur.execute("ROLLBACK")
            except psycopg2.Error:
                pass
            self.count(target, code or "no sqlstate")
            self.samples.setdefault((target, code), (e.pgerror or "").strip().splitlines()[0:1])
            if code is None or code.startswith("XX"):
                self.finding(target, i, f"ERROR without a proper errcode ({code}): "
                             f"{(e.pgerror or str(e)).strip()[:300]}", stmts, note)
            elif code == "57014":
                self.finding(target, i, "statement timeout (10 s): a parser that does not finish",
                             stmts, note)
            return False, e

    def count(self, target, what):
        self.counts.setdefault(target, {}).setdefault(what, 0)
        self.counts[target][what] += 1

    def finding(self, target, i, what, stmts, note, kind=None):
        if kind in KNOWN:
            self.known.setdefault(kind, [0, i, what])[0] += 1
            return
        self.findings.append((target, i, what, [(s, a) for (s, a) in stmts], note))

    def recover(self):
        """After a lost connection: wait for the server, check for a crash."""
        deadline = time.time() + 60
        while True:
            try:
                self.su = self.connect(superuser=True)
                self.app = self.connect(superuser=False)
                break
            except psycopg2.Error:
                if time.time() > deadline:
                    raise
                time.sleep(0.5)
        self.check_crash()

    def check_crash(self):
        restarted = self.query1(self.su, "SELECT pg_postmaster_start_time()") != self.start_time
        signals = []
        if os.path.exists(self.log_path):
            with open(self.log_path, "rb") as f:
                f.seek(self.log_offset)
                for line in f.read().decode("utf-8", "replace").splitlines():
                    if re.search(r"terminated by signal|was terminated by|server process .* exited with exit code [^01]", line):
                        signals.append(line.strip())
        if restarted or signals:
            self.crashed = True
        return restarted, signals

    # ------------------------------------------------------------- targets
    def t_render(self, rng, i):
        tmpl = mutate(rng, rng.choice(TEMPLATES))
        self.run("render", i, "app",
                 [("SELECT cache_ext.render_key(%s, t) FROM public.fuzz_rows t ORDER BY id", (tmpl,))])

    def t_trigger(self, rng, i):
        fn = rng.choice(["bump_version", "invalidate_keys", "invalidate_on_truncate",
                         "assign_number"])
        nargs = rng.choice([0, 1, 1, 1, 2, 3])
        args = [mutate(rng, rng.choice(TEMPLATES)) for _ in range(nargs)]
        if fn == "assign_number":
            args = [rng.choice(["no", "No", "id", "label", mutate(rng, "no")]),
                    mutate(rng, rng.choice(["invoice_seq:{year}", "inv:{year}:{label}"]), rng.randint(0, 2)),
                    rng.choice(["cache", "gapless", mutate(rng, "cache")])][:rng.choice([1, 2, 3, 3])]
        cur = self.app.cursor()
        arglist = ", ".join(cur.mogrify("%s", (x,)).decode() for x in args)
        commit = rng.random() < 0.4
        name = f"fz_{i}"
        if fn == "assign_number":
            stmts = [(f"CREATE TRIGGER {name} BEFORE INSERT OR UPDATE ON public.fuzz_inv FOR EACH ROW "
                      f"EXECUTE FUNCTION cache_ext.assign_number({arglist})", None),
                     ("INSERT INTO public.fuzz_inv (year, label) VALUES (%s, %s)",
                      (rng.choice([2024, None, -1, 2**31 - 1]), mutate(rng, "lbl")))]
            commit = False
        elif fn == "invalidate_on_truncate":
            stmts = [(f"CREATE TRIGGER {name} AFTER TRUNCATE ON public.fuzz_rows FOR EACH STATEMENT "
                      f"EXECUTE FUNCTION cache_ext.{fn}({arglist})", None),
                     ("TRUNCATE public.fuzz_rows", None),
                     ("SELECT count(*) FROM cache_ext.pending_effects()", None)]
            commit = False
        else:
            stmts = [(f"CREATE TRIGGER {name} AFTER INSERT OR UPDATE OR DELETE ON public.fuzz_rows "
                      f"FOR EACH ROW EXECUTE FUNCTION cache_ext.{fn}({arglist})", None),
                     ("UPDATE public.fuzz_rows SET id = id", None),
                     ("SELECT count(*) FROM cache_ext.pending_effects()", None)]
            if commit:
                stmts += [(f"DROP TRIGGER {name} ON public.fuzz_rows", None)]
        # committed: the effects are delivered with the fuzzed keys
        self.run("trigger", i, "app", stmts, end="commit" if commit else "rollback")

    def t_url(self, rng, i):
        tok = "%08x" % rng.getrandbits(32)
        port = rng.choice([self.a.redis_port, 1, 65535])
        url = rng.choice(URLS).replace("{port}", str(port)).replace("{tok}", tok)
        structural = rng.random() < 0.3
        if not structural:
            url = mutate(rng, url)
        ok, err = self.run("url", i, "su", [("SET cache_ext.redis_url = %s", (url,))])
        secret = "pw" + tok
        if ok:
            cur = self.su.cursor()
            try:
                # as bytes: a truncated multibyte character is a finding
                cur.execute("SELECT convert_to(current_setting('cache_ext.redis_url'), 'UTF8')")
                shown_b = bytes(cur.fetchone()[0])
                try:
                    shown = shown_b.decode("utf-8")
                except UnicodeDecodeError:
                    self.finding("url", i, "SHOW cache_ext.redis_url is not valid UTF-8: "
                                 f"{clip(shown_b[-40:])} at the end of {len(shown_b)} bytes",
                                 [("SET cache_ext.redis_url = %s", (url,))], "", kind="show-invalid-utf8")
                    shown = shown_b.decode("utf-8", "replace")
                cur.execute("SELECT convert_to(setting, 'UTF8') FROM pg_settings "
                            "WHERE name = 'cache_ext.redis_url'")
                setting = bytes(cur.fetchone()[0]).decode("utf-8", "replace")
                # the password as given, before any %-decoding
                m = re.search(r"//[^/@]*:([^@/]*)@", url)
                if m and m.group(1) and len(m.group(1)) >= 4 and (m.group(1) in shown or m.group(1) in setting):
                    self.finding("url", i, f"password visible in SHOW/pg_settings: {clip(shown)}",
                                 [("SET cache_ext.redis_url = %s", (url,))], "")
            except psycopg2.Error as e:
                self.count("url", "SHOW " + (e.pgcode or "?"))
                if e.pgcode == "22021":
                    self.finding("url", i, "SHOW cache_ext.redis_url is not valid UTF-8 (the server "
                                 "says: " + (e.pgerror or "").strip().splitlines()[0][:120] + ")",
                                 [("SET cache_ext.redis_url = %s", (url,))], "", kind="show-invalid-utf8")
            # connect only when the host is an IP literal or a socket path:
            # a host name would be resolved through DNS, outside any timeout
            if structural and re.match(r"^(redis://([^@/]*@)?(127\.0\.0\.1|\[::1\])(:\d+)?(/|$)|unix://)", url):
                self.run("url", i, "su", [("SELECT cache_ext.ping()", None)])
        elif err is not None and secret in (err.pgerror or ""):
            self.finding("url", i, "password echoed in an error message",
                         [("SET cache_ext.redis_url = %s", (url,))], "")
        try:
            self.su.cursor().execute("RESET cache_ext.redis_url")
        except psycopg2.Error:
            self.recover()

    def t_prefix(self, rng, i):
        prefix = mutate(rng, rng.choice(["myapp:1:", "fb[1]:", "", "*", "a\\", "ключ:"]))
        key = mutate(rng, rng.choice(KEYS), rng.randint(0, 2))
        pattern = mutate(rng, rng.choice(["fz:*", "*", "a[bc]*", "x?y", "\\*"]), rng.randint(0, 2))
        stmts = [("SET LOCAL cache_ext.key_prefix = %s", (prefix,)),
                 ("SELECT cache_ext.bump(%s)", (key,)),
                 ("SELECT cache_ext.invalidate(%s)", ("fzp:" + pattern,)),
                 ("SELECT cache_ext.version(%s)", (key,))]
        self.run("prefix", i, "su", stmts)

    def t_api(self, rng, i):
        key = mutate(rng, rng.choice(KEYS), rng.randint(0, 3))
        val = mutate(rng, rng.choice(["v", "", "x" * 1000]), rng.randint(0, 2))
        ttl = rng.choice([None, 1, 60] + INTS)
        n = rng.choice(INTS)
        calls = [
            ("SELECT cache_ext.get(%s)", (key,)),
            ("SELECT cache_ext.get_bytea(%s)", (key,)),
            ("SELECT cache_ext.set(%s, %s, %s::int)", (key, val, ttl)),
            ("SELECT cache_ext.set_bytea(%s, %s, %s::int)",
             (key, psycopg2.Binary(bytes(rng.getrandbits(8) for _ in range(rng.randint(0, 64))) + b"\x00"), ttl)),
            ("SELECT cache_ext.add(%s, %s, %s::int)", (key, val, ttl)),
            ("SELECT cache_ext.incr(%s, %s::bigint)", (key, n)),
            ("SELECT cache_ext.delete(%s)", (key,)),
            ("SELECT cache_ext.delete_many(%s::text[])", ([key, mutate(rng, key), ""][:rng.randint(0, 3)],)),
            ("SELECT cache_ext.ttl(%s)", (key,)),
            ("SELECT cache_ext.lock_acquire(%s, %s::int)", (key, ttl)),
            ("SELECT cache_ext.lock_release(%s, %s)", (key, mutate(rng, "0123456789abcdef" * 2))),
            ("SELECT cache_ext.cursor_bump(%s, %s::jsonb)",
             (key, rng.choice([None, '{"a": 1}', '"' + val.replace('"', "").replace("\\", "") + '"', "[]"]))),
            ("SELECT cache_ext.cursor_get(%s)", (key,)),
            ("SELECT cache_ext.cursor_last_event(%s)", (key,)),
            ("SELECT cache_ext.cursor_reset(%s)", (key,)),
            ("SELECT cache_ext.version(%s)", (key,)),
            ("SELECT cache_ext.counter_next(%s, %s::bigint)", (key, n)),
            ("SELECT cache_ext.counter_sync(%s, %s::bigint)", (key, n)),
            ("SELECT cache_ext.counter_get(%s)", (key,)),
            ("SELECT cache_ext.user_version(%s::bigint)", (n,)),
        ]
        sql, args = rng.choice(calls)
        self.run("api", i, "app", [(sql, args)])
        # invalidations go through the pending set and commit-time delivery
        if rng.random() < 0.3:
            kind = rng.choice(["bump", "invalidate"])
            self.run("api", i, "app", [(f"SELECT cache_ext.{kind}(%s)", (key,)),
                                       (f"SELECT cache_ext.{kind}(%s)", (mutate(rng, key),))])

    def t_parse(self, rng, i):
        raw = rng.choice(RAW_VALUES)
        if rng.random() < 0.5:
            raw = mutate(rng, raw.decode("latin-1"), rng.randint(1, 2)).encode("utf-8", "surrogatepass")
            if rng.random() < 0.2:
                raw = bytes(rng.getrandbits(8) for _ in range(rng.randint(0, 40)))
        name = "fzparse" + str(i % 7)
        which = rng.choice(["cursor", "event", "version", "user", "counter", "counter_next",
                            "get", "get_bytea"])
        if which == "cursor":
            self.r.set(f"{name}:stream:cursor", raw)
            sql, args = "SELECT cache_ext.cursor_get(%s)", (name,)
        elif which == "event":
            self.r.set(f"{name}:stream:last_event", raw)
            sql, args = "SELECT cache_ext.cursor_last_event(%s)", (name,)
        elif which == "version":
            self.r.set(name, raw)
            sql, args = "SELECT cache_ext.version(%s)", (name,)
        elif which == "user":
            uid = rng.choice([1, -1, 2**63 - 1])
            self.r.set(f"cache_user_version:{uid}", raw)
            sql, args = "SELECT cache_ext.user_version(%s::bigint)", (uid,)
        elif which == "counter":
            self.r.set(name, raw)
            sql, args = "SELECT cache_ext.counter_get(%s)", (name,)
        elif which == "counter_next":
            self.r.set(name, raw)
            sql, args = "SELECT cache_ext.counter_next(%s, %s::bigint)", (name, rng.choice(INTS))
        elif which == "get":
            self.r.set(name, raw)
            sql, args = "SELECT cache_ext.get(%s)", (name,)
        else:
            self.r.set(name, raw)
            sql, args = "SELECT cache_ext.get_bytea(%s)", (name,)
        self.run("parse", i, "app", [(sql, args)], note=f"Redis value {clip(raw, 120)}")


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--seed", type=int, default=None)
    p.add_argument("--iterations", type=int, default=3000)
    p.add_argument("--start", type=int, default=0, help="first iteration number")
    p.add_argument("--max-seconds", type=float, default=60.0,
                   help="stop after this long even if iterations remain")
    p.add_argument("--long", action="store_true",
                   help="10,000,000 iterations, at most --max-seconds (default 3 h)")
    p.add_argument("--targets", default=",".join(TARGETS))
    p.add_argument("--verbose", action="store_true", help="one message per target and SQLSTATE")
    p.add_argument("--dsn", default="")
    p.add_argument("--redis-host", default=os.environ.get("REDIS_HOST", "127.0.0.1"))
    p.add_argument("--redis-port", type=int, default=int(os.environ.get("REDIS_PORT", "6379")))
    a = p.parse_args(argv)
    if a.long:
        if "--iterations" not in argv:
            a.iterations = 10_000_000
        if "--max-seconds" not in argv:
            a.max_seconds = 3 * 3600.0
    if a.seed is None:
        a.seed = int.from_bytes(os.urandom(4), "little")
    if not a.dsn:
        a.dsn = "dbname=" + os.environ.get("PGDATABASE", "postgres")
    targets = [t for t in a.targets.split(",") if t]
    for t in targets:
        if t not in TARGETS:
            print(f"fuzz_sql: unknown target {t}", file=sys.stderr)
            return 2
    print(f"fuzz_sql: seed={a.seed} iterations={a.iterations} start={a.start} "
          f"max_seconds={a.max_seconds} targets={','.join(targets)}")
    print(f"fuzz_sql: reproduce one input with: test/fuzz_sql.py --seed {a.seed} "
          f"--targets {','.join(targets)} --start I --iterations 1")
    sys.stdout.flush()
    f = Fuzzer(a)
    f.setup()
    t0 = time.time()
    done = 0
    slowest = (0.0, None, None)
    for i in range(a.start, a.start + a.iterations):
        if time.time() - t0 > a.max_seconds:
            break
        rng = random.Random(a.seed * 1_000_003 + i)
        target = rng.choice(targets)
        t_it = time.time()
        getattr(f, "t_" + target)(rng, i)
        t_it = time.time() - t_it
        if t_it > slowest[0]:
            slowest = (t_it, i, target)
        done += 1
        if f.crashed:
            break
    elapsed = time.time() - t0
    restarted, signals = f.check_crash()
    print(f"fuzz_sql: {done} iterations in {elapsed:.1f} s; the slowest took {slowest[0]:.2f} s "
          f"(iteration {slowest[1]}, {slowest[2]})")
    for t in targets:
        c = f.counts.get(t, {})
        print(f"fuzz_sql:   {t}: " + ", ".join(f"{k} {v}" for k, v in sorted(c.items(), key=lambda kv: -kv[1])))
    if a.verbose:
        for (t, code), msg in sorted(f.samples.items(), key=lambda kv: (kv[0][0], kv[0][1] or "")):
            print(f"fuzz_sql:   e.g. {t} {code}: {clip(msg[0], 200) if msg else ''}")
    for (target, i, what, stmts, note) in f.findings[:30]:
        print(f"fuzz_sql: FINDING iteration {i} ({target}): {what}")
        for (sql, args) in stmts:
            print(f"fuzz_sql:     {clip(sql, 200)} {clip(args, 300) if args is not None else ''}")
        if note:
            print(f"fuzz_sql:     {note}")
    for kind, (n, i, what) in f.known.items():
        print(f"fuzz_sql: KNOWN finding {kind} (not failing, owned elsewhere): {n} hit(s), "
              f"first at iteration {i}: {what}")
    if restarted:
        print("fuzz_sql: FINDING: the postmaster restarted (a backend crashed)")
    for line in signals[:10]:
        print(f"fuzz_sql: FINDING: server log: {line}")
    bad = len(f.findings) + (1 if restarted else 0) + len(signals)
    print(f"fuzz_sql: {'ok' if bad == 0 else 'FAILED'}: {len(f.findings)} finding(s), "
          f"crash: {'yes' if (restarted or signals) else 'no'}")
    return 0 if bad == 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
