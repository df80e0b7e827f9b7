#!/usr/bin/env python3
"""test/bench_tls_floor.py -- owns: the TLS floor of test/bench_api.sh.

usage: bench_tls_floor.py PLAIN_PORT TLS_PORT CA_FILE CALLS ROUNDS

One Python process, no client library: GET / SET / INCR request-reply
round trips to the same Redis over its plain port and over its TLS port
(Python's ssl module, OpenSSL like cache_ext), interleaved per round.
Prints one line per round and operation:
    ROUND OP PLAIN_US TLS_US
What TLS costs a bare client here (the server's TLS work included) is
what no client can win back; cache_ext's own TLS / plain ratio is
compared with it.
"""
import socket
import ssl
import sys
import time

REQ = {
    "get": b"*2\r\n$3\r\nGET\r\n$10\r\nbench_tls0\r\n",
    "set": b"*3\r\n$3\r\nSET\r\n$10\r\nbench_tls1\r\n$64\r\n" + b"v" * 64 + b"\r\n",
    "incr": b"*2\r\n$4\r\nINCR\r\n$10\r\nbench_tls2\r\n",
}


def connect(port, ctx=None):
    s = socket.create_connection(("127.0.0.1", port))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    if ctx is not None:
        s = ctx.wrap_socket(s, server_hostname="localhost")
    return s


def timed(sock, req, n):
    t0 = time.perf_counter()
    for _ in range(n):
        sock.sendall(req)
        sock.recv(65536)
    return (time.perf_counter() - t0) * 1e6 / n


def main():
    plain_port, tls_port, ca, calls, rounds = (int(sys.argv[1]), int(sys.argv[2]),
                                               sys.argv[3], int(sys.argv[4]),
                                               int(sys.argv[5]))
    ctx = ssl.create_default_context(cafile=ca)
    plain = connect(plain_port)
    tls = connect(tls_port, ctx)
    for s in (plain, tls):
        timed(s, REQ["get"], 200)  # warm up
    for r in range(rounds):
        for op, req in REQ.items():
            if r % 2:
                t = timed(tls, req, calls)
                p = timed(plain, req, calls)
            else:
                p = timed(plain, req, calls)
                t = timed(tls, req, calls)
            print(f"{r} {op} {p:.2f} {t:.2f}", flush=True)


if __name__ == "__main__":
    main()
