#!/usr/bin/env python3
"""Hostile and concurrent HTTP clients against strata serve's unix socket.

  hostile_http.py SOCKET concurrent N PATH...   N clients at once, each GETs every
                                                PATH; prints "STATUS PATH" per request
  hostile_http.py SOCKET raw FILE               send FILE's bytes, print the status line
  hostile_http.py SOCKET stall SECONDS          open, send half a request line, hold it,
                                                then close (a client that stalls)
  hostile_http.py SOCKET declare METHOD PATH N  declare Content-Length N, send up to 1 MiB,
                                                print the status if one came back, hang up
"""
import socket
import sys
import threading


def connect(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(60)
    s.connect(path)
    return s


def status_of(s):
    data = b""
    while b"\r\n" not in data:
        chunk = s.recv(4096)
        if not chunk:
            break
        data += chunk
    line = data.split(b"\r\n", 1)[0].decode("latin-1")
    return line.split(" ")[1] if line.startswith("HTTP/1.") else "none"


def get(path, target):
    s = connect(path)
    s.sendall(("GET %s HTTP/1.1\r\nHost: strata\r\nConnection: close\r\n\r\n" % target).encode())
    st = status_of(s)
    s.close()
    return st


def concurrent(path, n, targets):
    out, lock = [], threading.Lock()

    def worker():
        for t in targets:
            try:
                st = get(path, t)
            except OSError as e:
                st = "error:%s" % e
            with lock:
                out.append("%s %s" % (st, t))

    threads = [threading.Thread(target=worker) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for line in sorted(out):
        print(line)


def main():
    sock, mode, args = sys.argv[1], sys.argv[2], sys.argv[3:]
    if mode == "concurrent":
        concurrent(sock, int(args[0]), args[1:])
    elif mode == "raw":
        s = connect(sock)
        s.sendall(open(args[0], "rb").read())
        print(status_of(s))
    elif mode == "stall":
        import time
        s = connect(sock)
        s.sendall(b"GET /_pi")
        time.sleep(float(args[0]))
        s.close()
    elif mode == "declare":
        s = connect(sock)
        s.sendall(("%s %s HTTP/1.1\r\nHost: strata\r\nContent-Type: application/json\r\n"
                   "Content-Length: %s\r\n\r\n" % (args[0], args[1], args[2])).encode())
        try:
            s.sendall(b"{" * (1 << 20))
        except OSError:
            pass  # the server answered and closed early
        s.settimeout(2)
        try:
            st = status_of(s)
            if st != "none":
                print(st)
        except OSError:
            pass
        s.close()
    else:
        sys.exit("unknown mode " + mode)


if __name__ == "__main__":
    main()
