#!/bin/bash
# strata pull against a real docker-registry on 127.0.0.1 (no dockerd needed):
# manifest lists and OCI indexes (built by hand), platform selection, a zstd
# layer, pull by digest, -a, a corrupted blob, a connection cut mid-layer, a
# kill -9 mid-pull then a pull that reuses the partial data, and strata push
# of an imported image (second push skips, sibling push mounts).
. "$(dirname "$0")/../lib/lib.sh"
. "$TEST_LIB_DIR/dockerd.sh"
. "$TEST_LIB_DIR/store.sh"
. "$TEST_LIB_DIR/busybox.sh"

command -v docker-registry >/dev/null 2>&1 || skip_all "docker-registry not installed"
command -v zstd >/dev/null 2>&1 || skip_all "zstd not installed"
[ -x "$BUSYBOX_BIN" ] || skip_all "busybox-static not installed"
[ "$(id -u)" -eq 0 ] || skip_all "needs root (layer files owned by root, overlay2 whiteouts)"

FIX=$TEST_REPO/tests/fixtures/pull
VERIFY=$VERIFY_STORE
regtool() { python3 "$FIX/regtool.py" "$@"; }

store_ok() {
	strata --data-root "$1" check >check.out 2>&1 || { cat check.out; return 1; }
	python3 "$VERIFY" "$1" >verify.out 2>&1 || { cat verify.out; return 1; }
}

# proxy_start NAME ARGS...: the fault proxy in front of the registry; sets PROXY
proxy_start() {
	local name=$1
	shift
	rm -f "$TRASH/$name.port"
	python3 "$FIX/proxy.py" --upstream "$REGISTRY" --port-file "$TRASH/$name.port" "$@" \
		</dev/null >"$TRASH/$name.log" 2>&1 &
	echo $! >"$TRASH/$name.pid"
	test_atexit "kill $(cat "$TRASH/$name.pid") 2>/dev/null"
	for _ in $(seq 1 50); do
		[ -s "$TRASH/$name.port" ] && break
		sleep 0.1
	done
	PROXY=127.0.0.1:$(cat "$TRASH/$name.port")
}
proxy_stop() { kill "$(cat "$TRASH/$1.pid")" 2>/dev/null; }

test_expect_success 'start a registry and push a base image with strata' '
	registry_start "$TRASH/reg" &&
	make_busybox_rootfs bb &&
	tar -C bb -cf - . | strata --data-root src import - $REGISTRY/t/bb:1 >id &&
	strata --data-root src push $REGISTRY/t/bb:1 >out &&
	grep -q "^The push refers to repository \[$REGISTRY/t/bb\]$" out &&
	grep -q "^7ef32d21e68c: Preparing$" out &&
	grep -q "^7ef32d21e68c: Pushed$" out &&
	tail -n1 out | grep -Eq "^1: digest: sha256:[0-9a-f]{64} size: 527$" &&
	tail -n1 out | sed "s/.*digest: \(sha256:[0-9a-f]*\) .*/\1/" >bb.digest &&
	store_ok src
'

test_expect_success 'push records distribution metadata with the anonymous HMAC and name@digest' '
	d=$(cat bb.digest) &&
	grep -q "\"$REGISTRY/t/bb@$d\":\"$(cat id)\"" src/image/overlay2/repositories.json &&
	f=src/image/overlay2/distribution/v2metadata-by-diffid/sha256/7ef32d21e68c2edbb33fd4918422a139e35652e22e77d8ea7dd34e35abac5b82 &&
	python3 - "$f" "$REGISTRY/t/bb" <<-\PY
	import hashlib, hmac, json, sys
	raw = open(sys.argv[1], "rb").read()
	m = json.loads(raw)
	assert raw == json.dumps(m, separators=(",", ":")).encode(), raw
	key = ("sha256:" + hashlib.sha256(b"{}").hexdigest()).encode()
	e = m[-1]
	assert list(e) == ["Digest", "SourceRepository", "HMAC"], e
	assert e["SourceRepository"] == sys.argv[2], e
	assert e["HMAC"] == hmac.new(key, (e["Digest"] + e["SourceRepository"]).encode(), hashlib.sha256).hexdigest()
	PY
	test "$(cat src/image/overlay2/distribution/diffid-by-digest/sha256/$(python3 -c "import json,sys;print(json.load(open(sys.argv[1]))[-1][\"Digest\"][7:])" $f))" = \
		sha256:7ef32d21e68c2edbb33fd4918422a139e35652e22e77d8ea7dd34e35abac5b82 &&
	test "$(stat -c %a src/image/overlay2/distribution/v2metadata-by-diffid/sha256)" = 755 &&
	test "$(stat -c %a $f)" = 644
'

test_expect_success 'second push: all layers already exist' '
	strata --data-root src push $REGISTRY/t/bb:1 >out &&
	grep -q "^7ef32d21e68c: Layer already exists$" out &&
	! grep -q "Pushed" out
'

test_expect_success 'push to a sibling repository mounts the layer (and the registry saw the mount)' '
	strata --data-root src tag $REGISTRY/t/bb:1 $REGISTRY/t/sibling:1 &&
	strata --data-root src push $REGISTRY/t/sibling:1 >out &&
	grep -q "^7ef32d21e68c: Mounted from t/bb$" out &&
	grep -q "POST /v2/t/sibling/blobs/uploads/?from=t%2Fbb&mount=sha256%3A" "$TRASH/reg/registry.log"
'

test_expect_success 'pull into a fresh store: docker output, refs, metadata (HMAC "")' '
	strata --data-root s1 pull $REGISTRY/t/bb:1 >out &&
	d=$(cat bb.digest) &&
	h=$(regtool get-manifest $REGISTRY t/bb 1 | python3 -c "import json,sys;print(json.load(sys.stdin)[\"layers\"][0][\"digest\"][7:19])") &&
	cat >expect <<-EOF &&
	1: Pulling from t/bb
	$h: Pulling fs layer
	$h: Verifying Checksum
	$h: Download complete
	$h: Pull complete
	Digest: $d
	Status: Downloaded newer image for $REGISTRY/t/bb:1
	$REGISTRY/t/bb:1
	EOF
	test_cmp expect out &&
	strata --data-root s1 images --digests --format "{{.Repository}} {{.Tag}} {{.Digest}} {{.ID}}" >imgs &&
	grep -q "^$REGISTRY/t/bb 1 $d $(cut -c8-19 id)$" imgs &&
	grep -q "\"HMAC\":\"\"" s1/image/overlay2/distribution/v2metadata-by-diffid/sha256/7ef32d21e68c2edbb33fd4918422a139e35652e22e77d8ea7dd34e35abac5b82 &&
	test ! -e s1/image/overlay2/imagedb/metadata/sha256/$(cut -c8- id) &&
	store_ok s1
'

test_expect_success 'pull again: up to date; -q prints only the name' '
	strata --data-root s1 pull $REGISTRY/t/bb:1 >out &&
	grep -q "^Status: Image is up to date for $REGISTRY/t/bb:1$" out &&
	strata --data-root s1 pull -q $REGISTRY/t/bb:1 >out &&
	echo "$REGISTRY/t/bb:1" >expect && test_cmp expect out
'

test_expect_success 'pull by digest' '
	d=$(cat bb.digest) &&
	strata --data-root s2 pull $REGISTRY/t/bb@$d >out &&
	grep -q "^$d: Pulling from t/bb$" out &&
	tail -n1 out | grep -qx "$REGISTRY/t/bb@$d" &&
	grep -q "\"$REGISTRY/t/bb@$d\":\"$(cat id)\"" s2/image/overlay2/repositories.json &&
	! grep -q "$REGISTRY/t/bb:1" s2/image/overlay2/repositories.json &&
	store_ok s2
'

test_expect_success 'a zstd layer in an OCI manifest' '
	mkdir -p zw && regtool zstd-image $REGISTRY t/bb zstd zw >z.out &&
	read -r zman zcfg zdiff <z.out &&
	strata --data-root s3 pull $REGISTRY/t/bb:zstd >out &&
	grep -q "^Digest: $zman$" out &&
	strata --data-root s3 images -q --no-trunc $REGISTRY/t/bb:zstd >got &&
	echo "$zcfg" >expect && test_cmp expect got &&
	python3 -c "import json,sys;print(json.load(open(sys.argv[1]))[\"rootfs\"][\"diff_ids\"][0])" \
		"$(store_config_path s3 "$zcfg")" >got &&
	echo "$zdiff" >expect && test_cmp expect got &&
	test -d "s3/image/overlay2/layerdb/sha256/${zdiff#sha256:}" &&
	store_ok s3
'

test_expect_success 'manifest list with two platforms: host and --platform' '
	zman=$(cut -d" " -f1 z.out) &&
	regtool index $REGISTRY t/bb multi docker linux/amd64=1 linux/arm64/v8=$zman >list.digest &&
	strata --data-root s4 pull $REGISTRY/t/bb:multi >out &&
	grep -q "^Digest: $(cat list.digest)$" out &&
	strata --data-root s4 images -q --no-trunc $REGISTRY/t/bb:multi >got &&
	cat id >expect && test_cmp expect got &&
	strata --data-root s5 pull --platform linux/arm64 $REGISTRY/t/bb:multi >out &&
	strata --data-root s5 images -q --no-trunc $REGISTRY/t/bb:multi >got &&
	cut -d" " -f2 z.out >expect && test_cmp expect got &&
	must_fail strata --data-root s6 pull --platform linux/s390x $REGISTRY/t/bb:multi 2>err &&
	grep -q "no matching manifest for linux/s390x" err &&
	store_ok s4 && store_ok s5
'

test_expect_success 'OCI index of an OCI manifest, nested in a Docker list' '
	regtool oci-copy $REGISTRY t/bb 1 oci1 >oci.digest &&
	regtool index $REGISTRY t/bb ociidx oci linux/amd64=oci1 >idx.digest &&
	regtool index $REGISTRY t/bb nested docker linux/amd64=ociidx >nested.digest &&
	strata --data-root s7 pull $REGISTRY/t/bb:ociidx >out &&
	grep -q "^Digest: $(cat idx.digest)$" out &&
	strata --data-root s7 pull $REGISTRY/t/bb:nested >out &&
	strata --data-root s7 images -q --no-trunc $REGISTRY/t/bb:nested >got &&
	cat id >expect && test_cmp expect got &&
	store_ok s7
'

test_expect_success 'pull -a: every tag of the repository' '
	strata --data-root s8 pull -a $REGISTRY/t/bb >out &&
	grep -q "^1: Pulling from t/bb$" out &&
	grep -q "^multi: Pulling from t/bb$" out &&
	grep -q "^oci1: Pulling from t/bb$" out &&
	tail -n1 out | grep -qx "$REGISTRY/t/bb" &&
	strata --data-root s8 images --format "{{.Tag}}" $REGISTRY/t/bb | sort >got &&
	printf "%s\n" 1 multi nested oci1 ociidx zstd >expect && test_cmp expect got &&
	store_ok s8
'

test_expect_success 'unknown tag: docker error text, exit 1' '
	test_expect_code 1 strata --data-root s9 pull $REGISTRY/t/bb:nope 2>err &&
	grep -q "^Error response from daemon: manifest for $REGISTRY/t/bb:nope not found: manifest unknown" err
'

test_expect_success 'a blob corrupted in the registry: digest error, store unchanged' '
	strata --data-root sc pull $REGISTRY/t/bb:zstd >/dev/null &&
	tar -C bb -cf - . | strata --data-root tmpsrc import - $REGISTRY/t/bad:1 >/dev/null &&
	echo extra >bb/extra && tar -C bb -cf - . | strata --data-root tmpsrc import - $REGISTRY/t/bad2:1 >/dev/null &&
	strata --data-root tmpsrc push $REGISTRY/t/bad2:1 >/dev/null &&
	blob=$(regtool get-manifest $REGISTRY t/bad2 1 | python3 -c "import json,sys;print(json.load(sys.stdin)[\"layers\"][0][\"digest\"][7:])") &&
	f=$(find "$TRASH/reg/data" -path "*/blobs/sha256/*/$blob/data") &&
	python3 - "$f" <<-\PY &&
	import sys
	p = sys.argv[1]; b = bytearray(open(p, "rb").read())
	b[len(b) // 2] ^= 0xff
	open(p, "wb").write(bytes(b))
	PY
	store_listing sc >before &&
	test_expect_code 1 strata --data-root sc pull $REGISTRY/t/bad2:1 >out 2>err &&
	grep -q "verification failed for digest sha256:$blob" err &&
	store_listing sc >after &&
	test_cmp before after &&
	store_ok sc
'

test_expect_success 'a connection cut mid-layer is resumed with Range' '
	proxy_start cut --cut 300000 --log "$TRASH/cut.requests" &&
	strata --data-root sr pull $PROXY/t/bb:1 >out &&
	grep -q "^CUT after 300000 bytes" "$TRASH/cut.requests" &&
	grep -q "^Range: bytes=[1-9][0-9]*-" "$TRASH/cut.requests" &&
	strata --data-root sr images -q --no-trunc >got && cat id >expect && test_cmp expect got &&
	store_ok sr &&
	proxy_stop cut
'

test_expect_success 'kill -9 mid-pull, then pull again: completes from the partial data' '
	proxy_start slow --rate 150000 &&
	slow=$PROXY &&
	{ strata --data-root sk pull $slow/t/bb:1 >/dev/null 2>&1 & } &&
	pid=$! &&
	for _ in $(seq 1 100); do
		p=$(ls sk/image/overlay2/layerdb/tmp/pull-*.partial 2>/dev/null | head -n1) &&
		test -n "$p" && test "$(stat -c %s "$p")" -gt 200000 && break
		sleep 0.1
	done &&
	kill -9 $pid && { wait $pid 2>/dev/null; true; } &&
	size=$(stat -c %s sk/image/overlay2/layerdb/tmp/pull-*.partial) &&
	test "$size" -gt 0 &&
	proxy_stop slow &&
	proxy_start logged --log "$TRASH/resume.requests" &&
	strata --data-root sk pull $PROXY/t/bb:1 >out &&
	grep -q "^Range: bytes=$size-" "$TRASH/resume.requests" &&
	test -z "$(ls sk/image/overlay2/layerdb/tmp/)" &&
	strata --data-root sk images -q --no-trunc >got && cat id >expect && test_cmp expect got &&
	store_ok sk &&
	proxy_stop logged
'

# docker-registry 2.8 no longer takes schema 1 pushes: a one-manifest server
# on loopback answers with one, as an old registry would
s1_serve() {
	python3 - "$TRASH/s1.port" "$TRASH/s1.json" <<-'PY' &
	import http.server, sys
	port_file, body = sys.argv[1], open(sys.argv[2], "rb").read()
	class H(http.server.BaseHTTPRequestHandler):
	    def answer(self, send_body):
	        if self.path == "/v2/":
	            data, ctype = b"{}", "application/json"
	        elif self.path == "/v2/t/s1/manifests/v":
	            data, ctype = body, "application/vnd.docker.distribution.manifest.v1+prettyjws"
	        else:
	            self.send_response(404); self.send_header("Content-Length", "0"); self.end_headers()
	            return
	        self.send_response(200)
	        self.send_header("Content-Type", ctype)
	        self.send_header("Content-Length", str(len(data)))
	        self.end_headers()
	        if send_body:
	            self.wfile.write(data)
	    def do_GET(self): self.answer(True)
	    def do_HEAD(self): self.answer(False)
	    def log_message(self, *a): pass
	srv = http.server.HTTPServer(("127.0.0.1", 0), H)
	open(port_file + ".tmp", "w").write(str(srv.server_address[1]))
	import os; os.rename(port_file + ".tmp", port_file)
	srv.serve_forever()
	PY
	S1_PID=$!
	test_atexit "kill $S1_PID"
	for _ in $(seq 100); do [ -s "$TRASH/s1.port" ] && return 0; sleep 0.1; done
	return 1
}
test_expect_success 'schema 1 is refused clearly' '
	printf "{\"schemaVersion\":1,\"name\":\"t/s1\",\"tag\":\"v\",\"fsLayers\":[],\"history\":[]}" >"$TRASH/s1.json" &&
	s1_serve &&
	test_expect_code 1 strata --data-root s10 pull 127.0.0.1:$(cat "$TRASH/s1.port")/t/s1:v 2>err &&
	grep -qi "schema 1\|manifest unknown\|not supported\|deprecated" err &&
	grep -q "schema 1 is no longer supported" err && test_line_count err 1 &&
	test -z "$(ls s10/image/overlay2/imagedb/content/sha256 2>/dev/null)"
'

test_done
