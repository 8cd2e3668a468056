#!/usr/bin/env python3
"""api-client.py SOCKET MODE ...: bench/api.sh's client of an Engine API socket.

  latency SOCKET RUNS CMD...   run CMD (the docker CLI, DOCKER_HOST=SOCKET) RUNS
                               times after one warm-up: median wall seconds
  get SOCKET RUNS PATH         RUNS sequential GETs of PATH on one connection:
                               median seconds per request
  pull SOCKET RUNS IMAGE       `$DOCKER pull IMAGE` RUNS times after one warm-up,
                               each after `docker rmi IMAGE` (not timed):
                               median wall seconds
  load SOCKET CLIENTS SECS PATH
                               CLIENTS processes, each on its own keep-alive
                               connection, GET PATH for SECS seconds: requests
                               per second (all replies 200 and read whole)
"""
import multiprocessing
import os
import socket
import statistics
import subprocess
import sys
import time


def connect(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    return s


def get(sock, buf, path):
    """One GET on a kept-alive connection; returns (status, leftover bytes)."""
    sock.sendall(b"GET " + path.encode() + b" HTTP/1.1\r\nHost: bench\r\n\r\n")
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(1 << 16)
        if not chunk:
            raise ConnectionError("closed")
        buf += chunk
    head, _, buf = buf.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split()[1])
    hdrs = {k.strip().lower(): v.strip() for k, _, v in (l.partition(b":") for l in lines[1:])}
    if b"content-length" in hdrs:
        need = int(hdrs[b"content-length"])
        while len(buf) < need:
            chunk = sock.recv(1 << 20)
            if not chunk:
                raise ConnectionError("closed")
            buf += chunk
        return status, buf[need:]
    # chunked
    while True:
        while b"\r\n" not in buf:
            buf += sock.recv(1 << 20)
        size_line, _, buf = buf.partition(b"\r\n")
        size = int(size_line.split(b";")[0], 16)
        while len(buf) < size + 2:
            chunk = sock.recv(1 << 20)
            if not chunk:
                raise ConnectionError("closed")
            buf += chunk
        buf = buf[size + 2:]
        if size == 0:
            return status, buf


def worker(path, secs, url, out):
    sock = connect(path)
    buf = b""
    n = 0
    end = time.monotonic() + secs
    while time.monotonic() < end:
        status, buf = get(sock, buf, url)
        if status != 200:
            raise SystemExit("status %d" % status)
        n += 1
    out.put(n)


def main():
    mode, path = sys.argv[1], sys.argv[2]
    if mode == "latency":
        runs, cmd = int(sys.argv[3]), sys.argv[4:]
        env = dict(os.environ, DOCKER_HOST="unix://" + path)
        times = []
        for i in range(runs + 1):
            t0 = time.monotonic()
            subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL)
            if i:
                times.append(time.monotonic() - t0)
        print("%.4f" % statistics.median(times))
    elif mode == "pull":
        runs, image = int(sys.argv[3]), sys.argv[4]
        env = dict(os.environ, DOCKER_HOST="unix://" + path)
        docker = os.environ.get("DOCKER", "docker")
        times = []
        for i in range(runs + 1):
            subprocess.run([docker, "rmi", image], env=env, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
            t0 = time.monotonic()
            subprocess.run([docker, "pull", "-q", image], env=env, check=True, stdout=subprocess.DEVNULL)
            if i:
                times.append(time.monotonic() - t0)
        print("%.4f" % statistics.median(times))
    elif mode == "get":
        runs, url = int(sys.argv[3]), sys.argv[4]
        sock, buf, times = connect(path), b"", []
        for i in range(runs + 1):
            t0 = time.monotonic()
            status, buf = get(sock, buf, url)
            if status != 200:
                raise SystemExit("status %d" % status)
            if i:
                times.append(time.monotonic() - t0)
        print("%.4f" % statistics.median(times))
    elif mode == "load":
        clients, secs, url = int(sys.argv[3]), float(sys.argv[4]), sys.argv[5]
        out = multiprocessing.Queue()
        procs = [multiprocessing.Process(target=worker, args=(path, secs, url, out)) for _ in range(clients)]
        for p in procs:
            p.start()
        total = sum(out.get() for _ in procs)
        for p in procs:
            p.join()
            if p.exitcode:
                raise SystemExit("a client failed")
        print("%.1f" % (total / secs))
    else:
        raise SystemExit(__doc__)


main()
