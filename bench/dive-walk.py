#!/usr/bin/env python3
"""What dive does with `docker save` output, as a stand-in for dive (not
packaged here): read the archive from stdin, walk every layer tar and build
each layer's file tree and the merged tree (whiteouts, opaque directories),
then count the paths written more than once and their bytes.  Prints
"ENTRIES WASTED_PATHS WASTED_BYTES".
"""
import json, sys, tarfile

arc = tarfile.open(fileobj=sys.stdin.buffer, mode='r|')
layers, manifest = {}, None
for m in arc:
    if m.name.endswith('layer.tar'):
        tree = {}
        lt = tarfile.open(fileobj=arc.extractfile(m), mode='r|')
        for e in lt:
            tree[e.name.lstrip('./').rstrip('/')] = (e.size, e.type)
        layers[m.name] = tree
    elif m.name == 'manifest.json':
        manifest = json.load(arc.extractfile(m))
merged, seen, entries = {}, {}, 0
for name in manifest[0]['Layers']:
    for path, (size, kind) in layers[name].items():
        entries += 1
        base = path.rsplit('/', 1)[-1]
        if base.startswith('.wh.'):
            target = path[:len(path) - len(base)] + base[4:]
            for p in [p for p in merged if p == target or p.startswith(target + '/')]:
                del merged[p]
            continue
        seen.setdefault(path, []).append(size)
        merged[path] = size
wasted = {p: sum(s[:-1]) for p, s in seen.items() if len(s) > 1}
print(entries, len(wasted), sum(wasted.values()))
