#!/usr/bin/env python3
"""One run of bench/snapshot.sh: starts sepia-vmm on the reference guest and ends it (SIGKILL)
once the guest is ready, so that a whole-process timer (farm-bench) measures start-to-ready.
Usage: snapshot-ready.py MODE WORK VMM GUEST_DIR TIMEOUT_S
  take     a cold boot to the boot marker, then "snapshot WORK/snap" on the API socket
  cold     a cold boot, ready when the guest's init prints VIRTUAL_DEVICE_BOOT_COMPLETED on hvc0
  restore  sepia-vmm --restore WORK/snap, ready when the guest's shell answers a command on hvc0
Each run appends one line to WORK/results: MODE, its own start-to-ready seconds, and for
restore the VMM's logged time to the first guest instruction; take adds the snapshot's time
and sizes. Exit 0 when the guest got ready, 1 otherwise."""
import os
import re
import signal
import socket
import subprocess
import sys
import time

mode, work, vmm, guest, limit = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], float(sys.argv[5])
snap = os.path.join(work, "snap")
ours, theirs = socket.socketpair()
args = [vmm, "--cpus", "2", "--mem", "512", "--serial", "file:" + os.path.join(work, mode + ".serial"),
        "--console", "fd:3", "--disk", os.path.join(work, "overlay.qcow2"),
        "--vsock", "cid=3,socket=" + os.path.join(work, mode + ".vsock"),
        "--api-socket", os.path.join(work, mode + ".api")]
if mode == "restore":
    args += ["--restore", snap]
else:
    args += ["--kernel", os.path.join(guest, "vmlinux"), "--initrd", os.path.join(guest, "initramfs.cpio"),
             "--cmdline", "console=ttyS0 console=hvc0 panic=-1 sepia.shell=hvc0"]
err_path = os.path.join(work, mode + ".vmm")
t0 = time.monotonic()
p = subprocess.Popen(args, pass_fds=(3,), preexec_fn=lambda: os.dup2(theirs.fileno(), 3),
                     stdin=subprocess.DEVNULL, stderr=open(err_path, "w"))
theirs.close()
ours.settimeout(0.05)
seen = b""


def wait_for(text):
    global seen
    deadline = t0 + limit
    while time.monotonic() < deadline and p.poll() is None:
        try:
            data = ours.recv(65536)
            if not data:
                return False
            seen += data
        except socket.timeout:
            pass
        if text in seen:
            return True
    return False


if mode == "restore":
    # The shell builds the answer, so the echoed command line never matches it.
    ours.sendall(b"echo READY-''$((40+2))\n")
    ok = wait_for(b"READY-42")
else:
    ok = wait_for(b"VIRTUAL_DEVICE_BOOT_COMPLETED")
ready = time.monotonic() - t0
line = "%s ready_s=%.3f" % (mode, ready)
if ok and mode == "take":
    c = socket.socket(socket.AF_UNIX)
    c.connect(os.path.join(work, mode + ".api"))
    # As run_cvd does: a sandboxed VMM opens no path, so its files are made here and passed
    # (state, memory, the disk), then renamed after the answer.
    files = ("state.sepia", "memory.bin", "disk0")
    os.makedirs(snap, exist_ok=True)
    t1 = time.monotonic()
    fds = [os.open(os.path.join(snap, n + ".tmp"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600) for n in files]
    socket.send_fds(c, [("snapshot %s\n" % snap).encode()], fds)
    answer = c.makefile().readline().strip()
    for fd in fds:
        os.close(fd)
    for n in files[1:] + files[:1]:
        os.rename(os.path.join(snap, n + ".tmp"), os.path.join(snap, n))
    line += " snapshot_s=%.3f answer=%s" % (time.monotonic() - t1, answer.replace(" ", "_"))
    ok = answer.startswith("ok")
    for name in ("memory.bin", "state.sepia", "disk0"):
        st = os.stat(os.path.join(snap, name))
        line += " %s_bytes=%d %s_on_disk=%d" % (name, st.st_size, name, st.st_blocks * 512)
p.send_signal(signal.SIGKILL)
p.wait()
if mode == "restore":
    m = re.search(r"first guest instruction ([0-9.]+) ms", open(err_path).read())
    line += " first_instruction_ms=%s" % (m.group(1) if m else "n/a")
with open(os.path.join(work, "results"), "a") as f:
    f.write(line + ("" if ok else " FAILED") + "\n")
sys.exit(0 if ok else 1)
