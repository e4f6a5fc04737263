#!/bin/sh
# Boots guest-kit payloads and reports in TAP: one line per check the guest printed
# ("guest: ok ..." / "guest: not ok ..."), plus the runner's own checks (exit status,
# serial and console logs, the disk image on the host).
#
# usage: run-payload.sh NAME...
#   NAME: serial serial-elf32 bootparams pci blk blk-ro console console-hvc msix smp usermode uart-irq
#         kvmclock
#         gpu gpu-virgl input, and under QEMU also serial-microvm and serial-elf32-microvm (on
#         -M microvm). serial-elf32 is the serial payload as a 32-bit ELF (serial32.elf).
#         gpu, gpu-virgl and input run under sepia-vmm only (their error checks follow sepia's
#         answers).
# environment:
#   GUESTKIT_VMM      sepia (default): $top_builddir/sepia-vmm, needs /dev/kvm
#                     qemu: qemu-system-x86_64 -M q35 -accel tcg (same payloads, no KVM)
#   SEPIA_VMM         the sepia-vmm binary (default $top_builddir/sepia-vmm)
#   QEMU              the QEMU binary (default qemu-system-x86_64 from PATH)
#   GUESTKIT_QEMU_ACCEL  tcg (default) or kvm
#   GUESTKIT_TIMEOUT  seconds per boot (default 60)
#   GUESTKIT_KEEP     non-empty: keep the work directory (logs, images) and say where
# Exit status convention (tests/guest/README): the guest writes 0x10 to port 0xf4 on
# success, so the VMM (and QEMU's isa-debug-exit) exit with status 33.
set -u

here=$(cd "$(dirname "$0")" && pwd)
top_srcdir=${top_srcdir:-$here/../..}
top_builddir=${top_builddir:-$top_srcdir}
payload_dir=$top_builddir/tests/guest
vmm=${GUESTKIT_VMM:-sepia}
timeout_s=${GUESTKIT_TIMEOUT:-60}
mem_mib=256
sectors=2048

STATUS_PASS=33 STATUS_FAIL=35 STATUS_SKIP=37 STATUS_CRASH=39
SERIAL_LINE='guest-kit serial: hello from a PVH payload, 0123456789 ABCDEF'
CONSOLE_LINE='guest-kit console: hello through virtio-console port 0'

# A skip is the TAP plan "1..0 # SKIP reason" and exit status 77; under make check,
# tests/run-tap.sh hands automake's TAP driver a 0 for that 77 so the plan counts as a skip.
skip_all() {
	echo "1..0 # SKIP $1"
	exit 77
}

[ $# -gt 0 ] || { echo "usage: $0 NAME..." >&2; exit 2; }

case $vmm in
sepia)
	SEPIA_VMM=${SEPIA_VMM:-$top_builddir/sepia-vmm}
	[ -e /dev/kvm ] || skip_all "/dev/kvm is missing"
	{ [ -r /dev/kvm ] && [ -w /dev/kvm ]; } || skip_all "/dev/kvm is not readable and writable"
	[ -x "$SEPIA_VMM" ] || skip_all "no sepia-vmm binary at $SEPIA_VMM"
	;;
qemu)
	QEMU=${QEMU:-$(command -v qemu-system-x86_64 || true)}
	{ [ -n "$QEMU" ] && [ -x "$QEMU" ]; } || skip_all "qemu-system-x86_64 not found"
	;;
*)
	echo "GUESTKIT_VMM must be sepia or qemu, not '$vmm'" >&2
	exit 2
	;;
esac
command -v timeout >/dev/null 2>&1 || skip_all "timeout(1) not found"

work=$(mktemp -d "${TMPDIR:-/tmp}/guestkit.XXXXXX") || exit 1
if [ -n "${GUESTKIT_KEEP:-}" ]; then
	trap 'echo "# logs and images kept in $work"' EXIT
else
	trap 'rm -rf "$work"' EXIT
fi

n=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
not_ok() { n=$((n + 1)); echo "not ok $n - $*$(known_gap "$*")"; }

# Hosts whose KVM interprets guest kernel code (kvm_pvm) deliver nothing from ring 3 to
# ring 0 but CPU exceptions: `int n` gives #UD and SYSCALL arrives at LSTAR still in
# ring 3 (the usermode payload measures it). Those checks fail there by the host's
# doing, so they are TAP TODOs (counted as expected failures), and only there.
interpreting_host=no
[ -e /sys/module/kvm_pvm ] && [ "${GUESTKIT_VMM:-sepia}" = sepia ] && interpreting_host=yes
known_gap() {
	[ "$interpreting_host" = yes ] || return 0
	case $1 in
	"usermode: int \$0x80"*|"usermode: IRETQ from the int \$0x80"*|"usermode: syscall from ring 3"*|\
	"usermode: after SYSRETQ, int \$0x80"*|"usermode: exit status 35"*)
		echo " # TODO this host's KVM does not deliver ring-3 int/SYSCALL to ring 0" ;;
	esac
}
check() { # check CONDITION-STATUS DESCRIPTION
	if [ "$1" -eq 0 ]; then ok "$2"; else not_ok "$2"; fi
}
show() { # show FILE TITLE: a log as TAP comments (last 40 lines)
	[ -s "$1" ] || return 0
	echo "# --- $2 ---"
	tail -n 40 "$1" | sed 's/^/#   /'
}

# A 1 MiB raw image: sector 0 holds "sepia guest-kit\n" x 32, the rest is zeros.
make_disk() {
	dd if=/dev/zero of="$1" bs=1024 count=$((sectors / 2)) 2>/dev/null
	i=0
	while [ $i -lt 32 ]; do printf 'sepia guest-kit\n'; i=$((i + 1)); done |
		dd of="$1" conv=notrunc 2>/dev/null
}

sector_of() { # sector_of IMAGE N: one sector on stdout
	dd if="$1" bs=512 skip="$2" count=1 2>/dev/null
}

# send_input_events SOCKET SERIAL PID: once the input payload printed "input ready" on SERIAL,
# writes to the touch screen's SOCKET (8-byte records: le16 type, le16 code, le32 value) a tap
# at 10,20 (tracking id 5), a record the device lacks (EV_KEY KEY_A) and a move to x=1000.
send_input_events() {
	for _ in $(seq 1 $((timeout_s * 10))); do
		grep -q "input ready" "$2" 2>/dev/null && break
		kill -0 "$3" 2>/dev/null || return
		sleep 0.1
	done
	python3 - "$1" <<'PY' || echo "# could not write to $1"
import socket, struct, sys
ev = lambda t, c, v: struct.pack("<HHi", t, c, v)
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1])
s.sendall(ev(3, 0x2f, 0) + ev(3, 0x39, 5) + ev(3, 0x35, 10) + ev(3, 0x36, 20) + ev(1, 0x14a, 1) + ev(0, 0, 0)
          + ev(1, 30, 1) + ev(3, 0x35, 1000) + ev(0, 0, 0))
s.close()
PY
}

run_one() {
	name=$1
	elf=$name disk='' disk_ro='' console='' cpus='' machine=q35 gpu=''
	cmdline="guest-kit $name"
	case $name in
	serial) ;;
	serial-microvm) elf=serial machine=microvm ;;
	serial-elf32) elf=serial32 ;;
	serial-elf32-microvm) elf=serial32 machine=microvm ;;
	bootparams) cmdline="$cmdline token=s3pia-bootparams mem_mib=$mem_mib" ;;
	pci) disk=$work/pci.img console=$work/pci-console.log cmdline="$cmdline blk=1 console=1" ;;
	blk) disk=$work/blk.img cmdline="$cmdline sectors=$sectors" ;;
	blk-ro) elf=blk disk=$work/blk-ro.img disk_ro=1 cmdline="$cmdline sectors=$sectors ro" ;;
	console) console=$work/console.log ;;
	# The console layout's ports (--hvc): the payload writes to the first virtio-console on
	# the bus, which must be the first --hvc, ahead of the sinks and of --control.
	console-hvc) elf=console console=$work/console-hvc.log ;;
	msix) disk=$work/msix.img ;;
	smp) cpus=2 cmdline="$cmdline cpus=2" ;;
	usermode) ;;
	uart-irq) ;;
	kvmclock) ;;
	gpu) gpu=2d cmdline="$cmdline width=64 height=48 w1=40 h1=24" ;;
	gpu-virgl) elf=gpu gpu=virgl cmdline="$cmdline width=64 height=48 virgl=1" ;;
	# --gpu auto on a host whose EGL has no vendor library: 2D, and the log says why.
	gpu-fallback) elf=gpu gpu=auto cmdline="$cmdline width=64 height=48" ;;
	# virtio-input needs a display for its touch screen; the runner writes events once the
	# guest says it is ready (send_input_events).
	input) gpu=2d cmdline="$cmdline width=64 height=48" ;;
	*)
		not_ok "$name: a payload this runner knows"
		return
		;;
	esac
	elf=$payload_dir/$elf.elf
	if [ ! -f "$elf" ]; then
		not_ok "$name: payload $elf is built"
		return
	fi
	[ -z "$disk" ] || make_disk "$disk"
	[ -z "$disk" ] || cp "$disk" "$disk.orig"
	serial=$work/$name-serial.log
	out=$work/$name-vmm.log
	rm -f "$serial" "$out"
	[ -z "$console" ] || : >"$console"

	if [ "$vmm" = sepia ]; then
		set -- "$SEPIA_VMM" --kernel "$elf" --mem "$mem_mib" --serial "file:$serial" --debug-exit \
			--cmdline "$cmdline"
		[ -z "$disk" ] || set -- "$@" --disk "$disk${disk_ro:+,ro}"
		if [ "$name" = console-hvc ]; then
			: >"$work/console-hvc-control.log"
			set -- "$@" --hvc "file:$console" --hvc sink --hvc sink \
				--control "file:$work/console-hvc-control.log"
		elif [ -n "$console" ]; then
			set -- "$@" --console "file:$console"
		fi
		[ -z "$cpus" ] || set -- "$@" --cpus "$cpus"
		[ -z "$gpu" ] || set -- "$@" --gpu "$gpu" --display width=64,height=48 --framebuffer-dir "$work"
		[ "$name" != gpu ] || set -- "$@" --display width=40,height=24,dpi=160
		[ "$name" != input ] || set -- "$@" --input-dir "$work"
	else
		if [ "$name" = console-hvc ]; then
			ok "$name: runs under sepia-vmm only # SKIP --hvc is sepia-vmm's option"
			return
		fi
		if [ -n "$gpu" ]; then
			ok "$name: runs under sepia-vmm only # SKIP the error checks follow sepia's answers"
			return
		fi
		set -- "$QEMU" -M "$machine" -accel "${GUESTKIT_QEMU_ACCEL:-tcg}" -m "$mem_mib" -nodefaults -display none -no-reboot \
			-serial "file:$serial" -device isa-debug-exit,iobase=0xf4,iosize=4 \
			-kernel "$elf" -append "$cmdline"
		[ -z "$disk" ] || set -- "$@" -device virtio-blk-pci,disable-legacy=on,drive=d0 \
			-drive "if=none,id=d0,format=raw,file=$disk${disk_ro:+,readonly=on}"
		[ -z "$console" ] || set -- "$@" -device virtio-serial-pci,disable-legacy=on \
			-chardev "file,id=c0,path=$console" -device virtconsole,chardev=c0
		[ -z "$cpus" ] || set -- "$@" -smp "$cpus"
	fi
	printf '# %s:' "$name"
	for a in "$@"; do
		case $a in *" "*) printf " '%s'" "$a" ;; *) printf ' %s' "$a" ;; esac
	done
	echo

	t0=$(date +%s%N)
	if [ "$name" = gpu-fallback ]; then
		__EGL_VENDOR_LIBRARY_FILENAMES=/nonexistent timeout "$timeout_s" "$@" >"$out" 2>&1 </dev/null
	elif [ "$name" = input ]; then
		timeout "$timeout_s" "$@" >"$out" 2>&1 </dev/null &
		vmm_pid=$!
		send_input_events "$work/input_touch_0.sock" "$serial" "$vmm_pid"
		wait "$vmm_pid"
	else
		timeout "$timeout_s" "$@" >"$out" 2>&1 </dev/null
	fi
	status=$?
	t1=$(date +%s%N)
	ms=$(((t1 - t0) / 1000000))

	# 3D needs the host's Mesa EGL (its surfaceless platform) and virglrenderer on it; without
	# them sepia-vmm refuses --gpu virgl at start, naming what to install. That is a missing
	# precondition of this host, not a failure: the payload's checks are skipped, saying why.
	if [ "$name" = gpu-virgl ] && [ "$vmm" = sepia ] && [ "$status" = 1 ] &&
		why=$(grep -m1 -E "virtio-gpu: (EGL offers no surfaceless platform|EGL's surfaceless display does not initialise|virglrenderer did not initialise)" "$out"); then
		ok "$name: sepia-vmm runs the payload with 3D # SKIP this host offers no 3D: ${why#*error: }"
		return
	fi

	# The guest's own checks, in order.
	if [ -f "$serial" ]; then
		while IFS= read -r line; do
			case $line in
			"guest: ok "*) ok "$name: ${line#guest: ok }" ;;
			"guest: not ok "*) not_ok "$name: ${line#guest: not ok }" ;;
			"guest: info "*) echo "# $name: ${line#guest: info }" ;;
			esac
		done <<EOF
$(tr -d '\r' <"$serial")
EOF
	fi

	case $status in
	"$STATUS_PASS") ok "$name: exits through the debug-exit port with status 33 ($ms ms under $vmm)" ;;
	"$STATUS_SKIP")
		why=$(sed -n 's/^guest: skip //p' "$serial" | head -n 1)
		ok "$name: exits through the debug-exit port # SKIP guest says: $why"
		;;
	124) not_ok "$name: finishes within $timeout_s s (timed out)" ;;
	"$STATUS_FAIL") not_ok "$name: exit status 35, the guest saw a failed check" ;;
	"$STATUS_CRASH") not_ok "$name: exit status 39, the guest took an unexpected exception" ;;
	*) not_ok "$name: exit status $status, expected 33 (not a debug-exit status: VMM error or crash?)" ;;
	esac

	# What only the host can see.
	case $name in
	serial*)
		grep -qxF "$SERIAL_LINE" "$serial" 2>/dev/null
		check $? "$name: the serial log holds the payload's line"
		if [ "$name" = serial-elf32 ] && [ "$vmm" = sepia ]; then
			grep -q "PVH ELF32" "$out"
			check $? "$name: sepia-vmm loaded it as a 32-bit PVH ELF"
		fi
		;;
	blk)
		i=0
		while [ $i -lt 32 ]; do printf 'guest-kit wrote\n'; i=$((i + 1)); done >"$work/expect1"
		sector_of "$disk" 1 | cmp -s - "$work/expect1"
		check $? "$name: the guest's write reached sector 1 of the host image"
		sector_of "$disk.orig" 0 >"$work/expect0"
		sector_of "$disk" 0 | cmp -s - "$work/expect0"
		check $? "$name: sector 0 of the host image is unchanged"
		;;
	blk-ro)
		cmp -s "$disk" "$disk.orig"
		check $? "$name: the read-only host image is unchanged"
		;;
	console)
		grep -qxF "$CONSOLE_LINE" "$console" 2>/dev/null
		check $? "$name: the --console file holds the payload's line"
		;;
	console-hvc)
		grep -qxF "$CONSOLE_LINE" "$console" 2>/dev/null
		check $? "$name: the first --hvc file (the guest's hvc0) holds the payload's line"
		! grep -qF "$CONSOLE_LINE" "$work/console-hvc-control.log"
		check $? "$name: the --control device, after the --hvc ports, got nothing"
		;;
	kvmclock)
		# What the guest found in CPUID 0x40000001 is what sepia-vmm says it chose for this host.
		said=$(tr -d '\r' <"$serial" | sed -n 's/^guest: info kvm-clock //p' | head -n 1)
		if [ "$vmm" = sepia ]; then
			want="not offered"
			grep -q 'vm: kvm-clock offered to the guest' "$out" && want=offered
			[ "$said" = "$want" ]
			check $? "$name: the guest finds kvm-clock ${said:-(nothing said)}, as sepia-vmm's log says ($want)"
		fi
		# Where it is offered, the date it gives is the host's (boot time + system time).
		guest_now=$(tr -d '\r' <"$serial" | sed -n 's/^guest: info wall clock now \([0-9]*\) s.*/\1/p')
		if [ -n "$guest_now" ]; then
			d=$(($(date +%s) - guest_now))
			[ "$d" -ge -2 ] && [ "$d" -le 10 ]
			check $? "$name: kvm-clock's wall clock agrees with the host's (host minus guest: $d s)"
		fi
		;;
	gpu*)
		# The scanout the payload left on screen, as host tools see it.
		result=$(python3 "$here/../pattern-check.py" "$work/display0.fb" 2>&1)
		check $? "$name: display0.fb shows the test pattern: $result"
		if [ "$name" = gpu ]; then
			result=$(python3 "$here/../pattern-check.py" "$work/display1.fb" --size 40x24 2>&1)
			check $? "$name: display1.fb shows the 40x24 pattern: $result"
		fi
		grep -q "virtio-gpu: $(case $gpu in virgl) echo 3D;; *) echo 2D;; esac)" "$out"
		check $? "$name: sepia-vmm logs the GPU mode it runs"
		if [ "$name" = gpu-fallback ]; then
			grep -q "gpu mode auto: running 2D only" "$out"
			check $? "$name: sepia-vmm says why it fell back to 2D"
		fi
		grep -q "answered with an error" "$out"
		check $? "$name: sepia-vmm counted the malformed commands and kept running"
		;;
	esac

	if [ "$status" != "$STATUS_PASS" ] && [ "$status" != "$STATUS_SKIP" ]; then
		show "$serial" "$name serial log"
		show "$out" "$name $vmm output"
		[ -z "$console" ] || show "$console" "$name console file"
	fi
	echo "# $name: $ms ms"
}

for p in "$@"; do
	run_one "$p"
done
echo "1..$n"
