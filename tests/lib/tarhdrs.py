#!/usr/bin/env python3
"""tarhdrs.py FILE: list every raw tar header block of FILE, one line each.

The fields are printed as stored (mode with its file-type bits, magic,
version and device fields as bytes), so two archives that list the same were
written alike, header by header.  The format is the one of the captured
listing tests/fixtures/docker-20.10/save/seed.tar.headers.txt:

  @OFFSET: name='..' typeflag=C mode=OCTAL uid=N gid=N size=N mtime=N
           linkname='..' magic=b'..' version=b'..' uname='..' gname='..'
           devmajor=b'..' devminor=b'..' prefix='..'     (one line)
  @OFFSET: zero block
  end-of-archive at N; total file size N; trailing bytes after 2 zero blocks: N

Extension headers (x, g, L, K) are followed by a line with their body.
"""
import sys

BLOCK = 512
# (name, start, end) of the ustar header fields
FIELDS = dict(name=(0, 100), mode=(100, 108), uid=(108, 116), gid=(116, 124), size=(124, 136),
              mtime=(136, 148), linkname=(157, 257), magic=(257, 263), version=(263, 265),
              uname=(265, 297), gname=(297, 329), devmajor=(329, 337), devminor=(337, 345),
              prefix=(345, 500))


def field(hdr, key):
    start, end = FIELDS[key]
    return hdr[start:end]


def text(raw):
    return raw.partition(b"\0")[0].decode("utf-8", "replace")


def number(raw):
    digits = raw.partition(b"\0")[0].strip(b" \0")
    return int(digits, 8) if digits else 0


def describe(offset, hdr):
    flag = chr(hdr[156]) if hdr[156] else "\\0"
    parts = ["name=%r" % text(field(hdr, "name")), "typeflag=%s" % flag,
             "mode=%o" % number(field(hdr, "mode"))]
    parts += ["%s=%d" % (k, number(field(hdr, k))) for k in ("uid", "gid", "size", "mtime")]
    parts.append("linkname=%r" % text(field(hdr, "linkname")))
    parts += ["%s=%r" % (k, field(hdr, k)) for k in ("magic", "version")]
    parts += ["%s=%r" % (k, text(field(hdr, k))) for k in ("uname", "gname")]
    parts += ["%s=%r" % (k, field(hdr, k)) for k in ("devmajor", "devminor")]
    parts.append("prefix=%r" % text(field(hdr, "prefix")))
    return "@%d: %s" % (offset, " ".join(parts))


def main(path):
    with open(path, "rb") as f:
        data = f.read()
    offset, zero_run = 0, 0
    while offset + BLOCK <= len(data):
        hdr = data[offset:offset + BLOCK]
        if not any(hdr):
            print("@%d: zero block" % offset)
            offset += BLOCK
            zero_run += 1
            if zero_run == 2:
                print("end-of-archive at %d; total file size %d; trailing bytes after 2 zero blocks: %d"
                      % (offset, len(data), len(data) - offset))
                return
            continue
        zero_run = 0
        print(describe(offset, hdr))
        size = number(field(hdr, "size"))
        offset += BLOCK
        if chr(hdr[156]) in "xgLK" and hdr[156]:
            print("    ext body: %r" % data[offset:offset + size])
        offset += -(-size // BLOCK) * BLOCK


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: tarhdrs.py FILE")
    main(sys.argv[1])
