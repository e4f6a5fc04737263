#!/bin/bash
# virtio-gpu 2D frame rate: full-screen updates of a W x H scanout (default 720x1280) through
# the device, each a TRANSFER_TO_HOST_2D of the whole resource and a RESOURCE_FLUSH, driven
# by the guest-kit gpu payload (tests/guest/gpu.c, "frames=N"). Measured side by side:
#   sepia 2d     sepia-vmm --gpu 2d: transfer into host memory, flush into display0.fb
#   sepia virgl  sepia-vmm --gpu virgl: transfer into a GL texture (llvmpipe), flush reads
#                it back into display0.fb
#   qemu tcg     qemu-system-x86_64 -accel tcg -device virtio-gpu-pci -display none: QEMU's
#                2D device; its flush has no display to draw to here
#   memcpy       a plain copy of one frame (bench/copy-probe.c): the floor
# Each VMM runs the payload twice, with 0 and with N frames; the difference gives frames per
# second and the VMM's CPU (user + system, GNU time) per frame, so boot and setup drop out.
#
# Usage: bench/gpu.sh [-n FRAMES] [-W WIDTH] [-H HEIGHT]   (default 300 frames, 720x1280)
# Environment: SEPIA_VMM, QEMU, CC, SKIP_QEMU=1. Timings, not a test (`make bench-gpu`).
set -u
prog=gpu
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=bench/bench-lib.sh
. "$here/bench-lib.sh"
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
vmm=${SEPIA_VMM:-$top_builddir/sepia-vmm}
qemu=${QEMU:-qemu-system-x86_64}
payload=$top_builddir/tests/guest/gpu.elf
frames=300 width=720 height=1280
while getopts n:W:H: opt; do
	case $opt in
	n) frames=$OPTARG ;;
	W) width=$OPTARG ;;
	H) height=$OPTARG ;;
	*) echo "usage: $0 [-n FRAMES] [-W WIDTH] [-H HEIGHT]" >&2; exit 2 ;;
	esac
done
have_gnu_time || skip "needs GNU time (apt-get install time)"
have_kvm || skip "needs /dev/kvm"
[ -f "$payload" ] || { echo "bench/gpu.sh: build $payload first (make check builds it)"; exit 77; }
work=$(mktemp -d /tmp/sepia-bench-gpu.XXXXXX)
trap 'rm -rf "$work"' EXIT

# run LABEL N FLAG CMD...: runs CMD FLAG "<payload cmdline with frames=N>"; sets wall_ms and
# cpu_s; returns 1 when the payload did not pass.
run() {
	local label=$1 n=$2 flag=$3
	shift 3
	local t0 t1 status
	rm -f "$work/$label-serial.log"
	t0=$(date +%s%N)
	/usr/bin/time -f "%U %S" -o "$work/time" timeout 600 "$@" "$flag" \
		"guest-kit gpu width=$width height=$height frames=$n" >"$work/$label-$n.log" 2>&1 </dev/null
	status=$?
	t1=$(date +%s%N)
	wall_ms=$(((t1 - t0) / 1000000))
	cpu_s=$(awk '{ print $1 + $2 }' "$work/time" | tail -n 1)
	if [ "$status" -ne 33 ] || grep -q "not ok" "$work/$label-serial.log"; then
		echo "bench/gpu.sh: $label with $n frames did not pass (status $status):" >&2
		tail -n 5 "$work/$label-$n.log" "$work/$label-serial.log" >&2
		return 1
	fi
}

results=
measure() { # measure LABEL FLAG CMD...: the payload with 0 and with $frames frames
	local label=$1 w0 c0 line
	run "$label" 0 "${@:2}" || return
	w0=$wall_ms c0=$cpu_s
	run "$label" "$frames" "${@:2}" || return
	line=$(awk -v n="$frames" -v w0="$w0" -v w1="$wall_ms" -v c0="$c0" -v c1="$cpu_s" -v l="$label" 'BEGIN {
		s = (w1 - w0) / 1000; if (s <= 0) s = 0.001
		printf "%-12s %8.1f fps  %7.2f ms/frame  VMM CPU %6.2f ms/frame", l, n / s, s * 1000 / n, (c1 - c0) * 1000 / n }')
	# sepia-vmm's own account of the device thread's time (its exit log line).
	local busy
	busy=$(sed -n 's/.*virtio-gpu: \([0-9]*\) commands in \([0-9.]*\) ms.*/\2/p' "$work/$label-$frames.log")
	[ -z "$busy" ] || line="$line  device $(awk -v b="$busy" -v n="$frames" 'BEGIN { printf "%.2f", b / n }') ms/frame"
	echo "$line"
	results="$results$label $(echo "$line" | awk '{ print $2 }')
"
}

echo "# $frames full-screen ${width}x${height} updates (transfer + flush), $(nproc) cores"
for mode in 2d virgl; do
	measure "sepia-$mode" --cmdline "$vmm" --kernel "$payload" --mem 256 --serial "file:$work/sepia-$mode-serial.log" \
		--debug-exit --gpu "$mode" --display "width=$width,height=$height" --framebuffer-dir "$work"
done
if [ -z "${SKIP_QEMU:-}" ] && command -v "$qemu" >/dev/null 2>&1; then
	measure "qemu-tcg" -append "$qemu" -M q35 -accel tcg -m 256 -nodefaults -display none -no-reboot \
		-serial "file:$work/qemu-tcg-serial.log" -device isa-debug-exit,iobase=0xf4,iosize=4 \
		-device "virtio-gpu-pci,disable-legacy=on,xres=$width,yres=$height" -kernel "$payload"
fi

# The floor: copying one frame in host memory.
cc=${CC:-cc}
if "$cc" -O2 -o "$work/copy-probe" "$top_srcdir/bench/copy-probe.c" 2>"$work/cc.log"; then
	copy=$("$work/copy-probe" "$width" "$height" "$frames")
	echo "$copy"
	results="${results}memcpy $(echo "$copy" | awk '{ print $2 }')
"
fi
echo "$results" | awk 'NF == 2 { fps[$1] = $2 } END {
	if (fps["sepia-2d"] && fps["qemu-tcg"]) printf "ratio sepia-2d / qemu-tcg: %.2f\n", fps["sepia-2d"] / fps["qemu-tcg"]
	if (fps["sepia-2d"] && fps["memcpy"]) printf "ratio sepia-2d / memcpy:   %.3f\n", fps["sepia-2d"] / fps["memcpy"]
	if (fps["sepia-virgl"] && fps["sepia-2d"]) printf "ratio sepia-virgl / sepia-2d: %.2f\n", fps["sepia-virgl"] / fps["sepia-2d"] }'
