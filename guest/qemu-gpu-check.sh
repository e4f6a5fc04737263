#!/bin/bash
# Checks the reference guest's side of virtio-gpu under QEMU TCG (not a CI test:
# CI goes through sepia-vmm). The guest boots with sepia.gpu_pattern=1 on QEMU's
# virtio-gpu-pci; once it printed VIRTUAL_DEVICE_BOOT_COMPLETED, the screen is taken
# with the QEMU monitor's screendump and compared pixel for pixel with the test
# pattern (tests/pattern-check.py). Then the guest runs gpu-clear3d, whose line
# and exit status are reported (2 = no 3D, expected with the 2D device).
#
# Usage: guest/qemu-gpu-check.sh [--dir DIR] [--xres W --yres H] [--gl] [--timeout S]
#                                [--keep DIR]
#
#   --dir DIR        where vmlinux and initramfs.cpio are (default guest/out)
#   --xres/--yres    the display size QEMU offers (default QEMU's own, 1280x800)
#   --gl             virtio-gpu-gl-pci with -display egl-headless (virgl): gpu-clear3d
#                    must then pass (needs a working EGL on the host)
#   --rendernode P   with --gl: egl-headless,rendernode=P. On hosts without /dev/dri,
#                    P=/dev/null makes Mesa's GBM fall back to its software renderer.
#   --clear3d ARGS   arguments for the guest's gpu-clear3d (e.g. "--bgra 1 0 0.5 1")
#   --keep DIR       keep the console log and screenshot in DIR
#
# Exit status: 0 when the pattern matched (and, with --gl, gpu-clear3d passed);
# 1 otherwise; 77 without qemu-system-x86_64.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
dir=$here/out
xres= yres= gl=no rendernode= clear3d_args= timeout_s=180 keep=
while [ $# -gt 0 ]; do
	case $1 in
	--dir) dir=$2; shift 2 ;;
	--xres) xres=$2; shift 2 ;;
	--yres) yres=$2; shift 2 ;;
	--gl) gl=yes; shift ;;
	--rendernode) rendernode=$2; shift 2 ;;
	--clear3d) clear3d_args=$2; shift 2 ;;
	--timeout) timeout_s=$2; shift 2 ;;
	--keep) keep=$2; shift 2 ;;
	-h|--help) sed -n '2,/^set -e/p' "${BASH_SOURCE[0]}" | sed -e '$d' -e 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "qemu-gpu-check: unknown argument '$1'" >&2; exit 2 ;;
	esac
done

say() { echo "qemu-gpu-check: $*"; }
qemu=${QEMU_SYSTEM:-qemu-system-x86_64}
command -v "$qemu" >/dev/null || { say "$qemu not found" >&2; exit 77; }
for f in vmlinux initramfs.cpio; do
	[ -f "$dir/$f" ] || { say "$dir/$f missing (run guest/build-guest.sh --out $dir)" >&2; exit 2; }
done

work=$(mktemp -d "${TMPDIR:-/tmp}/sepia-qemu-gpu.XXXXXX")
qemu_pid=
cleanup() {
	[ -z "$qemu_pid" ] || kill "$qemu_pid" 2>/dev/null || true
	if [ -n "$keep" ]; then
		mkdir -p "$keep" && cp -f "$work"/console.log "$work"/screen.ppm "$keep"/ 2>/dev/null || true
	fi
	rm -rf "$work"
}
trap cleanup EXIT

# Sends one monitor command and prints what the monitor answered.
monitor() {
	python3 - "$work/monitor.sock" "$1" <<'EOF'
import socket, sys, time
for attempt in range(50):
    try:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(sys.argv[1])
        break
    except OSError as e:
        if attempt == 49:
            sys.exit("qemu-gpu-check: cannot reach the QEMU monitor at %s: %s" % (sys.argv[1], e))
        time.sleep(0.1)
s.settimeout(10)
def read_until_prompt():
    buf = b""
    while not buf.endswith(b"(qemu) "):
        chunk = s.recv(4096)
        if not chunk:
            break
        buf += chunk
    return buf
read_until_prompt()
s.sendall(sys.argv[2].encode() + b"\n")
# After "quit" QEMU closes the connection as it exits: wait for that, so the
# command is not lost to a connection closed too early.
out = read_until_prompt()
sys.stdout.write(out.decode(errors="replace").replace("\r", ""))
EOF
}

gpu=virtio-gpu-pci
display=(-display none)
if [ "$gl" = yes ]; then
	gpu=virtio-gpu-gl-pci
	display=(-display "egl-headless${rendernode:+,rendernode=$rendernode}")
fi
[ -z "$xres" ] || gpu="$gpu,xres=$xres"
[ -z "$yres" ] || gpu="$gpu,yres=$yres"
run="gpu-clear3d${clear3d_args:+ $clear3d_args}; echo gpu-clear3d exit status \$?; sleep 3600"
args=(-M pc -accel tcg -cpu qemu64 -m 512 -smp 2 "${display[@]}" -vga none -no-reboot
	-device "$gpu" -serial "file:$work/console.log"
	-monitor "unix:$work/monitor.sock,server=on,wait=off"
	-kernel "$dir/vmlinux" -initrd "$dir/initramfs.cpio"
	-append "console=ttyS0 panic=-1 sepia.adbd=0 sepia.gpu_pattern=1 sepia.run=\"$run\"")
say "$qemu ${args[*]}"
start=$(date +%s.%N)
"$qemu" "${args[@]}" </dev/null >"$work/qemu.out" 2>&1 &
qemu_pid=$!

# Waits for a console line matching ERE $1; sets $elapsed (seconds since start).
wait_for_console() {
	local deadline=$(($(date +%s) + timeout_s))
	while ! grep -qE "$1" "$work/console.log" 2>/dev/null; do
		# A QEMU that exited is a zombie until waited for: look at its state.
		case $(ps -o stat= -p "$qemu_pid" 2>/dev/null || echo Z) in
		Z*)
			say "QEMU exited before '$1' appeared:"; cat "$work/qemu.out"
			tail -n 30 "$work/console.log" 2>/dev/null
			exit 1 ;;
		esac
		[ "$(date +%s)" -lt "$deadline" ] || { say "no '$1' within ${timeout_s} s"; tail -n 30 "$work/console.log"; exit 1; }
		sleep 0.2
	done
	elapsed=$(echo "$(date +%s.%N) - $start" | bc)
}

wait_for_console '^VIRTUAL_DEVICE_BOOT_COMPLETED'
say "boot marker after $elapsed s (wall)"
line=$(tr -d '\r' <"$work/console.log" | grep -m1 -E '^gpu-pattern: ' || true)
[ -n "$line" ] || { say "no gpu-pattern line before the boot marker"; tr -d '\r' <"$work/console.log" | grep -E 'gpu|drm' ; exit 1; }
say "guest said: $line"
size=$(echo "$line" | sed -n 's/^gpu-pattern: \([0-9]*x[0-9]*\) on connector [0-9]*$/\1/p')
[ -n "$size" ] || { say "cannot read the mode from '$line'"; exit 1; }
# With a GL display the console surface may appear a moment after the scanout.
for _ in 1 2 3 4 5 6 7 8 9 10; do
	answer=$(monitor "screendump $work/screen.ppm" | grep -v -e "^QEMU" -e "^(qemu)" -e "screendump" || true)
	[ -n "$answer" ] || break
	sleep 0.5
done
status=0
if [ "$gl" = yes ] && [ "$answer" = "Error: no surface" ]; then
	# QEMU 7.2 cannot screendump a console that shows a GL scanout.
	say "pattern NOT checked: QEMU's screendump has no surface for a GL scanout"
else
	[ -z "$answer" ] || say "monitor: $answer"
	python3 "$here/../tests/pattern-check.py" "$work/screen.ppm" --size "$size" || status=1
fi
if [ -n "$xres" ] && [ -n "$yres" ] && [ "$size" != "${xres}x${yres}" ]; then
	say "mode $size, but QEMU was given ${xres}x${yres}"; status=1
fi

wait_for_console '^gpu-clear3d exit status'
tr -d '\r' <"$work/console.log" | grep -E '^gpu-clear3d' | sed 's/^/qemu-gpu-check: guest said: /'
clear_status=$(tr -d '\r' <"$work/console.log" | sed -n 's/^gpu-clear3d exit status \([0-9]*\)$/\1/p')
if [ "$gl" = yes ] && [ "$clear_status" != 0 ]; then
	say "gpu-clear3d failed with virgl (exit status $clear_status)"; status=1
fi
monitor quit >/dev/null 2>&1 || true
for _ in $(seq 50); do kill -0 "$qemu_pid" 2>/dev/null || break; sleep 0.1; done
kill "$qemu_pid" 2>/dev/null && say "QEMU did not quit when asked; killed it"
wait "$qemu_pid" 2>/dev/null || true
qemu_pid=
tr -d '\r' <"$work/console.log" | grep -iE 'virtio.gpu|drm|\[drm\]' | sed 's/^/qemu-gpu-check: kernel: /' || true
[ "$status" = 0 ] && say "ok" || say "FAILED"
exit "$status"
