#!/usr/bin/env python3
"""Listeners that never accept, for tests and the demo.

  blackhole.py tcp4|tcp6         a loopback listener with listen(fd, 0) whose
                                 accept queue is already full: the kernel
                                 drops every further SYN, so connects to it
                                 stay pending until a deadline.
  blackhole.py unix PATH         the same on AF_UNIX: further connects get
                                 EAGAIN at once.
  blackhole.py unix-stale PATH   a socket file with nobody listening behind
                                 it: connects get ECONNREFUSED.

Prints one JSON line ({"port": N} or {"path": P}), then holds the sockets
until stdin closes. Node's net.Server cannot do this: it accepts on its own
and turns backlog 0 into 511.
"""
import json
import os
import socket
import sys

QUEUE_FILLERS = 3


def fill_queue(family, address):
    fillers = []
    for _ in range(QUEUE_FILLERS):
        s = socket.socket(family, socket.SOCK_STREAM)
        s.setblocking(False)
        try:
            s.connect(address)
        except (BlockingIOError, InterruptedError):
            pass  # EINPROGRESS on TCP, EAGAIN on AF_UNIX: the queue is full
        fillers.append(s)
    return fillers


def main():
    kind = sys.argv[1]
    held = []
    if kind in ("tcp4", "tcp6"):
        family = socket.AF_INET if kind == "tcp4" else socket.AF_INET6
        host = "127.0.0.1" if kind == "tcp4" else "::1"
        listener = socket.socket(family, socket.SOCK_STREAM)
        listener.bind((host, 0))
        listener.listen(0)
        port = listener.getsockname()[1]
        held = [listener] + fill_queue(family, (host, port))
        print(json.dumps({"port": port}), flush=True)
    elif kind == "unix":
        path = sys.argv[2]
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(path)
        listener.listen(0)
        held = [listener] + fill_queue(socket.AF_UNIX, path)
        print(json.dumps({"path": path}), flush=True)
    elif kind == "unix-stale":
        path = sys.argv[2]
        stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        stale.bind(path)
        stale.close()
        print(json.dumps({"path": path}), flush=True)
    else:
        sys.exit("usage: blackhole.py tcp4|tcp6|unix PATH|unix-stale PATH")
    sys.stdin.read()
    for s in held:
        s.close()
    if kind.startswith("unix"):
        try:
            os.unlink(sys.argv[2])
        except FileNotFoundError:
            pass


if __name__ == "__main__":
    main()
