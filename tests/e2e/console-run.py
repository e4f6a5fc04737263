#!/usr/bin/env python3
"""Runs one shell command in a sepia guest through its console pty (launch_cvd --console) and
prints what the command printed. Usage: console-run.py PTY TIMEOUT_S COMMAND
The command's stdin is /dev/null: a command that would read (head with a missing file
name, say) must not swallow the lines sent after it.
Exit status: the command's own, or 124 when no answer came in time."""
import os
import select
import sys
import termios
import time
import uuid


def main():
    pty, timeout, command = sys.argv[1], float(sys.argv[2]), sys.argv[3]
    fd = os.open(pty, os.O_RDWR | os.O_NOCTTY)
    attrs = termios.tcgetattr(fd)
    attrs[3] &= ~(termios.ECHO | termios.ICANON)  # the guest shell echoes for itself
    termios.tcsetattr(fd, termios.TCSANOW, attrs)
    tag = uuid.uuid4().hex[:12]
    # The markers are built by the guest's shell, so the echoed command line never matches them.
    line = "%s; echo BEGIN-%s; ( %s ) </dev/null; echo END-%s-$?-\n" % ("stty -echo 2>/dev/null", tag, command, tag)
    os.write(fd, line.replace("BEGIN-%s" % tag, "BEG''IN-%s" % tag, 1).replace("END-%s" % tag, "EN''D-%s" % tag, 1).encode())
    deadline = time.monotonic() + timeout
    out = b""
    while time.monotonic() < deadline:
        r, _, _ = select.select([fd], [], [], 0.5)
        if r:
            out += os.read(fd, 65536)
            text = out.decode(errors="replace")
            end = text.find("END-%s-" % tag)
            if end >= 0 and text.find("-", end + len(tag) + 5) >= 0:
                begin = text.find("BEGIN-%s" % tag)
                body = text[begin + len(tag) + 6:end] if begin >= 0 else ""
                sys.stdout.write(body.replace("\r", "").lstrip("\n"))
                status = text[end + len(tag) + 5:].split("-")[0]
                return int(status) if status.isdigit() else 1
    sys.stderr.write("console-run: no answer from %s in %.0f s; got: %r\n" % (pty, timeout, out[-400:]))
    return 124


if __name__ == "__main__":
    sys.exit(main())
