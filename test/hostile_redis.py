#!/usr/bin/env python3
"""test/hostile_redis.py -- owns: a misbehaving Redis for the transport tests.

usage: hostile_redis.py PORT MODE [--tls CERT KEY] [--lifetime SECONDS]
       hostile_redis.py PORT throttle --upstream PORT --rate BYTES_PER_S

Listens on 127.0.0.1:PORT (plain TCP, or TLS with --tls) and, per
connection, answers the connection handshake (AUTH, SELECT, SCRIPT LOAD,
PING) like Redis, then answers the first other command according to MODE:

  garbage    a reply that is no RESP at all
  bighead    a bulk string announced as 2^62 bytes, then silence
  hugearray  an array announced with 2,000,000,000 elements, then silence
  deep       arrays nested 100 deep
  flood      a status line that never ends (megabytes without CRLF)
  truncated  the start of a bulk string, then a close
  onebyte    a correct reply ($5 hello), written one byte at a time
  extra      a correct reply followed by one nobody asked for
  resp3      a RESP3 double, which a RESP2 client never asks for
  nil        $-1 (nil) to every command after the handshake
  integer    :7 to every command after the handshake
  lowstring  the bulk string "1" to every command after the handshake
  loading    -LOADING to every command after the handshake (a failover answer)
  masterdown -MASTERDOWN likewise
  close      closes as soon as a connection arrives (mid-handshake for TLS)
  hshake     (TLS) reads the ClientHello, then closes
  throttle   an honest but slow link: forwards every connection to the Redis
             on --upstream, the client's bytes at --rate bytes a second (the
             replies at full speed), so a long pipeline takes long and a
             short one does not

Prints "ready" once listening, "accepted" for each connection and, with
--tls, "sni: NAME" for the server name the client sent (None without).
Exits after --lifetime seconds (default 300).  Loopback only.
"""
import argparse
import os
import socket
import ssl
import sys
import threading
import time


def read_command(conn, buf):
    """One RESP command (array of bulk strings) as a list of bytes, or None."""
    while True:
        parsed = parse(buf)
        if parsed is not None:
            cmd, used = parsed
            del buf[:used]
            return cmd
        data = conn.recv(65536)
        if not data:
            return None
        buf.extend(data)


def parse(buf):
    if not buf:
        return None
    if buf[0:1] != b"*":
        end = buf.find(b"\r\n")
        if end < 0:
            return None
        return [bytes(buf[:end]).split()[0] if buf[:end].strip() else b""], end + 2
    end = buf.find(b"\r\n")
    if end < 0:
        return None
    n = int(buf[1:end])
    pos = end + 2
    out = []
    for _ in range(n):
        end = buf.find(b"\r\n", pos)
        if end < 0:
            return None
        ln = int(buf[pos + 1:end])
        pos = end + 2
        if len(buf) < pos + ln + 2:
            return None
        out.append(bytes(buf[pos:pos + ln]))
        pos += ln + 2
    return out, pos


HANDSHAKE = {b"AUTH", b"SELECT", b"SCRIPT", b"PING", b"HELLO", b"CLIENT"}


def handshake_reply(cmd):
    name = cmd[0].upper() if cmd else b""
    if name == b"SCRIPT":
        return b"$40\r\n" + b"0" * 40 + b"\r\n"
    if name == b"PING":
        return b"+PONG\r\n"
    return b"+OK\r\n"


def misbehave(conn, mode):
    if mode == "garbage":
        conn.sendall(b"!@#$ this is not RESP\r\n")
        time.sleep(30)
    elif mode == "bighead":
        conn.sendall(b"$4611686018427387904\r\n")
        time.sleep(30)
    elif mode == "hugearray":
        conn.sendall(b"*2000000000\r\n")
        time.sleep(30)
    elif mode == "deep":
        conn.sendall(b"*1\r\n" * 100 + b":1\r\n")
        time.sleep(30)
    elif mode == "flood":
        conn.sendall(b"+")
        chunk = b"a" * 65536
        deadline = time.time() + 20
        while time.time() < deadline:
            conn.sendall(chunk)
    elif mode == "truncated":
        conn.sendall(b"$10\r\nabc")
        time.sleep(0.2)
    elif mode == "onebyte":
        for b in b"$5\r\nhello\r\n":
            conn.sendall(bytes([b]))
            time.sleep(0.01)
        return True
    elif mode == "extra":
        conn.sendall(b"$5\r\nhello\r\n$5\r\nextra\r\n")
        return True
    elif mode == "loading":
        conn.sendall(b"-LOADING Redis is loading the dataset in memory\r\n")
        return True
    elif mode == "masterdown":
        conn.sendall(b"-MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.\r\n")
        return True
    elif mode == "resp3":
        conn.sendall(b",1.5\r\n")
        time.sleep(30)
    elif mode == "nil":
        conn.sendall(b"$-1\r\n")
        return True
    elif mode == "integer":
        conn.sendall(b":7\r\n")
        return True
    elif mode == "lowstring":
        conn.sendall(b"$1\r\n1\r\n")
        return True
    return False


def pump(src, dst, rate):
    """Copy src to dst until either closes; at most rate bytes/s (0: any)."""
    try:
        while True:
            data = src.recv(1024 if rate else 65536)
            if not data:
                break
            dst.sendall(data)
            if rate:
                time.sleep(len(data) / rate)
    except OSError:
        pass
    finally:
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def throttle(conn, upstream, rate):
    try:
        up = socket.create_connection(("127.0.0.1", upstream), timeout=5)
    except OSError:
        conn.close()
        return
    up.settimeout(None)
    conn.settimeout(None)
    back = threading.Thread(target=pump, args=(up, conn, 0), daemon=True)
    back.start()
    pump(conn, up, rate)
    back.join(5)
    conn.close()
    up.close()


def serve(conn, mode):
    try:
        if mode == "close":
            return
        if mode == "hshake":
            conn.recv(4096)
            return
        buf = bytearray()
        while True:
            cmd = read_command(conn, buf)
            if cmd is None:
                return
            if cmd and cmd[0].upper() in HANDSHAKE:
                conn.sendall(handshake_reply(cmd))
                continue
            if not misbehave(conn, mode):
                return
    except (OSError, ssl.SSLError, ValueError):
        return
    finally:
        try:
            conn.close()
        except OSError:
            pass


def accept_one(raw, ctx, mode):
    conn = raw
    if ctx is not None and mode not in ("close", "hshake"):
        try:
            conn = ctx.wrap_socket(raw, server_side=True)
        except (OSError, ssl.SSLError):
            raw.close()
            return
    serve(conn, mode)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("port", type=int)
    ap.add_argument("mode")
    ap.add_argument("--tls", nargs=2, metavar=("CERT", "KEY"))
    ap.add_argument("--lifetime", type=float, default=300)
    ap.add_argument("--upstream", type=int, help="throttle: the Redis port")
    ap.add_argument("--rate", type=float, default=0, help="throttle: bytes/s")
    args = ap.parse_args()
    if args.mode == "throttle" and not args.upstream:
        ap.error("throttle needs --upstream PORT")

    ctx = None
    if args.tls:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(args.tls[0], args.tls[1])
        # the server name the client sent (SNI), or None
        ctx.sni_callback = lambda sock, name, c: print("sni:", name, flush=True)

    lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lsock.bind(("127.0.0.1", args.port))
    lsock.listen(64)
    lsock.settimeout(1.0)
    print("ready", flush=True)
    end = time.time() + args.lifetime
    while time.time() < end:
        try:
            raw, _ = lsock.accept()
        except socket.timeout:
            continue
        print("accepted", flush=True)
        raw.settimeout(60)
        if args.mode == "throttle":
            threading.Thread(target=throttle, args=(raw, args.upstream, args.rate),
                             daemon=True).start()
            continue
        threading.Thread(target=accept_one, args=(raw, ctx, args.mode),
                         daemon=True).start()
    os._exit(0)


if __name__ == "__main__":
    sys.exit(main())
