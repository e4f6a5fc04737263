#!/bin/bash
# tests/nested/l1-image.sh — packs the initramfs of the L1 guest: the machine, emulated by QEMU
# TCG with an AMD CPU that has SVM, in which kvm_amd serves a hardware-virtualisation /dev/kvm
# and sepia runs. Used by tests/nested/hw-kvm.sh and bench/nested-kvm.sh (see the README there).
#
# usage: l1-image.sh [-q] [-d] -o OUT.cpio JOB [FILE...]
#   JOB      the script L1 runs after loading kvm_amd (tests/nested/l1-init.sh runs it as
#            `sh /job/run.sh`); FILEs go next to it in /job under their own names
#   -d       the device lifecycle's programs too: the Android images, adb, mke2fs
#   -q       QEMU and its firmware too (bench/nested-kvm.sh compares against it)
#   -o       where the uncompressed newc archive goes
# environment: top_builddir and top_srcdir (the build and source trees), SEPIA_GUEST_DIR (the
# reference guest, default $top_builddir/guest/out), KVER (the cloud kernel whose kvm modules
# go in; default: the newest /boot/vmlinuz-*-cloud-amd64).
#
# What goes in, at the paths the job expects:
#   /bin/busybox (busybox-static) and its applets; /bin/sh is dash, because
#     tests/guest/run-payload.sh needs GNU date's %N and timeout's status 124, which come first
#     in PATH from /usr/local/bin, while Debian's busybox shell would run its own applets first
#     (the same goes for e2fsprogs' mke2fs, which assemble_cvd runs);
#   /lib/modules/{irqbypass,kvm,kvm-amd}.ko, uncompressed, loaded in that order by l1-init.sh;
#   /sepia: the build tree's programs, guest-kit payloads and reference guest at the paths they
#     have in the build tree (launch_cvd finds guest/out/android next to itself);
#   every dynamic program's shared libraries (ldd), at their own paths.
# An uncompressed archive is the fastest here: the kernel copies it out of memory, with no
# decompressor running as emulated code.
set -euo pipefail
prog=l1-image
die() { echo "$prog: error: $*" >&2; exit 1; }

with_device=no with_qemu=no out=
while getopts "dqo:" opt; do
	case $opt in
	d) with_device=yes ;;
	q) with_qemu=yes ;;
	o) out=$OPTARG ;;
	*) die "usage: l1-image.sh [-q] [-d] -o OUT.cpio JOB [FILE...]" ;;
	esac
done
shift $((OPTIND - 1))
[ $# -ge 1 ] && [ -n "$out" ] || die "usage: l1-image.sh [-q] [-d] -o OUT.cpio JOB [FILE...]"
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top_srcdir=${top_srcdir:-$here/../..}
top_builddir=${top_builddir:-$top_srcdir}
B=$top_builddir
guest=${SEPIA_GUEST_DIR:-$B/guest/out}
KVER=${KVER:-$(ls /boot/vmlinuz-*-cloud-amd64 2>/dev/null | sort -V | tail -n 1 | sed 's|^/boot/vmlinuz-||')}
[ -n "$KVER" ] || die "no /boot/vmlinuz-*-cloud-amd64 (apt-get install linux-image-cloud-amd64)"

R=$(mktemp -d "${TMPDIR:-/tmp}/sepia-l1root.XXXXXX")
trap 'rm -rf "$R"' EXIT
mkdir -p "$R"/{bin,sbin,usr/bin,usr/sbin,usr/local/bin,lib/modules,etc,proc,sys,dev,tmp,run,root,job,sepia}

copy_libs() { # copy_libs BIN...: the shared libraries and loader BIN needs, at their paths
	local f
	for f in $(ldd "$@" 2>/dev/null | awk '/=> \//{ print $3 } /^\t\/lib/{ print $1 }' | sort -u); do
		[ -e "$R$f" ] && continue
		mkdir -p "$R$(dirname "$f")"
		cp -L "$f" "$R$f"
	done
}
copy_bin() { # copy_bin SRC [DST]: a program and its libraries (DST defaults to SRC)
	local dst=${2:-$1}
	[ -e "$1" ] || die "$1 is missing"
	mkdir -p "$R$(dirname "$dst")"
	cp -L "$1" "$R$dst"
	copy_libs "$1"
}
put() { # put SRC DST: a data file
	[ -e "$1" ] || die "$1 is missing"
	mkdir -p "$R$(dirname "$2")"
	cp -L "$1" "$R$2"
}

# ---- the shell and its tools
busybox=$(command -v busybox) || die "busybox is missing (apt-get install busybox-static)"
cp "$busybox" "$R/bin/busybox"
for a in $("$busybox" --list); do
	[ "$a" = busybox ] || [ -e "$R/bin/$a" ] || ln -s busybox "$R/bin/$a"
done
rm -f "$R/bin/sh"
copy_bin "$(command -v dash)" /bin/dash
ln -s dash "$R/bin/sh"
for t in date timeout; do copy_bin "$(command -v $t)" /usr/local/bin/$t; done
printf '/lib/x86_64-linux-gnu\n/usr/lib/x86_64-linux-gnu\n' >"$R/etc/ld.so.conf"
echo 'root:x:0:0:root:/root:/bin/sh' >"$R/etc/passwd"
echo 'root:x:0:' >"$R/etc/group"

# ---- kvm_amd and what it needs, from the cloud kernel L1 runs
kdir=/lib/modules/$KVER/kernel
for m in virt/lib/irqbypass arch/x86/kvm/kvm arch/x86/kvm/kvm-amd; do
	src=$(ls "$kdir/$m.ko"* 2>/dev/null | head -n 1) || true
	[ -n "$src" ] || die "$kdir/$m.ko is missing (the kernel $KVER has no kvm modules?)"
	dst=$R/lib/modules/$(basename "$m").ko
	case $src in
	*.xz) xz -dc "$src" >"$dst" ;;
	*.zst) zstd -q -dc "$src" >"$dst" ;;
	*.gz) gzip -dc "$src" >"$dst" ;;
	*) cp "$src" "$dst" ;;
	esac
done

# ---- sepia: the programs, the guest-kit payloads and their runner, the reference guest
for p in sepia-vmm launch_cvd run_cvd stop_cvd cvd_status assemble_cvd sepia-bootloader sepia-vsock-proxy; do
	[ -x "$B/$p" ] && copy_bin "$B/$p" "/sepia/$p"
done
[ -x "$R/sepia/sepia-vmm" ] || die "no sepia-vmm in $B (make)"
put "$top_srcdir/tests/guest/run-payload.sh" /sepia/tests/guest/run-payload.sh
for e in "$B"/tests/guest/*.elf; do
	[ -f "$e" ] && put "$e" "/sepia/tests/guest/$(basename "$e")"
done
for f in vmlinux initramfs.cpio; do
	put "$guest/$f" "/sepia/guest/out/$f"
done

if [ $with_device = yes ]; then
	for f in "$guest"/android/*; do put "$f" "/sepia/guest/out/android/$(basename "$f")"; done
	copy_bin "$(readlink -f "$(command -v adb)")" /usr/bin/adb
	# e2fsprogs' own, ahead of busybox's mke2fs in PATH (assemble_cvd runs mke2fs -t ext4)
	for t in mke2fs resize2fs; do copy_bin "$(command -v $t || echo /sbin/$t)" "/usr/local/bin/$t"; done
fi

if [ $with_qemu = yes ]; then
	copy_bin "$(command -v qemu-system-x86_64)" /usr/bin/qemu-system-x86_64
	# microvm boots from qboot, -M pc from SeaBIOS; -kernel comes in through an option ROM
	for f in qboot.rom linuxboot_dma.bin linuxboot.bin pvh.bin kvmvapic.bin; do
		put "/usr/share/qemu/$f" "/usr/share/qemu/$f"
	done
	ln -s qboot.rom "$R/usr/share/qemu/bios-microvm.bin"
	put /usr/share/seabios/bios-256k.bin /usr/share/qemu/bios-256k.bin
fi

# ---- the init and the job
put "$here/l1-init.sh" /init
chmod 755 "$R/init"
put "$1" /job/run.sh
shift
for f in "$@"; do put "$f" "/job/$(basename "$f")"; done
ldconfig -r "$R" 2>/dev/null || true
(cd "$R" && find . | cpio -o -H newc --quiet) >"$out"
echo "$prog: $out: $(du -h "$out" | cut -f1) (kvm modules of $KVER)" >&2
