"""Host side of tests/e2e/virtio-net.sh and bench/net.sh, run inside the test's network
namespace: a few one-shot TCP services on 192.168.98.1 for the guest.

  5001  receives UP_BYTES bytes, writes their sha256 to DIR/up.sha256
  5002  HTTP: answers any GET with DOWN_BYTES random bytes, their sha256 in DIR/down.sha256
  5003  receives BENCH_BYTES bytes, writes "bytes seconds vmm_cpu_seconds" to DIR/bench.txt
        (CPU: utime + stime of the pid in DIR/vmm.pid, read at accept and after the last byte)
  5004  HTTP: serves DIR/NAME for GET /NAME (the guest's script, and files that say "go");
        a missing file gets 404

usage: net-server.py DIR UP_BYTES DOWN_BYTES BENCH_BYTES
"""
import hashlib, os, socket, sys, threading, time

work, up_bytes, down_bytes, bench_bytes = sys.argv[1], *map(int, sys.argv[2:5])
HOST = "192.168.98.1"


def listener(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((HOST, port))
    s.listen(4)
    return s


def write(name, text):
    with open(os.path.join(work, name + ".tmp"), "w") as f:
        f.write(text + "\n")
    os.rename(os.path.join(work, name + ".tmp"), os.path.join(work, name))


def receive(conn, size, on_first=None):
    digest, got = hashlib.sha256(), 0
    while got < size:
        data = conn.recv(min(1 << 20, size - got))
        if not data:
            break
        if got == 0 and on_first:
            on_first()
        digest.update(data)
        got += len(data)
    return digest.hexdigest(), got


def read_request(conn):
    buf = b""
    while b"\r\n\r\n" not in buf:
        data = conn.recv(4096)
        if not data:
            break
        buf += data
    parts = buf.split(b" ", 2)
    return parts[1].decode(errors="replace") if len(parts) > 2 else "/"


def http_send(conn, body, path=None):
    if path is None:
        read_request(conn)
    if body is None:
        conn.sendall(b"HTTP/1.0 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        return
    conn.sendall(b"HTTP/1.0 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n" % len(body))
    conn.sendall(body)


def vmm_cpu():
    try:
        with open(os.path.join(work, "vmm.pid")) as f:
            pid = f.read().strip()
        with open("/proc/%s/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return float("nan")


def serve_up(s):
    conn, _ = s.accept()
    sha, got = receive(conn, up_bytes)
    conn.close()
    write("up.sha256", "%s %d" % (sha, got))


def serve_down(s):
    body = os.urandom(down_bytes)
    write("down.sha256", hashlib.sha256(body).hexdigest())
    conn, _ = s.accept()
    http_send(conn, body)
    conn.close()


def serve_bench(s):
    conn, _ = s.accept()
    start = {}

    def first():
        start["t"], start["cpu"] = time.monotonic(), vmm_cpu()

    _, got = receive(conn, bench_bytes, first)
    end_t, end_cpu = time.monotonic(), vmm_cpu()
    conn.close()
    write("bench.txt", "%d %.3f %.2f" % (got, end_t - start.get("t", end_t), end_cpu - start.get("cpu", end_cpu)))


def serve_script(s):
    while True:
        conn, _ = s.accept()
        path = read_request(conn)
        try:
            with open(os.path.join(work, os.path.basename(path)), "rb") as f:
                body = f.read()
        except OSError:
            body = None
        http_send(conn, body, path)
        conn.close()


services = [(5001, serve_up), (5002, serve_down), (5003, serve_bench), (5004, serve_script)]
sockets = [(listener(port), fn) for port, fn in services]
write("server.ready", "ok")
threads = [threading.Thread(target=fn, args=(s,), daemon=True) for s, fn in sockets]
for t in threads:
    t.start()
for t in threads[:3]:
    t.join()
write("server.done", "ok")
# The script service stays until the test kills the server.
threads[3].join()
