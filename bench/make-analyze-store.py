#!/usr/bin/env python3
"""A store for the large case of bench/analyze-big.sh, written directly:
LAYERS layers with ENTRIES entries in all whose files add up to TOTAL_GB,
as strata analyze reads them: each layer's layerdb entry (tar-split.json.gz
with every member's header, size and a CRC-64, diff, size, cache-id,
parent), the image config and repositories.json.  No file data is written:
the diff ids are made up (not digests of any tar) and the overlay2 folders
are empty, so the image cannot be run or saved, only analysed.  Later
layers overwrite and whiteout what earlier ones wrote.

usage: make-analyze-store.py DATA_ROOT LAYERS ENTRIES TOTAL_GB NAME:TAG
"""
import base64, gzip, hashlib, json, os, random, struct, sys, tarfile
from multiprocessing import Pool

root, nlayers, nentries, total_gb, ref = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), \
    float(sys.argv[4]), sys.argv[5]
per = max(1, nentries // nlayers)
avg = int(total_gb * (1 << 30) / nentries)
ndirs = max(10, nentries // 500)
layerdb = os.path.join(root, 'image/overlay2/layerdb/sha256')


def header(name, kind, size, mode):
    ti = tarfile.TarInfo(name)
    ti.type, ti.mode, ti.mtime, ti.size = kind, mode, 1700000000, size
    ti.uname = ti.gname = 'root'
    return ti.tobuf(format=tarfile.PAX_FORMAT)


def layer(i):
    """Layer i's tar-split lines (gzip'd) and the sum of its files' sizes."""
    rng = random.Random(i)
    out, pos, pad, total = [], 0, b'', 0

    def seg(data):
        nonlocal pos
        out.append('{"type":2,"payload":"%s","position":%d}\n' % (base64.b64encode(data).decode(), pos))
        pos += 1

    def member(name, kind=tarfile.REGTYPE, size=0, mode=0o644):
        nonlocal pad, pos, total
        seg(pad + header(name, kind, size, mode))
        if kind == tarfile.REGTYPE:
            crc = base64.b64encode(struct.pack('>Q', rng.getrandbits(64))).decode()
            out.append('{"type":1,"name":%s,"size":%d,"payload":"%s","position":%d}\n'
                       % (json.dumps(name), size, crc, pos))
            total += size
            pad = b'\0' * (-size % 512)
        else:
            out.append('{"type":1,"name":%s,"payload":null,"position":%d}\n' % (json.dumps(name), pos))
            pad = b''
        pos += 1

    dirs = sorted(rng.sample(range(ndirs), min(ndirs, 50)))
    member('tree/', tarfile.DIRTYPE, mode=0o755)
    for d in dirs:
        member('tree/d%04d/' % d, tarfile.DIRTYPE, mode=0o755)
    names = set()
    while len(names) < per - len(dirs) - 2:
        # names drawn from a range shared by all layers: later layers overwrite
        name = 'tree/d%04d/f%05d' % (rng.choice(dirs), rng.randrange(per))
        if name in names:
            continue
        names.add(name)
        member(name, size=rng.randrange(2 * avg))
    if i and i % 5 == 0:
        member('tree/.wh.d%04d' % next(d for d in range(ndirs) if d not in dirs), mode=0o600)
    seg(pad + b'\0' * 1024)
    return gzip.compress(''.join(out).encode(), 1), total


if __name__ == '__main__':
    with Pool(os.cpu_count()) as p:
        layers = p.map(layer, range(nlayers))
    diffs = ['sha256:' + hashlib.sha256(b'made-up layer %d' % i).hexdigest() for i in range(nlayers)]
    chains = [diffs[0]]
    for d in diffs[1:]:
        chains.append('sha256:' + hashlib.sha256((chains[-1] + ' ' + d).encode()).hexdigest())
    for i, (ts, size) in enumerate(layers):
        d = os.path.join(layerdb, chains[i][7:])
        os.makedirs(d)
        cache = hashlib.sha256(b'cache %d' % i).hexdigest()
        os.makedirs(os.path.join(root, 'overlay2', cache, 'diff'))
        for name, data in (('diff', diffs[i]), ('size', str(size)), ('cache-id', cache),
                           ('parent', chains[i - 1] if i else None)):
            if data is not None:
                with open(os.path.join(d, name), 'w') as f:
                    f.write(data)
        with open(os.path.join(d, 'tar-split.json.gz'), 'wb') as f:
            f.write(ts)
    cfg = json.dumps({'architecture': 'amd64', 'os': 'linux', 'config': {},
                      'created': '2026-01-01T00:00:00Z',
                      'history': [{'created': '2026-01-01T00:00:00Z', 'created_by': 'step %d' % i}
                                  for i in range(nlayers)],
                      'rootfs': {'type': 'layers', 'diff_ids': diffs}}).encode()
    iid = hashlib.sha256(cfg).hexdigest()
    content = os.path.join(root, 'image/overlay2/imagedb/content/sha256')
    os.makedirs(content)
    with open(os.path.join(content, iid), 'wb') as f:
        f.write(cfg)
    name = ref.rsplit(':', 1)[0]
    with open(os.path.join(root, 'image/overlay2/repositories.json'), 'w') as f:
        json.dump({'Repositories': {name: {ref: 'sha256:' + iid}}}, f)
    print('%d layers, %d entries, %.2f GB of files' % (nlayers, nentries, sum(s for _, s in layers) / 1e9))
