#!/usr/bin/env python3
"""docker-squash's save -> squash -> load path, for bench/squash.sh (the
docker-squash package is not in Debian): read a `docker save` archive,
merge its layers (whiteouts and opaque folders applied, the last write of a
path wins) and write a docker-archive of one layer holding the merged tree,
with the old config's settings, for `docker load`.  Hard links are copied
as they are (the bench image has none).

usage: flatten-save.py SAVED.tar OUT.tar NAME:TAG
"""
import hashlib, io, json, os, sys, tarfile

src, out, ref = sys.argv[1:4]
arc = tarfile.open(src)
manifest = json.load(arc.extractfile('manifest.json'))[0]
config = json.load(arc.extractfile(manifest['Config']))
layers = manifest['Layers']

# pass 1: which layer's entry of each path is in the merged tree
final, dirs = {}, set()


def drop_below(d):
    for p in [p for p in final if p.startswith(d + '/')]:
        del final[p]
        dirs.discard(p)


for i, name in enumerate(layers):
    lt = tarfile.open(fileobj=arc.extractfile(name))
    for m in lt:
        path = m.name.rstrip('/')
        d, _, base = path.rpartition('/')
        if base == '.wh..wh..opq':
            drop_below(d)
        elif base.startswith('.wh.'):
            gone = (d + '/' if d else '') + base[4:]
            if gone in dirs:
                drop_below(gone)
            final.pop(gone, None)
            dirs.discard(gone)
        else:
            if not m.isdir() and path in dirs:
                drop_below(path)
                dirs.discard(path)
            elif m.isdir():
                dirs.add(path)
            final[path] = i

# pass 2: copy those entries, in layer order, into one layer tar
flat = out + '.layer'
with tarfile.open(flat, 'w', format=tarfile.PAX_FORMAT) as ft:
    for i, name in enumerate(layers):
        lt = tarfile.open(fileobj=arc.extractfile(name))
        for m in lt:
            if final.get(m.name.rstrip('/')) == i:
                ft.addfile(m, lt.extractfile(m) if m.isreg() else None)
h = hashlib.sha256()
with open(flat, 'rb') as f:
    for b in iter(lambda: f.read(1 << 20), b''):
        h.update(b)
config['rootfs']['diff_ids'] = ['sha256:' + h.hexdigest()]
config['history'] = [dict(e, empty_layer=True) for e in config.get('history', [])] + [
    {'created': config.get('created', ''), 'created_by': 'flatten-save.py'}]
cfg = json.dumps(config).encode()
cid = hashlib.sha256(cfg).hexdigest()
with tarfile.open(out, 'w') as o:
    o.add(flat, arcname='flat/layer.tar')
    for n, data in ((cid + '.json', cfg),
                    ('manifest.json', json.dumps([{'Config': cid + '.json', 'RepoTags': [ref],
                                                   'Layers': ['flat/layer.tar']}]).encode())):
        ti = tarfile.TarInfo(n)
        ti.size = len(data)
        o.addfile(ti, io.BytesIO(data))
os.unlink(flat)
