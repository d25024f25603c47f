#!/usr/bin/env python3
"""Peers that must live outside the Node process under test: listeners that
never accept, and listeners that act the instant they accept. (A peer inside
the process could not act while connectSync blocks its event loop.)

  peers.py tcp4|tcp6 [PORT]      a loopback listener with listen(fd, 0) whose
                                 accept queue is already full: the kernel
                                 drops every further SYN, so connects to it
                                 stay pending until a deadline. On PORT if
                                 given (a network namespace's own loopback),
                                 else on a port the kernel picks.
  peers.py unix PATH             the same on AF_UNIX: further connects get
                                 EAGAIN at once.
  peers.py greet4                accepts and writes at once, then holds.
  peers.py reset4                accepts and resets at once (SO_LINGER 0
                                 close), so the client sees an RST.
  peers.py unix-stale PATH       a socket file with nobody listening behind
                                 it: connects get ECONNREFUSED.

Prints one JSON line ({"port": N} or {"path": P}), then holds the sockets
until stdin closes. Node's net.Server cannot do this: it accepts on its own
and turns backlog 0 into 511.
"""
import json
import os
import socket
import struct
import sys
import threading

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


def serve(kind, held):
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(128)
    held.append(listener)

    def loop():
        while True:
            try:
                peer, _ = listener.accept()
            except OSError:
                return
            if kind == "greet4":
                peer.sendall(b"hello\n")
                held.append(peer)
            else:
                peer.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                peer.close()

    threading.Thread(target=loop, daemon=True).start()
    return listener.getsockname()[1]


def main():
    kind = sys.argv[1]
    held = []
    if kind in ("tcp4", "tcp6"):
        family = socket.AF_INET if kind == "tcp4" else socket.AF_INET6
        host = "127.0.0.1" if kind == "tcp4" else "::1"
        listener = socket.socket(family, socket.SOCK_STREAM)
        listener.bind((host, int(sys.argv[2]) if len(sys.argv) > 2 else 0))
        listener.listen(0)
        port = listener.getsockname()[1]
        held = [listener] + fill_queue(family, (host, port))
        print(json.dumps({"port": port}), flush=True)
    elif kind in ("greet4", "reset4"):
        print(json.dumps({"port": serve(kind, held)}), flush=True)
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
        sys.exit("usage: peers.py tcp4|tcp6 [PORT]|greet4|reset4|unix PATH|unix-stale PATH")
    sys.stdin.read()
    for s in held:
        try:
            s.close()
        except OSError:
            pass
    if kind.startswith("unix"):
        try:
            os.unlink(sys.argv[2])
        except FileNotFoundError:
            pass


if __name__ == "__main__":
    main()
