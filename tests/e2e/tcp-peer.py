#!/usr/bin/env python3
"""The host's end of the adb forward and adb reverse checks: one line each way over TCP.
  tcp-peer.py connect PORT LINE   connects to 127.0.0.1:PORT (again, for up to 30 s, while
                                  nobody answers), sends LINE, prints the first line it gets
  tcp-peer.py serve PORTFILE LINE listens on a port of 127.0.0.1 the kernel picks, writes it
                                  to PORTFILE, takes one connection (for up to 60 s), prints
                                  the first line it gets and answers LINE
Exit status 0 once a line came back, 1 otherwise."""
import socket
import sys
import time


def read_line(s):
    data = b""
    while b"\n" not in data:
        chunk = s.recv(4096)
        if not chunk:
            break
        data += chunk
    return data.split(b"\n")[0].decode(errors="replace")


def connect(port, line):
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), 5) as s:
                s.settimeout(15)
                s.sendall(line.encode() + b"\n")
                got = read_line(s)
                if got:
                    print(got)
                    return 0
        except OSError:
            pass
        time.sleep(0.3)
    return 1


def serve(port_file, line):
    with socket.socket() as srv:
        srv.bind(("127.0.0.1", 0))
        srv.listen(1)
        srv.settimeout(60)
        with open(port_file, "w") as f:
            f.write("%d\n" % srv.getsockname()[1])
        try:
            conn, _ = srv.accept()
        except OSError:
            return 1
        with conn:
            conn.settimeout(15)
            got = read_line(conn)
            conn.sendall(line.encode() + b"\n")
            print(got)
            return 0 if got else 1


if __name__ == "__main__":
    if len(sys.argv) != 4 or sys.argv[1] not in ("connect", "serve"):
        sys.exit(__doc__)
    if sys.argv[1] == "connect":
        sys.exit(connect(int(sys.argv[2]), sys.argv[3]))
    sys.exit(serve(sys.argv[2], sys.argv[3]))
