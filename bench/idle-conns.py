#!/usr/bin/env python3
"""idle-conns.py: hold N idle keep-alive connections open to an HTTP server.

Each connection sends one complete GET and reads the whole response first, so
the server really holds it as an idle keep-alive connection (not a half-open
socket still in the request-reading state). Then the connections stay silent.

Protocol with the caller (bench/compare), one line each on stdout:
  ready held=N failed=F setup=S          all connections are set up (or failed)
  released held=N dropped=D unexpected=U when the hold ends; every socket is then closed
and, when a connection could not be set up, "error KIND COUNT" lines before
"ready". The hold ends when stdin reaches end of file or says anything, or
after --hold-max seconds, whichever comes first, so it is bounded even when the
caller dies. "dropped" counts held connections that the server closed during
the hold; "unexpected" those on which it sent bytes nobody asked for.

Standard library only; Linux (epoll).
"""

import argparse
import errno
import os
import resource
import select
import socket
import sys
import time

IN_FLIGHT = 256  # connections being set up at once: keeps the listen backlog short


class Conn:
    __slots__ = ("sock", "state", "buf")

    def __init__(self, sock):
        self.sock = sock
        self.state = "connecting"
        self.buf = b""


def response_complete(buf):
    """True when buf holds one whole response: head plus Content-Length body or
    a complete chunked body. None when the head is not a 200."""
    end = buf.find(b"\r\n\r\n")
    if end < 0:
        return False
    head = buf[:end].decode("latin-1").split("\r\n")
    parts = head[0].split(" ")
    if len(parts) < 2 or parts[1] != "200":
        return None
    body = buf[end + 4:]
    length = None
    chunked = False
    for line in head[1:]:
        name, _, value = line.partition(":")
        name = name.strip().lower()
        if name == "content-length":
            length = int(value.strip())
        elif name == "transfer-encoding" and "chunked" in value.lower():
            chunked = True
    if chunked:
        return body.endswith(b"0\r\n\r\n")
    return len(body) >= (length or 0)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--count", type=int, default=9000)
    ap.add_argument("--path", default="/")
    ap.add_argument("--setup-timeout", type=float, default=60.0,
                    help="seconds allowed for setting every connection up")
    ap.add_argument("--hold-max", type=float, default=120.0,
                    help="release everything after this many seconds of holding")
    args = ap.parse_args()

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if args.count + 64 > hard:
        print(f"error rlimit_nofile {hard}", flush=True)

    request = (f"GET {args.path} HTTP/1.1\r\nHost: {args.host}:{args.port}\r\n"
               "User-Agent: portico-bench-idle\r\n\r\n").encode()
    ep = select.epoll()
    conns = {}  # fd -> Conn
    errors = {}
    held = 0
    started = 0
    pending = 0
    t0 = time.monotonic()

    def fail(c, kind):
        nonlocal pending
        errors[kind] = errors.get(kind, 0) + 1
        fd = c.sock.fileno()
        ep.unregister(fd)
        del conns[fd]
        c.sock.close()
        pending -= 1

    while held + sum(errors.values()) < args.count:
        while started < args.count and pending < IN_FLIGHT:
            try:
                s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            except OSError as e:
                kind = "socket:" + errno.errorcode.get(e.errno, str(e.errno))
                errors[kind] = errors.get(kind, 0) + 1
                started += 1
                continue
            s.setblocking(False)
            rc = s.connect_ex((args.host, args.port))
            started += 1
            if rc not in (0, errno.EINPROGRESS):
                kind = "connect:" + errno.errorcode.get(rc, str(rc))
                errors[kind] = errors.get(kind, 0) + 1
                s.close()
                continue
            c = Conn(s)
            conns[s.fileno()] = c
            ep.register(s.fileno(), select.EPOLLOUT)
            pending += 1
        left = args.setup_timeout - (time.monotonic() - t0)
        if left <= 0:
            for c in [c for c in conns.values() if c.state != "held"]:
                fail(c, "setup-timeout")
            errors["setup-timeout"] = errors.get("setup-timeout", 0) + (args.count - started)
            break
        for fd, ev in ep.poll(min(left, 1.0)):
            c = conns.get(fd)
            if c is None:
                continue
            if c.state == "connecting":
                err = c.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                if err:
                    fail(c, "connect:" + errno.errorcode.get(err, str(err)))
                    continue
                try:
                    c.sock.send(request)  # small: fits the empty send buffer at once
                except OSError as e:
                    fail(c, "send:" + errno.errorcode.get(e.errno, str(e.errno)))
                    continue
                c.state = "reading"
                ep.modify(fd, select.EPOLLIN | select.EPOLLRDHUP)
            elif c.state == "reading":
                try:
                    data = c.sock.recv(65536)
                except BlockingIOError:
                    continue
                except OSError as e:
                    fail(c, "recv:" + errno.errorcode.get(e.errno, str(e.errno)))
                    continue
                if not data:
                    fail(c, "closed-before-response")
                    continue
                c.buf += data
                done = response_complete(c.buf)
                if done is None:
                    fail(c, "status-not-200")
                elif done:
                    c.state = "held"
                    c.buf = b""
                    held += 1
                    pending -= 1
            else:
                pass  # a held one spoke up during setup: looked at in the hold loop

    setup = time.monotonic() - t0
    for kind, n in sorted(errors.items()):
        print(f"error {kind} {n}", flush=True)
    print(f"ready held={held} failed={sum(errors.values())} setup={setup:.2f}", flush=True)

    # Hold: watch stdin (the caller's release) and every held socket (a drop).
    dropped = 0
    unexpected = 0
    try:
        ep.register(0, select.EPOLLIN | select.EPOLLHUP)
    except OSError:
        pass  # stdin is not a pipe: only --hold-max ends the hold
    deadline = time.monotonic() + args.hold_max
    released = False
    while not released:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        for fd, ev in ep.poll(min(left, 1.0)):
            if fd == 0:
                released = True
                continue
            c = conns.get(fd)
            if c is None:
                continue
            try:
                data = c.sock.recv(65536)
            except BlockingIOError:
                continue
            except OSError:
                data = b""
            if data:
                unexpected += 1
                continue
            dropped += 1
            held -= 1
            ep.unregister(fd)
            del conns[fd]
            c.sock.close()

    # Close everything. A plain close sends FIN, as an ordinary client would.
    ep.close()
    for c in conns.values():
        c.sock.close()
    print(f"released held={held} dropped={dropped} unexpected={unexpected}", flush=True)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(130)
