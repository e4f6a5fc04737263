"""sepia-webview's WebSocket /stream against a fake device (run by webview-stream.sh; TAP).

A display file written here as sepia-vmm writes it (display/framebuffer.h), and fake input
devices: unix sockets listening at input_touch_0.sock, input_keyboard.sock and
input_buttons.sock in the instance directory, as the VMM's input devices do. Checks that:
  - the handshake answers 101 with the RFC's Sec-WebSocket-Accept;
  - the page is told the display's size and gets the whole picture, then only the changed
    rectangle of a new frame (header and PNG pixels compared), and the instance's name/state;
  - input lines become exactly the virtio_input_event records of the wire format on the
    right socket (touch mapped to display pixels, keys, buttons), and a page that goes away
    with a finger down has it lifted;
  - hostile clients: an unmasked frame (1002), a 1 GiB frame header (1009 at once), a reserved
    opcode (1002), a binary message (1003); a handshake from another Origin (403), with another
    Host (403), cut short (408 after the head timeout), and the per-client bound (503).
Usage: webview-stream.py WEBVIEW   (needs python3 with PIL)"""
import base64
import hashlib
import io
import json
import os
import select
import socket
import struct
import subprocess
import sys
import tempfile
import time

from PIL import Image

WEBVIEW = sys.argv[1]
# A directory name that JSON must escape, and not ASCII (its name is the instance's here).
T = tempfile.mkdtemp(prefix='sepia-webview-stream "é\\.')
n = 0
fails = 0


def ok(cond, desc, detail=""):
    global n, fails
    n += 1
    if cond:
        print(f"ok {n} - {desc}")
    else:
        fails += 1
        print(f"not ok {n} - {desc}")
        for line in str(detail).splitlines():
            print(f"# {line}")
    sys.stdout.flush()


# ---- a display file as sepia-vmm writes it
HDR = struct.Struct("<8sIIIIIIII QQQ")


class Display:
    def __init__(self, path, w, h):
        self.path, self.w, self.h, self.frames = path, w, h, 0
        self.px = bytearray(w * h * 4)
        with open(path, "wb") as f:
            f.truncate(4096 + w * h * 4)
        self.publish()

    def publish(self):
        self.frames += 1
        with open(self.path, "r+b") as f:
            f.seek(0)
            f.write(HDR.pack(b"SEPIAFB1", 4096, self.w, self.h, self.w, self.h, 320, 1, 0, 1,
                             self.frames - 1, 0))
            f.seek(4096)
            f.write(self.px)
            f.seek(0)
            f.write(HDR.pack(b"SEPIAFB1", 4096, self.w, self.h, self.w, self.h, 320, 1, 0,
                             2 * self.frames, self.frames, int(time.time() * 1e6)))

    def fill(self, x0, y0, w, h, bgr):
        for y in range(y0, y0 + h):
            for x in range(x0, x0 + w):
                i = (y * self.w + x) * 4
                self.px[i:i + 3] = bytes(bgr)


def listener(name):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(os.path.join(T, name))
    s.listen(4)
    return s


conns = {}


def read_records(lst, count, timeout=10):
    """count 8-byte records from the listener's (first) connection."""
    if lst not in conns:
        r, _, _ = select.select([lst], [], [], timeout)
        if not r:
            return None
        conns[lst], _ = lst.accept()
    conn = conns[lst]
    data = b""
    conn.settimeout(timeout)
    try:
        while len(data) < 8 * count:
            chunk = conn.recv(8 * count - len(data))
            if not chunk:
                break
            data += chunk
    except socket.timeout:
        pass
    return [struct.unpack("<HHi", data[i:i + 8]) for i in range(0, len(data) - 7, 8)]


# ---- a WebSocket client
class WS:
    def __init__(self, port, origin=True, host=None, src="127.0.0.1"):
        self.s = socket.socket()
        self.s.bind((src, 0))
        self.s.connect(("127.0.0.1", port))
        self.buf = b""
        self.key = base64.b64encode(os.urandom(16)).decode()
        host = host or f"127.0.0.1:{port}"
        head = (f"GET /stream HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\n"
                f"Connection: Upgrade\r\nSec-WebSocket-Key: {self.key}\r\nSec-WebSocket-Version: 13\r\n")
        if origin:
            head += f"Origin: {origin if isinstance(origin, str) else 'http://' + host}\r\n"
        self.s.sendall((head + "\r\n").encode())
        self.s.settimeout(15)
        while b"\r\n\r\n" not in self.buf:
            chunk = self.s.recv(4096)
            if not chunk:
                break
            self.buf += chunk
        self.head, _, self.buf = self.buf.partition(b"\r\n\r\n")
        self.status = int(self.head.split()[1]) if self.head else 0

    def send(self, op, payload, mask=True, fin=True):
        b0 = (0x80 if fin else 0) | op
        ln = len(payload)
        m = 0x80 if mask else 0
        if ln < 126:
            h = bytes([b0, m | ln])
        elif ln < 65536:
            h = bytes([b0, m | 126]) + struct.pack(">H", ln)
        else:
            h = bytes([b0, m | 127]) + struct.pack(">Q", ln)
        if mask:
            k = os.urandom(4)
            payload = k + bytes(c ^ k[i % 4] for i, c in enumerate(payload))
        self.s.sendall(h + payload)

    def text(self, t):
        self.send(1, t.encode())

    def _need(self, k):
        while len(self.buf) < k:
            chunk = self.s.recv(65536)
            if not chunk:
                raise EOFError("closed")
            self.buf += chunk

    def recv(self):
        """(opcode, payload) of the next frame from the server (servers do not mask)."""
        self._need(2)
        b0, b1 = self.buf[0], self.buf[1]
        if b1 & 0x80:
            raise ValueError("a masked frame from the server")
        ln, at = b1 & 0x7f, 2
        if ln == 126:
            self._need(4)
            ln, at = struct.unpack(">H", self.buf[2:4])[0], 4
        elif ln == 127:
            self._need(10)
            ln, at = struct.unpack(">Q", self.buf[2:10])[0], 10
        self._need(at + ln)
        p = self.buf[at:at + ln]
        self.buf = self.buf[at + ln:]
        return b0 & 0x0f, p

    def until(self, pred, limit=200):
        for _ in range(limit):
            op, p = self.recv()
            m = json.loads(p) if op == 1 else p
            if pred(op, m):
                return op, m
        raise AssertionError("not seen")

    def close_code(self):
        """The code of the server's close frame (skipping others), then the connection ends."""
        try:
            while True:
                op, p = self.recv()
                if op == 8:
                    code = struct.unpack(">H", p[:2])[0] if len(p) >= 2 else None
                    self.s.settimeout(10)
                    rest = self.s.recv(1)
                    return code, rest == b""
        except (EOFError, OSError) as e:
            return f"no close frame: {e}", True


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


disp = Display(os.path.join(T, "display0.fb"), 64, 48)
disp.fill(0, 0, 64, 48, (10, 20, 30))
disp.publish()
touch = listener("input_touch_0.sock")
keys = listener("input_keyboard.sock")
buttons = listener("input_buttons.sock")
port = free_port()
log = open(os.path.join(T, "webview.log"), "w")
wv = subprocess.Popen([WEBVIEW, f"--framebuffer-dir={T}", f"--port={port}", "--verbose"], stderr=log)
try:
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            break
        except OSError:
            time.sleep(0.05)

    print("1..21")
    c = WS(port)
    want = base64.b64encode(hashlib.sha1((c.key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode())
                            .digest()).decode()
    ok(c.status == 101 and f"Sec-WebSocket-Accept: {want}".encode() in c.head,
       "the handshake is answered 101 with the RFC's Sec-WebSocket-Accept", c.head)

    _, m = c.until(lambda op, m: op == 1 and m.get("type") == "display")
    ok(m["display"] == 0 and m["width"] == 64 and m["height"] == 48 and m["frames"] == 2,
       "the page is told display 0's size and frame count", m)
    _, r = c.until(lambda op, m: op == 2)
    x, y, w, h, dw, dh = struct.unpack("<6H", r[4:16])
    img = Image.open(io.BytesIO(r[16:])).convert("RGB")
    ok(r[0] == 1 and r[1] == 0 and (x, y, w, h, dw, dh) == (0, 0, 64, 48, 64, 48) and img.size == (64, 48)
       and img.getpixel((5, 5)) == (30, 20, 10), "the first picture comes whole, as PNG",
       (x, y, w, h, dw, dh, img.size, img.getpixel((5, 5))))
    _, m = c.until(lambda op, m: op == 1 and m.get("type") == "instance")
    ok(m["name"] == os.path.basename(T) and m["state"] == "no monitor",
       "the page is told the instance's name and state (no monitor here)", m)

    disp.fill(10, 20, 5, 3, (200, 100, 50))
    disp.publish()
    _, r = c.until(lambda op, m: op == 2)
    x, y, w, h, dw, dh = struct.unpack("<6H", r[4:16])
    img = Image.open(io.BytesIO(r[16:])).convert("RGB")
    ok((x, y, w, h) == (10, 20, 5, 3) and img.size == (5, 3)
       and all(img.getpixel((i, j)) == (50, 100, 200) for i in range(5) for j in range(3)),
       "a new frame sends only its changed rectangle, with its pixels", (x, y, w, h, img.size))

    # Input: a tap at the picture's centre-left/top quarter of a 64x48 display.
    c.text("t 0 d 3 32768 16384\nt 0 m 3 16384 16384\nt 0 u 3 16384 16384")
    recs = read_records(touch, 14)
    ok(recs == [(3, 0x2f, 0), (3, 0x39, 0), (3, 0x35, 32), (3, 0x36, 12), (1, 0x14a, 1), (0, 0, 0),
                (3, 0x2f, 0), (3, 0x35, 16), (3, 0x36, 12), (0, 0, 0),
                (3, 0x2f, 0), (3, 0x39, -1), (1, 0x14a, 0), (0, 0, 0)],
       "a touch down, move and up become protocol B records in display pixels on input_touch_0.sock",
       recs)
    c.text("k KeyA 1\nk ShiftLeft 1\nk KeyA 0")
    recs = read_records(keys, 6)
    ok(recs == [(1, 30, 1), (0, 0, 0), (1, 42, 1), (0, 0, 0), (1, 30, 0), (0, 0, 0)],
       "keys become EV_KEY records on input_keyboard.sock", recs)
    c.text("b power 1\nb power 0\nb volumeup 1\nb volumedown 1")
    recs = read_records(buttons, 8)
    ok(recs == [(1, 116, 1), (0, 0, 0), (1, 116, 0), (0, 0, 0), (1, 115, 1), (0, 0, 0), (1, 114, 1),
                (0, 0, 0)], "the page's buttons become KEY_POWER, KEY_VOLUMEUP, KEY_VOLUMEDOWN", recs)
    c.text("t 9 d 1 1 1\nk NoSuchKey 1\nnonsense\nt 0 d 1 65536 1")
    c.send(9, b"hi")
    op, p = c.until(lambda op, m: op == 10)
    ok(p == b"hi", "malformed input lines are skipped and the connection goes on (ping answered)", (op, p))

    # A page that goes away with a finger down has it lifted.
    c.text("t 0 d 8 0 65535")
    down = read_records(touch, 6)
    c.s.close()
    up = read_records(touch, 4)
    ok(down and down[3] == (3, 0x36, 47) and up == [(3, 0x2f, 0), (3, 0x39, -1), (1, 0x14a, 0), (0, 0, 0)],
       "a page that closes with a contact down has it lifted", (down, up))

    # Hostile clients.
    c = WS(port)
    c.send(1, b"t 0 u 1 1 1", mask=False)
    ok(c.close_code() == (1002, True), "an unmasked frame closes the connection with 1002")
    c = WS(port)
    c.s.sendall(bytes([0x82, 0xff]) + struct.pack(">Q", 1 << 30) + b"abcd")
    ok(c.close_code() == (1009, True), "a 1 GiB frame header is refused at once with 1009")
    c = WS(port)
    c.send(3, b"x")
    ok(c.close_code() == (1002, True), "a reserved opcode closes with 1002")
    c = WS(port)
    c.send(2, b"\x01\x02")
    ok(c.close_code() == (1003, True), "a binary message closes with 1003")
    c = WS(port)
    c.send(8, struct.pack(">H", 1000))
    ok(c.close_code() == (1000, True), "a close is answered with the same code")
    c = WS(port, origin="http://evil.example")
    ok(c.status == 403, "a handshake from another page's Origin gets 403", c.head)
    c = WS(port, host="evil.example")
    ok(c.status == 403, "a handshake with another Host (DNS rebinding) gets 403", c.head)
    c = WS(port, origin=False)
    ok(c.status == 101, "a program without Origin (not a browser page) is served", c.head)
    c.s.close()

    # Cut short: the head timeout holds for the handshake too.
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(b"GET /stream HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\n")
    s.settimeout(60)
    got = b""
    try:
        while True:
            chunk = s.recv(4096)
            if not chunk:
                break
            got += chunk
    except OSError:
        pass
    ok(got.startswith(b"HTTP/1.1 408"), "a handshake cut short gets 408 after the head timeout", got[:80])

    # A page that stops reading while frames keep coming: its thread waits on its own socket
    # (frames merge, nothing queues); other pages are still served, and input still flows.
    slow = WS(port, src="127.0.0.4")
    slow.s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    noise = os.urandom(64 * 48 * 4)
    for i in range(60):
        disp.px[:] = noise[i * 7:] + noise[:i * 7]
        disp.publish()
        time.sleep(0.02)
    other = WS(port)
    try:
        _, m = other.until(lambda op, m: op == 1 and m.get("type") == "display")
        _, r = other.until(lambda op, m: op == 2)
        fresh = m["frames"] == disp.frames and struct.unpack("<4H", r[4:12]) == (0, 0, 64, 48)
    except (AssertionError, EOFError, OSError) as e:
        fresh = False
        m = e
    other.text("k Space 1")
    ok(fresh and read_records(keys, 2) == [(1, 57, 1), (0, 0, 0)],
       "a page that stops reading holds up no other page: a new one gets the newest frame and sends input", m)
    slow.s.close()
    other.s.close()

    # The per-client bound: 8 open WebSockets from 127.0.0.3, the 9th gets 503; others still served.
    held = [WS(port, src="127.0.0.3") for _ in range(8)]
    extra = WS(port, src="127.0.0.3")
    other = WS(port)
    ok(all(h.status == 101 for h in held) and extra.status == 503 and other.status == 101,
       "WebSockets count against the per-client bound (8): the 9th gets 503, other clients are served",
       [h.status for h in held] + [extra.status, other.status])
finally:
    wv.terminate()
    wv.wait(10)
    log.close()
    if fails:
        print("# webview log:")
        print("".join("# " + line for line in open(os.path.join(T, "webview.log")).readlines()[-30:]))
    subprocess.run(["rm", "-rf", T])
sys.exit(1 if fails else 0)
