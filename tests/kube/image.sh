#!/bin/bash
# The container image of `make container`, without booting a guest: the programs find every
# library they load (ldd, and libepoxy's run-time dlopen of libOpenGL.so.0/libGL.so.1, which no
# shlibs dependency names: sepia-vmm --gpu=auto aborted in the image, "Couldn't open libGL.so.1
# or libOpenGL.so.0", before the .deb depended on libopengl0); sepia-vmm with --gpu=auto and no
# usable kernel ends with its own error instead; the entrypoint refuses to start without
# /dev/kvm, saying how to give it; the reference guest is in the image. Needs root, podman and
# this build tree's image (make container; skips without them); /dev/kvm for the sepia-vmm check.
set -u
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$top_srcdir/tests/e2e/require.sh"
[ "$(id -u)" = 0 ] || skip "not root"
command -v podman >/dev/null 2>&1 || skip "podman is not installed"
B=${top_builddir:-$top_srcdir}
. "$top_srcdir/tests/kube/image-lib.sh"
kube_image_of_this_tree
work=$(mktemp -d "${TMPDIR:-/tmp}/sepia-kube-image.XXXXXX") || exit 1
trap 'rm -rf "$work"' EXIT
lim() { local v; v=$(ulimit "$1"); { [ "$v" = unlimited ] || [ "$v" -gt 4096 ]; } && v=4096; echo "$v"; }
printf '[containers]\ndefault_ulimits = ["nofile=%s:%s", "nproc=%s:%s"]\n[engine]\nruntime = "runc"\ncgroup_manager = "cgroupfs"\n' \
	"$(lim -n)" "$(lim -n)" "$(lim -u)" "$(lim -u)" >"$work/containers.conf"
export CONTAINERS_CONF="$work/containers.conf"
run() { podman run --rm --entrypoint sh "$@"; }

tap_begin
echo "1..4"
run "$image" -c 'for b in /usr/bin/*; do ldd "$b" 2>/dev/null | grep "not found" | sed "s|^|$b: |"; done
for l in libOpenGL.so.0 libGL.so.1; do [ -e /usr/lib/x86_64-linux-gnu/$l ] && echo "have $l"; done' >"$work/libs" 2>&1
check '! grep -q "not found" "$work/libs" && grep -q "^have " "$work/libs"' "every program's libraries, and libOpenGL.so.0 or libGL.so.1 for libepoxy, are in the image"
note "$work/libs"

if [ -r /dev/kvm ] && [ -w /dev/kvm ]; then
	run --device /dev/kvm "$image" -c 'sepia-vmm --kernel=/dev/null --gpu=auto --mem=64 --serial=none; echo "status $?"' >"$work/vmm" 2>&1
	check 'grep -q "^status 1$" "$work/vmm" && ! grep -q "Aborted\|Couldn.t open libGL" "$work/vmm"' \
		"sepia-vmm --gpu=auto with no kernel in the image: its own error (status 1), no abort in virglrenderer's GL loading"
	note "$work/vmm"
else
	echo "ok 2 # SKIP no access to /dev/kvm"
	n=$((n + 1))
fi

podman run --rm "$image" >"$work/nokvm" 2>&1
rc=$?
check '[ $rc = 1 ] && grep -q "no /dev/kvm in the container: give it the device" "$work/nokvm"' "the entrypoint without /dev/kvm: exit 1, saying how to give it"
note "$work/nokvm"

run "$image" -c 'ls /usr/share/sepia/reference; echo "HOME=$HOME CUTTLEFISH_INSTANCE=$CUTTLEFISH_INSTANCE SEPIA_LISTEN_ADDRESS=$SEPIA_LISTEN_ADDRESS"' >"$work/ref" 2>&1
check 'grep -qx boot.img "$work/ref" && grep -qx vendor_boot.img "$work/ref" && grep -qx "HOME=/var/lib/sepia CUTTLEFISH_INSTANCE=1 SEPIA_LISTEN_ADDRESS=0.0.0.0" "$work/ref"' \
	"the reference guest's images are in /usr/share/sepia/reference; HOME, CUTTLEFISH_INSTANCE and the listen address are set"
note "$work/ref"
[ "$failed" = 0 ]
