"""sepia-webview's page in headless Firefox, driven through WebDriver BiDi (Firefox's remote
protocol: a WebSocket at ws://127.0.0.1:PORT/session). Run by webview-firefox.sh.

  webview-firefox.py FIREFOX URL FILL_FIFO DIR OUT_DIR

Starts FIREFOX headless in a fresh profile, sets a 480x360 viewport, loads URL (the web view of
the fake instance in DIR) and waits until the page has drawn display 0's frame 1 (window.sepia:
a rectangle drawn with the frame count 1); saves the canvas (toDataURL) as OUT_DIR/firefox1.png;
writes a line to FILL_FIFO (fb-fill publishes frame 2) and waits until the page draws it, saving
OUT_DIR/firefox2.png; clicks at 1/4, 1/2 of the picture, touches it with two fingers (at 1/4
and 3/4 of its width), types "hi" and clicks the Power button, listening as the device's touch,
keyboard and button devices (DIR/input_touch_0.sock, input_keyboard.sock, input_buttons.sock);
saves a screenshot of the page as OUT_DIR/firefox-page.png. Firefox's HOME and cache are OUT_DIR
too, so nothing is left behind. Prints "key value" lines for the shell script's checks; exits
1 when Firefox or the protocol failed.
"""
import base64
import json
import os
import select
import socket
import struct
import subprocess
import sys
import tempfile
import time

from touch_records import multitouch_line

FIREFOX = URL = FIFO = DIR = OUT = None  # set from the command line
PREFS = {
    # A fresh profile off the network (these hosts have none beyond localhost).
    "browser.shell.checkDefaultBrowser": False,
    "browser.startup.homepage_override.mstone": "ignore",
    "datareporting.policy.dataSubmissionEnabled": False,
    "toolkit.telemetry.reportingpolicy.firstRun": False,
    "app.update.disabledForTesting": True,
    "browser.safebrowsing.malware.enabled": False,
    "browser.safebrowsing.phishing.enabled": False,
    "network.captive-portal-service.enabled": False,
    "network.connectivity-service.enabled": False,
    "extensions.update.enabled": False,
    "browser.region.network.url": "",
    "services.settings.server": "http://127.0.0.1:9/",
    "layout.css.devPixelsPerPx": "1.0",
}


def log(msg):
    print(f"# {msg}", file=sys.stderr, flush=True)


class BiDi:
    """A WebSocket client (RFC 6455, client side: masked frames) speaking WebDriver BiDi."""

    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=60)
        key = base64.b64encode(os.urandom(16)).decode()
        self.s.sendall((f"GET /session HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
                        f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                        "Sec-WebSocket-Version: 13\r\n\r\n").encode())
        self.buf = b""
        while b"\r\n\r\n" not in self.buf:
            chunk = self.s.recv(4096)
            if not chunk:
                raise RuntimeError("Firefox closed the BiDi connection during its handshake")
            self.buf += chunk
        head, _, self.buf = self.buf.partition(b"\r\n\r\n")
        if b" 101 " not in head.split(b"\r\n")[0]:
            raise RuntimeError(f"Firefox refused the BiDi WebSocket: {head[:100]!r}")
        self.next_id = 0

    def take(self, n):
        while len(self.buf) < n:
            chunk = self.s.recv(1 << 20)
            if not chunk:
                raise RuntimeError("Firefox closed the BiDi connection")
            self.buf += chunk
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def message(self):
        data = b""
        while True:
            b0, b1 = self.take(2)
            n = b1 & 127
            if n == 126:
                n = struct.unpack(">H", self.take(2))[0]
            elif n == 127:
                n = struct.unpack(">Q", self.take(8))[0]
            data += self.take(n)
            if b0 & 0x80:
                return json.loads(data)

    def send(self, text):
        payload = text.encode()
        n = len(payload)
        head = bytes([0x81]) + (bytes([0x80 | n]) if n < 126 else
                                bytes([0x80 | 126]) + struct.pack(">H", n) if n < 65536 else
                                bytes([0x80 | 127]) + struct.pack(">Q", n))
        mask = os.urandom(4)
        self.s.sendall(head + mask + bytes(c ^ mask[i % 4] for i, c in enumerate(payload)))

    def call(self, method, **params):
        self.next_id += 1
        self.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            m = self.message()
            if m.get("id") != self.next_id:
                continue  # an event
            if m.get("type") == "error":
                raise RuntimeError(f"{method}: {m.get('error')}: {m.get('message')}")
            return m["result"]

    def js(self, ctx, expression):
        r = self.call("script.evaluate", expression=expression, target={"context": ctx},
                      awaitPromise=True, resultOwnership="none")
        if r.get("type") != "success":
            raise RuntimeError(f"the page's script failed: {json.dumps(r.get('exceptionDetails'))[:300]}")
        return r["result"].get("value")

    def wait_js(self, ctx, expression, what, timeout=30):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.js(ctx, expression):
                return
            time.sleep(0.05)
        raise RuntimeError(f"the page did not {what} within {timeout} s "
                           f"(window.sepia: {self.js(ctx, 'JSON.stringify(window.sepia)')})")


def listen(name):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(os.path.join(DIR, name))
    s.listen(4)
    return s


CONNS = {}  # listener -> the web view's connections to it, kept open across calls


def records(lst, want, timeout=10):
    """Records (type, code, value) from the listener's connections until want(records) holds."""
    conns = CONNS.setdefault(lst, {})
    got = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not want(got):
        r, _, _ = select.select([lst] + list(conns), [], [], 0.1)
        for s in r:
            if s is lst:
                c, _ = lst.accept()
                conns[c] = b""
                continue
            chunk = s.recv(4096)
            if not chunk:
                del conns[s]
                s.close()
                continue
            conns[s] += chunk
            while len(conns[s]) >= 8:
                got.append(struct.unpack("<HHi", conns[s][:8]))
                conns[s] = conns[s][8:]
    return got


def save_canvas(bidi, ctx, path):
    url = bidi.js(ctx, "document.getElementById('d0').toDataURL('image/png')")
    with open(path, "wb") as f:
        f.write(base64.b64decode(url.split(",", 1)[1]))


def start_firefox(firefox, out):
    """Firefox headless in a fresh profile under out, and a BiDi session with its tab:
    (process, its log file, BiDi, the tab's context, the session's capabilities)."""
    profile = tempfile.mkdtemp(prefix="profile.", dir=out)
    with open(os.path.join(profile, "user.js"), "w") as f:
        for k, v in PREFS.items():
            f.write(f"user_pref({json.dumps(k)}, {json.dumps(v)});\n")
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    err = open(os.path.join(out, "firefox.log"), "w")
    ff = subprocess.Popen([firefox, "--headless", "--no-remote", "--profile", profile,
                           f"--remote-debugging-port={port}", "--remote-allow-hosts=127.0.0.1",
                           "about:blank"], stdout=err, stderr=err,
                          env=dict(os.environ, MOZ_HEADLESS="1", HOME=out, XDG_CACHE_HOME=out))
    t0 = time.monotonic()
    bidi = None
    while bidi is None and time.monotonic() - t0 < 60 and ff.poll() is None:
        try:
            bidi = BiDi(port)
        except (OSError, RuntimeError):
            time.sleep(0.2)
    try:
        if bidi is None:
            raise RuntimeError(f"Firefox offered no WebDriver BiDi on port {port} in 60 s "
                               f"(exit {ff.poll()}; see firefox.log)")
        caps = bidi.call("session.new", capabilities={}).get("capabilities", {})
        ctx = bidi.call("browsingContext.getTree")["contexts"][0]["context"]
        return ff, err, bidi, ctx, caps
    except (OSError, RuntimeError, ValueError, KeyError, IndexError):
        ff.kill()
        ff.wait()
        err.close()
        raise


def main():
    touch, keyboard = listen("input_touch_0.sock"), listen("input_keyboard.sock")
    buttons = listen("input_buttons.sock")
    try:
        t0 = time.monotonic()
        ff, err, bidi, ctx, caps = start_firefox(FIREFOX, OUT)
    except (OSError, RuntimeError, ValueError, KeyError, IndexError) as e:
        print(f"error {e}")
        return 1
    try:
        print("version", caps.get("browserName", "?"), caps.get("browserVersion", "?"))
        bidi.call("browsingContext.setViewport", context=ctx, viewport={"width": 480, "height": 360})
        bidi.call("browsingContext.navigate", context=ctx, url=URL, wait="complete")
        bidi.wait_js(ctx, "!!(window.sepia && sepia.open && sepia.rects[0] >= 1 && sepia.frames[0] === 1)",
                     "draw frame 1")
        print("load_ms", round((time.monotonic() - t0) * 1000))
        save_canvas(bidi, ctx, os.path.join(OUT, "firefox1.png"))
        box = bidi.js(ctx, "(() => { const r = document.getElementById('d0').getBoundingClientRect();"
                           " return [r.left, r.top, r.width, r.height].join(' '); })()")
        print("box", box)
        print("window", bidi.js(ctx, "innerWidth + ' ' + innerHeight"))
        print("status", bidi.js(ctx, "document.getElementById('status').textContent"))
        # Frame 2, pushed: the page must draw it with no reload.
        with open(FIFO, "w") as f:
            f.write("next\n")
        t1 = time.monotonic()
        bidi.wait_js(ctx, "sepia.frames[0] === 2 && sepia.rects[0] >= 2", "draw frame 2")
        print("shown_ms", round((time.monotonic() - t1) * 1000))
        save_canvas(bidi, ctx, os.path.join(OUT, "firefox2.png"))
        # A click at 1/4 of the picture's width, 1/2 of its height.
        left, top, w, h = (float(v) for v in box.split())
        x, y = int(left + w / 4), int(top + h / 2)
        bidi.call("input.performActions", context=ctx, actions=[{
            "type": "pointer", "id": "mouse", "parameters": {"pointerType": "mouse"},
            "actions": [{"type": "pointerMove", "x": x, "y": y}, {"type": "pointerDown", "button": 0},
                        {"type": "pause", "duration": 50}, {"type": "pointerUp", "button": 0}]}])
        got = records(touch, lambda g: any(t == 1 and c == 330 and v == 0 for t, c, v in g))
        xs = [v for t, c, v in got if t == 3 and c == 0x35]
        ys = [v for t, c, v in got if t == 3 and c == 0x36]
        print("touch", xs[0] if xs else None, ys[0] if ys else None)
        print("touch_up", int((3, 0x39, -1) in got and (1, 0x14a, 0) in got))
        bidi.call("input.performActions", context=ctx, actions=[{
            "type": "key", "id": "keyboard",
            "actions": [{"type": "keyDown", "value": "h"}, {"type": "keyUp", "value": "h"},
                        {"type": "keyDown", "value": "i"}, {"type": "keyUp", "value": "i"}]}])
        got = records(keyboard, lambda g: len([r for r in g if r[0] == 1]) >= 4)
        print("keys", " ".join(f"{c} {v}" for t, c, v in got if t == 1))
        # Two fingers at once (touch pointers), at 1/4 and 3/4 of the width.
        bidi.call("input.performActions", context=ctx, actions=[{
            "type": "pointer", "id": f"finger{i}", "parameters": {"pointerType": "touch"},
            "actions": [{"type": "pointerMove", "x": int(left + w * fx), "y": y},
                        {"type": "pointerDown", "button": 0}, {"type": "pause", "duration": 100},
                        {"type": "pointerUp", "button": 0}]} for i, fx in ((1, 0.25), (2, 0.75))])
        got = records(touch, lambda g: sum(1 for r in g if r == (3, 0x39, -1)) >= 2)
        print(multitouch_line(got))
        # The Power button, clicked with the mouse.
        px, py = (int(float(v)) for v in bidi.js(
            ctx, "(() => { const r = document.getElementById('power').getBoundingClientRect();"
                 " return (r.left + r.width / 2) + ' ' + (r.top + r.height / 2); })()").split())
        bidi.call("input.performActions", context=ctx, actions=[{
            "type": "pointer", "id": "mouse", "parameters": {"pointerType": "mouse"},
            "actions": [{"type": "pointerMove", "x": px, "y": py}, {"type": "pointerDown", "button": 0},
                        {"type": "pause", "duration": 50}, {"type": "pointerUp", "button": 0}]}])
        got = records(buttons, lambda g: len([r for r in g if r[0] == 1]) >= 2)
        print("buttons", " ".join(f"{c} {v}" for t, c, v in got if t == 1))
        shot = bidi.call("browsingContext.captureScreenshot", context=ctx)["data"]
        with open(os.path.join(OUT, "firefox-page.png"), "wb") as f:
            f.write(base64.b64decode(shot))
        try:
            bidi.call("browser.close")
        except (OSError, RuntimeError):
            pass
        return 0
    except (OSError, RuntimeError, ValueError) as e:
        print(f"error {e}")
        return 1
    finally:
        try:
            ff.wait(timeout=15)
        except subprocess.TimeoutExpired:
            ff.kill()
            ff.wait()
        err.close()


if __name__ == "__main__":
    FIREFOX, URL, FIFO, DIR, OUT = sys.argv[1:6]
    sys.exit(main())
