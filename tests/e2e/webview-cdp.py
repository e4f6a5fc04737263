"""Drives headless Chromium through the DevTools protocol to use sepia-webview's page in real
time, as a person would (webview-chromium.sh).

  webview-cdp.py CHROMIUM URL FIFO OUT_DIR

OUT_DIR is the web view's instance directory: the script listens there as the device's input
devices do (input_touch_0.sock, input_keyboard.sock, input_buttons.sock). It opens URL in a
480x360 viewport and:
  - waits until display 0 shows frame 1, saves the canvas's pixels as OUT_DIR/follow1.png and
    prints "box X Y W H" (the canvas on the page, CSS pixels) and "window W H";
  - writes a line to FIFO (tests/e2e/fb-fill publishes its next picture), waits until the
    page drew frame 2, saves follow2.png and prints "shown_ms N" (from the write);
  - clicks (mouse press and release) at 1/4 of the picture's width and 1/2 of its height and
    prints "touch X Y" with the position the touch device got, "touch_up 1" when it was lifted;
  - touches with two fingers at once (1/4 and 3/4 of the width) and prints "multitouch slots N x
    X1 X2 lifted M" as the touch device got them;
  - types "hi" and prints "keys CODE VALUE ..." as the keyboard got them;
  - clicks the page's Power button and prints "buttons CODE VALUE ...".

  webview-cdp.py canvas CHROMIUM URL OUT.png

Opens URL (a device's web view), waits until display 0's canvas has a picture, and saves the
canvas's pixels (the display's, whatever size the page shows it at) as OUT.png.

The protocol runs over --remote-debugging-pipe: Chromium reads JSON messages ending in a NUL
byte on its fd 3 and answers on fd 4, so no websocket library is needed.
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

DEADLINE_S = 60


class Browser:
    def __init__(self, chromium, profile):
        to_chrome_r, self.to_chrome = os.pipe()
        self.from_chrome, from_chrome_w = os.pipe()

        def fds_3_and_4():
            # Through fresh numbers first, in case the pipes got 3 or 4 themselves.
            a, b = os.dup(to_chrome_r), os.dup(from_chrome_w)
            os.dup2(a, 3)
            os.dup2(b, 4)

        flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-default-apps", "--hide-scrollbars", "--force-device-scale-factor=1",
                 "--remote-debugging-pipe", f"--user-data-dir={profile}", "--window-size=480,360"]
        self.proc = subprocess.Popen([chromium] + flags + ["about:blank"], pass_fds=(3, 4),
                                     preexec_fn=fds_3_and_4, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(to_chrome_r)
        os.close(from_chrome_w)
        self.next_id = 0
        self.buf = b""
        self.deadline = time.monotonic() + DEADLINE_S

    def call(self, method, params=None, session=None):
        self.next_id += 1
        msg = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self.to_chrome, json.dumps(msg).encode() + b"\0")
        while True:
            while b"\0" not in self.buf:
                left = self.deadline - time.monotonic()
                if left <= 0 or not select.select([self.from_chrome], [], [], left)[0]:
                    raise TimeoutError(f"no answer from Chromium to {method}")
                chunk = os.read(self.from_chrome, 1 << 20)
                if not chunk:
                    raise EOFError(f"Chromium closed its pipe (waiting for {method})")
                self.buf += chunk
            raw, self.buf = self.buf.split(b"\0", 1)
            answer = json.loads(raw)
            if answer.get("id") == self.next_id:
                if "error" in answer:
                    raise RuntimeError(f"{method}: {answer['error']}")
                return answer["result"]

    def close(self):
        try:
            self.call("Browser.close")
        except (OSError, EOFError, TimeoutError, RuntimeError):
            pass
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


class Device:
    """A fake input device: a unix socket listening where sepia-vmm's would."""

    def __init__(self, path):
        self.lst = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.lst.bind(path)
        self.lst.listen(4)
        self.conn = None

    def records(self, count, deadline):
        data = b""
        while len(data) < 8 * count:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            if self.conn is None:
                if not select.select([self.lst], [], [], left)[0]:
                    break
                self.conn, _ = self.lst.accept()
                continue
            if not select.select([self.conn], [], [], left)[0]:
                break
            chunk = self.conn.recv(8 * count - len(data))
            if not chunk:
                break
            data += chunk
        return [struct.unpack("<HHi", data[i:i + 8]) for i in range(0, len(data) - 7, 8)]


def open_page(b, url):
    target = b.call("Target.createTarget", {"url": "about:blank"})
    session = b.call("Target.attachToTarget", {"targetId": target["targetId"], "flatten": True})["sessionId"]
    b.call("Page.enable", session=session)
    b.call("Page.navigate", {"url": url}, session=session)
    return session


def save_canvas(chromium, url, out):
    with tempfile.TemporaryDirectory(prefix="sepia-cdp-") as profile:
        b = Browser(chromium, profile)
        try:
            session = open_page(b, url)
            expr = ("(() => { const c = document.getElementById('d0');"
                    " return window.sepia && sepia.rects[0] ? c.toDataURL('image/png') : null; })()")
            while True:
                r = b.call("Runtime.evaluate", {"expression": expr, "returnByValue": True}, session=session)
                data = r["result"].get("value")
                if data:
                    break
                if time.monotonic() > b.deadline:
                    raise TimeoutError("the page drew no picture of display 0")
                time.sleep(0.05)
            with open(out, "wb") as f:
                f.write(base64.b64decode(data.split(",", 1)[1]))
        finally:
            b.close()
    return 0


def main(chromium, url, fifo, out_dir):
    touch = Device(os.path.join(out_dir, "input_touch_0.sock"))
    keyboard = Device(os.path.join(out_dir, "input_keyboard.sock"))
    buttons = Device(os.path.join(out_dir, "input_buttons.sock"))
    with tempfile.TemporaryDirectory(prefix="sepia-cdp-") as profile:
        b = Browser(chromium, profile)
        try:
            target = b.call("Target.createTarget", {"url": "about:blank"})
            session = b.call("Target.attachToTarget", {"targetId": target["targetId"], "flatten": True})["sessionId"]
            b.call("Page.enable", session=session)
            # The page's viewport, whatever size a new target gets.
            b.call("Emulation.setDeviceMetricsOverride", {"width": 480, "height": 360, "deviceScaleFactor": 1,
                                                          "mobile": False}, session=session)
            b.call("Page.navigate", {"url": url}, session=session)

            def js(expr):
                r = b.call("Runtime.evaluate", {"expression": expr, "returnByValue": True, "awaitPromise": True},
                           session=session)
                return r["result"].get("value")

            def wait_for(frame):
                # window.sepia.frames[0]: the frame count of the last rectangle drawn on the canvas.
                while js("window.sepia && window.sepia.frames[0]") != frame:
                    if time.monotonic() > b.deadline:
                        raise TimeoutError(f"the page did not draw frame {frame}")
                    time.sleep(0.01)

            def save_canvas(name):
                data = js("document.getElementById('d0').toDataURL('image/png')")
                with open(os.path.join(out_dir, name), "wb") as f:
                    f.write(base64.b64decode(data.split(",", 1)[1]))

            wait_for(1)
            save_canvas("follow1.png")
            box = js("(() => { const r = document.getElementById('d0').getBoundingClientRect();"
                     " return [r.left, r.top, r.width, r.height, innerWidth, innerHeight]; })()")
            print("box %.2f %.2f %.2f %.2f" % tuple(box[:4]))
            print("window %d %d" % tuple(box[4:]))
            t0 = time.monotonic()
            with open(fifo, "w") as f:
                f.write("next\n")
            wait_for(2)
            print(f"shown_ms {(time.monotonic() - t0) * 1000:.0f}")
            save_canvas("follow2.png")

            def mouse(kind, x, y):
                b.call("Input.dispatchMouseEvent", {"type": kind, "x": x, "y": y, "button": "left",
                                                    "buttons": 1 if kind == "mousePressed" else 0,
                                                    "clickCount": 1}, session=session)

            x, y = box[0] + box[2] / 4, box[1] + box[3] / 2
            mouse("mouseMoved", x, y)
            mouse("mousePressed", x, y)
            mouse("mouseReleased", x, y)
            recs = touch.records(10, time.monotonic() + 20)
            pos = {c: v for t, c, v in recs if t == 3 and c in (0x35, 0x36)}
            print(f"touch {pos.get(0x35)} {pos.get(0x36)}")
            print(f"touch_up {int((3, 0x39, -1) in recs and (1, 0x14a, 0) in recs)}")

            # Two fingers at once, at 1/4 and 3/4 of the picture's width, half its height.
            b.call("Emulation.setTouchEmulationEnabled", {"enabled": True, "maxTouchPoints": 5}, session=session)
            pts = [{"x": box[0] + box[2] * f, "y": box[1] + box[3] / 2, "id": i}
                   for i, f in enumerate((0.25, 0.75))]
            b.call("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": pts}, session=session)
            b.call("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []}, session=session)
            recs = touch.records(20, time.monotonic() + 20)
            slots, cur, xs = set(), 0, {}
            for t, c, v in recs:
                if (t, c) == (3, 0x2f):
                    cur = v
                elif (t, c) == (3, 0x35):
                    slots.add(cur)
                    xs[cur] = v
            print("multitouch slots %d x %s lifted %d" % (len(slots), " ".join(str(xs[k]) for k in sorted(xs)),
                                                          sum(1 for r in recs if r == (3, 0x39, -1))))
            b.call("Emulation.setTouchEmulationEnabled", {"enabled": False}, session=session)

            for ch, code in (("h", "KeyH"), ("i", "KeyI")):
                for kind in ("keyDown", "keyUp"):
                    b.call("Input.dispatchKeyEvent", {"type": kind, "key": ch, "code": code, "text": ch
                                                      if kind == "keyDown" else ""}, session=session)
            recs = keyboard.records(8, time.monotonic() + 20)
            print("keys " + " ".join(f"{c} {v}" for t, c, v in recs if t == 1))

            pb = js("(() => { const r = document.getElementById('power').getBoundingClientRect();"
                    " return [r.left + r.width / 2, r.top + r.height / 2]; })()")
            mouse("mouseMoved", *pb)
            mouse("mousePressed", *pb)
            mouse("mouseReleased", *pb)
            recs = buttons.records(4, time.monotonic() + 20)
            print("buttons " + " ".join(f"{c} {v}" for t, c, v in recs if t == 1))
        finally:
            b.close()
    return 0


if __name__ == "__main__":
    try:
        if sys.argv[1] == "canvas":
            sys.exit(save_canvas(*sys.argv[2:5]))
        sys.exit(main(*sys.argv[1:5]))
    except (OSError, EOFError, TimeoutError, RuntimeError) as e:
        print(f"webview-cdp: {e}")
        sys.exit(1)
