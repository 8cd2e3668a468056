#!/usr/bin/env python3
"""layercmp.py SAVE_A SAVE_B: compare the layers of two docker-save archives.

For each layer, in order, the member list must be the same: path, type,
mode, uid, gid, uname, gname, size, sha256 of the content, link target.
mtimes are left out (a step's new folders carry the moment it ran).
Prints the differences; exit 1 when there are any.
"""
import hashlib
import io
import json
import sys
import tarfile


def layers(path):
    outer = tarfile.open(path)
    manifest = json.load(outer.extractfile("manifest.json"))
    out = []
    for name in manifest[0]["Layers"]:
        inner = tarfile.open(fileobj=io.BytesIO(outer.extractfile(name).read()))
        rows = []
        for m in inner:
            data = inner.extractfile(m).read() if m.isreg() else b""
            rows.append((m.name, m.type, oct(m.mode), m.uid, m.gid, m.uname, m.gname, m.size,
                         hashlib.sha256(data).hexdigest()[:16], m.linkname))
        out.append(rows)
    return out


a, b = layers(sys.argv[1]), layers(sys.argv[2])
ok = len(a) == len(b)
if not ok:
    print(f"{len(a)} layers vs {len(b)}")
for i, (la, lb) in enumerate(zip(a, b)):
    if la != lb:
        ok = False
        print(f"layer {i} differs:")
        for r in la:
            print(" A", r)
        for r in lb:
            print(" B", r)
sys.exit(0 if ok else 1)
