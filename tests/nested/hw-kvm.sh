#!/bin/bash
# sepia on a hardware-virtualisation KVM, in make check on any x86-64 Linux host: QEMU in TCG
# mode emulates an AMD EPYC (which has SVM) and boots Debian's cloud kernel (L1); kvm_amd loads
# there and serves a /dev/kvm that runs guests with SVM, and sepia runs inside on it (L2):
# the guest-kit payloads, the reference guest with 1 and 2 vCPUs, Debian's stock cloud kernel
# with the reference initramfs, and a device's lifecycle (launch_cvd, cvd_status, adb, stop_cvd).
# tests/nested/README.md says why it is built this way and what the TODOs mean.
#
# Environment: SEPIA_NESTED_KEEP=1 keeps the work directory (the L1 console log, the results,
# the L1 initramfs); SEPIA_NESTED_TIMEOUT (seconds for the whole L1 run, default 1500);
# SEPIA_NESTED_PARTS picks parts (default "payloads ref stock device"); SEPIA_GUEST_DIR the
# reference guest (default $top_builddir/guest/out).
set -u
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top_srcdir=${top_srcdir:-$(cd "$here/../.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
export top_srcdir top_builddir
B=$top_builddir
guest=${SEPIA_GUEST_DIR:-$B/guest/out}

skip() { echo "1..0 # SKIP $1"; exit 77; }
[ "$(id -u)" = 0 ] || skip "not root: Debian's /boot/vmlinuz-* and the kvm modules are readable by root only"
qemu=$(command -v qemu-system-x86_64) || skip "qemu-system-x86_64 is not installed (Debian package qemu-system-x86)"
"$qemu" -accel help 2>/dev/null | grep -qx tcg || skip "$qemu has no TCG accelerator"
"$qemu" -cpu help 2>/dev/null | grep -qw EPYC || skip "$qemu offers no EPYC CPU model (an AMD CPU with SVM)"
kernel=$(ls /boot/vmlinuz-*-cloud-amd64 2>/dev/null | sort -V | tail -n 1)
[ -n "$kernel" ] || skip "no Debian cloud kernel in /boot (apt-get install linux-image-cloud-amd64)"
KVER=${kernel#/boot/vmlinuz-}
export KVER
[ -r "$kernel" ] || skip "$kernel is not readable"
ls /lib/modules/"$KVER"/kernel/arch/x86/kvm/kvm-amd.ko* >/dev/null 2>&1 ||
	skip "no kvm-amd module for $KVER in /lib/modules"
for t in busybox dash cpio; do command -v $t >/dev/null || skip "$t is not installed"; done
[ -x "$B/sepia-vmm" ] || skip "sepia-vmm not built"
[ -x "$B/tests/e2e/vector-probe" ] || skip "tests/e2e/vector-probe not built (make check builds it)"
for p in serial bootparams pci blk console msix smp usermode kvmclock; do
	[ -f "$B/tests/guest/$p.elf" ] || skip "tests/guest/$p.elf not built (make check builds it)"
done
[ -r "$guest/vmlinux" ] && [ -r "$guest/initramfs.cpio" ] || skip "no reference guest in $guest (make guest)"

parts=${SEPIA_NESTED_PARTS:-payloads ref stock device}
device_why=
if [ ! -r "$guest/android/boot.img" ]; then
	device_why="no Android images in $guest/android (make guest-android)"
elif ! command -v adb >/dev/null; then
	device_why="the adb client is not installed (Debian package adb)"
elif ! command -v mke2fs >/dev/null && [ ! -x /sbin/mke2fs ]; then
	device_why="mke2fs is not installed (e2fsprogs)"
else
	for p in launch_cvd run_cvd stop_cvd cvd_status sepia-vsock-proxy; do
		[ -x "$B/$p" ] || { device_why="$p not built"; break; }
	done
fi
[ -z "$device_why" ] || parts=$(echo " $parts " | sed 's/ device / /')

work=$(mktemp -d "${TMPDIR:-/tmp}/sepia-nested.XXXXXX") || exit 1
if [ -n "${SEPIA_NESTED_KEEP:-}" ]; then
	trap 'echo "# kept: $work"' EXIT
else
	trap 'rm -rf "$work"' EXIT
fi
started=$(date +%s)

# The inputs of the job in L1: the reference initramfs with vector-probe added (the kernel
# unpacks concatenated archives in turn), the stock kernel, the probe's verdict.
mkdir -p "$work/extra/bin"
cp "$B/tests/e2e/vector-probe" "$work/extra/bin/vector-probe"
(cd "$work/extra" && find . | cpio -o -H newc --quiet) | cat "$guest/initramfs.cpio" - >"$work/ref-initrd.cpio"
cp "$kernel" "$work/stock-vmlinuz"
echo "$parts" >"$work/parts"
flags=
case " $parts " in *" device "*) flags=-d ;; esac
SEPIA_GUEST_DIR=$guest "$here/l1-image.sh" $flags -o "$work/l1.cpio" "$here/l1-checks.sh" "$work/parts" \
	"$work/ref-initrd.cpio" "$work/stock-vmlinuz" "$top_srcdir/tests/e2e/vector-probe-verdict.sh" \
	2>"$work/image.log" || { echo "1..1"; echo "not ok 1 - the L1 initramfs is packed"; sed 's/^/# /' "$work/image.log"; exit 1; }
rm -rf "$work/extra" "$work/ref-initrd.cpio" "$work/stock-vmlinuz"

# L1: 2 emulated CPUs, one TCG thread each; ttyS0 is its console, ttyS1 carries the results.
# No network, no disk, no /dev/kvm of this host: nothing here is shared with other tests.
cmd=(nice -n 10 timeout "${SEPIA_NESTED_TIMEOUT:-1500}" "$qemu" -accel tcg,thread=multi -cpu EPYC
	-smp 2 -m 4096 -nodefaults -no-user-config -display none -monitor none -no-reboot -nic none
	-kernel "$kernel" -initrd "$work/l1.cpio" -append "console=ttyS0 panic=-1 loglevel=4"
	-serial "file:$work/l1-console.log" -serial "file:$work/results.txt")
echo "# L1: ${cmd[*]:3}"
"${cmd[@]}" </dev/null >"$work/qemu.log" 2>&1
status=$?
elapsed=$(($(date +%s) - started))

n=0
emit() { n=$((n + 1)); echo "$1 $n${2:+ $2}"; }
while IFS= read -r line; do
	case $line in
	"ok - "* | "ok") emit ok "${line#ok }" ;;
	"not ok - "* | "not ok") emit "not ok" "${line#not ok }" ;;
	"#"*) echo "$line" ;;
	esac
done < <(tr -d '\r' <"$work/results.txt" 2>/dev/null)
[ -n "$device_why" ] && emit ok "- device: the lifecycle through launch_cvd and adb # SKIP $device_why"
if grep -q '^L1-DONE' "$work/results.txt" 2>/dev/null; then
	emit ok "- L1 ran every check to the end and powered off (QEMU status $status, ${elapsed} s in all)"
else
	emit "not ok" "- L1 ran every check to the end and powered off (QEMU status $status after ${elapsed} s)"
	echo "# --- the L1 console (last 40 lines) ---"
	tail -n 40 "$work/l1-console.log" 2>/dev/null | tr -d '\r' | sed 's/^/# /'
	grep -v "TCG doesn't support requested feature" "$work/qemu.log" | tail -n 10 | sed 's/^/# qemu: /'
fi
echo "1..$n"
