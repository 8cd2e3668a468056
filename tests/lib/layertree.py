#!/usr/bin/env python3
"""The merged root filesystem of a docker-archive image, applied layer by
layer with the OCI whiteout rules, as a sorted listing (path, type, mode,
uid, gid, size, sha256 of the content, link target, hard-link group), and
the image's size as Docker accounts it for a single merged layer.

usage: layertree.py ARCHIVE.tar IMAGE_REF   (a `strata save` of the image)
       layertree.py --size ARCHIVE.tar IMAGE_REF
"""
import hashlib
import io
import json
import posixpath
import sys
import tarfile


def layers_of(archive, ref):
    with tarfile.open(archive) as t:
        manifest = json.load(t.extractfile('manifest.json'))
        for m in manifest:
            if ref in (m.get('RepoTags') or []):
                return [t.extractfile(name).read() for name in m['Layers']]
    sys.exit('no image %s in %s' % (ref, archive))


def norm(name):
    name = name.rstrip('/')
    while name.startswith('./'):
        name = name[2:]
    return name.lstrip('/')


def apply(tree, data):
    """tree: path -> entry dict; hard links share a 'group' key."""
    with tarfile.open(fileobj=io.BytesIO(data)) as t:
        members = t.getmembers()
        # whiteouts and opaque markers act before the layer's own entries
        for m in members:
            name = norm(m.name)
            base = posixpath.basename(name)
            parent = posixpath.dirname(name)
            if base == '.wh..wh..opq':
                for p in [p for p in tree if p.startswith(parent + '/')]:
                    del tree[p]
            elif base.startswith('.wh.'):
                gone = posixpath.join(parent, base[4:])
                for p in [p for p in tree if p == gone or p.startswith(gone + '/')]:
                    del tree[p]
        for m in members:
            name = norm(m.name)
            base = posixpath.basename(name)
            if not name or base.startswith('.wh.'):
                continue
            # a non-folder replaces whatever was there, folders included
            if not m.isdir() or (name in tree and tree[name]['type'] != 'dir'):
                for p in [p for p in tree if p.startswith(name + '/')]:
                    del tree[p]
            e = {'type': 'dir' if m.isdir() else 'link' if m.issym() else 'file' if m.isfile() or m.islnk()
                 else 'other', 'mode': m.mode, 'uid': m.uid, 'gid': m.gid, 'target': m.linkname if m.issym() else ''}
            if m.islnk():
                src = tree[norm(m.linkname)]
                e.update(size=src['size'], sha=src['sha'], mode=src['mode'], group=src['group'])
            elif m.isfile():
                content = t.extractfile(m).read()
                e.update(size=len(content), sha=hashlib.sha256(content).hexdigest(), group=name)
            else:
                e.update(size=len(m.linkname) if m.issym() else 0, sha='', group=name)
            tree[name] = e
    return tree


def main():
    size_only = sys.argv[1] == '--size'
    archive, ref = sys.argv[2:4] if size_only else sys.argv[1:3]
    tree = {}
    for data in layers_of(archive, ref):
        apply(tree, data)
    if size_only:
        seen = {}
        for p, e in tree.items():
            seen.setdefault(e['group'], e['size'])
        print(sum(seen.values()))
        return
    # a hard-link group is named by its first path, whatever path carried the data
    first = {}
    for p in sorted(tree):
        first.setdefault(tree[p]['group'], p)
    for p in sorted(tree):
        e = tree[p]
        # a symlink's own mode means nothing on Linux (lstat says 0777)
        mode = 0o777 if e['type'] == 'link' else e['mode'] & 0o7777
        print('%s %s %o %d:%d %d %s %s links=%s' % (p, e['type'], mode, e['uid'], e['gid'],
                                                  e['size'], e['sha'], e['target'], first[e['group']]))


main()
