#!/bin/sh
# guest-kit: snapshot and restore under sepia-vmm (the snapshot payload, tests/guest/snapshot.c).
#   1. The payload counts LAPIC timer ticks; after a few, the API socket pauses the VM (no
#      tick is printed while paused), takes a snapshot, resumes it (ticks go on) and the
#      VMM is stopped. The writable disk is then overwritten on the host.
#   2. A new sepia-vmm --restore's the snapshot: the count goes on past where it was, never
#      from 1 again, the payload's own checks (RAM pattern, TSC) pass, it exits with 33,
#      and the disk holds again what it held at the snapshot.
#      Both run in the sandbox (the default): its VMM opens no path, so a snapshot to a path
#      is refused, saying so, and the driver creates the files and passes their descriptors
#      with the command (as run_cvd does), renaming them after the answer.
#   3. A corrupt state file, a machine with other --mem and a missing snapshot are refused
#      with status 1 and a message saying why; nothing crashes, and a corrupt snapshot does
#      not copy its disk over the VM's.
set -u
here=$(cd "$(dirname "$0")" && pwd)
top_builddir=${top_builddir:-$here/../..}
vmm=${SEPIA_VMM:-$top_builddir/sepia-vmm}
elf=$top_builddir/tests/guest/snapshot.elf
limit=${GUESTKIT_TIMEOUT:-120}

skip() { echo "1..0 # SKIP $1"; exit 77; }
[ -e /dev/kvm ] || skip "/dev/kvm is missing"
{ [ -r /dev/kvm ] && [ -w /dev/kvm ]; } || skip "/dev/kvm is not readable and writable"
[ -x "$vmm" ] || skip "no sepia-vmm binary at $vmm"
[ -r "$elf" ] || skip "no payload at $elf (make check builds it)"
command -v python3 >/dev/null 2>&1 || skip "python3 not found"

work=$(mktemp -d /tmp/sepia-snapshot.XXXXXX)
trap 'rm -rf "$work"' EXIT

cat > "$work/driver.py" <<'PY'
import os, re, signal, socket, subprocess, sys, time

work, vmm, elf, limit = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
n = failed = 0
def tap(ok, what):
    global n, failed
    n += 1
    failed += 0 if ok else 1
    print(("ok" if ok else "not ok") + " %d - %s" % (n, what), flush=True)
    return ok

def ticks(path):
    try:
        return [int(m) for m in re.findall(r"^tick (\d+)$", open(path).read(), re.M)]
    except FileNotFoundError:
        return []

def wait_for(pred, what):
    end = time.monotonic() + limit
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(0.05)
    print("# timed out waiting for " + what, flush=True)
    return False

def common(serial):
    return ["--mem", "64", "--serial", "file:" + serial, "--debug-exit",
            "--console", "file:" + os.path.join(work, "console.log"),
            "--disk", os.path.join(work, "disk.img") + ",format=raw"]

disk = os.path.join(work, "disk.img")
open(disk, "wb").write(b"A" * 65536)
snap = os.path.join(work, "snap")

# 1. In the sandbox (the default): the snapshot and its restore. The VMM opens no path there,
#    so the snapshot's files are created here and passed with the command (as run_cvd does).
sock = os.path.join(work, "api.sock")
s1 = os.path.join(work, "serial1.log")
p1 = subprocess.Popen([vmm, "--kernel", elf, "--cmdline", "ticks=40", "--api-socket", sock]
                      + common(s1), stderr=open(os.path.join(work, "vmm1.err"), "w"))
tap(wait_for(lambda: len(ticks(s1)) >= 5, "tick 5"), "the payload counts timer ticks")
c = socket.socket(socket.AF_UNIX)
c.connect(sock)
f = c.makefile("rw")
def cmd(line, fds=()):
    if fds:
        socket.send_fds(c, [(line + "\n").encode()], list(fds))
    else:
        f.write(line + "\n"); f.flush()
    return f.readline().strip()
FILES = ("state.sepia", "memory.bin", "disk0")  # the order sepia-vmm takes them in
def snapshot(d):
    os.makedirs(d, exist_ok=True)
    fds = [os.open(os.path.join(d, n + ".tmp"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600) for n in FILES]
    answer = cmd("snapshot " + d, fds)
    for fd in fds:
        os.close(fd)
    for n in FILES[1:] + FILES[:1]:
        if answer.startswith("ok"):
            os.rename(os.path.join(d, n + ".tmp"), os.path.join(d, n))
        else:
            os.unlink(os.path.join(d, n + ".tmp"))
    return answer
tap(cmd("status") == "ok running", "status says running")
tap(cmd("pause") == "ok paused", "pause is answered 'ok paused'")
at_pause = ticks(s1)[-1]
time.sleep(0.5)
tap(ticks(s1)[-1] == at_pause, "no tick while paused (last tick %d)" % at_pause)
answer = cmd("snapshot " + snap)
tap(answer.startswith("error") and "descriptors" in answer,
    "in the sandbox, a snapshot to a path is refused, saying to pass descriptors: " + answer[:200])
tap(cmd("status") == "ok paused", "the VM runs on (still paused) after the refusal")
answer = snapshot(snap)
tap(answer == "ok snapshot " + snap, "a snapshot into passed descriptors is answered: " + answer)
tap(cmd("status") == "ok paused", "the VM stays paused after a snapshot taken while paused")
tap(cmd("resume") == "ok running", "resume is answered 'ok running'")
tap(wait_for(lambda: ticks(s1)[-1] > at_pause, "a tick after resume"), "ticks go on after resume")
tap(cmd("frobnicate").startswith("error unknown command"), "an unknown command is an error")
c.close()
p1.send_signal(signal.SIGTERM)
tap(p1.wait(timeout=limit) == 0, "the first sepia-vmm stops on SIGTERM")
for name in ("state.sepia", "memory.bin", "disk0"):
    tap(os.path.exists(os.path.join(snap, name)), "the snapshot holds " + name)
open(disk, "wb").write(b"B" * 65536)

s2 = os.path.join(work, "serial2.log")
p2 = subprocess.run([vmm, "--restore", snap] + common(s2), timeout=limit,
                    stderr=open(os.path.join(work, "vmm2.err"), "w"))
err2 = open(os.path.join(work, "vmm2.err")).read()
tap(p2.returncode == 33, "the restored payload passes (status %d, want 33)" % p2.returncode)
t2 = ticks(s2)
tap(t2 and t2[0] > at_pause, "the restored count goes on after %d (first tick %s)" % (at_pause, t2[:1]))
tap(t2 and t2[-1] >= 40, "the restored payload counts to the end")
out2 = open(s2).read()
tap("guest: ok the 1 MiB pattern" in out2, "guest RAM survived")
tap("guest: not ok" not in out2, "no failed check in the restored guest")
# Where the guest has kvm-clock, its date after the restore is the host's: the time between
# snapshot and restore was added (KVM_SET_CLOCK), not lost.
m = re.search(r"^kvm-clock date (\d+)", out2, re.M)
if m:
    d = int(time.time()) - int(m.group(1))
    tap(-2 <= d <= 10, "after the restore kvm-clock's date is the host's (host minus guest: %d s)" % d)
else:
    print("# no kvm-clock in this guest: " + (re.findall(r"guest: info (kvm-clock.*)", out2) or ["(nothing said)"])[0],
          flush=True)
tap(open(disk, "rb").read() == b"A" * 65536, "the disk is back as it was at the snapshot")
tap("first guest instruction" in err2, "the restore time is logged")

def refused(args, want, what):
    e = os.path.join(work, "refused.err")
    r = subprocess.run([vmm] + args, timeout=limit, stderr=open(e, "w"))
    msg = open(e).read()
    ok = r.returncode == 1 and want in msg
    if not ok:
        print("# status %d, stderr: %s" % (r.returncode, msg.strip()[-400:]), flush=True)
    return tap(ok, what)

state = open(os.path.join(snap, "state.sepia"), "rb").read()
bad = os.path.join(work, "bad")
os.makedirs(bad)
for name in ("memory.bin", "disk0"):
    os.link(os.path.join(snap, name), os.path.join(bad, name))
flipped = bytearray(state); flipped[len(state) // 2] ^= 0x40
open(os.path.join(bad, "state.sepia"), "wb").write(flipped)
open(disk, "wb").write(b"C" * 65536)
refused(["--restore", bad] + common(os.path.join(work, "s3.log")), "corrupt", "a corrupt state file is refused")
tap(open(disk, "rb").read() == b"C" * 65536, "a refused snapshot leaves the disk as it was (not copied back)")
open(os.path.join(bad, "state.sepia"), "wb").write(state[:100])
refused(["--restore", bad] + common(os.path.join(work, "s4.log")), "truncated", "a truncated state file is refused")
open(os.path.join(bad, "state.sepia"), "wb").write(state)
args = ["--restore", bad] + common(os.path.join(work, "s5.log"))
args[args.index("--mem") + 1] = "32"
refused(args, "RAM", "a snapshot of another --mem is refused")
args = ["--restore", bad] + common(os.path.join(work, "s6.log")) + ["--cpus", "2"]
refused(args, "another machine", "a snapshot of another --cpus is refused")
refused(["--restore", os.path.join(work, "none")] + common(os.path.join(work, "s7.log")), "none",
        "a missing snapshot is refused")
print("1..%d" % n)
sys.exit(1 if failed else 0)
PY
python3 "$work/driver.py" "$work" "$vmm" "$elf" "$limit"
status=$?
if [ $status -ne 0 ]; then
	for f in "$work"/vmm*.err; do echo "# --- $f"; sed 's/^/# /' "$f" | tail -20; done
fi
exit $status
