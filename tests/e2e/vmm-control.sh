#!/bin/sh
# End to end: what the instance monitor needs from sepia-vmm, on the reference guest.
#   boot 1: --console file + --control fd:3 (the guest's hvc1, sepia.control=hvc1): an
#           unknown command gets "error unknown command", "poweroff" gets "ok poweroff",
#           the guest's init shuts down in order and sepia-vmm exits 0.
#   boot 2: --control fd:3 alone (hvc0): "reboot" gets "ok reboot" and sepia-vmm exits 4.
#   boot 3: a qcow2 overlay disk the guest writes to; SIGTERM after the boot-completed
#           marker (and the write) stops sepia-vmm with status 0, "stopped by SIGTERM", and
#           `qemu-img check` finds the overlay clean, holding the guest's data.
# fd 3 is one end of a socketpair made by a small python3 driver, which also waits for the
# marker in the serial log and talks the control protocol (guest/init/control.h).
set -u
top_builddir=${top_builddir:-$(cd "$(dirname "$0")/../.." && pwd)}
vmm=$top_builddir/sepia-vmm
guest=${SEPIA_GUEST_DIR:-$top_builddir/guest/out}
limit=${SEPIA_REF_TIMEOUT:-900}

skip() { echo "1..0 # SKIP $1"; exit 77; }
[ -r /dev/kvm ] && [ -w /dev/kvm ] || skip "no access to /dev/kvm"
[ -x "$vmm" ] || skip "sepia-vmm not built"
[ -r "$guest/vmlinux" ] && [ -r "$guest/initramfs.cpio" ] || skip "no reference guest in $guest (run make guest)"
command -v python3 >/dev/null 2>&1 || skip "python3 not found"
command -v qemu-img >/dev/null 2>&1 || skip "qemu-img not found"

work=$(mktemp -d /tmp/sepia-control.XXXXXX)
trap 'rm -rf "$work"' EXIT

# usage: driver.py SERIAL_LOG WAIT_FOR ACTION TRANSCRIPT STATUS_FILE -- VMM ARGS...
#   WAIT_FOR: a string to wait for in SERIAL_LOG before ACTION
#   ACTION:   "send:CMD,CMD,..." (each command's answer line goes to TRANSCRIPT) or "sigterm"
# The VMM gets the socketpair's other end as fd 3. Waits are bounded only by $limit, the
# safety net for a hung guest; nothing here measures time.
cat > "$work/driver.py" <<'EOF'
import os, signal, socket, subprocess, sys, time

serial, wait_for, action, transcript, status_file = sys.argv[1:6]
cmd = sys.argv[7:]
limit = float(os.environ.get("LIMIT", "900"))
deadline = time.monotonic() + limit
ours, theirs = socket.socketpair()
log = open(transcript, "w")

def note(line):
    log.write(line + "\n")
    log.flush()

def put_at_fd3():
    os.dup2(theirs.fileno(), 3)

vmm = subprocess.Popen(cmd, pass_fds=(3,), preexec_fn=put_at_fd3, stdin=subprocess.DEVNULL)
theirs.close()

def seen(text):
    try:
        with open(serial, "rb") as f:
            return text.encode() in f.read()
    except FileNotFoundError:
        return False

while not seen(wait_for):
    if vmm.poll() is not None or time.monotonic() > deadline:
        note("never saw " + wait_for)
        break
    time.sleep(0.5)
else:
    if action == "sigterm":
        vmm.send_signal(signal.SIGTERM)
    else:
        buf = b""
        for command in action[len("send:"):].split(","):
            ours.sendall(command.encode() + b"\n")
            ours.settimeout(max(1.0, deadline - time.monotonic()))
            try:
                while b"\n" not in buf:
                    data = ours.recv(4096)
                    if not data:
                        break
                    buf += data
            except socket.timeout:
                pass
            line, _, buf = buf.partition(b"\n")
            note(command + " -> " + line.decode(errors="replace").rstrip("\r"))

try:
    status = vmm.wait(timeout=max(1.0, deadline - time.monotonic()))
except subprocess.TimeoutExpired:
    vmm.kill()
    status = "timeout"
with open(status_file, "w") as f:
    f.write(str(status) + "\n")
EOF

boot() { # boot TAG WAIT_FOR ACTION CMDLINE [VMM ARGS...]
	tag=$1 wait_for=$2 action=$3 cmdline=$4
	shift 4
	LIMIT=$limit python3 "$work/driver.py" "$work/$tag.serial" "$wait_for" "$action" \
		"$work/$tag.answers" "$work/$tag.status" -- \
		"$vmm" --kernel "$guest/vmlinux" --initrd "$guest/initramfs.cpio" --cpus 2 --mem 512 \
		--cmdline "console=ttyS0 panic=-1 $cmdline" --serial "file:$work/$tag.serial" \
		--control fd:3 "$@" 2> "$work/$tag.vmm"
	sed "s/^/# $tag vmm: /" "$work/$tag.vmm"
	sed "s/^/# $tag answers: /" "$work/$tag.answers"
	grep -E 'sepia-init|VIRTUAL_DEVICE_BOOT_COMPLETED|Kernel panic|WROTE' "$work/$tag.serial" | sed "s/^/# $tag guest: /"
}
n=0
check() { # check DESCRIPTION COMMAND...
	desc=$1
	shift
	n=$((n + 1))
	if "$@"; then echo "ok $n - $desc"; else echo "not ok $n - $desc"; fi
}
status_is() { [ "$(cat "$work/$1.status" 2>/dev/null)" = "$2" ]; }
marker=VIRTUAL_DEVICE_BOOT_COMPLETED

echo "1..16"

boot poweroff "$marker" "send:hello,poweroff" "sepia.control=hvc1" --console "file:$work/poweroff.hvc0"
check "boot 1: the boot-completed marker on the serial console" grep -q "$marker" "$work/poweroff.serial"
check "boot 1: an unknown command is answered 'error unknown command'" \
	grep -qx 'hello -> error unknown command' "$work/poweroff.answers"
check "boot 1: poweroff is answered 'ok poweroff' on hvc1" grep -qx 'poweroff -> ok poweroff' "$work/poweroff.answers"
check "boot 1: the guest's init stops its processes for the power-off" \
	grep -q 'sepia-init: power off: stopping processes' "$work/poweroff.serial"
check "boot 1: ... and powers off" grep -qx 'sepia-init: power off.\{0,1\}' "$work/poweroff.serial"
check "boot 1: sepia-vmm exits 0 (got $(cat "$work/poweroff.status"))" status_is poweroff 0
check "boot 1: sepia-vmm saw an ACPI power-off" grep -q 'vm: guest powered off' "$work/poweroff.vmm"
check "boot 1: the marker still reaches hvc0, the console" grep -q "$marker" "$work/poweroff.hvc0"

boot reboot "$marker" "send:reboot" "sepia.control=hvc0"
check "boot 2: reboot is answered 'ok reboot' on hvc0" grep -qx 'reboot -> ok reboot' "$work/reboot.answers"
check "boot 2: the guest's init stops its processes for the reboot" \
	grep -q 'sepia-init: reboot: stopping processes' "$work/reboot.serial"
check "boot 2: sepia-vmm exits 4 for a guest reset (got $(cat "$work/reboot.status"))" status_is reboot 4
check "boot 2: sepia-vmm logs the reset" grep -q 'vm: guest reset' "$work/reboot.vmm"

# The guest writes 1 MiB of 'S' with O_DIRECT (no flush), so the overlay's new clusters
# and tables are still only in sepia-vmm when SIGTERM comes: closing must write them.
truncate -s 4M "$work/base.raw"
qemu-img create -q -f qcow2 -b "$work/base.raw" -F raw "$work/overlay.qcow2"
# WROTE-$((6*7)): the kernel echoes its command line to the serial console, so the
# line to wait for must differ from the text of the command.
boot sigterm "WROTE-42" sigterm \
	'sepia.run="head -c 1048576 /dev/zero | tr \\000 S > /tmp/s && dd if=/tmp/s of=/dev/vda bs=65536 oflag=direct && echo WROTE-$((6*7)); sleep 100000"' \
	--disk "$work/overlay.qcow2"
check "boot 3: the guest wrote to the overlay disk" grep -q "^WROTE-42" "$work/sigterm.serial"
check "boot 3: SIGTERM ends sepia-vmm with status 0 (got $(cat "$work/sigterm.status"))" status_is sigterm 0
check "boot 3: sepia-vmm logs 'stopped by SIGTERM'" grep -q 'vm: stopped by SIGTERM' "$work/sigterm.vmm"
qemu-img check "$work/overlay.qcow2" > "$work/check.log" 2>&1
check_status=$?
sed 's/^/# qemu-img check: /' "$work/check.log"
qemu-img convert -O raw "$work/overlay.qcow2" "$work/overlay.raw"
check "boot 3: qemu-img check finds the overlay clean, holding the guest's 1 MiB" \
	sh -c "[ $check_status -eq 0 ] && [ \"\$(head -c 1048576 '$work/overlay.raw' | tr -d S | wc -c)\" -eq 0 ]"
