#!/usr/bin/env python3
"""Learns sepia-vmm's system calls per thread role from strace, and says which ones the
allowlists in devices/sandbox/syscalls.c do not cover.

Run sepia-vmm under strace with the filters in log mode (so nothing stops it), then read
the trace:

    strace -f -qq -o trace.txt sepia-vmm --seccomp=log ARGS...
    devices/sandbox/learn-syscalls.py trace.txt [trace2.txt ...]

Several traces (every test that boots sepia-vmm) add up. Only what a thread does after the
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


def learn(trace, seen, seen_ioctl):
    main = None
    locked = False
    names = {}
    entered = set()
    for line in open(trace, errors="replace"):
        m = LINE.match(line)
        if not m:
            continue
        tid = int(m.group(1))
        if main is None:
            main = tid
        call = m.group(3)
        if not call:  # "<... x resumed>": counted where it started
            continue
        rest = m.group(4)
        if call == "prctl":
            n = NAME.search(rest)
            if n:
                names[tid] = n.group(1)
        if call == "seccomp" and rest.startswith("SECCOMP_SET_MODE_FILTER"):
            # libseccomp's own probe, SECCOMP_FILTER_FLAG_TSYNC_ESRCH with no filter, is not it.
            if "FLAG_TSYNC, {" in rest and tid == main and not locked:
                locked = True
                continue
            if locked and ", 0," in rest:
                entered.add(tid)
                continue
        if not locked:
            continue
        role = role_of_name(names.get(tid), tid == main) if tid in entered else "any"
        seen[role][call] += 1
        if call == "ioctl":
            req = rest.split(",")[1].strip() if "," in rest else "?"
            seen_ioctl[role][req] += 1
    return locked


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
