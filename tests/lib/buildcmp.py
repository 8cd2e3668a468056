#!/usr/bin/env python3
"""buildcmp.py [--times-in-layers] ROOT_A ID_A ROOT_B ID_B: compare two classic-builder results.

Walks both parent chains (imagedb/metadata/<id>/parent) and compares every
image's config with what depends on the moment and the builder's random
choices left out: created times, container IDs, container_config.Hostname,
config/container_config.Image (parent IDs, which differ when times do).
Key order of the config, its container configs and history entries must be
the same too: dockerd's bytes, not only its values.  With --times-in-layers the diff IDs are left out too: layers that hold
the moment of the build (a folder a COPY made) differ by their mtimes,
their files are compared by layercmp.py.  Prints the differences; exit 1
when there are any.
"""
import json
import os
import sys


def load(root, iid):
    iid = iid.replace("sha256:", "")
    d = os.path.join(root, "image/overlay2/imagedb")
    with open(f"{d}/content/sha256/{iid}", "rb") as f:
        cfg = json.loads(f.read())
    p = f"{d}/metadata/sha256/{iid}/parent"
    parent = open(p).read() if os.path.exists(p) else None
    return cfg, parent


TIMES_IN_LAYERS = False


def norm(cfg):
    c = json.loads(json.dumps(cfg))
    if TIMES_IN_LAYERS:
        c.get("rootfs", {}).pop("diff_ids", None)
    c.pop("created", None)
    c.pop("container", None)
    for k in ("config", "container_config"):
        if c.get(k):
            c[k].pop("Image", None)
            if k == "container_config":
                c[k].pop("Hostname", None)
    for h in c.get("history", []):
        h.pop("created", None)
    return c


def chain(root, iid):
    out = []
    while iid:
        cfg, parent = load(root, iid)
        out.append((iid, cfg))
        iid = parent
    return out


def main():
    global TIMES_IN_LAYERS
    args = sys.argv[1:]
    if args and args[0] == "--times-in-layers":
        TIMES_IN_LAYERS = True
        args = args[1:]
    a = chain(args[0], args[1])
    b = chain(args[2], args[3])
    ok = True
    if len(a) != len(b):
        print(f"parent chain length differs: {len(a)} vs {len(b)}")
        ok = False
    for (ia, ca), (ib, cb) in zip(a, b):
        na, nb = norm(ca), norm(cb)
        if na != nb:
            ok = False
            print(f"image {ia[:19]} vs {ib[:19]} differ:")
            print(" A:", json.dumps(na, sort_keys=True))
            print(" B:", json.dumps(nb, sort_keys=True))
        if list(ca) != list(cb):
            ok = False
            print("top-level key order differs:", list(ca), list(cb))
        for k in ("config", "container_config"):
            if isinstance(ca.get(k), dict) and list(ca[k]) != list(cb.get(k) or {}):
                ok = False
                print(f"{k} key order differs:", list(ca[k]), list(cb.get(k) or {}))
        ha = [list(h) for h in ca.get("history", [])]
        hb = [list(h) for h in cb.get("history", [])]
        if ha != hb:
            ok = False
            print("history key order differs:", ha, hb)
    sys.exit(0 if ok else 1)


main()
