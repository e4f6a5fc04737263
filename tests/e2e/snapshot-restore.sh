#!/bin/sh
# End to end: a snapshot of the running reference guest, restored into a new sepia-vmm.
#   1. sepia-vmm boots the reference guest (2 vCPUs, 512 MiB) with its shell on the virtio
#      console (hvc0, one end of a socketpair: sepia.shell=hvc0), a qcow2 overlay disk, virtio-vsock and its
#      API socket, with --sandbox off: the VMM writes "snapshot DIR" to the path itself (the
#      sandboxed way, files passed as descriptors by a monitor, is tests/guest/snapshot.sh's
#      and snapshot-launch.sh's). Through the shell the guest writes a token to /tmp (RAM) and another to
#      its disk, and starts a counter that counts seconds into /tmp/counter.
#   2. "snapshot DIR" on the API socket; the guest runs on and changes /tmp and the disk
#      again, then the VMM is killed with SIGKILL.
#   3. A new sepia-vmm --restore DIR: the same shell answers on the new console; /tmp holds
#      the token and not what came after the snapshot; the disk holds the snapshot's token
#      (read with O_DIRECT in the guest and from the overlay on the host afterwards); the
#      counter goes on from where it was; guest adbd answers an adb CNXN through the vsock
#      (the guest's connections were reset); the guest's wall clock skipped the time the
#      snapshot lay on disk (its lag behind the host did not grow by that time).
#   4. A state file with one byte changed is refused with an error naming the file.
# Waits are bounded by $SEPIA_REF_TIMEOUT only (a safety net for a hung guest); nothing here
# measures time (bench/snapshot.sh does).
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

work=$(mktemp -d /tmp/sepia-snapshot-e2e.XXXXXX)
trap 'rm -rf "$work"' EXIT
truncate -s 16M "$work/base.raw"
qemu-img create -q -f qcow2 -b "$work/base.raw" -F raw "$work/overlay.qcow2"

cat > "$work/driver.py" <<'PY'
import os, random, signal, socket, struct, subprocess, sys, threading, time

work, vmm, guest, limit = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
n = failed = 0
def tap(ok, what):
    global n, failed
    n += 1
    failed += 0 if ok else 1
    print(("ok" if ok else "not ok") + " %d - %s" % (n, what), flush=True)
    return ok

class Console:
    """The guest's hvc0 through one end of a socketpair: a thread keeps what it says."""
    def __init__(self):
        self.ours, self.theirs = socket.socketpair()
        self.buf = b""
        self.lock = threading.Lock()
        threading.Thread(target=self.pump, daemon=True).start()
    def pump(self):
        while True:
            data = self.ours.recv(65536)
            if not data:
                return
            with self.lock:
                self.buf += data
    def text(self):
        with self.lock:
            return self.buf.decode(errors="replace")
    def wait_for(self, what, deadline):
        while time.monotonic() < deadline:
            if what in self.text():
                return True
            time.sleep(0.2)
        return False
    def run(self, command, timeout=None):
        """Runs command in the guest's shell: (status, output), or (None, "") on no answer."""
        tag = "%012x" % random.getrandbits(48)
        start = len(self.text())
        # The markers are put together by the shell: the echoed line never holds them.
        self.ours.sendall(("echo BEG''IN-%s; ( %s ) </dev/null; echo EN''D-%s-$?-\n" % (tag, command, tag)).encode())
        deadline = time.monotonic() + (timeout or min(limit, 180))
        while time.monotonic() < deadline:
            t = self.text()[start:]
            end = t.find("END-%s-" % tag)
            if end >= 0 and t.find("-", end + len(tag) + 5) >= 0:
                begin = t.find("BEGIN-%s" % tag)
                body = t[begin + len(tag) + 6:end] if begin >= 0 else ""
                status = t[end + len(tag) + 5:].split("-")[0]
                return (int(status) if status.isdigit() else -1), body.replace("\r", "").strip()
            time.sleep(0.1)
        return None, ""

def start(tag, console, extra):
    args = [vmm, "--cpus", "2", "--mem", "512", "--serial", "file:" + os.path.join(work, tag + ".serial"),
            "--console", "fd:3", "--disk", os.path.join(work, "overlay.qcow2"),
            "--vsock", "cid=3,socket=" + os.path.join(work, tag + ".vsock"),
            "--api-socket", os.path.join(work, tag + ".api"), "--sandbox", "off"] + extra
    def put_at_fd3():
        os.dup2(console.theirs.fileno(), 3)
    p = subprocess.Popen(args, pass_fds=(3,), preexec_fn=put_at_fd3, stdin=subprocess.DEVNULL,
                         stderr=open(os.path.join(work, tag + ".vmm"), "w"))
    console.theirs.close()
    return p

def api(tag, line):
    c = socket.socket(socket.AF_UNIX)
    c.settimeout(limit)
    c.connect(os.path.join(work, tag + ".api"))
    c.sendall((line + "\n").encode())
    answer = b""
    while not answer.endswith(b"\n"):
        data = c.recv(4096)
        if not data:
            break
        answer += data
    c.close()
    return answer.decode().strip()

def counter(console):
    status, out = console.run("cat /tmp/counter")
    return int(out) if status == 0 and out.isdigit() else -1

def counter_above(console, past):
    """The guest's counter once it is above past (polled, 60 s at most: a guest on a slow or
    loaded host may count later than the host expects); the last value read otherwise."""
    end = time.monotonic() + 60
    while True:
        value = counter(console)
        if value > past or time.monotonic() > end:
            return value
        time.sleep(0.5)

def adb_cnxn(tag):
    """CONNECT to guest port 5555 through the vsock socket and send an adb CNXN: the first
    4 bytes guest adbd answers (CNXN or AUTH), or what went wrong."""
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(60)
    try:
        s.connect(os.path.join(work, tag + ".vsock"))
        s.sendall(b"CONNECT 5555\n")
        line = b""
        while not line.endswith(b"\n"):
            data = s.recv(1)
            if not data:
                return "closed before OK"
            line += data
        if not line.startswith(b"OK"):
            return "answer " + line.decode(errors="replace").strip()
        payload = b"host::\0"
        cmd = 0x4E584E43  # CNXN
        s.sendall(struct.pack("<6I", cmd, 0x01000001, 256 * 1024, len(payload), sum(payload), cmd ^ 0xFFFFFFFF) + payload)
        reply = b""
        while len(reply) < 4:
            data = s.recv(24)
            if not data:
                return "closed after CNXN"
            reply += data
        return reply[:4].decode(errors="replace")
    except OSError as e:
        return str(e)
    finally:
        s.close()

deadline = time.monotonic() + limit
marker = "VIRTUAL_DEVICE_BOOT_COMPLETED"
c1 = Console()
p1 = start("boot", c1, ["--kernel", os.path.join(guest, "vmlinux"), "--initrd", os.path.join(guest, "initramfs.cpio"),
                        "--cmdline", "console=ttyS0 console=hvc0 panic=-1 sepia.shell=hvc0"])
if not tap(c1.wait_for(marker, deadline), "the reference guest boots with its shell on hvc0"):
    p1.kill()
    print("1..%d" % n)
    sys.exit(1)
ram_token = "ram-%016x" % random.getrandbits(64)
disk_token = "disk-%016x" % random.getrandbits(64)
status, _ = c1.run("stty -echo; echo %s > /tmp/ram-file && printf %%-512s %s > /tmp/d && "
                   "dd if=/tmp/d of=/dev/vda bs=512 seek=8 conv=notrunc,fsync 2>/dev/null" % (ram_token, disk_token))
tap(status == 0, "the guest writes a token to /tmp and one to its disk")
c1.run("(i=0; while :; do i=$((i+1)); echo $i > /tmp/counter.new; mv /tmp/counter.new /tmp/counter; sleep 1; done) "
       ">/dev/null 2>&1 &")
before = counter_above(c1, 0)
tap(before > 0, "the guest's counter counts (%d)" % before)
def guest_skew(console):
    """How far the guest's wall clock is behind the host's, in s (None: no answer)."""
    status, out = console.run("date +%s")
    host_now = time.time()
    return host_now - int(out) if status == 0 and out.isdigit() else None
# The guest's own lag before the snapshot (a boot on a loaded host may leave it behind):
# after the restore it must not have grown by the time the snapshot lay on disk.
skew_before = guest_skew(c1)
snap = os.path.join(work, "snap")
answer = api("boot", "snapshot " + snap)
tap(answer == "ok snapshot " + snap, "snapshot is answered: " + answer)
status, _ = c1.run("echo later > /tmp/after-snapshot && printf %-512s overwritten-after-snapshot > /tmp/d && "
                   "dd if=/tmp/d of=/dev/vda bs=512 seek=8 conv=notrunc,fsync 2>/dev/null")
tap(status == 0, "the guest runs on after the snapshot and changes /tmp and its disk")
at_kill = counter(c1)
p1.send_signal(signal.SIGKILL)
p1.wait()
gap = 6  # s on disk at least, so that a clock that did not skip them is seen
time.sleep(gap)
for name in ("state.sepia", "memory.bin", "disk0"):
    tap(os.path.exists(os.path.join(snap, name)), "the snapshot holds " + name)

c2 = Console()
p2 = start("restore", c2, ["--restore", snap])
status, out = c2.run("cat /tmp/ram-file")
tap(status == 0 and out == ram_token, "the restored guest's shell answers on the new console, /tmp intact (%s)" % out)
status, _ = c2.run("test -e /tmp/after-snapshot")
tap(status == 1, "what the guest wrote after the snapshot is not there (status %s)" % status)
status, out = c2.run("dd if=/dev/vda bs=512 skip=8 count=1 iflag=direct 2>/dev/null | tr -d ' '")
tap(out == disk_token, "the disk reads back the snapshot's token with O_DIRECT (%s)" % out[:40])
first = counter(c2)
later = counter_above(c2, first)
tap(first >= before and later > first,
    "the counter goes on: %d at the snapshot, %d then %d after the restore (%d at the kill)" % (before, first, later, at_kill))
got = adb_cnxn("restore")
tap(got in ("CNXN", "AUTH"), "guest adbd answers over virtio-vsock after the restore (%s)" % got)
skew = guest_skew(c2)
grew = skew - skew_before if skew is not None and skew_before is not None else None
tap(grew is not None and grew < gap / 2,
    "the guest's wall clock skipped the %d+ s the snapshot lay on disk (behind the host by %s s before "
    "the snapshot, %s s after the restore)" % (gap, "%.1f" % skew_before if skew_before is not None else "?",
                                               "%.1f" % skew if skew is not None else "?"))
err = open(os.path.join(work, "restore.vmm")).read()
tap("first guest instruction" in err and "TRANSPORT_RESET" in err,
    "sepia-vmm logs the restore time and the vsock transport reset")
p2.send_signal(signal.SIGTERM)
try:
    st = p2.wait(timeout=limit)
except subprocess.TimeoutExpired:
    p2.kill()
    st = "timeout"
tap(st == 0, "the restored sepia-vmm stops on SIGTERM (status %s)" % st)
raw = os.path.join(work, "overlay.raw")
subprocess.run(["qemu-img", "convert", "-O", "raw", os.path.join(work, "overlay.qcow2"), raw], check=True)
with open(raw, "rb") as f:
    f.seek(8 * 512)
    on_disk = f.read(len(disk_token)).decode(errors="replace")
tap(on_disk == disk_token, "the overlay on the host holds the snapshot's token (%s)" % on_disk)

bad = os.path.join(work, "bad")
os.makedirs(bad)
state = bytearray(open(os.path.join(snap, "state.sepia"), "rb").read())
state[len(state) // 3] ^= 0x01
open(os.path.join(bad, "state.sepia"), "wb").write(state)
for name in ("memory.bin", "disk0"):
    os.link(os.path.join(snap, name), os.path.join(bad, name))
c3 = Console()
p3 = start("bad", c3, ["--restore", bad])
st = p3.wait(timeout=limit)
err = open(os.path.join(work, "bad.vmm")).read()
tap(st == 1 and os.path.join(bad, "state.sepia") in err and "corrupt" in err,
    "a state file with a byte changed is refused, naming it (status %s): %s" % (st, err.strip().splitlines()[-1:]))
print("1..%d" % n)
sys.exit(1 if failed else 0)
PY
python3 "$work/driver.py" "$work" "$vmm" "$guest" "$limit"
status=$?
if [ $status -ne 0 ]; then
	for f in "$work"/*.vmm; do echo "# --- $f"; tail -25 "$f" | sed 's/^/# /'; done
	for f in "$work"/*.serial; do echo "# --- $f"; tail -15 "$f" | sed 's/^/# /'; done
fi
exit $status
