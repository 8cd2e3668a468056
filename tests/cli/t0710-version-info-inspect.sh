#!/bin/bash
# version, info and inspect --type against docker 20.10 on the same store: a
# dockerd imports a busybox image, the 20.10 client's output is captured,
# dockerd stops, and strata runs the same arguments on the store it left.
# Exact cases compare stdout, stderr (docker's name replaced by strata's) and
# the exit status; version and info print only the fields that apply to a
# daemonless tool, each line as docker prints it.
. "$(dirname "$0")/../lib/lib.sh"
. "$TEST_LIB_DIR/dockerd.sh"
. "$TEST_LIB_DIR/busybox.sh"

dockerd_usable || skip_all "$DOCKERD_UNUSABLE"

D=$TRASH/d
ROOT=$D/root
mkdir -p want got

# NAME|ARGS (eval'ed): the cases compared byte for byte
cases() {
	cat <<'EOF'
inspect-type-image|inspect --type image bb:1
inspect-type-image-eq|inspect --type=image --format '{{.Id}} {{.Os}}' bb:1
inspect-type-image-nosuch|inspect --type image nosuch
inspect-nosuch-object|inspect nosuch
inspect-type-bogus|inspect --type bogus bb:1
inspect-type-network|inspect --type network nosuch
inspect-type-container-format|inspect --type=container --format '{{.Id}}' bb:1
image-inspect-type|image inspect --type image bb:1
inspect-nested-nope|inspect --format '{{.Config.Nope}}' bb:1
inspect-nested-nope-x|inspect --format '{{.Config.Nope.X}}' bb:1
inspect-rootfs-nope|inspect --format '{{.RootFS.Nope}}' bb:1
inspect-metadata-nope|image inspect --format '{{.Metadata.Nope.X}}' bb:1
inspect-label-missing|inspect --format '{{.Config.Labels.Bad}}' bb:1
inspect-graphdriver-data|inspect --format '{{.GraphDriver.Data.Nope}}' bb:1
version-format-nope|version --format '{{.Client.Nope}}'
version-format-nope-x|version --format '{{.Client.Nope.X}}'
version-format-parse|version --format '{{'
version-args|version x
info-format-nope|info --format '{{.Nope}}'
info-format-registry-nope|info --format '{{.RegistryConfig.Nope}}'
info-format-parse|info --format '{{'
info-args|info x
info-format-fields|info --format '{{.Driver}} {{.DockerRootDir}} {{.Images}} {{.Containers}} {{.ContainersRunning}} {{.IndexServerAddress}} {{json .RegistryConfig.InsecureRegistryCIDRs}} {{.OSType}} {{.NCPU}} {{.KernelVersion}} {{index .DriverStatus 0}} {{index .DriverStatus 1}}'
info-format-json-registry|info --format '{{json .RegistryConfig}}'
EOF
}

test_expect_success 'dockerd imports a busybox image and docker output is captured' '
	make_busybox_rootfs rootfs &&
	dockerd_start "$D" &&
	tar -C rootfs -cf - . | docker import -c "LABEL a=b" - bb:1 >/dev/null &&
	while IFS="|" read -r name args; do
		eval "docker $args" >"want/$name.out" 2>"want/$name.err"
		echo $? >"want/$name.rc"
		sed -i "s/docker/strata/g" "want/$name.err"
	done < <(cases) &&
	docker info >want/info.txt 2>/dev/null &&
	docker version >want/version.txt 2>/dev/null &&
	dockerd_stop "$D"
'

while IFS='|' read -r name args; do
	test_expect_success "$name: strata $args as docker" '
		eval "strata --data-root \"\$ROOT\" $args" >"got/$name.out" 2>"got/$name.err"
		echo $? >"got/$name.rc" &&
		test_cmp "want/$name.out" "got/$name.out" &&
		test_cmp "want/$name.err" "got/$name.err" &&
		test_cmp "want/$name.rc" "got/$name.rc"
	'
done < <(cases)

# every line strata prints is one of docker's, in docker's order
in_order() { # MINE DOCKERS
	python3 - "$1" "$2" <<'EOF'
import sys
mine = open(sys.argv[1]).read().splitlines()
theirs = open(sys.argv[2]).read().splitlines()
pos = 0
for line in mine:
    try:
        pos = theirs.index(line, pos) + 1
    except ValueError:
        print("not in docker's output (or out of order): %r" % line)
        sys.exit(1)
EOF
}

test_expect_success 'info: each line as docker prints it, in its order' '
	strata --data-root "$ROOT" info >info.txt &&
	grep -q "^ Storage Driver: overlay2$" info.txt &&
	grep -q "^ Docker Root Dir: $ROOT$" info.txt &&
	grep -q "^ Images: 1$" info.txt &&
	grep -v "^ Server Version: " info.txt >info.cmp &&
	in_order info.cmp want/info.txt &&
	grep -qx " Server Version: $(strata version --format "{{.Client.Version}}")" info.txt
'

test_expect_success 'info: insecure registries and mirrors from the config file' '
	cat >config.json <<-\EOF &&
	{"insecure-registries": ["myreg:5000", "10.0.0.0/8"],
	 "registry-mirrors": ["https://mirror.example"]}
	EOF
	strata --data-root "$ROOT" --config config.json info >info2.txt &&
	sed -n "/^ Insecure Registries:/,\$p" info2.txt >reg.txt &&
	printf "%s\n" " Insecure Registries:" "  myreg:5000" "  127.0.0.0/8" "  10.0.0.0/8" \
		" Registry Mirrors:" "  https://mirror.example/" "" >reg.want &&
	test_cmp reg.want reg.txt &&
	strata --data-root "$ROOT" --config config.json info \
		--format "{{json .RegistryConfig.InsecureRegistryCIDRs}} {{(index .RegistryConfig.IndexConfigs \"myreg:5000\").Secure}}" >fmt.txt &&
	echo "[\"127.0.0.0/8\",\"10.0.0.0/8\"] false" >fmt.want &&
	test_cmp fmt.want fmt.txt
'

test_expect_success 'info: a store with a container counts it' '
	cp -a "$ROOT" root2 &&
	id=$(printf "%064d" 7) &&
	mkdir -p root2/containers/$id &&
	img=$(strata --data-root root2 inspect --format "{{.Id}}" bb:1) &&
	echo "{\"ID\":\"$id\",\"Image\":\"$img\",\"State\":{\"Running\":false}}" \
		>root2/containers/$id/config.v2.json &&
	strata --data-root root2 info --format "{{.Containers}} {{.ContainersRunning}} {{.ContainersStopped}}" >c.txt &&
	echo "1 0 1" >c.want &&
	test_cmp c.want c.txt
'

test_expect_success 'version: the client block laid out as docker version' '
	strata version >version.txt &&
	test "$(head -n 1 version.txt)" = "Client: strata" &&
	grep -qx " Version:           $(strata version --format "{{.Client.Version}}")" version.txt &&
	grep -x " OS/Arch: .*" version.txt >osarch &&
	grep -qxF "$(cat osarch)" want/version.txt &&
	# the values start in the same column as docker`s
	test "$(grep -b -o "[^ ]*$" <(grep "^ Version:" version.txt) | cut -d: -f1)" = \
		"$(grep -b -o "[^ ]*$" <(grep -m1 "^ Version:" want/version.txt) | cut -d: -f1)"
'

test_expect_success 'version --format: the JSON has docker`s shape' '
	strata version --format "{{json .}}" >v.json &&
	python3 -c "import json,sys; d=json.load(open(\"v.json\")); assert d[\"Server\"] is None; assert d[\"Client\"][\"Platform\"][\"Name\"] == \"strata\"; assert d[\"Client\"][\"Os\"] == \"linux\""
'

test_done
