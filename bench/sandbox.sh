#!/bin/bash
# The cost of sepia-vmm's sandbox (devices/sandbox/: namespaces, pivot, resource caps,
# privilege drop and the per-thread seccomp filters): the same guest run with
# --sandbox=auto and with --sandbox=off, alternately, and the ratio of the medians.
#
# Usage: bench/sandbox.sh [-n RUNS] [-p PAYLOAD] [-b BOOTS] [-d DIR] [-k]
#   -n RUNS     payload runs per mode (default 9)
#   -p PAYLOAD  a guest-kit payload in tests/guest (default serial; gpu runs it with
#               --gpu virgl, the GPU thread and llvmpipe under their filters)
#   -b BOOTS    reference-guest boots per mode, 0 for none (default 3)
#   -d DIR      where vmlinux and initramfs.cpio are (default guest/out of the tree)
#   -k          keep the work directory
#
# The commands, per run (MODE auto or off):
#   payload: sepia-vmm --sandbox=MODE --kernel tests/guest/P.elf --mem 128
#            --serial file:LOG --debug-exit               (status 33: the payload passed)
#   boot:    sepia-vmm --sandbox=MODE --kernel DIR/vmlinux --initrd DIR/initramfs.cpio
#            --cpus 2 --mem 512 --serial file:LOG --vsock cid=3,socket=SOCK
#            --cmdline "console=ttyS0 panic=-1 sepia.run=poweroff"   (status 0, marker seen)
# Wall time is taken around each run with date +%s%N. Runs alternate auto, off, auto,
# off, ... so that drift in the machine's load hits both alike. Run as root, the auto runs
# include the jail (namespaces, pivot, uid drop); otherwise only what a user gets (a user
# namespace where allowed, and the filters).
#
# Exit status: 0 when every run passed, 1 otherwise, 77 without /dev/kvm or sepia-vmm,
# 2 on a usage error.
set -uo pipefail

prog='sandbox'
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top_srcdir=${top_srcdir:-$here/..}
top_builddir=${top_builddir:-$top_srcdir}

runs=9
payload=serial
boots=3
dir=$top_builddir/guest/out
keep=no
MARKER=VIRTUAL_DEVICE_BOOT_COMPLETED

say() { echo "$prog: $*" >&2; }
die() { echo "$prog: error: $*" >&2; exit 2; }
skip() { echo "$prog: SKIP: $*"; exit 77; }
usage() { sed -n '2,/^set -uo/p' "${BASH_SOURCE[0]}" | sed -e '$d' -e 's/^# \{0,1\}//'; }

while getopts "n:p:b:d:kh" opt; do
	case $opt in
	n) runs=$OPTARG ;;
	p) payload=$OPTARG ;;
	b) boots=$OPTARG ;;
	d) dir=$OPTARG ;;
	k) keep=yes ;;
	h) usage; exit 0 ;;
	*) usage >&2; exit 2 ;;
	esac
done
[[ $runs =~ ^[1-9][0-9]*$ ]] || die "-n wants a positive number"
[[ $boots =~ ^[0-9]+$ ]] || die "-b wants a number"
vmm=${SEPIA_VMM:-$top_builddir/sepia-vmm}
elf=$top_builddir/tests/guest/$payload.elf
[ -x "$vmm" ] || skip "no sepia-vmm at $vmm"
[ -r /dev/kvm ] && [ -w /dev/kvm ] || skip "no access to /dev/kvm"
[ -r "$elf" ] || skip "no payload $elf (make check builds it)"
if [ "$boots" -gt 0 ] && { ! [ -r "$dir/vmlinux" ] || ! [ -r "$dir/initramfs.cpio" ]; }; then
	say "no reference guest in $dir (make guest): payload only"
	boots=0
fi

work=$(mktemp -d /tmp/sepia-bench-sandbox.XXXXXX)
[ $keep = yes ] && say "work directory: $work" || trap 'rm -rf "$work"' EXIT
failed=0
say "$(id -un), load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"

# run KIND MODE I: one run; appends its wall ms to $work/KIND-MODE.ms.
run() {
	local kind=$1 mode=$2 i=$3 log=$work/$1-$2-$3.serial out=$work/$1-$2-$3.out t0 t1 status want
	if [ "$kind" = payload ]; then
		set -- "$vmm" --sandbox="$mode" --kernel "$elf" --mem 128 --serial "file:$log" --debug-exit
		[ "$payload" != gpu ] || set -- "$@" --gpu virgl --framebuffer-dir "$work"
		want=33
	else
		set -- "$vmm" --sandbox="$mode" --kernel "$dir/vmlinux" --initrd "$dir/initramfs.cpio" --cpus 2 \
			--mem 512 --serial "file:$log" --vsock "cid=3,socket=$work/vsock-$mode-$i.sock" \
			--cmdline "console=ttyS0 panic=-1 sepia.run=poweroff"
		want=0
	fi
	t0=$(date +%s%N)
	timeout 900 "$@" >"$out" 2>&1 </dev/null
	status=$?
	t1=$(date +%s%N)
	if [ $status != $want ] || { [ "$kind" = boot ] && ! grep -q "$MARKER" "$log"; }; then
		say "$kind run $i --sandbox=$mode failed (status $status, wanted $want):"
		sed 's/^/  /' "$out" | tail -5 >&2
		failed=1
		return
	fi
	echo $(((t1 - t0) / 1000000)) >>"$work/$kind-$mode.ms"
}

median() { sort -n "$1" | awk '{ v[NR] = $1 } END { if (NR) print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
range() { sort -n "$1" | sed -n '1p;$p' | paste -sd- -; }

report() {
	local kind=$1 on=$work/$1-auto.ms off=$work/$1-off.ms m_on m_off
	[ -s "$on" ] && [ -s "$off" ] || return
	m_on=$(median "$on")
	m_off=$(median "$off")
	printf '%-30s %10s %10s %14s %14s %8s\n' "$2" "$m_on" "$m_off" "$(range "$on")" "$(range "$off")" \
		"$(awk -v a="$m_on" -v b="$m_off" 'BEGIN { printf "%.3f", a / b }')"
}

for mode in auto off; do run payload $mode 0; done # warm-up, not counted
rm -f "$work"/payload-*.ms
for i in $(seq 1 "$runs"); do
	run payload auto "$i"
	run payload off "$i"
done
for i in $(seq 1 "$boots"); do
	run boot auto "$i"
	run boot off "$i"
done

printf '%-30s %10s %10s %14s %14s %8s\n' "median wall ms" "auto" "off" "auto min-max" "off min-max" "auto/off"
report payload "payload $payload ($runs runs)"
report boot "reference boot ($boots runs)"
say "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
exit $failed
