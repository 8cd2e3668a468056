#!/usr/bin/env python3
"""Write a docker-archive with gzip'd (or plain) layers made from a real tree.

usage: [COMPRESS=gzip|none] make-archive.py SRC_DIR OUT.tar [LAYERS] [NAME:TAG]

The top-level entries of SRC_DIR are dealt into LAYERS (default 6) layers of
about equal size; each layer is a tar of its share (paths under usr/), gzip'd
at level 6 (COMPRESS=none: left as is).  manifest.json and the config are written as docker does, so
both `docker load` and `strata load` read it.
"""
import gzip
import hashlib
import io
import json
import os
import sys
import tarfile
import time


def du(path):
    total = 0
    for root, dirs, files in os.walk(path):
        for f in files:
            try:
                total += os.lstat(os.path.join(root, f)).st_size
            except OSError:
                pass
    return total


def main():
    src, out = sys.argv[1], sys.argv[2]
    nlayers = int(sys.argv[3]) if len(sys.argv) > 3 else 6
    ref = sys.argv[4] if len(sys.argv) > 4 else "bench/usr:latest"
    entries = sorted(os.listdir(src))
    sized = sorted(((du(os.path.join(src, e)), e) for e in entries), reverse=True)
    buckets = [[0, []] for _ in range(nlayers)]
    for size, e in sized:
        b = min(buckets, key=lambda x: x[0])
        b[0] += size
        b[1].append(e)
    layers, diff_ids = [], []
    for i, (_, names) in enumerate(buckets):
        raw = io.BytesIO()
        with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tf:
            tf.add(src, arcname="usr", recursive=False)
            for n in sorted(names):
                tf.add(os.path.join(src, n), arcname="usr/" + n)
        data = raw.getvalue()
        diff_ids.append("sha256:" + hashlib.sha256(data).hexdigest())
        gz = data if os.environ.get("COMPRESS") == "none" else gzip.compress(data, compresslevel=6, mtime=0)
        layers.append(gz)
        print(f"layer {i}: {len(data)/1e6:.1f} MB tar, {len(gz)/1e6:.1f} MB in the archive", file=sys.stderr)
    created = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    config = {
        "architecture": "amd64", "os": "linux", "created": created,
        "config": {"Env": ["PATH=/usr/bin:/bin"], "Cmd": ["/usr/bin/true"]},
        "history": [{"created": created, "created_by": f"layer {i}"} for i in range(nlayers)],
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
    }
    cbytes = json.dumps(config, separators=(",", ":")).encode()
    cid = hashlib.sha256(cbytes).hexdigest()
    manifest = [{"Config": cid + ".json", "RepoTags": [ref],
                 "Layers": [hashlib.sha256(g).hexdigest() + "/layer.tar" for g in layers]}]
    with tarfile.open(out, "w") as tf:
        def add(name, data):
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            ti.mtime = 0
            tf.addfile(ti, io.BytesIO(data))
        add(cid + ".json", cbytes)
        for g in layers:
            add(hashlib.sha256(g).hexdigest() + "/layer.tar", g)
        add("manifest.json", json.dumps(manifest).encode() + b"\n")
    print(f"image sha256:{cid}", file=sys.stderr)


main()
