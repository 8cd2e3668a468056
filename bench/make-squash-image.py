#!/usr/bin/env python3
"""A docker-archive for bench/squash.sh: LAYERS uncompressed layers of about
TOTAL_MB in all, files of 4 KiB to 1 MiB in a tree of folders; each later
layer rewrites a tenth of the files the one below added and whites out a
twentieth of them, so the squash drops bytes.  No hard links.

usage: make-squash-image.py OUT.tar LAYERS TOTAL_MB NAME:TAG
"""
import hashlib, io, json, random, sys, tarfile

out, nlayers, total_mb, ref = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
rng = random.Random(1)
pool = rng.randbytes(4 << 20)
sizes = [4096, 16384, 65536, 262144, 1 << 20]


def blob(size):
    off = rng.randrange(len(pool) - size)
    return pool[off:off + size]


def write_layer(path, i, below):
    """Layer i into path; below: the files layer i-1 added.  Returns (diff_id, files added)."""
    added = []
    h = hashlib.sha256()
    with open(path, 'wb') as f:
        class Hashing:
            def write(self, b):
                h.update(b)
                return f.write(b)
        with tarfile.open(fileobj=Hashing(), mode='w|', format=tarfile.PAX_FORMAT) as t:
            def add(name, data=None, kind=tarfile.REGTYPE, mode=0o644):
                ti = tarfile.TarInfo(name)
                ti.type, ti.mode, ti.mtime = kind, mode, 1700000000 + i
                ti.size = len(data) if data is not None else 0
                t.addfile(ti, io.BytesIO(data) if data is not None else None)
            budget = total_mb * (1 << 20) // nlayers
            top = 'l%02d' % i
            add(top, kind=tarfile.DIRTYPE, mode=0o755)
            for d in range(20):
                add('%s/d%02d' % (top, d), kind=tarfile.DIRTYPE, mode=0o755)
            rewrite = below[::10]
            gone = below[5::20]
            for name in sorted(set(p.rsplit('/', 1)[0] for p in rewrite + gone) |
                               set(p.split('/', 1)[0] for p in rewrite + gone)):
                add(name, kind=tarfile.DIRTYPE, mode=0o755)
            for name in rewrite:
                data = blob(rng.choice(sizes))
                add(name, data)
                budget -= len(data)
            for name in gone:
                d, base = name.rsplit('/', 1)
                add('%s/.wh.%s' % (d, base), b'', mode=0o600)
            n = 0
            while budget > 0:
                data = blob(rng.choice(sizes))
                name = '%s/d%02d/f%05d' % (top, n % 20, n)
                add(name, data)
                added.append(name)
                budget -= len(data)
                n += 1
    return 'sha256:' + h.hexdigest(), added


work = out + '.layers'
diffs, names, below = [], [], []
with tarfile.open(out, 'w') as arc:
    for i in range(nlayers):
        name = '%04d/layer.tar' % i
        diff, below = write_layer(work, i, below)
        diffs.append(diff)
        names.append(name)
        arc.add(work, arcname=name)
    cfg = json.dumps({'architecture': 'amd64', 'os': 'linux', 'config': {'Cmd': ['/bin/sh']},
                      'created': '2026-01-01T00:00:00Z',
                      'history': [{'created': '2026-01-01T00:00:00Z', 'created_by': 'step %d' % i}
                                  for i in range(nlayers)],
                      'rootfs': {'type': 'layers', 'diff_ids': diffs}}).encode()
    cid = hashlib.sha256(cfg).hexdigest()

    def put(n, data):
        ti = tarfile.TarInfo(n)
        ti.size = len(data)
        arc.addfile(ti, io.BytesIO(data))
    put(cid + '.json', cfg)
    put('manifest.json', json.dumps([{'Config': cid + '.json', 'RepoTags': [ref], 'Layers': names}]).encode())
import os
os.unlink(work)
