"""Hostile and ordinary clients for tests/e2e/webview-guard.sh (sepia-webview's guards).

  webview-guard.py status PORT HOST_HEADER PATH   one GET from 127.0.0.1 with that Host header
                                                  ("-" for none); prints the status code
  webview-guard.py bound PORT PATH N              N connections from 127.0.0.2 that the server
                                                  holds (PATH is a long poll), then one more from
                                                  127.0.0.2 and one from 127.0.0.1 while they
                                                  are held; prints "extra: STATUS" and
                                                  "other: STATUS", then, once the held ones were
                                                  answered, "after: STATUS" for 127.0.0.2 again
  webview-guard.py silent PORT SRC [TEXT]         connects from SRC, sends TEXT (\\r\\n escapes;
                                                  default nothing) and waits up to 120 s for the
                                                  server to close; prints "closed" and the status
                                                  line it got, if any, or "open"
"""
import socket
import sys
import threading


def connect(port, src):
    s = socket.socket()
    s.bind((src, 0))
    s.connect(("127.0.0.1", int(port)))
    return s


def request(path, host):
    head = f"GET {path} HTTP/1.1\r\n"
    if host != "-":
        head += f"Host: {host}\r\n"
    return (head + "Connection: close\r\n\r\n").encode()


def read_status(s, timeout=60):
    """The status code of the answer (the whole answer is read), or 0 when the server closed
    without one."""
    s.settimeout(timeout)
    data = b""
    while True:
        try:
            chunk = s.recv(65536)
        except (ConnectionResetError, socket.timeout):
            break
        if not chunk:
            break
        data += chunk
    line = data.split(b"\r\n", 1)[0].decode("latin-1")
    parts = line.split(" ")
    return int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0


def status(port, host, path, src="127.0.0.1"):
    s = connect(port, src)
    s.sendall(request(path, host))
    code = read_status(s)
    s.close()
    return code


def bound(port, path, n):
    held = []
    for _ in range(n):
        s = connect(port, "127.0.0.2")
        s.sendall(request(path, "127.0.0.1"))
        held.append(s)
    # The server counts a connection when it accepts it, in the order they came: the held ones
    # were accepted before this one (its connect completed after theirs).
    print(f"extra: {status(port, '127.0.0.1', '/display0/frames', '127.0.0.2')}")
    print(f"other: {status(port, '127.0.0.1', '/display0/frames', '127.0.0.1')}")
    sys.stdout.flush()
    codes = []
    threads = [threading.Thread(target=lambda s=s: codes.append(read_status(s))) for s in held]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print(f"held: {' '.join(str(c) for c in sorted(codes))}")
    print(f"after: {status(port, '127.0.0.1', '/display0/frames', '127.0.0.2')}")
    return 0


def silent(port, src, text=""):
    s = connect(port, src)
    if text:
        s.sendall(text.encode().decode("unicode_escape").encode("latin-1"))
    s.settimeout(120)
    data = b""
    try:
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    except socket.timeout:
        print("open")
        return 0
    except ConnectionResetError:
        pass
    print("closed")
    if data:
        print(data.split(b"\r\n", 1)[0].decode("latin-1"))
    return 0


def main(argv):
    if argv[1] == "status":
        print(status(argv[2], argv[3], argv[4]))
        return 0
    if argv[1] == "bound":
        return bound(argv[2], argv[3], int(argv[4]))
    if argv[1] == "silent":
        return silent(argv[2], argv[3], *(argv[4:5]))
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
