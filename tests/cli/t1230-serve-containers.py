#!/usr/bin/python3
"""docker-py's container calls against strata serve (DOCKER_HOST), checked."""
import docker

c = docker.from_env()
out = c.containers.run("bb:1", ["sh", "-c", "echo hello; echo oops >&2"], remove=True,
                       network_mode="none", stderr=True)
# two pipes, as dockerd's two copiers: the lines' order between them is not kept
assert sorted(out.splitlines()) == [b"hello", b"oops"], out
ctr = c.containers.create("bb:1", ["sh", "-c", "echo from-create; exit 4"], network_mode="none", name="py1")
ctr.start()
res = ctr.wait()
assert res["StatusCode"] == 4, res
assert ctr.logs() == b"from-create\n", ctr.logs()
ctr.reload()
assert ctr.status == "exited", ctr.status
assert [x.name for x in c.containers.list(all=True)] == ["py1"]
ctr.remove()
assert c.containers.list(all=True) == []
try:
    c.containers.get("py1")
    raise SystemExit("py1 still there")
except docker.errors.NotFound:
    pass
print("ok")
