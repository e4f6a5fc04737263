#!/bin/bash
# Boots the reference guest under QEMU TCG and reports how long the kernel took,
# as a proxy for boot speed on hosts that interpret guest kernel code.
#
# Usage: guest/qemu-boot.sh [--dir DIR] [--icount] [--smp N] [--mem MB] [--timeout S]
#                           [--keep-running] [-- EXTRA KERNEL ARGS...]
#
#   --dir DIR       where vmlinux and initramfs.cpio are (default guest/out)
#   --icount        -icount shift=0,sleep=off: one virtual nanosecond per guest
#                   instruction, so the kernel timestamp of the boot marker is the
#                   number of guest instructions executed since the TSC started.
#   --keep-running  do not add sepia.run=poweroff (interactive use: sepia.shell=1)
#
# Without --keep-running the guest runs `poweroff` right after boot, so QEMU exiting
# on its own also tests ACPI poweroff. Exit status: 0 when the marker was seen and
# QEMU exited by itself, 1 otherwise. The console log is kept in $TMPDIR.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
dir=$here/out
icount=no
smp=2
mem=512
timeout_s=300
keep=no
extra=()
while [ $# -gt 0 ]; do
	case $1 in
	--dir) dir=$2; shift 2 ;;
	--icount) icount=yes; shift ;;
	--smp) smp=$2; shift 2 ;;
	--mem) mem=$2; shift 2 ;;
	--timeout) timeout_s=$2; shift 2 ;;
	--keep-running) keep=yes; shift ;;
	--) shift; extra=("$@"); break ;;
	-h|--help) sed -n '2,/^set -e/p' "${BASH_SOURCE[0]}" | sed -e '$d' -e 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "qemu-boot: unknown argument '$1'" >&2; exit 2 ;;
	esac
done

qemu=${QEMU_SYSTEM:-qemu-system-x86_64}
command -v "$qemu" >/dev/null || { echo "qemu-boot: $qemu not found" >&2; exit 77; }
for f in vmlinux initramfs.cpio; do
	[ -f "$dir/$f" ] || { echo "qemu-boot: $dir/$f missing (run guest/build-guest.sh --out $dir)" >&2; exit 2; }
done

append="console=ttyS0 panic=-1 ${extra[*]}"
[ "$keep" = yes ] || append="$append sepia.run=poweroff"
args=(-M pc -accel tcg -cpu qemu64 -m "$mem" -smp "$smp" -nographic -no-reboot
	-kernel "$dir/vmlinux" -initrd "$dir/initramfs.cpio" -append "$append")
[ "$icount" = no ] || args+=(-icount shift=0,sleep=off)

if [ "$keep" = yes ]; then
	exec "$qemu" "${args[@]}"
fi

log=$(mktemp "${TMPDIR:-/tmp}/sepia-qemu-boot.XXXXXX")
echo "qemu-boot: $qemu ${args[*]}" >&2
start=$(date +%s.%N)
status=0
timeout "$timeout_s" "$qemu" "${args[@]}" </dev/null >"$log" 2>&1 || status=$?
end=$(date +%s.%N)
tr -d '\r' <"$log" >"$log.txt" && mv "$log.txt" "$log"

wall=$(echo "$end - $start" | bc)
marker=$(grep -m1 -E '\] sepia-init: VIRTUAL_DEVICE_BOOT_COMPLETED' "$log" || true)
stamp=$(echo "$marker" | sed -n 's/^\[ *\([0-9.]*\)\].*/\1/p')
echo "qemu-boot: log $log"
echo "qemu-boot: wall time ${wall} s, qemu exit status $status"
if grep -q '^VIRTUAL_DEVICE_BOOT_COMPLETED' "$log"; then
	echo "qemu-boot: marker seen; kernel timestamp at marker ${stamp:-?} s"
	if [ "$icount" = yes ] && [ -n "$stamp" ]; then
		echo "qemu-boot: ~$(echo "$stamp * 1000" | bc | cut -d. -f1) million guest instructions to the marker (icount shift=0)"
	fi
else
	echo "qemu-boot: marker NOT seen"; tail -n 20 "$log"; exit 1
fi
[ "$status" = 0 ] || { echo "qemu-boot: QEMU did not exit by itself (timeout?)"; exit 1; }
