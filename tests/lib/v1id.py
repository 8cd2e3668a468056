#!/usr/bin/env python3
"""v1id.py SAVE_DIR: recompute the v1 layer IDs of an extracted `docker save`.

Docker 20.10's rule (v1.CreateID): for each layer of the first image, take its
<v1id>/json without "id" and "parent" (and, below the top layer, without
"os"), add "layer_id" = the layer's chain ID and, above the bottom layer,
"parent" = "sha256:" + the v1 ID of the layer below; marshal with sorted
top-level keys, Go's encoding (no spaces, <>& and U+2028/9 escaped); the v1
ID is the hex sha256 of that text.  One line per layer, ending in OK or
MISMATCH; exit status 1 on any mismatch.
"""
import hashlib
import json
import os
import sys


def go_string(s):
    out = ['"']
    for ch in s:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ch in "\n\r\t":
            out.append({"\n": "\\n", "\r": "\\r", "\t": "\\t"}[ch])
        elif ord(ch) < 0x20 or ch in "<>&\u2028\u2029":
            out.append("\\u%04x" % ord(ch))
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def go_json(v):
    if isinstance(v, dict):
        return "{" + ",".join(go_string(k) + ":" + go_json(x) for k, x in v.items()) + "}"
    if isinstance(v, list):
        return "[" + ",".join(go_json(x) for x in v) + "]"
    if isinstance(v, str):
        return go_string(v)
    return json.dumps(v)  # true, false, null, numbers


def load(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)  # dicts keep the file's key order


def main(top):
    manifest = load(os.path.join(top, "manifest.json"))[0]
    diff_ids = load(os.path.join(top, manifest["Config"]))["rootfs"]["diff_ids"]
    chain, parent, bad = None, None, 0
    for i, (diff, layer) in enumerate(zip(diff_ids, manifest["Layers"])):
        chain = diff if chain is None else \
            "sha256:" + hashlib.sha256(("%s %s" % (chain, diff)).encode()).hexdigest()
        saved = load(os.path.join(top, os.path.dirname(layer), "json"))
        fields = {k: v for k, v in saved.items() if k not in ("id", "parent")}
        if i < len(diff_ids) - 1:
            fields.pop("os", None)
        fields["layer_id"] = chain
        if parent:
            fields["parent"] = parent
        v1id = hashlib.sha256(go_json(dict(sorted(fields.items()))).encode()).hexdigest()
        same = v1id == saved.get("id")
        bad += not same
        print("%d chain %s: computed %s, saved %s %s" % (i, chain[7:19], v1id[:16], str(saved.get("id"))[:16],
                                                      "OK" if same else "MISMATCH"))
        parent = "sha256:" + v1id
    return 1 if bad else 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: v1id.py SAVE_DIR")
    sys.exit(main(sys.argv[1]))
