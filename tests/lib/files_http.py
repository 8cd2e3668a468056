#!/usr/bin/env python3
"""python3 -m http.server for tests, on 127.0.0.1 only, with one addition:
a file F answered with the header "Content-Disposition: <text of F.disposition>"
when that file exists beside it.

  files_http.py DIR PORTFILE    a free port of its own choice, written to PORTFILE
"""
import functools
import http.server
import os
import sys


class Handler(http.server.SimpleHTTPRequestHandler):
    def end_headers(self):
        path = self.translate_path(self.path)
        if os.path.isfile(path + ".disposition"):
            with open(path + ".disposition") as f:
                self.send_header("Content-Disposition", f.read().strip())
        super().end_headers()

    def log_message(self, fmt, *args):
        sys.stderr.write("%s\n" % (fmt % args))


handler = functools.partial(Handler, directory=sys.argv[1])
server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
with open(sys.argv[2] + ".tmp", "w") as f:
    f.write("%d\n" % server.server_address[1])
os.rename(sys.argv[2] + ".tmp", sys.argv[2])
server.serve_forever()
