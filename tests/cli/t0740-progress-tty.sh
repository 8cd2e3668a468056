#!/bin/bash
# Progress on a terminal as docker 20.10's client draws it: pull, push and load
# run under script(1) (a pty) rewrite one line per layer in place
# (ESC[1A ESC[2K CR "id: status progress" CR ESC[1B), with byte counts and,
# on a terminal wider than 110 columns, docker's [====>   ] bar; without a
# terminal the output stays plain lines without byte counts.  docker pull of
# the same image under the same pty is the reference for the layout.
. "$(dirname "$0")/../lib/lib.sh"
. "$TEST_LIB_DIR/dockerd.sh"
. "$TEST_LIB_DIR/busybox.sh"

command -v script >/dev/null || skip_all "script(1) missing (util-linux)"
command -v docker-registry >/dev/null || skip_all "docker-registry not installed"

ESC=$'\e' CR=$'\r'
registry_start "$TRASH/reg" || skip_all "registry did not start"
IMG=$REGISTRY/t/bb:1

# under a pty of COLS columns (0: what script's pty reports, no size)
on_tty() { # COLS strata|docker ARGS...
	local cols=$1 bin=$2
	shift 2
	case $bin in
	strata) bin=$STRATA_BIN ;;
	docker) bin=$DOCKER_CLI ;;
	esac
	script -qefc "stty cols $cols 2>/dev/null; $bin $*" /dev/null </dev/null
}

# the segments a line rewrite is made of, one per line, CR and ESC visible
segments() { sed "s/${ESC}\[1A/\n&/g; s/${ESC}\[1B/&\n/g" "$1" | grep "^${ESC}\[1A" | cat -v; }

test_expect_success 'an image with a layer of a few MB' '
	make_busybox_rootfs rootfs &&
	head -c 3000000 /dev/urandom >rootfs/big &&
	tar -C rootfs -cf - . | strata --data-root s1 import - "$IMG" >/dev/null &&
	LAYER=$(strata --data-root s1 inspect --format "{{index .RootFS.Layers 0}}" "$IMG") &&
	LAYER=${LAYER:7:12} # push names a layer by its diff ID, pull by its blob
'

test_expect_success 'push on a terminal: Preparing, Pushing with byte counts, Pushed, in place' '
	on_tty 0 strata --data-root s1 push "$IMG" >push.tty &&
	segments push.tty >push.seg &&
	grep -qxF "^[[1A^[[2K^M$LAYER: Preparing ^M^[[1B" push.seg &&
	grep -qE "^\^\[\[1A\^\[\[2K\^M$LAYER: Pushing +[0-9.]+[kMG]?B(/[0-9.]+[kMG]?B)?\^M\^\[\[1B$" push.seg &&
	grep -qxF "^[[1A^[[2K^M$LAYER: Pushed ^M^[[1B" push.seg &&
	grep -q "${ESC}\[1B1: digest: sha256:[0-9a-f]* size: [0-9]*${CR}$" push.tty
'

test_expect_success 'not a terminal: plain lines, no byte counts, no escapes (the pull names the blob)' '
	strata --data-root s4 pull "$IMG" >pull.plain &&
	! grep -q "$ESC" pull.plain &&
	! grep -q "Downloading" pull.plain &&
	BLOB=$(sed -n "s/^\([0-9a-f]\{12\}\): Pull complete$/\1/p" pull.plain) &&
	test -n "$BLOB" &&
	strata --data-root s1 push "$IMG" >push.plain &&
	! grep -q "$ESC" push.plain &&
	grep -qx "$LAYER: Layer already exists" push.plain
'

test_expect_success 'pull on a terminal: docker`s layer lines, Downloading with byte counts' '
	on_tty 0 strata --data-root s2 pull "$IMG" >pull.tty &&
	segments pull.tty >pull.seg &&
	for s in "Pulling fs layer" "Verifying Checksum" "Download complete" "Pull complete"; do
		grep -qxF "^[[1A^[[2K^M$BLOB: $s ^M^[[1B" pull.seg || { echo "no $s"; return 1; }
	done &&
	grep -qE "^\^\[\[1A\^\[\[2K\^M$BLOB: Downloading +[0-9.]+[kMG]?B/[0-9.]+MB\^M\^\[\[1B$" pull.seg &&
	grep -q "^Status: Downloaded newer image for $IMG${CR}$" pull.tty
'

test_expect_success 'a terminal wider than 110 columns gets docker`s bar and the time left' '
	on_tty 150 strata --data-root s3 pull "$IMG" >wide.tty &&
	segments wide.tty >wide.seg &&
	grep -qE "^\^\[\[1A\^\[\[2K\^M$BLOB: Downloading \[=*> *\] +[0-9.]+[kMG]?B/[0-9.]+MB( [0-9hms]+)?\^M\^\[\[1B$" wide.seg &&
	grep -E "Downloading \[" wide.seg | sed "s/.*Downloading \(\[[^]]*\]\).*/\1/" >bars &&
	# 50 cells between the brackets, as docker draws them
	! grep -vqE "^\[.{51}\]$" bars
'

test_expect_success 'quiet on a terminal prints only the name' '
	on_tty 0 strata --data-root s5 pull -q "$IMG" >q.tty &&
	printf "%s\r\n" "$IMG" >q.want &&
	test_cmp q.want q.tty
'

test_expect_success 'load on a terminal: Loading layer with byte counts, then the Loaded lines' '
	strata --data-root s1 save -o img.tar "$IMG" &&
	on_tty 0 strata --data-root s6 load -i img.tar >load.tty &&
	segments load.tty >load.seg &&
	grep -qE "^\^\[\[1A\^\[\[2K\^M$LAYER: Loading layer +[0-9.]+[kMG]?B/[0-9.]+MB\^M\^\[\[1B$" load.seg &&
	tail -n 1 load.seg | grep -qE "Loading layer +([0-9.]+MB)/\1\^M" &&
	grep -q "${ESC}\[1BLoaded image: $IMG${CR}$" load.tty &&
	on_tty 0 strata --data-root s7 load -q -i img.tar >loadq.tty &&
	! grep -q "$ESC" loadq.tty &&
	strata --data-root s8 load -i img.tar >load.plain &&
	echo "Loaded image: $IMG" >want && test_cmp want load.plain
'

if dockerd_usable; then
	test_set_prereq DOCKERD
else
	test_prereq_missing DOCKERD "$DOCKERD_UNUSABLE"
fi

test_expect_success DOCKERD 'docker pull under the same pty draws the same segments' '
	dockerd_start "$TRASH/d" &&
	on_tty 0 docker load -i img.tar >dload.tty &&
	docker rmi "$IMG" >/dev/null &&
	on_tty 0 docker pull "$IMG" >dpull.tty &&
	docker rmi "$IMG" >/dev/null &&
	on_tty 150 docker pull "$IMG" >dwide.tty &&
	dockerd_stop "$TRASH/d" &&
	segments dload.tty >dload.seg &&
	grep -qE "^\^\[\[1A\^\[\[2K\^M$LAYER: Loading layer +[0-9.]+[kMG]?B/[0-9.]+MB\^M\^\[\[1B$" dload.seg &&
	segments dpull.tty >dpull.seg &&
	segments dwide.tty >dwide.seg &&
	# (docker drops intermediate statuses, "Verifying Checksum" or "Download
	# complete", when they come quickly; the first and the last stay)
	for s in "Pulling fs layer" "Pull complete"; do
		grep -qxF "^[[1A^[[2K^M$BLOB: $s ^M^[[1B" dpull.seg || { echo "docker: no $s"; return 1; }
	done &&
	grep -qE "^\^\[\[1A\^\[\[2K\^M$BLOB: Downloading +[0-9.]+[kMG]?B/[0-9.]+MB\^M\^\[\[1B$" dpull.seg &&
	# docker`s bar (Downloading or Extracting) has strata`s form
	grep -qE "^\^\[\[1A\^\[\[2K\^M$BLOB: [A-Z][a-z]+ \[=*> *\] +[0-9.]+[kMG]?B/[0-9.]+MB( [0-9hms]+)?\^M\^\[\[1B$" dwide.seg &&
	grep -q "^Status: Downloaded newer image for $IMG${CR}$" dpull.tty
'

test_done
