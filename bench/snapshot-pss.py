#!/usr/bin/env python3
"""Host memory of many guests at once, for bench/snapshot-pss.sh.
Usage: snapshot-pss.py MODE COUNT WORK VMM GUEST_DIR TIMEOUT_S
  restore  COUNT sepia-vmm --restore WORK/snap, each on its own overlay copy, ready when the
           restored guest's shell answers a command on hvc0
  cold     COUNT cold boots of the reference guest, ready at VIRTUAL_DEVICE_BOOT_COMPLETED
All COUNT VMMs start together. Once every one is ready (or the time is up), each process's
Pss, Rss and Private_Dirty are read from /proc/PID/smaps_rollup while all of them still run,
then all are killed. Prints one line per instance and a summary line:
  MODE summary count=N ready=N pss_median_kib=.. pss_total_kib=.. rss_median_kib=.. ready_s=..
Exit 0 when every guest got ready, 1 otherwise."""
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time

mode, count, work = sys.argv[1], int(sys.argv[2]), sys.argv[3]
vmm, guest, limit = sys.argv[4], sys.argv[5], float(sys.argv[6])
snap = os.path.join(work, "snap")
want = b"READY-42" if mode == "restore" else b"VIRTUAL_DEVICE_BOOT_COMPLETED"


class Guest:
    def __init__(self, n):
        tag = "%s%d" % (mode, n)
        disk = os.path.join(work, tag + ".qcow2")
        # Each guest needs its own writable overlay: a restore copies the snapshot's disk0
        # over it, a cold boot uses a fresh one over the same base.
        shutil.copyfile(os.path.join(work, "overlay.qcow2"), disk)
        self.sock, theirs = socket.socketpair()
        args = [vmm, "--cpus", "2", "--mem", "512", "--serial", "file:" + os.path.join(work, tag + ".serial"),
                "--console", "fd:3", "--disk", disk,
                # The CID is the snapshot's: each VMM's vsock is its own user-space device.
                "--vsock", "cid=3,socket=" + os.path.join(work, tag + ".vsock")]
        if mode == "restore":
            args += ["--restore", snap]
        else:
            args += ["--kernel", os.path.join(guest, "vmlinux"), "--initrd", os.path.join(guest, "initramfs.cpio"),
                     "--cmdline", "console=ttyS0 console=hvc0 panic=-1 sepia.shell=hvc0"]
        self.proc = subprocess.Popen(args, pass_fds=(3,), preexec_fn=lambda: os.dup2(theirs.fileno(), 3),
                                     stdin=subprocess.DEVNULL, stderr=open(os.path.join(work, tag + ".vmm"), "w"))
        theirs.close()
        self.sock.setblocking(False)
        self.seen = b""
        self.ready_s = None
        if mode == "restore":
            # The shell builds the answer, so the echoed command line never matches it.
            self.sock.sendall(b"echo READY-''$((40+2))\n")

    def poll(self, t0):
        try:
            data = self.sock.recv(65536)
            self.seen = (self.seen + data)[-65536:]
        except BlockingIOError:
            pass
        except OSError:  # the VMM ended; its exit is seen below
            return
        if self.ready_s is None and want in self.seen:
            self.ready_s = time.monotonic() - t0

    def memory(self):
        fields = {}
        with open("/proc/%d/smaps_rollup" % self.proc.pid) as f:
            for line in f:
                parts = line.split()
                if len(parts) == 3 and parts[2] == "kB":
                    fields[parts[0].rstrip(":")] = int(parts[1])
        return fields


t0 = time.monotonic()
guests = [Guest(n) for n in range(count)]
while time.monotonic() - t0 < limit:
    for g in guests:
        if g.ready_s is None and g.proc.poll() is None:
            g.poll(t0)
    if all(g.ready_s is not None or g.proc.poll() is not None for g in guests):
        break
    time.sleep(0.05)
ready = [g for g in guests if g.ready_s is not None]
mem = [g.memory() if g.proc.poll() is None else {} for g in guests]
for g in guests:
    if g.proc.poll() is None:
        g.proc.send_signal(signal.SIGKILL)
    g.proc.wait()
for n, (g, m) in enumerate(zip(guests, mem)):
    print("%s %d ready_s=%s pss_kib=%s rss_kib=%s private_dirty_kib=%s" % (
        mode, n, "%.3f" % g.ready_s if g.ready_s is not None else "FAILED",
        m.get("Pss", "n/a"), m.get("Rss", "n/a"), m.get("Private_Dirty", "n/a")))
pss = [m["Pss"] for m in mem if "Pss" in m]
rss = [m["Rss"] for m in mem if "Rss" in m]
print("%s summary count=%d ready=%d pss_median_kib=%d pss_total_kib=%d rss_median_kib=%d ready_s=%.3f" % (
    mode, count, len(ready), statistics.median(pss) if pss else 0, sum(pss),
    statistics.median(rss) if rss else 0, max((g.ready_s for g in ready), default=0)))
sys.exit(0 if len(ready) == count else 1)
