#!/bin/sh
# guest-kit: sepia-vmm opens virglrenderer only when a VM asks for 3D. In a private mount
# namespace (unshare -m) libvirglrenderer.so.1 is hidden behind /dev/null, as on a host
# without the package, and the gpu payload runs with each --gpu mode:
#   none, 2d   the VM runs (status 33): the library is never opened
#   auto       the VM runs in 2D, and the log says why, naming the library
#   virgl      sepia-vmm refuses to start, naming the device, the library and the package
# Also: the binary does not link virglrenderer or EGL (readelf -d).
# Needs root (the bind mount), unshare(1), readelf and the library itself; skips otherwise.
set -u

here=$(cd "$(dirname "$0")" && pwd)
top_srcdir=${top_srcdir:-$here/../..}
top_builddir=${top_builddir:-$top_srcdir}
SEPIA_VMM=${SEPIA_VMM:-$top_builddir/sepia-vmm}
elf=$top_builddir/tests/guest/gpu.elf
timeout_s=${GUESTKIT_TIMEOUT:-60}
STATUS_PASS=33

skip_all() {
	echo "1..0 # SKIP $1"
	exit 77
}
[ -e /dev/kvm ] || skip_all "/dev/kvm is missing"
{ [ -r /dev/kvm ] && [ -w /dev/kvm ]; } || skip_all "/dev/kvm is not readable and writable"
[ -x "$SEPIA_VMM" ] || skip_all "no sepia-vmm binary at $SEPIA_VMM"
[ -f "$elf" ] || skip_all "no payload $elf (make tests/guest/gpu.elf)"
[ "$(id -u)" = 0 ] || skip_all "hiding a library needs a bind mount: run as root"
for tool in unshare readelf timeout ldconfig; do
	command -v "$tool" >/dev/null 2>&1 || skip_all "$tool not found"
done
lib=$(ldconfig -p | sed -n 's/^[[:space:]]*libvirglrenderer\.so\.1 (.*x86-64.*) => //p' | head -n 1)
{ [ -n "$lib" ] && [ -e "$lib" ]; } || skip_all "libvirglrenderer.so.1 is not installed (nothing to hide)"
lib=$(readlink -f "$lib")

work=$(mktemp -d "${TMPDIR:-/tmp}/gpu-nolib.XXXXXX") || exit 1
trap 'rm -rf "$work"' EXIT

n=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
not_ok() { n=$((n + 1)); echo "not ok $n - $*"; }
check() { if [ "$1" -eq 0 ]; then ok "$2"; else not_ok "$2"; fi; }
show() {
	echo "# --- $2 ---"
	tail -n 20 "$1" | sed 's/^/#   /'
}

needed=$(readelf -d "$SEPIA_VMM" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | tr '\n' ' ')
case $needed in
*virglrenderer* | *libEGL* | *libepoxy*) not_ok "sepia-vmm does not link the 3D stack (it needs: $needed)" ;;
*) ok "sepia-vmm does not link the 3D stack (it needs: $needed)" ;;
esac

# run_hidden MODE: the payload under sepia-vmm --gpu MODE with the library hidden; sets status.
run_hidden() {
	mode=$1
	out=$work/$mode-vmm.log
	serial=$work/$mode-serial.log
	# shellcheck disable=SC2016 # expanded by the inner shell
	timeout "$timeout_s" unshare -m --propagation private sh -c 'mount --bind /dev/null "$1" && shift && exec "$@"' \
		sh "$lib" "$SEPIA_VMM" --kernel "$elf" --mem 256 --serial "file:$serial" --debug-exit \
		--cmdline "guest-kit gpu width=64 height=48" --gpu "$mode" --display width=64,height=48 \
		--framebuffer-dir "$work" >"$out" 2>&1 </dev/null
	status=$?
}

for mode in 2d auto; do
	run_hidden "$mode"
	check $((status != STATUS_PASS)) "--gpu $mode without virglrenderer: the payload passes (status $status)"
	[ "$status" = "$STATUS_PASS" ] || show "$out" "sepia-vmm --gpu $mode"
	grep -q "virtio-gpu: 2D" "$out"
	check $? "--gpu $mode without virglrenderer: the device runs in 2D"
done
grep -q "virtio-gpu: 3D (virgl) needs libvirglrenderer.so.1.*install libvirglrenderer1.*gpu mode auto: running 2D only" \
	"$work/auto-vmm.log"
check $? "--gpu auto without virglrenderer: the log names the library and the package, and falls back to 2D"
! grep -q "libvirglrenderer" "$work/2d-vmm.log"
check $? "--gpu 2d never looks for virglrenderer"

run_hidden virgl
[ "$status" != "$STATUS_PASS" ] && [ "$status" != 124 ]
check $? "--gpu virgl without virglrenderer: sepia-vmm refuses to start (status $status)"
grep -q "virtio-gpu: 3D (virgl) needs libvirglrenderer.so.1, which does not load (.*); install libvirglrenderer1 (Debian) or virglrenderer (CentOS)" \
	"$out"
check $? "--gpu virgl without virglrenderer: the error names the device, the library and the package"
grep -q "virtio-gpu: 3D (virgl) needs" "$out" || show "$out" "sepia-vmm --gpu virgl"

echo "1..$n"
