#!/bin/bash
# strata analyze: images made by writing layer tars directly, covering every
# case of issue 9 (the seed's build deps deleted later, a file overwritten in
# 3 layers, a chmod-only copy, a directory whited out, an opaque directory,
# a directory replaced by a file, hard links whose target is hidden, a path
# deleted and re-added in one layer, a clean image, 40 layers with 20k
# entries, 125 layers, names with a newline and invalid UTF-8), each checked
# against an independent reference computed here in Python from the layer
# tars of `strata save`: every number and the wasted list must match.  Then
# --base, --top, the table, and damaged tar-split files.
. "$(dirname "$0")/../lib/lib.sh"

[ "$(id -u)" -eq 0 ] || skip_all "needs root (layer files owned by root, overlay2 whiteouts)"

S() { strata --data-root r "$@"; }

cat >gen.py <<'PY'
# mkimages.py OUTDIR: the test images as docker-archives, layer tars written
# member by member (GNU format for long and non-UTF-8 names).
import hashlib, io, json, os, random, sys, tarfile

out = sys.argv[1]

def F(path, data, mode=0o644): return ('file', path, data, mode)
def D(path, mode=0o755): return ('dir', path, None, mode)
def S(path, target): return ('sym', path, target, 0o777)
def H(path, target): return ('link', path, target, 0o644)
def W(path):  # whiteout of path
    d, b = os.path.split(path.encode('utf-8', 'surrogateescape') if isinstance(path, str) else path)
    return ('file', os.path.join(d, b'.wh.' + b), b'', 0o600)
def O(dirpath): return ('file', dirpath.rstrip('/') + '/.wh..wh..opq', b'', 0o755)
def P(path): return ('fifo', path, None, 0o644)

def blob(n, seed):
    return random.Random(seed).randbytes(n)

def layer_tar(ops, fmt=tarfile.GNU_FORMAT):
    b = io.BytesIO()
    # a PAX layer starts with a global header (a member of its own in tar-split)
    extra = {'pax_headers': {'comment': 'global'}} if fmt == tarfile.PAX_FORMAT else {}
    with tarfile.open(fileobj=b, mode='w', format=fmt,
                      encoding='utf-8', errors='surrogateescape', **extra) as t:
        for kind, path, arg, mode in ops:
            if isinstance(path, bytes):
                path = path.decode('utf-8', 'surrogateescape')
            ti = tarfile.TarInfo(path)
            ti.mode, ti.mtime, ti.uid, ti.gid = mode, 1700000000, 0, 0
            if kind == 'file':
                data = arg if isinstance(arg, bytes) else arg.encode()
                ti.size = len(data)
                t.addfile(ti, io.BytesIO(data))
                continue
            ti.type = {'dir': tarfile.DIRTYPE, 'sym': tarfile.SYMTYPE, 'link': tarfile.LNKTYPE,
                       'fifo': tarfile.FIFOTYPE}[kind]
            if kind in ('sym', 'link'):
                ti.linkname = arg
            t.addfile(ti)
    return b.getvalue()

def archive(name, layers, commands=None, fmt=tarfile.GNU_FORMAT):
    tars = [layer_tar(l, fmt) for l in layers]
    diff = ['sha256:' + hashlib.sha256(t).hexdigest() for t in tars]
    hist = []
    for i in range(len(tars)):
        h = {'created': '2026-01-01T00:00:00Z'}
        c = commands[i] if commands else '/bin/sh -c step %d' % i
        if c is not None:
            h['created_by'] = c
        hist.append(h)
        if i == 0:  # an empty_layer entry between: created_by must skip it
            hist.append({'created': '2026-01-01T00:00:00Z', 'created_by': 'ENV X=1', 'empty_layer': True})
    cfg = json.dumps({'architecture': 'amd64', 'config': {'Cmd': ['sh']},
                      'created': '2026-01-01T00:00:00Z', 'history': hist, 'os': 'linux',
                      'rootfs': {'type': 'layers', 'diff_ids': diff}}).encode()
    cid = hashlib.sha256(cfg).hexdigest()
    with tarfile.open(os.path.join(out, name + '.tar'), 'w') as t:
        def add(n, d):
            ti = tarfile.TarInfo(n)
            ti.size = len(d)
            t.addfile(ti, io.BytesIO(d))
        add(cid + '.json', cfg)
        for i, l in enumerate(tars):
            add('%03d/layer.tar' % i, l)
        add('manifest.json', json.dumps([{'Config': cid + '.json', 'RepoTags': [name + ':1'],
                                          'Layers': ['%03d/layer.tar' % i for i in range(len(tars))]}]).encode())

base = [D('bin'), F('bin/busybox', blob(300000, 1), 0o755), S('bin/sh', 'busybox'), S('bin/ls', 'busybox'),
        D('etc'), F('etc/passwd', 'root:x:0:0::/root:/bin/sh\n')]

# the seed's story: build deps installed, then deleted in a later RUN
archive('seed', [base,
    [D('usr'), D('usr/lib'), D('usr/lib/build-deps'), F('usr/lib/build-deps/gcc', blob(200000, 2)),
     F('usr/lib/build-deps/as', blob(50000, 3)), D('usr/lib/build-deps/inc'),
     F('usr/lib/build-deps/inc/stdio.h', blob(3000, 4)), D('usr/bin'), S('usr/bin/cc', '../lib/build-deps/gcc'),
     F('app', blob(1000, 5), 0o755)],
    [D('usr'), D('usr/lib'), W('usr/lib/build-deps'), D('usr/bin'), W('usr/bin/cc')]],
    ['/bin/sh -c #(nop) ADD file:abc in /', '/bin/sh -c apk add --virtual .build-deps gcc && make',
     '/bin/sh -c apk del .build-deps'])

# a file overwritten in 3 layers (the last copy visible; one rewrite identical)
conf1, conf2 = blob(4000, 10), blob(4100, 11)
archive('overwrite', [base + [F('etc/app.conf', conf1)], [D('etc'), F('etc/app.conf', conf1)],
                      [D('etc'), F('etc/app.conf', conf2)], [D('etc'), F('etc/app.conf', blob(10, 12))]])

# a chmod-only change of a big file
big = blob(1 << 20, 20)
archive('chmod', [base + [D('opt'), F('opt/big', big, 0o644)], [D('opt'), F('opt/big', big, 0o755)]])

# a directory removed by a whiteout of the directory
archive('rmdir', [base + [D('data'), F('data/a', blob(700, 30)), F('data/b', blob(800, 31)), D('data/sub'),
                          F('data/sub/c', blob(900, 32)), S('data/l', 'a')],
                  [W('data')]])

# an opaque directory (and an opaque root-level marker on a path that is new)
archive('opaque', [base + [D('cache'), F('cache/x', blob(600, 40)), D('cache/d'), F('cache/d/y', blob(500, 41))],
                   [D('cache'), O('cache'), F('cache/z', blob(100, 42)), D('fresh'), O('fresh')]])

# a directory replaced by a file, a file replaced by a directory
archive('dir2file', [base + [D('thing'), F('thing/p', blob(1100, 50)), F('thing/q', blob(1200, 51)),
                             F('plain', blob(1300, 52))],
                     [F('thing', blob(10, 53)), D('plain'), F('plain/inside', blob(20, 54))]])

# hard links whose target is later hidden
archive('hardlink', [base + [D('h'), F('h/a', blob(5000, 60)), H('h/b', 'h/a'), F('h/c', blob(6000, 61)),
                             H('h/d', 'h/c'), F('h/e', blob(7000, 62)), H('h/f', 'h/e')],
                     [D('h'), W('h/a'), W('h/c'), W('h/d')],
                     [D('h'), W('h/b'), F('h/e', blob(7000, 63))]])

# a file deleted and re-added in the same later layer, a directory too
archive('readd', [base + [F('f', blob(1000, 70)), D('d'), F('d/x', blob(1500, 71)), F('d/y', blob(1600, 72))],
                  [W('f'), F('f', blob(2000, 73)), W('d'), D('d'), F('d/z', blob(10, 74))]])

# a clean image
archive('clean', [base, [D('srv'), F('srv/index.html', blob(3000, 80))], [D('srv'), F('srv/new', 'x')]])

# names with a newline and invalid UTF-8, hidden later (so they are listed)
archive('names', [base + [F('weird\nname', blob(111, 90)), F(b'bad\xffname', blob(222, 91)),
                          F('caf\u00e9', blob(333, 92)), F('q"uote\\back', blob(444, 93))],
                  [W('weird\nname'), W(b'bad\xffname'), W('caf\u00e9'), W('q"uote\\back')]])

# odd tars: "./" and unclean names, a symlink rewritten with the same target, whiteouts of nothing, a fifo
archive('odd', [[D('./'), D('./x'), F('./x/dup', blob(100, 100)), F('x/../x//dup2', blob(150, 101)),
                 S('./x/s', 'target'), P('./x/pipe'), F('./x/keep', blob(50, 102))],
                [D('x'), S('x/s', 'target'), W('nothing'), W('x/nothing'),
                 F('x/.wh..wh.plnk', b''), F('x/pipe', blob(30, 103))]])

# long names and link targets: PAX records (and a global header), GNU L/K blocks
long_dir = 'l' * 60 + '/' + 'm' * 60
long_file = long_dir + '/' + 'n' * 120
for fmt, name in ((tarfile.PAX_FORMAT, 'pax'), (tarfile.GNU_FORMAT, 'gnulong')):
    archive(name, [base + [D('l' * 60), D(long_dir), F(long_file, blob(4000, 110)), H(long_dir + '/hl', long_file),
                           S(long_dir + '/sym', '/' + 'x' * 150), F(long_dir + '/keep', blob(10, 111)),
                           H(long_dir + '/h2', long_dir + '/keep')],
                   [D('l' * 60), D(long_dir), W(long_file), W(long_dir + '/hl'), S(long_dir + '/sym', '/' + 'y' * 150),
                    F(long_dir + '/keep', blob(10, 111))]], fmt=fmt)

# 40 layers, 20k entries: overwrites, whiteouts, opaque dirs, links
rng = random.Random(7)
layers = [base]
for i in range(1, 40):
    ops = [D('tree')]
    seen, dirs = set(), rng.sample(range(30), 20)
    for k in range(560):
        d = 'tree/d%02d' % rng.choice(dirs)
        if d not in seen:
            ops.append(D(d))
            seen.add(d)
        ops.append(F('%s/f%03d' % (d, rng.randrange(400)), blob(rng.randrange(1, 3000), i * 1000 + k)))
    ops = list({o[1]: o for o in ops}.values())  # one entry per path
    if i % 5 == 0:  # a directory this layer does not write
        ops.append(W(sorted({'tree/d%02d' % n for n in range(30)} - seen)[0]))
    if i % 7 == 0:
        d = 'tree/d%02d' % rng.randrange(30)
        ops += ([] if d in seen else [D(d)]) + [O(d)]
    if i % 3 == 0:
        ops.append(H('tree/link%02d' % i, [o for o in ops if o[0] == 'file'][0][1]))
    layers.append(ops)
archive('big', layers)

# 125 layers, each rewriting one file and adding one
archive('many', [base] + [[D('m'), F('m/same', blob(100 + i, 200 + i)), F('m/n%03d' % i, blob(10, i))]
                          for i in range(1, 125)])
PY

cat >ref.py <<'PY'
# ref.py SAVED.tar [BASE_LAYERS]: the analysis of a docker-archive computed
# from its layer tars, from the definitions alone (a path -> entry map of
# the merged view, not strata's tree), printed as strata's JSON.
import hashlib, json, sys, tarfile

def go_utf8(b):
    """Go's encoding/json: each byte of an invalid sequence becomes U+FFFD."""
    out, i = [], 0
    while i < len(b):
        for n in (1, 2, 3, 4):
            try:
                out.append(b[i:i + n].decode('utf-8'))
                i += n
                break
            except UnicodeDecodeError:
                continue
        else:
            out.append('\ufffd')
            i += 1
    return ''.join(out)

def clean(name):
    parts = []
    for p in name.split(b'/'):
        if p in (b'', b'.'):
            continue
        if p == b'..':
            if parts:
                parts.pop()
            continue
        parts.append(p)
    return b'/'.join(parts)

def parent(p):
    return p.rsplit(b'/', 1)[0] if b'/' in p else b''

def ancestors(p):
    while p:
        p = parent(p)
        if p:
            yield p

arc = tarfile.open(sys.argv[1])
manifest = json.load(arc.extractfile('manifest.json'))[0]
config = json.load(arc.extractfile(manifest['Config']))
hist = [h for h in config.get('history', []) if not h.get('empty_layer')]

class E:  # one tar member of a layer
    pass

layers = []
for li, lp in enumerate(manifest['Layers']):
    t = tarfile.open(fileobj=arc.extractfile(lp), encoding='utf-8', errors='surrogateescape')
    ents = []
    for m in t:
        raw = m.name.encode('utf-8', 'surrogateescape')
        e = E()
        e.layer, e.idx, e.path = li, len(ents), clean(raw)
        e.hidden_by = e.how = e.replacer = e.inode = None
        e.superseded = False
        if e.path == b'':
            continue
        base = e.path.rsplit(b'/', 1)[-1]
        if base.startswith(b'.wh.'):
            if base == b'.wh..wh..opq':
                e.kind, e.path = 'opq', parent(e.path)
            elif base.startswith(b'.wh..wh.') or base == b'.wh.':
                e.kind = 'meta'
            else:
                e.kind, e.path = 'wh', (parent(e.path) + b'/' if parent(e.path) else b'') + base[4:]
        elif m.isreg():
            e.kind, e.data = 'reg', t.extractfile(m).read()
        elif m.islnk():
            e.kind, e.link = 'link', clean(m.linkname.encode('utf-8', 'surrogateescape'))
        elif m.issym():
            e.kind, e.target = 'sym', m.linkname.encode('utf-8', 'surrogateescape')
        elif m.isdir():
            e.kind = 'dir'
        else:
            e.kind = 'other'
        ents.append(e)
    layers.append(ents)

vis = {}       # path -> visible entry
implicit = {}  # path -> layer of a directory implied by entries below it
kids = {}      # path -> child paths in vis or implicit

def link_kid(p):
    if p:
        kids.setdefault(parent(p), set()).add(p)

def unlink_kid(p):
    if p and p not in vis and p not in implicit:
        s = kids.get(parent(p))
        if s:
            s.discard(p)

def subtree(p):
    out, stack = [], list(kids.get(p, ()))
    while stack:
        q = stack.pop()
        out.append(q)
        stack.extend(kids.get(q, ()))
    return out

def hide_at(p, j, e, how):
    old = vis.pop(p, None)
    if old is not None and old.hidden_by is None:
        old.hidden_by, old.how, old.replacer = j, how, (e if how == 'replaced' else None)
    implicit.pop(p, None)
    unlink_kid(p)

inodes = []  # per layer: list of dict(size, names, data, kind, content)
res_layers = []
for j, ents in enumerate(layers):
    below = set(vis) | set(implicit)
    added = modified = removed = 0
    cur = {}
    ino = []
    for e in ents:
        if e.kind in ('wh', 'opq', 'meta'):
            removed += 1
            continue
        if e.path in below:
            modified += 1
        else:
            added += 1
        if e.kind == 'reg':
            e.inode = len(ino)
            ino.append({'size': len(e.data), 'names': [e], 'kind': 'reg', 'content': hashlib.sha256(e.data).digest()})
        elif e.kind == 'sym':
            e.inode = len(ino)
            ino.append({'size': len(e.target), 'names': [e], 'kind': 'sym', 'content': e.target})
        elif e.kind == 'link':
            t = cur.get(e.link)
            if t is not None and t.inode is not None:
                e.inode = t.inode
                ino[t.inode]['names'].append(e)
        if e.path in cur:
            cur[e.path].superseded = True
        cur[e.path] = e
    # what this layer hides, in tar order (the tree holds lower entries only)
    for e in ents:
        if e.kind == 'meta':
            continue
        if e.kind == 'wh':
            for q in subtree(e.path) + [e.path]:
                hide_at(q, j, e, 'removed')
        elif e.kind == 'opq':
            for q in subtree(e.path):
                hide_at(q, j, e, 'opaque')
        else:
            old = vis.get(e.path)
            if old is not None and not (e.kind == 'dir' and old.kind == 'dir'):
                hide_at(e.path, j, e, 'replaced')
            elif old is not None:  # a dir over a dir: the old entry only
                vis.pop(e.path)
                if old.hidden_by is None:
                    old.hidden_by, old.how, old.replacer = j, 'replaced', e
            if e.kind != 'dir':
                implicit.pop(e.path, None)
                for q in subtree(e.path):
                    hide_at(q, j, e, 'replaced')
            for a in ancestors(e.path):
                if a in vis and vis[a].kind != 'dir':
                    hide_at(a, j, e, 'replaced')
    for e in ents:
        if e.kind in ('wh', 'opq', 'meta') or e.superseded:
            continue
        vis[e.path] = e
        implicit.pop(e.path, None)
        link_kid(e.path)
        for a in ancestors(e.path):
            if a not in vis and a not in implicit:
                implicit[a] = j
                link_kid(a)
    inodes.append(ino)
    res_layers.append({'index': j, 'diff_id': config['rootfs']['diff_ids'][j],
                       'created_by': hist[j].get('created_by', '') if j < len(hist) else '',
                       'size': 0, 'added': added, 'modified': modified, 'removed': removed,
                       'wasted_bytes': 0})

wasted = []
for j, ino in enumerate(inodes):
    for x in ino:
        names = [e for e in x['names'] if not e.superseded]
        if not names:
            continue
        res_layers[j]['size'] += x['size']
        if any(e.hidden_by is None for e in names):
            continue
        res_layers[j]['wasted_bytes'] += x['size']
        if not x['size']:
            continue
        d = x['names'][0] if not x['names'][0].superseded else names[0]
        same = False
        if d.how == 'replaced' and d.replacer.inode is not None:
            y = inodes[d.hidden_by][d.replacer.inode]
            same = y['kind'] == x['kind'] and y['size'] == x['size'] and y['content'] == x['content']
        wasted.append((-x['size'], b'/' + d.path, j, d.hidden_by, d.how, same))

wasted.sort()
size = sum(l['size'] for l in res_layers)
waste = sum(l['wasted_bytes'] for l in res_layers)
nbase = int(sys.argv[2]) if len(sys.argv) > 2 else min(1, len(res_layers))
print(json.dumps({
    'id': 'sha256:' + manifest['Config'].split('.')[0].split('/')[-1],
    'size': size, 'wasted_bytes': waste,
    'user_wasted_bytes': sum(l['wasted_bytes'] for l in res_layers[nbase:]),
    'efficiency': 1.0 - waste / size if size else 1.0,
    'layers': res_layers,
    'wasted': [{'path': go_utf8(p), 'size': -s, 'layer': l, 'hidden_by': h, 'how': how, 'same_content': same}
               for s, p, l, h, how, same in wasted]}))
PY

# same.py REF GOT: equal JSON documents, else the first differences
cat >same.py <<'PY'
import json, sys
raw = open(sys.argv[2], 'rb').read()
raw.decode('utf-8')  # strata's output is valid UTF-8 whatever the names
a, b = json.load(open(sys.argv[1])), json.loads(raw)
if a == b:
    sys.exit(0)
for k in a:
    if a[k] != b.get(k):
        if isinstance(a[k], list):
            for i, (x, y) in enumerate(zip(a[k], b.get(k) or [])):
                if x != y:
                    print(k, i, '\n  want', x, '\n  got ', y)
                    break
            print(k, 'rows: want', len(a[k]), 'got', len(b.get(k) or []))
        else:
            print(k, 'want', a[k], 'got', b.get(k))
sys.exit(1)
PY

test_expect_success 'set-up: write the images and load them' '
	mkdir imgs && python3 gen.py imgs &&
	for t in imgs/*.tar; do S load -i "$t" >/dev/null || return 1; done
'

# analysed NAME [REF ARGS]: strata analyze --format json NAME:1 equals the
# reference over the layer tars strata save writes
analysed() {
	local n=$1
	shift
	S save -o "s-$n.tar" "$n:1" &&
	python3 ref.py "s-$n.tar" "$@" >"ref-$n.json" &&
	S analyze --format json "$n:1" ${BASE:+--base "$BASE"} >"got-$n.json" &&
	python3 same.py "ref-$n.json" "got-$n.json"
}
# holds NAME EXPR: a Python condition over got-NAME.json (j) and its wasted rows (w)
holds() {
	python3 -c "import json,sys; j=json.load(open(sys.argv[1])); w=j[\"wasted\"]
assert $2, (j[\"size\"], j[\"wasted_bytes\"], j[\"user_wasted_bytes\"], w[:5])" "got-$1.json"
}

test_expect_success 'the seed: build deps installed, then deleted in a later layer' '
	analysed seed &&
	holds seed "j[\"user_wasted_bytes\"] == 253021 and {r[\"how\"] for r in w} == {\"removed\"} and len(w) == 4"
'
test_expect_success 'a file overwritten in 3 layers wastes 3 copies, one rewrite identical' '
	analysed overwrite &&
	holds overwrite "[(r[\"layer\"], r[\"hidden_by\"], r[\"same_content\"]) for r in w] == [(2, 3, False), (0, 1, True), (1, 2, False)]"
'
test_expect_success 'a chmod-only change of a big file is a same-content copy' '
	analysed chmod &&
	holds chmod "[(r[\"path\"], r[\"size\"], r[\"how\"], r[\"same_content\"]) for r in w] == [(\"/opt/big\", 1048576, \"replaced\", True)]"
'
test_expect_success 'a directory removed by a whiteout of the directory' '
	analysed rmdir && holds rmdir "len(w) == 4"
'
test_expect_success 'an opaque directory' '
	analysed opaque && holds opaque "{r[\"how\"] for r in w} == {\"opaque\"} and len(w) == 2"
'
test_expect_success 'a directory replaced by a file, a file by a directory' '
	analysed dir2file && holds dir2file "j[\"wasted_bytes\"] == 3600"
'
test_expect_success 'hard links: a group with one visible name is not waste' '
	analysed hardlink &&
	holds hardlink "[r[\"path\"] for r in w] == [\"/h/c\", \"/h/a\"]"
'
test_expect_success 'a file and a directory deleted and re-added in the same later layer' '
	analysed readd && holds readd "j[\"layers\"][1][\"modified\"] == 2 and len(w) == 3"
'
test_expect_success 'a clean image has efficiency 1.0' '
	analysed clean &&
	holds clean "j[\"efficiency\"] == 1 and w == []"
'
test_expect_success 'names with a newline, invalid UTF-8, quotes are escaped in JSON' '
	analysed names &&
	grep -F "\"/weird\\nname\"" got-names.json && grep -F "\"/bad\\ufffdname\"" got-names.json &&
	grep -F "\"/q\\\"uote\\\\back\"" got-names.json
'
test_expect_success 'odd tars: unclean names, same-target symlink, whiteouts of nothing' '
	analysed odd
'
test_expect_success 'long names and link targets: PAX records, GNU L/K blocks' '
	analysed pax && analysed gnulong &&
	holds pax "[(r[\"size\"], r[\"how\"]) for r in w] == [(4000, \"removed\"), (151, \"replaced\")]" &&
	test_cmp got-pax.json got-pax.json && python3 same.py ref-gnulong.json got-gnulong.json
'
test_expect_success '40 layers, 20k entries' '
	analysed big &&
	holds big "sum(l[\"added\"] + l[\"modified\"] + l[\"removed\"] for l in j[\"layers\"]) >= 20000" &&
	holds big "len(w) > 1000 and j[\"user_wasted_bytes\"] > 0"
'
test_expect_success '125 layers' '
	analysed many && holds many "len(j[\"layers\"]) == 125 and len(w) == 123"
'

test_expect_success '--base: the layers of a prefix image are the base' '
	S save -o s-seed.tar seed:1 &&
	python3 -c "
import json, tarfile, io, sys, hashlib
a = tarfile.open(\"s-seed.tar\"); m = json.load(a.extractfile(\"manifest.json\"))[0]
c = json.load(a.extractfile(m[\"Config\"]))
c[\"rootfs\"][\"diff_ids\"] = c[\"rootfs\"][\"diff_ids\"][:2]; c[\"history\"] = c[\"history\"][:3]
raw = json.dumps(c).encode(); cid = hashlib.sha256(raw).hexdigest()
with tarfile.open(\"prefix.tar\", \"w\") as t:
    def add(n, d):
        ti = tarfile.TarInfo(n); ti.size = len(d); t.addfile(ti, io.BytesIO(d))
    add(cid + \".json\", raw)
    for l in m[\"Layers\"][:2]: add(l, a.extractfile(l).read())
    add(\"manifest.json\", json.dumps([{\"Config\": cid + \".json\", \"RepoTags\": [\"prefix:1\"], \"Layers\": m[\"Layers\"][:2]}]).encode())
" &&
	S load -i prefix.tar &&
	BASE=prefix:1 analysed seed 2 &&
	holds seed "j[\"user_wasted_bytes\"] == 0" &&
	BASE=seed:1 analysed seed 3
'
test_expect_success '--base that is not a prefix is refused' '
	must_fail S analyze --base clean:1 seed:1 >out 2>err &&
	test ! -s out && grep "is not a base of image" err
'
test_expect_success '--top N cuts the list, in the JSON too' '
	S analyze --format json --top 3 big:1 >top.json &&
	python3 -c "
import json
a, b = json.load(open(\"ref-big.json\")), json.load(open(\"top.json\"))
assert b[\"wasted\"] == a[\"wasted\"][:3], b[\"wasted\"]
assert b[\"wasted_bytes\"] == a[\"wasted_bytes\"]
" &&
	test_expect_code 125 S analyze --top -1 big:1 &&
	must_fail S analyze --format yaml big:1
'
test_expect_success 'table: layers, the top wasted paths, a verdict; names escaped; no colour off a TTY' '
	S analyze seed:1 >table &&
	head -1 table | grep "^LAYER  *SIZE  *WASTED  *CREATED BY$" &&
	grep "apk del .build-deps" table &&
	grep "^200kB  *1  *2  *removed  */usr/lib/build-deps/gcc$" table &&
	grep "^Efficiency 54.33 %: 253kB of 554kB wasted (253kB by layers above the base)$" table &&
	! grep -q "$(printf "\033")" table &&
	S analyze names:1 >table &&
	grep -F "/weird\\x0aname" table &&
	S analyze big:1 >table && test "$(grep -c "^[0-9.]*[kM]*B  *[0-9]* " table)" -ge 20
'

test_expect_success 'dive-json: dive'"'"'s export schema filled from the same analysis' '
	S analyze --format dive-json overwrite:1 >dive.json &&
	python3 - ref-overwrite.json dive.json <<-\PY
	import json, sys
	ref, d = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
	assert [(l["index"], l["digestId"], l["sizeBytes"], l["command"]) for l in d["layer"]] == \
	    [(l["index"], l["diff_id"], l["size"], l["created_by"]) for l in ref["layers"]], d["layer"]
	assert all(len(l["id"]) == 64 for l in d["layer"])
	img = d["image"]
	assert (img["sizeBytes"], img["inefficientBytes"], img["efficiencyScore"]) == \
	    (ref["size"], ref["wasted_bytes"], ref["efficiency"]), img
	groups = {}
	for w in ref["wasted"]:
	    c, b = groups.get(w["path"], (0, 0))
	    groups[w["path"]] = (c + 1, b + w["size"])
	want = sorted(({"count": c, "sizeBytes": b, "file": p} for p, (c, b) in groups.items()),
	              key=lambda r: (-r["sizeBytes"], r["file"].encode()))
	assert img["fileReference"] == want, img["fileReference"]
	PY
'

test_expect_success '--ci: dive'"'"'s default rules, PASS/FAIL lines, exit 1 on a failure' '
	test_expect_code 1 S analyze --ci seed:1 >ci.out &&
	sed -n "/^Results:/,\$p" ci.out >got &&
	cat >expect <<-\EOF &&
	Results:
	  FAIL: highestUserWastedPercent: too many bytes wasted, relative to the user bytes added (%-user-wasted-bytes=0.996063317599726 > threshold=0.1)
	  SKIP: highestWastedBytes: rule disabled
	  FAIL: lowestEfficiency: image efficiency is too low (efficiency=0.5433336762558636 < threshold=0.9)
	Result:FAIL [Total:3] [Passed:0] [Failed:2] [Warn:0] [Skipped:1]
	EOF
	test_cmp expect got &&
	grep "^  wastedBytes: 253021 bytes (253 kB)$" ci.out &&
	grep "^    1        200 kB  /usr/lib/build-deps/gcc$" ci.out &&
	S analyze --ci clean:1 >ci.out && grep "^Result:PASS \[Total:3\] \[Passed:2\] \[Failed:0\] \[Warn:0\] \[Skipped:1\]$" ci.out
'
test_expect_success '--ci: rules from flags, SI sizes, disabled' '
	S analyze --ci --lowest-efficiency 0.5 --highest-user-wasted-percent disabled \
		--highest-wasted-bytes 254kB seed:1 >ci.out &&
	grep "^Result:PASS \[Total:3\] \[Passed:2\] \[Failed:0\] \[Warn:0\] \[Skipped:1\]$" ci.out &&
	test_expect_code 1 S analyze --ci --lowest-efficiency 0.5 --highest-user-wasted-percent 1 \
		--highest-wasted-bytes 0.25MB seed:1 >ci.out &&
	grep "^  FAIL: highestWastedBytes: too many bytes wasted (wasted-bytes=253021 > threshold=250000)$" ci.out &&
	S analyze --ci --lowest-efficiency 0.5 --highest-user-wasted-percent 1 --highest-wasted-bytes 1MiB seed:1 >ci.out
'
test_expect_success '--ci: a .dive-ci file (found in the current folder, or named), flags win' '
	cat >.dive-ci <<-\EOF &&
	# dive'"'"'s own spelling
	rules:
	  lowestEfficiency: 0.5   # a comment
	  highestWastedBytes: "300KB"
	  highestUserWastedPercent: disabled
	  somethingElse: 1
	EOF
	S analyze --ci seed:1 >ci.out &&
	grep "^Result:PASS \[Total:3\] \[Passed:2\] \[Failed:0\] \[Warn:0\] \[Skipped:1\]$" ci.out &&
	test_expect_code 1 S analyze --ci --lowest-efficiency 0.6 seed:1 >ci.out &&
	grep "^  FAIL: lowestEfficiency: image efficiency is too low (efficiency=0.5433336762558636 < threshold=0.6)$" ci.out &&
	mv .dive-ci other.yml &&
	printf "rules:\n  lowest-efficiency: 0.99\n  highest-user-wasted-percent: 1\n" >kebab.yml &&
	test_expect_code 1 S analyze --ci --ci-config kebab.yml seed:1 >ci.out &&
	grep "threshold=0.99)$" ci.out &&
	S analyze --ci --ci-config other.yml seed:1 >/dev/null
'
test_expect_success '--ci: bad values fail their rule; bad or missing files are errors' '
	test_expect_code 1 S analyze --ci --lowest-efficiency high --highest-wasted-bytes 3XB seed:1 >ci.out &&
	grep "^  FAIL: lowestEfficiency: invalid config value (.high.): strconv.ParseFloat: parsing \"high\": invalid syntax$" ci.out &&
	grep "^  FAIL: highestWastedBytes: invalid config value (.3XB.): unhandled size name: xb$" ci.out &&
	printf "rules: [a\n" >bad.yml &&
	must_fail S analyze --ci --ci-config bad.yml seed:1 >out 2>err && test ! -s out &&
	grep "^Error: bad.yml: line 2: " err &&
	printf "rules:\n  lowestEfficiency: [1]\n" >bad.yml &&
	must_fail S analyze --ci --ci-config bad.yml seed:1 2>err && grep "rules.lowestEfficiency is not a value" err &&
	must_fail S analyze --ci --ci-config missing.yml seed:1 2>err && grep "open missing.yml: no such file" err
'

test_expect_success 'html: one self-contained page with the layers, the icicle, the wasted table' '
	for n in names big; do
		S analyze --format html "$n:1" >"$n.html" &&
		python3 - "ref-$n.json" "$n.html" <<-\PY || return 1
		import html.parser, json, re, sys
		ref, page = json.load(open(sys.argv[1])), open(sys.argv[2], "rb").read().decode("utf-8")
		class P(html.parser.HTMLParser):
		    def __init__(self):
		        super().__init__()
		        self.stack, self.layers, self.rows, self.cell, self.table = [], [], [], None, None
		        self.icicle = 0
		    def handle_starttag(self, tag, attrs):
		        a = dict(attrs)
		        for k, v in attrs:  # nothing from the network
		            assert k not in ("src", "href") and "http" not in (v or ""), (tag, attrs)
		        if tag not in ("meta", "br"):
		            self.stack.append(tag)
		        if tag == "table":
		            self.table = a.get("id")
		        if tag == "tr" and a.get("class") == "layer":
		            self.layers.append((int(a["data-size"]), int(a["data-wasted"])))
		        if tag == "tr" and self.table == "wasted":
		            self.rows.append([])
		        if tag == "td" and self.table == "wasted":
		            self.cell = ""
		        if tag == "div" and a.get("class") == "node":
		            self.icicle += 1
		    def handle_endtag(self, tag):
		        assert self.stack and self.stack.pop() == tag, tag
		        if tag == "td" and self.cell is not None:
		            self.rows[-1].append(self.cell)
		            self.cell = None
		    def handle_data(self, d):
		        if self.cell is not None:
		            self.cell += d
		p = P()
		p.feed(page)
		p.close()
		assert p.stack == [], p.stack
		assert p.layers == [(l["size"], l["wasted_bytes"]) for l in ref["layers"]], p.layers
		rows = [r for r in p.rows if r]
		esc = lambda s: re.sub("[\x00-\x1f\x7f]", lambda m: "\\x%02x" % ord(m.group()), s)
		assert [(r[1], int(r[2]), int(r[3]), r[4], r[5] == "yes") for r in rows] == \
		    [(esc(w["path"]), w["layer"], w["hidden_by"], w["how"], w["same_content"]) for w in ref["wasted"]]
		assert p.icicle > 1
		PY
	done &&
	grep -F "<script>" big.html && ! grep -i "<script src\|<link" big.html
'

# chain_of NAME N: the chain ID and diff ID of layer N of image NAME
chain_of() {
	python3 - "$1" "$2" <<-'PY'
	import hashlib, json, os, sys
	root = "r/image/overlay2"
	name, n = sys.argv[1], int(sys.argv[2])
	repo = json.load(open(root + "/repositories.json"))["Repositories"]
	iid = repo[name.split(":")[0]][name]
	diffs = json.load(open(root + "/imagedb/content/sha256/" + iid[7:]))["rootfs"]["diff_ids"]
	chain = diffs[0]
	for d in diffs[1:n + 1]:
	    chain = "sha256:" + hashlib.sha256((chain + " " + d).encode()).hexdigest()
	print(chain, diffs[n])
	PY
}
read -r CHAIN DIFF < <(chain_of seed:1 1)
TS=r/image/overlay2/layerdb/sha256/${CHAIN#sha256:}/tar-split.json.gz
cp "$TS" ts.orig
# refused NAME: analyze fails naming layer 1, prints nothing on stdout
refused() {
	must_fail S analyze --format json seed:1 >out 2>err &&
	test ! -s out &&
	grep -F "layer 1 ($DIFF)" err &&
	cp ts.orig "$TS"
}
test_expect_success 'a tar-split that is not JSON: an error naming the layer, no analysis' '
	printf "{\"type\":2,\"payload\":\"\",\"position\":0}\nnot json\n" | gzip >"$TS" &&
	refused && grep "tar-split: entry 1: not a JSON object" err
'
test_expect_success 'a truncated tar-split' '
	head -c 200 ts.orig >"$TS" && refused
'
test_expect_success 'a tar-split that is not gzip' '
	echo plain >"$TS" && refused && grep "gzip: invalid header" err
'
test_expect_success 'a tar-split whose headers are damaged' '
	python3 -c "
import gzip, json, sys
lines = gzip.open(\"ts.orig\").read().split(b\"\\n\")
j = json.loads(lines[0]); j[\"payload\"] = \"AAAA\" + j[\"payload\"][4:]
lines[0] = json.dumps(j).encode()
gzip.open(sys.argv[1], \"wb\").write(b\"\\n\".join(lines))
" "$TS" && refused
'
test_expect_success 'a member line that disagrees with its header (name, size)' '
	for field in name size; do
		python3 - "$field" "$TS" <<-\PY &&
		import gzip, json, sys
		field, out = sys.argv[1], sys.argv[2]
		lines = gzip.open("ts.orig").read().split(b"\n")
		for i, l in enumerate(lines):
		    j = json.loads(l) if l else {}
		    if j.get("type") == 1 and j.get("size"):
		        if field == "name":
		            j["name"] = j["name"][:-1] + "X"
		        else:
		            j["size"] += 1
		        lines[i] = json.dumps(j, separators=(",", ":")).encode()
		        break
		gzip.open(out, "wb").write(b"\n".join(lines))
		PY
		refused && grep "member $field differs from its tar header" err || return 1
	done
'
test_expect_success 'a missing tar-split; check reports the same layer' '
	rm "$TS" && must_fail S analyze seed:1 >out 2>err && test ! -s out &&
	grep -F "layer 1 ($DIFF)" err &&
	must_fail S check >check.out && grep -F "${CHAIN#sha256:}" check.out &&
	cp ts.orig "$TS" && S analyze seed:1 >/dev/null
'

test_done
