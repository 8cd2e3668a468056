#!/usr/bin/env python3
"""Write the fuzz targets' seed corpora (tests/fuzz/corpus/NAME/), small
inputs of each format built here, so none comes from outside the repository.
Re-running it rewrites the seeds; inputs added by hand (or crashers kept as
regression cases) are left alone.  tarsplit-read needs the tar-split tool."""
import gzip, hashlib, io, json, os, subprocess, sys, tarfile

here = os.path.dirname(os.path.abspath(__file__))
out = os.path.join(here, "corpus")


def put(target, name, data):
    d = os.path.join(out, target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, "seed-" + name), "wb") as f:
        f.write(data)


def tar_of(members, fmt):
    b = io.BytesIO()
    with tarfile.open(fileobj=b, mode="w", format=fmt) as t:
        for name, kind, content in members:
            ti = tarfile.TarInfo(name)
            ti.mtime = 1700000000
            if kind == "file":
                ti.size = len(content)
                t.addfile(ti, io.BytesIO(content))
            elif kind == "dir":
                ti.type = tarfile.DIRTYPE
                ti.mode = 0o755
                t.addfile(ti)
            elif kind == "symlink":
                ti.type = tarfile.SYMTYPE
                ti.linkname = content
                t.addfile(ti)
            elif kind == "hardlink":
                ti.type = tarfile.LNKTYPE
                ti.linkname = content
                t.addfile(ti)
    return b.getvalue()


layer_members = [
    ("etc", "dir", None),
    ("etc/hostname", "file", b"strata\n"),
    ("etc/.wh.old", "file", b""),
    ("bin/sh", "symlink", "busybox"),
    ("bin/ls", "hardlink", "etc/hostname"),
]
long_members = [("d/" + "x" * 120 + "/file", "file", b"long name\n"),
                ("l", "symlink", "t" * 130)]
tars = {
    "ustar": tar_of(layer_members, tarfile.USTAR_FORMAT),
    "gnu-long": tar_of(long_members, tarfile.GNU_FORMAT),
    "pax-long": tar_of(long_members, tarfile.PAX_FORMAT),
    "empty": b"\0" * 1024,
}
for n, t in tars.items():
    put("tar", n, t)
    put("tarsplit-write", n, t)
    put("decompress", n, t)
gz = gzip.compress(tars["ustar"], mtime=0)
put("decompress", "gzip", gz)
put("decompress", "gzip-two-members", gz + gzip.compress(b"more", mtime=0))
put("tarsplit-write", "gzip", gz)
try:
    z = subprocess.run(["zstd", "-q", "-c"], input=tars["ustar"], capture_output=True, check=True).stdout
    put("decompress", "zstd", z)
    put("tarsplit-write", "zstd", z)
except (OSError, subprocess.CalledProcessError):
    print("make-seeds: zstd missing, no zstd seed", file=sys.stderr)
try:
    import tempfile
    with tempfile.TemporaryDirectory() as tmp:
        for n in ("ustar", "pax-long"):
            f = os.path.join(tmp, n + ".json.gz")
            subprocess.run(["tar-split", "disasm", "--no-stdout", "--output", f, "-"],
                           input=tars[n], capture_output=True, check=True)
            with open(f, "rb") as g:
                put("tarsplit-read", n, gzip.decompress(g.read()))
except (OSError, subprocess.CalledProcessError) as e:
    print("make-seeds: tar-split failed (%s), no tarsplit-read seed" % e, file=sys.stderr)

# registry documents: first byte picks the Content-Type (fuzz-manifest.c's table)
diff_id = "sha256:" + hashlib.sha256(tars["ustar"]).hexdigest()
config = {"architecture": "amd64", "os": "linux", "created": "2023-11-14T22:13:20Z",
          "config": {"Env": ["PATH=/bin"], "Cmd": ["/bin/sh"]},
          "rootfs": {"type": "layers", "diff_ids": [diff_id]},
          "history": [{"created": "2023-11-14T22:13:20Z", "created_by": "seed"}]}
config_bytes = json.dumps(config, separators=(",", ":")).encode()
config_digest = "sha256:" + hashlib.sha256(config_bytes).hexdigest()
layer_digest = "sha256:" + hashlib.sha256(gz).hexdigest()
schema2 = {"schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
           "config": {"mediaType": "application/vnd.docker.container.image.v1+json",
                      "size": len(config_bytes), "digest": config_digest},
           "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
                       "size": len(gz), "digest": layer_digest}]}
m_digest = "sha256:" + hashlib.sha256(json.dumps(schema2).encode()).hexdigest()
mlist = {"schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.list.v2+json",
         "manifests": [{"mediaType": schema2["mediaType"], "size": 500, "digest": m_digest,
                        "platform": {"architecture": a, "os": "linux", **({"variant": v} if v else {})}}
                       for a, v in (("amd64", None), ("arm64", "v8"), ("arm", "v7"))]}
oci_manifest = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                           "size": len(config_bytes), "digest": config_digest},
                "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                            "size": len(gz), "digest": layer_digest}]}
oci_index = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
             "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json", "size": 400,
                            "digest": m_digest, "platform": {"architecture": "amd64", "os": "linux"},
                            "annotations": {"org.opencontainers.image.ref.name": "1"}}]}
put("manifest", "schema2", b"\x01" + json.dumps(schema2).encode())
put("manifest", "list", b"\x02" + json.dumps(mlist).encode())
put("manifest", "oci-manifest", b"\x03" + json.dumps(oci_manifest).encode())
put("manifest", "oci-index", b"\x04" + json.dumps(oci_index).encode())
put("manifest", "untyped", b"\x00" + json.dumps(oci_index).encode())
put("manifest", "config", b"\x05" + config_bytes)

for n, r in {"familiar": "busybox", "tagged": "library/busybox:1.36",
             "registry": "127.0.0.1:5000/ns/img:v1",
             "digest": "ghcr.io/o/r@sha256:" + "a" * 64,
             "both": "quay.io/a/b:t@sha256:" + "b" * 64, "id": "c" * 64,
             "ipv6": "[::1]:5000/x:y", "glob": "seed*:v?"}.items():
    put("reference", n, r)

for n, t in {"fields": "{{.Id}} {{.Config.Cmd}} {{json .Config.Labels}} {{index .RepoTags 0}}",
             "range": "{{range $i, $t := .RepoTags}}{{if $i}},{{end}}{{$t}}{{end}}",
             "funcs": "{{printf \"%s-%d\" .Os .Size | upper}} {{len .RepoTags}} {{slice .Id 0 12}}",
             "table": "table {{.Id}}\\t{{.Size}}\\t{{.Nope}}",
             "with": "{{with .Config}}{{.WorkingDir}}{{else}}none{{end}}{{/* c */}}",
             "vars": "{{$x := .Size}}{{if gt $x 10}}{{$x = 1}}{{end}}{{$x}} {{- \" trim \" -}}",
             "split": "{{join (split .Os \"n\") \"-\"}} {{pad .Os 2 3}} {{truncate .Id 5}} {{title .Os}}"}.items():
    put("template", n, t)

put("dockerfile", "basic", "# syntax=docker/dockerfile:1\n# escape=\\\nFROM busybox AS base\n"
    "ARG V=1\nENV A=b C=\"d e\"\nRUN echo $A \\\n && echo done\nCOPY --chown=1:1 a b /dst/\n"
    "WORKDIR /app\nLABEL x=y\nEXPOSE 80/tcp\nUSER nobody\nCMD [\"/bin/sh\", \"-c\", \"true\"]\n"
    "ENTRYPOINT echo hi\nHEALTHCHECK --interval=5s CMD true\nONBUILD RUN x\nSHELL [\"/bin/sh\"]\n"
    "STOPSIGNAL TERM\nVOLUME [\"/v\"]\nFROM base\nADD http://x/y /z\nMAINTAINER m\n")
put("dockerfile", "backtick", "# escape=`\nFROM scratch\nRUN a `\n  b\n\n# comment\nCMD [\"x\"\n")
put("dockerignore", "patterns",
    b"# comment\n*.log\n!keep.log\n**/tmp\n/abs/path\n./rel\ndir/*/x?.c\n[a-c]*.o\n\\!literal\n"
    b"\0a.log\0keep.log\0x/y/tmp\0dir/q/x1.c\0b.o\0src/main.c")

put("auth", "bearer", 'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",'
    'scope="repository:library/busybox:pull"')
put("auth", "basic-and-bearer", 'Basic realm="r", Bearer realm="http://127.0.0.1:1/t",error="x\\"y"')
put("auth", "token", '{"token":"abc.def","access_token":"abc.def","expires_in":300,'
    '"issued_at":"2023-11-14T22:13:20Z"}')
put("auth", "base64", "dXNlcjpwYXNzd29yZA==")

# docker load: members separated by "\n@@\n", each "name\ncontent" (fuzz-load.c)
SEP = b"\n@@\n"


def archive(members):
    return SEP.join(n.encode() + b"\n" + c for n, c in members)


layer_path = hashlib.sha256(b"v1").hexdigest() + "/layer.tar"
docker_manifest = [{"Config": config_digest[7:] + ".json", "RepoTags": ["seed:1"],
                    "Layers": [layer_path]}]
put("load", "docker-archive", archive([
    (config_digest[7:] + ".json", config_bytes), (layer_path, tars["ustar"]),
    ("manifest.json", json.dumps(docker_manifest).encode()),
    ("repositories", json.dumps({"seed": {"1": layer_path[:64]}}).encode())]))
oci_m = dict(oci_manifest)
oci_m["layers"] = [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "size": len(tars["ustar"]),
                    "digest": diff_id}]
oci_m_bytes = json.dumps(oci_m).encode()
oci_i = {"schemaVersion": 2, "manifests": [
    {"mediaType": "application/vnd.oci.image.manifest.v1+json", "size": len(oci_m_bytes),
     "digest": "sha256:" + hashlib.sha256(oci_m_bytes).hexdigest(),
     "annotations": {"io.containerd.image.name": "docker.io/library/seed:oci",
                     "org.opencontainers.image.ref.name": "oci"}}]}
put("load", "oci-layout", archive([
    ("oci-layout", b'{"imageLayoutVersion":"1.0.0"}'), ("index.json", json.dumps(oci_i).encode()),
    ("blobs/sha256/" + oci_i["manifests"][0]["digest"][7:], oci_m_bytes),
    ("blobs/sha256/" + config_digest[7:], config_bytes),
    ("blobs/sha256/" + diff_id[7:], tars["ustar"])]))
v1 = hashlib.sha256(b"legacy").hexdigest()
put("load", "legacy", archive([
    ("repositories", json.dumps({"legacy": {"latest": v1}}).encode()),
    (v1 + "/json", json.dumps({"id": v1, "created": "2023-11-14T22:13:20Z", "os": "linux",
                                "container_config": {"Cmd": ["/bin/sh"]}}).encode()),
    (v1 + "/VERSION", b"1.0"), (v1 + "/layer.tar", tars["ustar"])]))
