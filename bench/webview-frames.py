"""Frame delivery from sepia-webview to one client: the page's WebSocket /stream against the
PNG long poll (/display0/frames?after=V&wait=MS, then /display0.png). Run by bench/webview.sh.

  webview-frames.py WEBVIEW WORKDIR WxH FULL_FRAMES SMALL_FRAMES SMALL_SIDE ROUNDS

This process is the "VMM" and the client at once: it writes WORKDIR/display0.fb as sepia-vmm
does (display/framebuffer.h: header under a sequence lock, then the pixels) and starts
WEBVIEW on it, so a frame's latency is measured on one clock, from the moment the publish ends
(the sequence made even) until the client holds the last byte of what shows that frame:
  ws    the binary message with the changed rectangle (a 16-byte header and a PNG);
  poll  the long poll's answer, then the whole picture as /display0.png (keep-alive, one
        connection), as a script or the page before the WebSocket did.
Bytes are TCP payload per frame, each way (HTTP heads and WebSocket frame headers included).
Cases: "full", every pixel changes (two pictures in turn, the pattern of tests/e2e/fb-fill.c,
gradients that PNG codes in few bytes); "noise", the same with two random pictures (PNG's worst
case); "small", one SIDE x SIDE square changes (a solid colour at a new place each frame). Each
round runs the ws client over its share of the frames, then the poll client over as many, so
drift in the machine's load hits both. Every frame is checked: the rectangle's place and size,
the frame count, and with PIL (when importable) the decoded pixels. Prints one "result" line
per case and transport, then exits 1 if any frame was wrong.
"""
import base64
import io
import json
import mmap
import os
import random
import select
import socket
import struct
import subprocess
import sys
import time

try:
    from PIL import Image
except ImportError:
    Image = None

WEBVIEW, WORK = sys.argv[1], sys.argv[2]
W, H = (int(v) for v in sys.argv[3].split("x"))
FULL_FRAMES, SMALL_FRAMES, SIDE, ROUNDS = (int(v) for v in sys.argv[4:8])
GAP_S = 0.03  # idle time between frames: each is delivered alone, no merging
# sepia-webview looks at the display file every 15 ms (the stream's tick, the long poll's
# re-read): each publish waits a random part of that first, so that neither transport's
# frames fall at a fixed phase of its looks (30 ms of idle time is two whole ticks).
PHASE_S = 0.015
HDR = struct.Struct("<8sIIIIIIII QQQ")
wrong = []


def as_rgb(bgrx):
    """What a PNG of BGRX pixels decodes to."""
    rgb = bytearray(len(bgrx) // 4 * 3)
    rgb[0::3], rgb[1::3], rgb[2::3] = bgrx[2::4], bgrx[1::4], bgrx[0::4]
    return bytes(rgb)


def noise():
    """Random pixels: the worst case for PNG (no byte predicts the next), as a photo or video
    is worse than a UI's flat colours."""
    bgrx = bytearray(os.urandom(W * H * 4))
    return bgrx, as_rgb(bgrx)


def pattern(seed):
    """BGRX pixels of fb-fill's picture SEED, and the same as RGB (what a PNG decodes to)."""
    bgrx, rgb = bytearray(W * H * 4), bytearray(W * H * 3)
    for y in range(H):
        b_row = bytes((2 * (x + y) + 110 * seed) & 255 for x in range(W))
        g = (3 * y + 80 * seed) & 255
        r_row = bytes((3 * x + 50 * seed) & 255 for x in range(W))
        o = y * W
        bgrx[o * 4:(o + W) * 4:4] = b_row
        bgrx[o * 4 + 1:(o + W) * 4:4] = bytes([g]) * W
        bgrx[o * 4 + 2:(o + W) * 4:4] = r_row
        rgb[o * 3:(o + W) * 3:3] = r_row
        rgb[o * 3 + 1:(o + W) * 3:3] = bytes([g]) * W
        rgb[o * 3 + 2:(o + W) * 3:3] = b_row
    return bgrx, bytes(rgb)


class Display:
    """display0.fb, written in place through a shared mapping as sepia-vmm writes it."""

    def __init__(self, path, pixels):
        with open(path, "wb") as f:
            f.truncate(4096 + W * H * 4)
        self.f = open(path, "r+b")
        self.m = mmap.mmap(self.f.fileno(), 4096 + W * H * 4)
        self.frames = 0
        self.px = bytearray(pixels)
        self.publish()

    def header(self, seq):
        return HDR.pack(b"SEPIAFB1", 4096, W, H, W, H, 320, 1, 0, seq, self.frames,
                        int(time.time() * 1e6))

    def publish(self, rect=None):
        """Writes the picture (only rect's rows when given, as a flush of a rectangle would)."""
        time.sleep(random.uniform(0, PHASE_S))
        self.m[0:HDR.size] = self.header(2 * self.frames + 1)
        if rect:
            x, y, w, h = rect
            for row in range(y, y + h):
                o = (row * W + x) * 4
                self.m[4096 + o:4096 + o + w * 4] = self.px[o:o + w * 4]
        else:
            self.m[4096:] = self.px
        self.frames += 1
        self.m[0:HDR.size] = self.header(2 * self.frames)
        return time.monotonic()


class Conn:
    """A TCP connection that counts bytes each way."""

    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port))
        self.s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""
        self.down = self.up = 0

    def send(self, data):
        self.s.sendall(data)
        self.up += len(data)

    def fill(self, timeout=30):
        r, _, _ = select.select([self.s], [], [], timeout)
        chunk = self.s.recv(1 << 20) if r else b""
        if not chunk:
            raise RuntimeError("sepia-webview closed the connection or sent nothing for 30 s")
        self.down += len(chunk)
        self.buf += chunk

    def take(self, n):
        while len(self.buf) < n:
            self.fill()
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def drain(self):
        """Whatever else came (counted), without waiting."""
        while select.select([self.s], [], [], 0)[0]:
            self.fill()

    def reset(self):
        self.down = self.up = 0


# ---- the two clients

class WSClient:
    def __init__(self, port):
        self.c = Conn(port)
        key = base64.b64encode(os.urandom(16)).decode()
        self.c.send((f"GET /stream HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
                     f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                     "Sec-WebSocket-Version: 13\r\n\r\n").encode())
        while b"\r\n\r\n" not in self.c.buf:
            self.c.fill()
        head, _, self.c.buf = self.c.buf.partition(b"\r\n\r\n")
        if b" 101 " not in head.split(b"\r\n")[0]:
            raise RuntimeError(f"the WebSocket handshake was refused: {head[:80]!r}")
        while self.message()[0] != 2:  # the whole first picture
            pass
        time.sleep(0.1)
        self.c.drain()

    def message(self):
        b0, b1 = self.c.take(2)
        n = b1 & 127
        if n == 126:
            n = struct.unpack(">H", self.c.take(2))[0]
        elif n == 127:
            n = struct.unpack(">Q", self.c.take(8))[0]
        return b0 & 15, self.c.take(n)

    def frame(self, disp, rect):
        """Publishes; returns (ms, the rectangle's header fields, its PNG)."""
        self.c.reset()
        t0 = disp.publish(rect)
        while True:
            op, data = self.message()
            if op == 2:
                t1 = time.monotonic()
                return (t1 - t0) * 1e3, struct.unpack("<BBHHHHHHH", data[:16]), data[16:]
            if op == 1 and json.loads(data).get("frames", disp.frames) != disp.frames:
                wrong.append(f"ws: a display message for frame {data!r}, expected {disp.frames}")

    def close(self):
        self.c.s.close()


class PollClient:
    def __init__(self, port):
        self.c = Conn(port)
        self.host = f"127.0.0.1:{port}"
        self.version = json.loads(self.get("/display0/frames")[1])["version"]

    def request(self, path):
        self.c.send(f"GET {path} HTTP/1.1\r\nHost: {self.host}\r\n\r\n".encode())

    def answer(self):
        while b"\r\n\r\n" not in self.c.buf:
            self.c.fill()
        head, _, self.c.buf = self.c.buf.partition(b"\r\n\r\n")
        fields = {}
        for line in head.decode("latin-1").split("\r\n")[1:]:
            k, _, v = line.partition(":")
            fields[k.strip().lower()] = v.strip()
        if b" 200 " not in head.split(b"\r\n")[0]:
            raise RuntimeError(f"sepia-webview answered {head[:60]!r}")
        return fields, self.c.take(int(fields["content-length"]))

    def get(self, path):
        self.request(path)
        return self.answer()

    def frame(self, disp, rect):
        self.c.reset()
        self.request(f"/display0/frames?after={self.version}&wait=20000")
        time.sleep(GAP_S)  # the server holds it now
        t0 = disp.publish(rect)
        info = json.loads(self.answer()[1])
        self.version = info["version"]
        fields, png = self.get("/display0.png")
        t1 = time.monotonic()
        if info["frames"] != disp.frames or int(fields.get("x-sepia-frames", -1)) != disp.frames:
            wrong.append(f"poll: frame {info['frames']}/{fields.get('x-sepia-frames')}, "
                         f"expected {disp.frames}")
        return (t1 - t0) * 1e3, (1, 0, 0, 0, 0, W, H, W, H), png

    def close(self):
        self.c.s.close()


# ---- the frames

def square_at(i, disp):
    """The i-th small square: a place on a grid and a colour that differs at every pixel."""
    cols = W // SIDE
    cell = (i * 7919) % (cols * (H // SIDE))
    x, y = (cell % cols) * SIDE, (cell // cols) * SIDE
    for c in range(i * 53, i * 53 + 256):
        bgr = bytes([c & 255, (c * 3) & 255, (c * 7) & 255])
        rows = [disp.px[((y + r) * W + x) * 4:((y + r) * W + x + SIDE) * 4] for r in range(SIDE)]
        if all(row[p:p + 3] != bgr for row in rows for p in range(0, SIDE * 4, 4)):
            return (x, y, SIDE, SIDE), bgr
    raise RuntimeError("no colour differs from the square's every pixel")


def check_png(label, png, want_rgb, size):
    if not Image:
        return
    im = Image.open(io.BytesIO(png)).convert("RGB")
    if im.size != size or im.tobytes() != want_rgb:
        wrong.append(f"{label}: the PNG's pixels are not the frame's ({im.size})")


def decode_ms(png):
    if not Image:
        return float("nan")
    t = time.monotonic()
    Image.open(io.BytesIO(png)).load()
    return (time.monotonic() - t) * 1e3


def run():
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    say = lambda m: print(f"webview: {m}", file=sys.stderr, flush=True)
    say(f"drawing four {W}x{H} pictures")
    pictures = {"full": (pattern(1), pattern(2)), "noise": (noise(), noise())}
    bgrx1 = pictures["full"][0][0]
    disp = Display(os.path.join(WORK, "display0.fb"), bgrx1)
    log = open(os.path.join(WORK, "webview.log"), "w")
    wv = subprocess.Popen([WEBVIEW, f"--framebuffer-dir={WORK}", f"--port={port}"], stderr=log)
    try:
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", port)).close()
                break
            except OSError:
                time.sleep(0.05)
        results = {}
        for case, total in (("full", FULL_FRAMES), ("noise", FULL_FRAMES), ("small", SMALL_FRAMES)):
            (bgrx1, rgb1), (bgrx2, rgb2) = pictures.get(case, pictures["full"])
            disp.px[:] = bgrx1
            disp.publish()
            shown = 1  # which full picture is on the display
            i = 0
            for rnd in range(ROUNDS):
                share = total // ROUNDS + (rnd < total % ROUNDS)
                for kind, cls in (("ws", WSClient), ("poll", PollClient)):
                    client = cls(port)
                    for _ in range(share):
                        time.sleep(GAP_S)
                        if case != "small":
                            shown = 3 - shown
                            disp.px[:] = bgrx2 if shown == 2 else bgrx1
                            rect, want = None, (0, 0, W, H)
                        else:
                            rect, bgr = square_at(i, disp)
                            i += 1
                            x, y = rect[:2]
                            for r in range(SIDE):
                                o = ((y + r) * W + x) * 4
                                disp.px[o:o + SIDE * 4] = (bgr + b"\0") * SIDE
                            want = rect if kind == "ws" else (0, 0, W, H)
                        ms, head, png = client.frame(disp, rect)
                        time.sleep(GAP_S)
                        client.c.drain()  # a status message, if one came: on the wire too
                        got = head[3:7]
                        if head[0] != 1 or got != want:
                            wrong.append(f"{case} {kind}: rectangle {got}, expected {want}")
                        if case != "small":
                            check_png(f"{case} {kind}", png, rgb2 if shown == 2 else rgb1, (W, H))
                        elif kind == "ws":
                            check_png(f"small ws", png, bytes([bgr[2], bgr[1], bgr[0]]) * SIDE * SIDE,
                                      (SIDE, SIDE))
                        elif Image:
                            im = Image.open(io.BytesIO(png)).convert("RGB")
                            if im.getpixel((x + SIDE - 1, y + SIDE - 1)) != (bgr[2], bgr[1], bgr[0]):
                                wrong.append("small poll: the square is not in the PNG")
                        results.setdefault((case, kind), []).append(
                            (ms, client.c.down, client.c.up, decode_ms(png)))
                    client.close()
            say(f"{case}: {total} frames each way")
        for (case, kind), rows in results.items():
            print("result", case, kind, " ".join(f"{ms:.3f},{down},{up},{dec:.3f}"
                                                 for ms, down, up, dec in rows))
    finally:
        wv.terminate()
        wv.wait()
        log.close()
    for w in wrong[:10]:
        print(f"webview: wrong: {w}", file=sys.stderr)
    return 1 if wrong else 0


sys.exit(run())
