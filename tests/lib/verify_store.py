#!/usr/bin/env python3
"""verify_store.py DATA_ROOT: check an image store against Docker 20.10's rules.

An oracle written apart from strata (it shares no code with lib/), so a store
strata wrote is judged by the rules dockerd's own stores follow:

  imagedb   content/sha256/<hex> holds bytes whose sha256 is <hex>, a JSON config
  layerdb   every chain of rootfs.diff_ids has layerdb/sha256/<chain>/ with
            diff (= the diff ID), parent (= the parent chain; none for the
            base), size (plain decimal, no newline) = the sum of st_size of
            the non-folder entries of the layer folder, each inode once,
            cache-id, and tar-split.json.gz that rebuilds, with the files of
            the layer folder, a tar whose sha256 is the diff ID (every file's
            size and CRC-64 as recorded)
  overlay2  link = 26 characters of A-Z2-7, l/<link> -> ../<cache-id>/diff,
            lower absent for a base layer, else l/<parent link> followed by
            the parent's lower, joined by ':'
  refs      every repositories.json reference names an image in imagedb

Prints one "PROBLEM: ..." line per problem, then a summary; exits 1 on any.
"""
import base64
import gzip
import hashlib
import json
import os
import stat
import sys

BASE32 = set("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")


def crc64_table():
    # CRC-64/ISO as Go's hash/crc64 computes it (reflected polynomial)
    table = []
    for n in range(256):
        v = n
        for _ in range(8):
            v = (v >> 1) ^ 0xD800000000000000 if v & 1 else v >> 1
        table.append(v)
    return table


CRC_TABLE = crc64_table()


def crc64(data):
    v = 0xFFFFFFFFFFFFFFFF
    for byte in data:
        v = CRC_TABLE[(v ^ byte) & 0xFF] ^ (v >> 8)
    return (v ^ 0xFFFFFFFFFFFFFFFF).to_bytes(8, "big")


def chain_of(parent, diff):
    if parent is None:
        return diff
    return "sha256:" + hashlib.sha256(("%s %s" % (parent, diff)).encode()).hexdigest()


def read(path):
    with open(path, "rb") as f:
        return f.read()


class Store:
    def __init__(self, root):
        self.root = root
        self.problems = []
        drivers = [d for d in ("overlay2", "vfs") if os.path.isdir(os.path.join(root, "image", d))]
        self.driver = drivers[0] if drivers else "overlay2"
        self.img = os.path.join(root, "image", self.driver)
        self.images = {}
        self.layers = set()

    def problem(self, fmt, *args):
        self.problems.append(fmt % args)

    def layer_dir(self, cache_id):
        if self.driver == "vfs":
            return os.path.join(self.root, "vfs", "dir", cache_id)
        return os.path.join(self.root, "overlay2", cache_id, "diff")

    def check_configs(self):
        folder = os.path.join(self.img, "imagedb", "content", "sha256")
        for name in sorted(os.listdir(folder)):
            raw = read(os.path.join(folder, name))
            if hashlib.sha256(raw).hexdigest() != name:
                self.problem("imagedb: %s does not hash to its name", name)
            try:
                self.images[name] = json.loads(raw)
            except ValueError as e:
                self.problem("imagedb: %s is not JSON: %s", name, e)

    def check_chains(self):
        for hexid, config in sorted(self.images.items()):
            parent = None
            for diff in config.get("rootfs", {}).get("diff_ids", []):
                chain = chain_of(parent, diff)
                if chain not in self.layers:
                    self.layers.add(chain)
                    try:
                        if not self.check_layer(chain, diff, parent, hexid):
                            break
                    except (OSError, ValueError) as e:
                        self.problem("layer %s: %s", chain, e)
                        break
                parent = chain

    def check_layer(self, chain, diff, parent, image):
        ld = os.path.join(self.img, "layerdb", "sha256", chain[7:])
        if not os.path.isdir(ld):
            self.problem("layer %s of image %s has no layerdb folder", chain, image[:12])
            return False
        if read(os.path.join(ld, "diff")).strip().decode() != diff:
            self.problem("layer %s: diff file is not %s", chain, diff)
        parent_file = os.path.join(ld, "parent")
        if parent is None:
            if os.path.exists(parent_file):
                self.problem("layer %s: base layer has a parent file", chain)
        elif not os.path.exists(parent_file) or read(parent_file).strip().decode() != parent:
            self.problem("layer %s: parent file is not %s", chain, parent)
        cache_id = read(os.path.join(ld, "cache-id")).strip().decode()
        files = self.layer_dir(cache_id)
        size = read(os.path.join(ld, "size"))
        if not size.isdigit():
            self.problem("layer %s: size file %r is not a plain decimal", chain, size)
        else:
            want = tree_size(files)
            if int(size) != want:
                self.problem("layer %s: size file says %s, the layer folder holds %d", chain, size.decode(), want)
        ts = os.path.join(ld, "tar-split.json.gz")
        if not os.path.exists(ts):
            self.problem("layer %s: no tar-split.json.gz", chain)
        else:
            got = self.rebuild_digest(chain, ts, files)
            if got != diff:
                self.problem("layer %s: tar-split rebuilds %s, not the diff ID %s", chain, got, diff)
        if self.driver == "overlay2":
            self.check_overlay(chain, cache_id, parent)
        return True

    def rebuild_digest(self, chain, ts, files):
        h = hashlib.sha256()
        for line in gzip.decompress(read(ts)).splitlines():
            entry = json.loads(line)
            payload = entry.get("payload")
            if entry["type"] == 2:
                h.update(base64.b64decode(payload) if payload else b"")
                continue
            size = entry.get("size", 0)
            if not size:
                continue
            if "name" in entry:
                name = entry["name"].encode("utf-8", "surrogateescape")
            else:
                name = base64.b64decode(entry["name_raw"])
            rel = os.path.normpath(b"/" + name).lstrip(b"/")
            data = read(os.path.join(files.encode(), rel))
            if len(data) != size:
                self.problem("layer %s: %r holds %d bytes, tar-split records %d", chain, name, len(data), size)
            if payload and base64.b64decode(payload) != crc64(data):
                self.problem("layer %s: CRC-64 of %r differs from tar-split", chain, name)
            h.update(data)
        return "sha256:" + h.hexdigest()

    def check_overlay(self, chain, cache_id, parent):
        od = os.path.join(self.root, "overlay2", cache_id)
        link = read(os.path.join(od, "link")).decode()
        if len(link) != 26 or not set(link) <= BASE32:
            self.problem("overlay2/%s: link %r is not 26 characters of A-Z2-7", cache_id, link)
        target = os.path.join(self.root, "overlay2", "l", link)
        if not os.path.islink(target) or os.readlink(target) != "../%s/diff" % cache_id:
            self.problem("overlay2/l/%s does not point to ../%s/diff", link, cache_id)
        lower = os.path.join(od, "lower")
        if parent is None:
            if os.path.exists(lower):
                self.problem("overlay2/%s: base layer has a lower file", cache_id)
            return
        pcid = read(os.path.join(self.img, "layerdb", "sha256", parent[7:], "cache-id")).strip().decode()
        pod = os.path.join(self.root, "overlay2", pcid)
        want = "l/" + read(os.path.join(pod, "link")).decode()
        if os.path.exists(os.path.join(pod, "lower")):
            want += ":" + read(os.path.join(pod, "lower")).decode()
        got = read(lower).decode() if os.path.exists(lower) else None
        if got != want:
            self.problem("overlay2/%s: lower is %r, the parent chain gives %r", cache_id, got, want)

    def check_references(self):
        repos = json.loads(read(os.path.join(self.img, "repositories.json")))
        for refs in repos["Repositories"].values():
            for ref, image in refs.items():
                if image[7:] not in self.images:
                    self.problem("repositories.json: %s names missing image %s", ref, image)


def tree_size(top):
    """Sum of st_size of every non-folder entry, each inode once."""
    seen, total = set(), 0
    for folder, dirs, names in os.walk(top):
        for name in names + [d for d in dirs if os.path.islink(os.path.join(folder, d))]:
            st = os.lstat(os.path.join(folder, name))
            key = (st.st_dev, st.st_ino)
            if stat.S_ISDIR(st.st_mode) or key in seen:
                continue
            seen.add(key)
            total += st.st_size
    return total


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: verify_store.py DATA_ROOT")
    store = Store(sys.argv[1])
    store.check_configs()
    store.check_chains()
    store.check_references()
    for p in store.problems:
        print("PROBLEM:", p)
    print("%s: %d images, %d layers checked, %d problems"
          % (store.root, len(store.images), len(store.layers), len(store.problems)))
    return 1 if store.problems else 0


if __name__ == "__main__":
    sys.exit(main())
