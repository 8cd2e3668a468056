#!/bin/bash
# strata serve keeps the images it read between requests (strata_image_cache):
# whatever another process changes in the store afterwards, by strata's CLI
# or by replacing files as dockerd does, the next request sees, and every
# answer is the one a fresh read of the store gives (strata's own CLI).
# The store is left alone for over a second before each first request, so
# that the images are kept (a folder changed within the last second is
# read again each time), and then changed while they are kept.
. "$(dirname "$0")/../lib/lib.sh"
. "$TEST_LIB_DIR/serve.sh"

command -v curl >/dev/null || skip_all "curl not installed"
command -v python3 >/dev/null || skip_all "python3 not installed"
S=$TRASH/s
R=$S/root
IMG=$R/image/overlay2

# id size parent tags, one line an image, from /images/json or `strata images`
api_rows() {
	serve_curl "/images/json?all=1" | python3 -c '
import json, sys
for i in sorted(json.load(sys.stdin), key=lambda i: i["Id"]):
    print(i["Id"], i["Size"], i["ParentId"] or "-", ",".join(sorted(i["RepoTags"] or [])))'
}
cli_rows() {
	strata --data-root "$R" images -a --no-trunc --format "{{json .}}" | python3 -c '
import json, subprocess, sys
rows = {}
for line in sys.stdin:
    i = json.loads(line)
    rows.setdefault(i["ID"], set())
    if i["Repository"] != "<none>":
        rows[i["ID"]].add(i["Repository"] + ":" + i["Tag"])
for id in sorted(rows):
    out = subprocess.run([sys.argv[1], "--data-root", sys.argv[2], "image", "inspect", id],
                         check=True, capture_output=True, text=True).stdout
    img = json.loads(out)[0]
    print(id, img["Size"], img["Parent"] or "-", ",".join(sorted(rows[id])) or "<none>:<none>")' \
		"$STRATA_BIN" "$R"
}
same_as_cli() {
	api_rows >api && cli_rows >cli && test_cmp cli api
}
# let the store's folders age past the one-second window, then read them (kept)
settle() {
	sleep 1.2 && serve_curl /images/json >/dev/null
}
layer_of() {
	strata --data-root "$R" image inspect --format '{{index .RootFS.Layers 0}}' "$1"
}

test_expect_success 'setup: two images, a server' '
	mkdir -p a b && echo a >a/f && echo b >b/f &&
	tar -C a -cf a.tar . && tar -C b -cf b.tar . &&
	strata --data-root "$R" import a.tar one:1 >/dev/null &&
	strata --data-root "$R" import b.tar two:1 >/dev/null &&
	serve_start "$S" &&
	settle && same_as_cli
'

test_expect_success 'a tag and an untag by the CLI are seen at once' '
	settle &&
	strata --data-root "$R" tag one:1 one:2 &&
	same_as_cli && api_rows | grep -q "one:1,one:2" &&
	strata --data-root "$R" rmi one:2 >/dev/null &&
	same_as_cli && ! api_rows | grep -q one:2
'

test_expect_success 'an image removed and imported again is seen' '
	settle &&
	strata --data-root "$R" rmi two:1 >/dev/null &&
	same_as_cli && ! api_rows | grep -q two &&
	settle &&
	strata --data-root "$R" import b.tar two:1 >/dev/null &&
	same_as_cli && api_rows | grep -q two:1
'

test_expect_success 'a parent written as dockerd writes it (by rename) is seen' '
	one=$(strata --data-root "$R" images -q --no-trunc one:1) &&
	two=$(strata --data-root "$R" images -q --no-trunc two:1) &&
	settle &&
	md=$IMG/imagedb/metadata/sha256/${two#sha256:} &&
	mkdir -p "$md" && printf %s "$one" >"$md/.parent.tmp" && mv "$md/.parent.tmp" "$md/parent" &&
	same_as_cli && api_rows | grep -q "^$two [0-9]* $one two:1" &&
	settle &&
	rm "$md/parent" &&
	same_as_cli && api_rows | grep -q "^$two [0-9]* - two:1"
'

test_expect_success 'a layer record replaced by rename is read again' '
	chain=$(layer_of two:1) &&
	dir=$IMG/layerdb/sha256/${chain#sha256:} &&
	cp "$dir/size" size.orig &&
	settle &&
	printf 4242 >"$dir/.size.tmp" && mv "$dir/.size.tmp" "$dir/size" &&
	same_as_cli && api_rows | grep -q " 4242 - two:1" &&
	settle &&
	cp size.orig "$dir/.size.tmp" && mv "$dir/.size.tmp" "$dir/size" &&
	same_as_cli
'

test_expect_success 'a layer that goes makes its image damaged, as the CLI says' '
	chain=$(layer_of two:1) &&
	dir=$IMG/layerdb/sha256/${chain#sha256:} &&
	settle &&
	mv "$dir" "$TRASH/layer.away" &&
	same_as_cli && ! api_rows | grep -q two: &&
	serve_curl /images/two:1/json -w " %{http_code}" >out &&
	test_expect_code 1 strata --data-root "$R" image inspect two:1 2>err &&
	grep -q " 404$" out && grep -q "is damaged: " out && grep -q "is damaged: " err &&
	mv "$TRASH/layer.away" "$dir" &&
	same_as_cli && api_rows | grep -q two:1
'

test_expect_success 'a kept image is inspected whole (its config read again from its bytes)' '
	settle &&
	serve_curl /images/one:1/json >api.json &&
	strata --data-root "$R" image inspect one:1 >cli.json &&
	python3 -c "
import json, sys
a = json.load(open(\"api.json\")); c = json.load(open(\"cli.json\"))[0]
for k in (\"Id\", \"Config\", \"ContainerConfig\", \"Created\", \"RootFS\", \"Size\", \"Os\", \"Architecture\"):
    assert a[k] == c[k], (k, a[k], c[k])
" &&
	serve_curl /images/one:1/history >api.hist &&
	test "$(python3 -c "import json; print(len(json.load(open(\"api.hist\"))))")" = 1
'

test_expect_success 'many requests at once over kept images agree' '
	settle &&
	pids= &&
	for i in $(seq 16); do serve_curl "/images/json?all=1" >par.$i & pids="$pids $!"; done &&
	wait $pids &&
	for i in $(seq 16); do test_cmp par.1 par.$i || return 1; done &&
	same_as_cli
'

test_expect_success 'the server stops cleanly and the store checks clean' '
	serve_stop "$S" &&
	strata --data-root "$R" check >/dev/null
'

test_done
