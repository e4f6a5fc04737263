#!/usr/bin/env python3
"""Learns sepia-vmm's system calls per thread role from strace, and says which ones the
allowlists in devices/sandbox/syscalls.c do not cover.

Run a test (or sepia-vmm itself) under strace with the filters in log mode (so nothing
stops it), then read the trace; devices/sandbox/learn-syscalls.sh does both:

    SEPIA_VMM_SECCOMP=log strace -f -qq -o trace.txt sh tests/e2e/adb.sh
    devices/sandbox/learn-syscalls.py trace.txt [trace2.txt ...]

Only processes that executed a program named sepia-vmm, and their threads, count; several
traces (every test that boots sepia-vmm) add up. Only what a thread does after the
lock-down counts: the main thread's seccomp(..., SECCOMP_FILTER_FLAG_TSYNC, ...) starts
it, and a thread is in its role after its own seccomp(SECCOMP_SET_MODE_FILTER, 0, ...).
Roles come from the thread names (prctl PR_SET_NAME): the process's first thread is main,
"sepia-io" the I/O thread, "vcpuN" a vCPU, "sepia-gpu" the GPU thread; any other thread,
and every thread between the lock-down and its role, runs under the process-wide filter
("any"). Exit status 1 when a call is missing from a role's allowlist.
"""
import collections
import os
import re
import sys

LINE = re.compile(r"^(\d+)\s+(?:<\.\.\. (\w+) resumed>|(\w+)\()(.*)$")
NAME = re.compile(r'PR_SET_NAME, "([^"]*)"')
ROLE_BITS = {"M": "main", "I": "io", "V": "vcpu", "G": "gpu", "L": "any"}


def role_of_name(name, is_main):
    if is_main:
        return "main"
    if name == "sepia-io":
        return "io"
    if re.fullmatch(r"vcpu\d+", name or ""):
        return "vcpu"
    if name == "sepia-gpu":
        return "gpu"
    return "any"


def read_allowlists(path):
    """{role: set(syscalls)} and {role: set(ioctl names)} from syscalls.c's tables."""
    text = open(path).read()
    calls = collections.defaultdict(set)
    for name, roles in re.findall(r'\{ "(\w+)", ([A-Z_ |]+),', text):
        bits = set("MIVGL") if "ALL" in roles else set(re.findall(r"\b([MIVGL])\b", roles))
        for b in bits:
            calls[ROLE_BITS[b]].add(name)
    ioctls = collections.defaultdict(set)
    for name, roles in re.findall(r"\{ (\w+), ([A-Z_ |]+) \}", text):
        bits = set("MIVGL") if "ALL" in roles else set(re.findall(r"\b([MIVGL])\b", roles))
        for b in bits:
            ioctls[ROLE_BITS[b]].add(name)
    # The process-wide filter allows what any role allows.
    calls["any"] = set().union(*calls.values())
    ioctls["any"] = set().union(*ioctls.values())
    return calls, ioctls


class Vmm:
    """One sepia-vmm process of the trace: its leader (the main thread), its threads' names,
    whether it has locked down, and which threads have entered their role."""

    def __init__(self, leader):
        self.leader = leader
        self.locked = False
        self.names = {}
        self.entered = set()


CLONE_RESULT = re.compile(r"\)\s+=\s+(\d+)")


def learn(trace, seen, seen_ioctl):
    """Adds up what the sepia-vmm processes of one strace -f trace called after their
    lock-down. The trace may hold a whole test (strace -f around a test script): only the
    processes that executed a program named sepia-vmm, and their threads, count."""
    proc = {}  # tid -> Vmm for the threads of sepia-vmm processes
    pending = {}  # tid -> (call, text so far) of an <unfinished ...> call
    any_locked = False
    for line in open(trace, errors="replace"):
        m = LINE.match(line)
        if not m:
            continue
        tid = int(m.group(1))
        resumed, call, rest = m.group(2), m.group(3), m.group(4)
        if resumed:
            first = pending.pop(tid, None)
            if not first or first[0] != resumed:
                continue
            call, rest, counted = resumed, first[1] + rest, True
        else:
            counted = False
            if rest.endswith("<unfinished ...>"):
                pending[tid] = (call, rest[: -len("<unfinished ...>")])
        done = CLONE_RESULT.search(rest) if "<unfinished" not in rest else None
        # A new process image: sepia-vmm starts here (its pid is its main thread's tid).
        if call == "execve" and done:
            path = rest.split('"')[1] if '"' in rest else ""
            if path.endswith("/sepia-vmm") or path == "sepia-vmm":
                proc[tid] = Vmm(tid)
            else:
                proc.pop(tid, None)
            continue
        vmm = proc.get(tid)
        # Threads of a sepia-vmm process are its own; a new process (fork) is not it.
        if call in ("clone", "clone3") and done and vmm:
            child = int(done.group(1))
            if "CLONE_THREAD" in rest:
                proc[child] = vmm
            else:
                proc.pop(child, None)
        if not vmm or counted:
            continue
        if call == "prctl":
            n = NAME.search(rest)
            if n:
                vmm.names[tid] = n.group(1)
        if call == "seccomp" and rest.startswith("SECCOMP_SET_MODE_FILTER"):
            # libseccomp's own probe, SECCOMP_FILTER_FLAG_TSYNC_ESRCH with no filter, is not it.
            if "FLAG_TSYNC, {" in rest and tid == vmm.leader and not vmm.locked:
                vmm.locked = any_locked = True
                continue
            if vmm.locked and ", 0," in rest:
                vmm.entered.add(tid)
                continue
        if not vmm.locked:
            continue
        role = role_of_name(vmm.names.get(tid), tid == vmm.leader) if tid in vmm.entered else "any"
        seen[role][call] += 1
        if call == "ioctl":
            req = rest.split(",")[1].strip() if "," in rest else "?"
            seen_ioctl[role][req] += 1
    return any_locked


def main():
    if len(sys.argv) < 2 or sys.argv[1] in ("-h", "--help"):
        print(__doc__)
        return 2
    here = os.path.dirname(os.path.abspath(__file__))
    allowed, allowed_ioctl = read_allowlists(os.path.join(here, "syscalls.c"))
    seen = collections.defaultdict(collections.Counter)
    seen_ioctl = collections.defaultdict(collections.Counter)
    for trace in sys.argv[1:]:
        if not learn(trace, seen, seen_ioctl):
            print(f"{trace}: no lock-down in this trace (was sepia-vmm run with --sandbox=off?)")
    missing = False
    for role in ("main", "io", "vcpu", "gpu", "any"):
        if role not in seen:
            continue
        print(f"{role}:")
        for call, count in sorted(seen[role].items()):
            # clone3 is answered ENOSYS wherever clone is allowed (glibc then uses clone).
            known = call in allowed[role] or (call == "clone3" and "clone" in allowed[role])
            flag = "" if known else "   <- not in the allowlist"
            missing |= bool(flag)
            print(f"  {call:24} {count}{flag}")
        for req, count in sorted(seen_ioctl[role].items()):
            known = req in allowed_ioctl[role] or not req.isidentifier()
            flag = "" if known else "   <- ioctl request not in the list"
            missing |= bool(flag)
            print(f"    ioctl {req:30} {count}{flag}")
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
