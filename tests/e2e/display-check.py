"""Checks for the display tools' end-to-end tests (display-tools.sh, webview-chromium.sh).

  display-check.py pattern FILE.png W H SEED [X Y]  the W x H picture at X,Y (default 0,0; and
                                                    then the file must be exactly W x H) is
                                                    tests/e2e/fb-fill's pattern SEED
  display-check.py solid FILE.png X Y W H R G B      every pixel of that rectangle is R,G,B
  display-check.py get URL BODY_FILE [METHOD]       one request; prints "status NNN", the
                                                    headers as "name: value" (lower-case names)
                                                    and "length ok" when Content-Length matches
                                                    the body (HEAD: when the body is empty)
  display-check.py json URL KEY                     prints KEY of the JSON answer
  display-check.py pipeline HOST PORT PATH PATH     two requests sent at once on one connection;
                                                    prints the status line of each answer
  display-check.py raw HOST PORT TEXT               sends TEXT (\\r\\n escapes), prints the status line
  display-check.py parallel URL N                   N held polls at once plus one plain request,
                                                    which must be answered while they wait
  display-check.py free-port                        a free TCP port on 127.0.0.1
"""
import http.client
import json
import socket
import sys
import threading
import time
import urllib.parse


def pattern_pixel(x, y, seed):
    return ((3 * x + 50 * seed) % 256, (3 * y + 80 * seed) % 256, (2 * (x + y) + 110 * seed) % 256)


def check_pattern(path, w, h, seed, x0=None, y0=None):
    from PIL import Image
    im = Image.open(path)
    if im.mode != "RGB":
        im = im.convert("RGB")
    if x0 is None:
        x0 = y0 = 0
        if im.size != (w, h):
            print(f"{path}: {im.size[0]}x{im.size[1]}, want {w}x{h}")
            return 1
    px = im.load()
    bad = 0
    for y in range(h):
        for x in range(w):
            got, want = px[x0 + x, y0 + y], pattern_pixel(x, y, seed)
            if got != want:
                bad += 1
                if bad <= 5:
                    print(f"{path}: pixel {x},{y} (at {x0 + x},{y0 + y}) is {got}, pattern {seed} has {want}")
    if bad:
        print(f"{path}: {bad} of {w * h} pixels differ from pattern {seed}")
    return 1 if bad else 0


def check_solid(path, x0, y0, w, h, r, g, b):
    from PIL import Image
    im = Image.open(path).convert("RGB")
    px = im.load()
    bad = [(x, y, px[x, y]) for y in range(y0, y0 + h) for x in range(x0, x0 + w) if px[x, y] != (r, g, b)]
    for x, y, got in bad[:5]:
        print(f"{path}: pixel {x},{y} is {got}, want {(r, g, b)}")
    return 1 if bad else 0


def get(url, body_file, method="GET"):
    u = urllib.parse.urlsplit(url)
    c = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
    c.request(method, u.path + ("?" + u.query if u.query else ""))
    r = c.getresponse()
    body = r.read()
    with open(body_file, "wb") as f:
        f.write(body)
    print(f"status {r.status}")
    for k, v in r.getheaders():
        print(f"{k.lower()}: {v}")
    declared = r.getheader("Content-Length")
    if declared is not None and (int(declared) == len(body) if method != "HEAD" else not body):
        print("length ok")
    return 0


def status_lines(sock, count):
    """Reads count whole responses (they carry Content-Length) and returns their status lines."""
    data, lines = b"", []
    sock.settimeout(30)
    while len(lines) < count:
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(65536)
            if not chunk:
                return lines
            data += chunk
        head, data = data.split(b"\r\n\r\n", 1)
        fields = head.decode().split("\r\n")
        length = 0
        for f in fields[1:]:
            name, _, value = f.partition(":")
            if name.strip().lower() == "content-length":
                length = int(value)
        while len(data) < length:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
        data = data[length:]
        lines.append(fields[0])
    return lines


def pipeline(host, port, paths):
    s = socket.create_connection((host, int(port)))
    s.sendall(b"".join(f"GET {p} HTTP/1.1\r\nHost: {host}:{port}\r\n\r\n".encode() for p in paths))
    for line in status_lines(s, len(paths)):
        print(line)
    return 0


def raw(host, port, text):
    s = socket.create_connection((host, int(port)))
    s.sendall(text.encode().decode("unicode_escape").encode("latin-1"))
    for line in status_lines(s, 1):
        print(line)
    return 0


def parallel(url, n):
    """n polls that the server holds, then a plain request that must not wait for them: it is
    answered while they are still held (an order, not a duration: a loaded host slows both), and
    each held poll lasts its whole wait (a host's speed can only lengthen that)."""
    u = urllib.parse.urlsplit(url)
    info = fetch_json(u, u.path)
    wait_s = 5
    held = f"{u.path}?after={info['version']}&wait={wait_s * 1000}"
    done = []

    def hold():
        t = time.monotonic()
        fetch_json(u, held)
        done.append(time.monotonic() - t)

    threads = [threading.Thread(target=hold) for _ in range(n)]
    for t in threads:
        t.start()
    time.sleep(0.3)
    t0 = time.monotonic()
    fetch_json(u, u.path)
    plain = time.monotonic() - t0
    answered_before = len(done)
    for t in threads:
        t.join()
    print(f"plain request {plain:.3f} s while {n} polls were held ({answered_before} answered before it); "
          f"polls took {min(done):.2f}-{max(done):.2f} s of their {wait_s} s wait")
    return 0 if answered_before == 0 and len(done) == n and min(done) >= 0.9 * wait_s else 1


def fetch_json(u, target):
    c = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
    c.request("GET", target)
    return json.loads(c.getresponse().read())


def main(argv):
    cmd = argv[1]
    if cmd == "pattern":
        args = [int(a) for a in argv[3:]]
        return check_pattern(argv[2], *args)
    if cmd == "solid":
        return check_solid(argv[2], *[int(a) for a in argv[3:]])
    if cmd == "get":
        return get(argv[2], argv[3], *(argv[4:5]))
    if cmd == "json":
        u = urllib.parse.urlsplit(argv[2])
        value = fetch_json(u, u.path + ("?" + u.query if u.query else ""))[argv[3]]
        print(json.dumps(value) if isinstance(value, bool) else value)
        return 0
    if cmd == "pipeline":
        return pipeline(argv[2], argv[3], argv[4:])
    if cmd == "raw":
        return raw(argv[2], argv[3], argv[4])
    if cmd == "parallel":
        return parallel(argv[2], int(argv[3]))
    if cmd == "free-port":
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        print(s.getsockname()[1])
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
