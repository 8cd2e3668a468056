"""docker-py (Debian's python3-docker) against strata serve: the image calls.

Run by t1211-serve-docker-py.sh with /usr/bin/python3, DOCKER_HOST set, on a
store holding one:1 (label a=b) and two:1 (label a=c), each imported from a
tiny tar.  argv: the strata binary and the data root, to compare with
strata's own CLI.
"""
import json
import subprocess
import sys

import docker

strata, root = sys.argv[1], sys.argv[2]
client = docker.from_env(version="auto")
api = client.api


def cli(*args):
    return subprocess.run([strata, "--data-root", root, *args], check=True,
                          capture_output=True, text=True).stdout


def check(cond, what):
    if not cond:
        raise SystemExit("FAILED: " + what)


# images.list: the same images as strata images, tags and labels as dockerd's summaries
imgs = client.images.list()
ids = sorted(i.id for i in imgs)
check(ids == sorted(set(cli("images", "-q", "--no-trunc").split())), "images.list ids %r" % ids)
one = client.images.get("one:1")
check(one.tags == ["one:1"], "get one:1 tags %r" % one.tags)
check(one.labels == {"a": "b"}, "labels %r" % one.labels)
check([i.id for i in client.images.list(filters={"label": "a=c"})] == [client.images.get("two:1").id],
      "label filter")
check(client.images.list(name="one") == [one], "list by name")

# api.inspect_image: the object strata image inspect prints
check(api.inspect_image("one:1") == json.loads(cli("image", "inspect", "one:1"))[0], "inspect_image")

# api.history: one entry, strata history's
hist = api.history("one:1")
check(len(hist) == 1 and hist[0]["Id"] == one.id and hist[0]["Tags"] == ["one:1"], "history %r" % hist)
check(hist[0]["Comment"] == cli("history", "--format", "{{.Comment}}", "one:1").strip(), "history comment")

# tag, then the new name resolves to the same image
check(one.tag("three", "x") is True, "tag")
check(client.images.get("three:x").id == one.id, "tagged image")
check("three:x" in cli("images", "--format", "{{.Repository}}:{{.Tag}}").split(), "strata sees the tag")

# errors as docker-py's exceptions: 404 NotFound, 409 APIError (conflict)
try:
    client.images.get("nosuch:1")
    check(False, "get nosuch")
except docker.errors.ImageNotFound as e:
    check("No such image: nosuch:1" in str(e), str(e))
try:
    client.images.remove(one.id)
    check(False, "remove by ID with two tags")
except docker.errors.APIError as e:
    check(e.status_code == 409 and "must be forced" in str(e), str(e))

# remove: untag only, then the last tag deletes
res = api.remove_image("three:x")
check(res == [{"Untagged": "three:x"}], "remove_image %r" % res)
client.images.remove("one:1")
check(one.id not in cli("images", "-q", "--no-trunc").split(), "one:1 deleted")

# df: the image that is left
df = client.df()
check([i["Id"] for i in df["Images"]] == [client.images.get("two:1").id], "df images %r" % df["Images"])
check(df["LayersSize"] > 0 and df["Containers"] == [] and df["Volumes"] == [], "df %r" % df)

# prune: nothing dangling; with dangling=false and a label, two:1 goes
rep = client.images.prune()
check(rep == {"ImagesDeleted": None, "SpaceReclaimed": 0}, "prune %r" % rep)
rep = client.images.prune(filters={"dangling": False, "label": "a=c"})
check({"Untagged": "two:1"} in rep["ImagesDeleted"] and rep["SpaceReclaimed"] > 0, "prune -a %r" % rep)
check(client.images.list() == [], "all gone")
print("ok")
