#!/usr/bin/env python3
"""A docker-archive for bench/analyze.sh: LAYERS uncompressed layers with
ENTRIES entries in all, in a tree of directories; later layers overwrite,
chmod-copy and whiteout what earlier ones wrote, so the analysis has work.

usage: make-analyze-image.py OUT.tar LAYERS ENTRIES NAME:TAG [MAX_FILE_BYTES=3000]
"""
import hashlib, io, json, random, sys, tarfile

out, nlayers, nentries, ref = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
max_bytes = int(sys.argv[5]) if len(sys.argv) > 5 else 3000
rng = random.Random(1)
per = max(1, nentries // nlayers)
ndirs = max(10, per // 20)
pool = rng.randbytes(1 << 20)


def layer(i):
    b = io.BytesIO()
    with tarfile.open(fileobj=b, mode='w', format=tarfile.PAX_FORMAT) as t:
        def add(name, data=None, kind=tarfile.REGTYPE, mode=0o644):
            ti = tarfile.TarInfo(name)
            ti.type, ti.mode, ti.mtime = kind, mode, 1700000000
            if data is not None:
                ti.size = len(data)
            t.addfile(ti, io.BytesIO(data) if data is not None else None)
        dirs = sorted(rng.sample(range(ndirs), min(ndirs, 20)))
        names = set()
        add('tree', kind=tarfile.DIRTYPE, mode=0o755)
        for d in dirs:
            add('tree/d%04d' % d, kind=tarfile.DIRTYPE, mode=0o755)
        n = 0
        while n < per - len(dirs) - 2:
            name = 'tree/d%04d/f%05d' % (rng.choice(dirs), rng.randrange(per * 2))
            if name in names:
                continue
            names.add(name)
            size = rng.randrange(max_bytes)
            off = rng.randrange(len(pool) - size) if size < len(pool) else 0
            add(name, pool[off:off + size] if size <= len(pool) else rng.randbytes(size))
            n += 1
        if i and i % 5 == 0:
            gone = [d for d in range(ndirs) if d not in dirs][:1]
            for d in gone:
                add('tree/.wh.d%04d' % d, b'', mode=0o600)
    return b.getvalue()


diffs, blobs = [], []
with tarfile.open(out, 'w') as arc:
    def put(name, data):
        ti = tarfile.TarInfo(name)
        ti.size = len(data)
        arc.addfile(ti, io.BytesIO(data))
    for i in range(nlayers):
        tar = layer(i)
        diffs.append('sha256:' + hashlib.sha256(tar).hexdigest())
        blobs.append('%04d/layer.tar' % i)
        put(blobs[-1], tar)
    cfg = json.dumps({'architecture': 'amd64', 'os': 'linux', 'config': {},
                      'created': '2026-01-01T00:00:00Z',
                      'history': [{'created': '2026-01-01T00:00:00Z', 'created_by': 'step %d' % i}
                                  for i in range(nlayers)],
                      'rootfs': {'type': 'layers', 'diff_ids': diffs}}).encode()
    cid = hashlib.sha256(cfg).hexdigest()
    put(cid + '.json', cfg)
    put('manifest.json', json.dumps([{'Config': cid + '.json', 'RepoTags': [ref], 'Layers': blobs}]).encode())
