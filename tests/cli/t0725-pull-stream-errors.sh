#!/bin/bash
# A pull's error after dockerd has begun its progress stream reaches docker
# in the stream and is printed without "Error response from daemon:" (the
# prefix is for errors before it, such as a manifest that is not there).
# A local registry serves a one-layer image whose layer blob is then
# corrupted or deleted; docker 20.10 and strata pull it, each into its own
# store, and say the same.
. "$(dirname "$0")/../lib/lib.sh"
. "$TEST_LIB_DIR/dockerd.sh"
. "$TEST_LIB_DIR/busybox.sh"

dockerd_usable || skip_all "$DOCKERD_UNUSABLE"
command -v docker-registry >/dev/null 2>&1 || skip_all "docker-registry not installed"
make_busybox_rootfs "$TRASH/rootfs" || skip_all "cannot build a busybox rootfs"
mkdir -p want got

# NAME|REPO:TAG|what is done to the layer blob first
cases() {
	cat <<'EOF2'
corrupt|x:1|flip
deleted|x:1|delete
no-manifest|x:nope|keep
EOF2
}

# blob_do HOW: corrupt (one bit flipped) or delete the layer blob, or restore it
blob_do() {
	case $1 in
	flip) python3 -c "import sys; d = bytearray(open(sys.argv[1], 'rb').read()); d[5000] ^= 1; open(sys.argv[1], 'wb').write(d)" "$LAYER" ;;
	delete) rm -f "$LAYER" ;;
	keep) cp layer.orig "$LAYER" ;;
	esac
}

test_expect_success 'a registry serves a one-layer image' '
	registry_start "$TRASH/reg" &&
	tar -C "$TRASH/rootfs" -cf base.tar . &&
	strata --data-root src import base.tar $REGISTRY/x:1 >/dev/null &&
	strata --data-root src push $REGISTRY/x:1 >/dev/null &&
	LAYER=$(find "$TRASH/reg/data" -path "*/blobs/sha256/*/data" -size +100k) &&
	test -n "$LAYER" && cp "$LAYER" layer.orig
'

test_expect_success 'docker 20.10 pulls each case' '
	dockerd_start "$TRASH/d" &&
	while IFS="|" read -r name ref how; do
		cp layer.orig "$LAYER" && blob_do $how &&
		docker pull $REGISTRY/$ref >"want/$name.out" 2>"want/$name.err"
		echo $? >"want/$name.rc"
	done < <(cases) &&
	dockerd_stop "$TRASH/d"
'

while IFS='|' read -r name ref how; do
	test_expect_success "$name: strata pull says what docker says" '
		cp layer.orig "$LAYER" && blob_do $how &&
		strata --data-root "s-$name" pull $REGISTRY/$ref >"got/$name.out" 2>"got/$name.err"
		echo $? >"got/$name.rc" &&
		test_cmp "want/$name.rc" "got/$name.rc" &&
		head -n 1 "want/$name.out" >expect && head -n 1 "got/$name.out" >actual && test_cmp expect actual &&
		if test $name = deleted
		then
			# docker: "unknown blob"; strata names the blob and the registry`s words
			grep -q "^unknown blob$" "want/$name.err" &&
			grep -q "^fetching blob sha256:[0-9a-f]*: blob unknown" "got/$name.err"
		else
			test_cmp "want/$name.err" "got/$name.err"
		fi
	'
done < <(cases)

test_expect_success 'after the failures the intact blob pulls' '
	cp layer.orig "$LAYER" &&
	strata --data-root s-deleted pull $REGISTRY/x:1 >out &&
	tail -n 1 out >actual && echo "$REGISTRY/x:1" >expect && test_cmp expect actual
'

test_done
