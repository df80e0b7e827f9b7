#!/usr/bin/env python3
"""test/bench_floor.py — owns: the server floor of the per-call benchmark.

Times bare request/reply round trips against Redis and memcached from one
process over TCP loopback, with no client library: the same socket calls
for both servers, so the difference between the two rows is what the two
servers (and the kernel waking them) cost per call, the part of a SQL
call's time that neither cache_ext nor pgmemcache can do anything about.

usage: bench_floor.py REDIS_PORT MEMCACHED_PORT CALLS ROUNDS
Prints one line per round and operation: "round op redis_us memcached_us".
Rounds alternate which server goes first.  Standard library only.
"""
import socket
import sys
import time

VALUE = b"v" * 64


def connect(port):
    s = socket.create_connection(("127.0.0.1", port))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def resp(*args):
    out = b"*%d\r\n" % len(args)
    for a in args:
        out += b"$%d\r\n%s\r\n" % (len(a), a)
    return out


# (request, how the complete reply ends) per server and operation
REQUESTS = {
    "get": (resp(b"GET", b"bench_floor_get"), b"\r\n",
            b"get bench_floor_get\r\n", b"END\r\n"),
    "set": (resp(b"SET", b"bench_floor_set", VALUE), b"+OK\r\n",
            b"set bench_floor_set 0 0 64\r\n" + VALUE + b"\r\n", b"STORED\r\n"),
    "incr": (resp(b"INCR", b"bench_floor_incr"), b"\r\n",
             b"incr bench_floor_incr 1\r\n", b"\r\n"),
}


def round_trips(sock, request, end, calls):
    send = sock.sendall
    recv = sock.recv
    t0 = time.perf_counter_ns()
    for _ in range(calls):
        send(request)
        reply = recv(4096)
        while not reply.endswith(end):
            reply += recv(4096)
    return (time.perf_counter_ns() - t0) / calls / 1000.0


def main():
    redis_port, mc_port, calls, rounds = (int(a) for a in sys.argv[1:5])
    r = connect(redis_port)
    m = connect(mc_port)
    # the values the GET and INCR requests need
    for sock, req, end in ((r, resp(b"SET", b"bench_floor_get", VALUE), b"+OK\r\n"),
                           (r, resp(b"SET", b"bench_floor_incr", b"0"), b"+OK\r\n"),
                           (m, b"set bench_floor_get 0 0 64\r\n" + VALUE + b"\r\n", b"STORED\r\n"),
                           (m, b"set bench_floor_incr 0 0 1\r\n0\r\n", b"STORED\r\n")):
        round_trips(sock, req, end, 1)
    for op, (rreq, rend, mreq, mend) in REQUESTS.items():
        round_trips(r, rreq, rend, 200)     # warm-up
        round_trips(m, mreq, mend, 200)
    for n in range(rounds):
        for op, (rreq, rend, mreq, mend) in REQUESTS.items():
            if n % 2 == 0:
                ru = round_trips(r, rreq, rend, calls)
                mu = round_trips(m, mreq, mend, calls)
            else:
                mu = round_trips(m, mreq, mend, calls)
                ru = round_trips(r, rreq, rend, calls)
            print("%d %s %.2f %.2f" % (n, op, ru, mu), flush=True)


if __name__ == "__main__":
    main()
