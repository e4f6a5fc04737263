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

  webview-cdp.py drive CHROMIUM URL WIDTH HEIGHT

Keeps a page on URL (a device's web view) open in a WIDTHxHEIGHT viewport for a script that
sends it one command a line on stdin and reads one answer a line on stdout (cdp-lib.sh wraps
it). Once display 0 has a picture it prints "ready L T W H DW DH": the canvas on the page (CSS
pixels) and the display's size. Then, with X Y page coordinates (CSS pixels) for input and
display pixels for the canvas:
  click X Y         a left click (press and release) there; "ok"
  drag X1 Y1 X2 Y2  a press at X1 Y1, 20 moves to X2 Y2 and the release there; "ok"
  type TEXT         keyDown/keyUp for each letter or digit of TEXT; "ok"
  pixel X Y         "pixel R G B A rects N": the canvas there, and the rectangles drawn so far
  await_white X Y   waits until the canvas is white there; "white rects N"
  arm X Y           from now, notes the first rectangle the page draws: "armed"
  arm_white X Y     from now, notes the first rectangle after which X Y is white: "armed"
  drawn             waits for the armed note: "drawn R G B A rect X Y W H at_ms T" (the pixel
                    at the armed place once that rectangle was drawn, the rectangle, and the
                    wall-clock time of the drawing in ms since the epoch, as date +%s%3N)
  screenshot OUT    saves the whole page as OUT (PNG); "ok"
  quit              closes Chromium and exits 0 (so does the end of stdin)
A command that fails answers "error WHY" and the script exits 1.

The protocol runs over --remote-debugging-pipe: Chromium reads JSON messages ending in a NUL
byte on its fd 3 and answers on fd 4, so no websocket library is needed.
"""
import base64
import json
import os
import select
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

from touch_records import multitouch_line

DEADLINE_S = 60


class Browser:
    def __init__(self, chromium, profile, width=480, height=360):
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
                 "--remote-debugging-pipe", f"--user-data-dir={profile}", f"--window-size={width},{height}"]
        self.proc = subprocess.Popen([chromium] + flags + ["about:blank"], pass_fds=(3, 4),
                                     preexec_fn=fds_3_and_4, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(to_chrome_r)
        os.close(from_chrome_w)
        self.next_id = 0
        self.buf = b""
        self.deadline = time.monotonic() + DEADLINE_S

    def renew_deadline(self):
        """A long-lived session (drive): each command gets DEADLINE_S of its own."""
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


class Page:
    """One tab on the web view's page, in a WIDTHxHEIGHT viewport."""

    def __init__(self, b, url, width=480, height=360):
        self.b = b
        target = b.call("Target.createTarget", {"url": "about:blank"})
        self.session = b.call("Target.attachToTarget", {"targetId": target["targetId"],
                                                        "flatten": True})["sessionId"]
        self.call("Page.enable")
        # The page's viewport, whatever size a new target gets.
        self.call("Emulation.setDeviceMetricsOverride", {"width": width, "height": height,
                                                         "deviceScaleFactor": 1, "mobile": False})
        self.call("Page.navigate", {"url": url})

    def call(self, method, params=None):
        return self.b.call(method, params, session=self.session)

    def js(self, expr):
        r = self.call("Runtime.evaluate", {"expression": expr, "returnByValue": True, "awaitPromise": True})
        if "exceptionDetails" in r:
            raise RuntimeError(f"the page's script failed: {r['exceptionDetails'].get('text')} in {expr[:60]}")
        return r["result"].get("value")

    def wait_js(self, expr, what, step=0.01):
        """Polls expr until it is truthy; its value."""
        while True:
            v = self.js(expr)
            if v:
                return v
            if time.monotonic() > self.b.deadline:
                raise TimeoutError(what)
            time.sleep(step)

    def box(self, element="d0"):
        """[left, top, width, height] of an element, CSS pixels."""
        return self.js(f"(() => {{ const r = document.getElementById('{element}').getBoundingClientRect();"
                       " return [r.left, r.top, r.width, r.height]; })()")

    def mouse(self, kind, x, y):
        self.call("Input.dispatchMouseEvent", {"type": kind, "x": x, "y": y, "button": "left",
                                               "buttons": 1 if kind == "mousePressed" else 0, "clickCount": 1})

    def click(self, x, y):
        for kind in ("mouseMoved", "mousePressed", "mouseReleased"):
            self.mouse(kind, x, y)

    def type(self, text):
        for ch in text:
            if not ch.isascii() or not ch.isalnum():
                raise RuntimeError(f"type: only letters and digits, not {ch!r}")
            code = f"Digit{ch}" if ch.isdigit() else f"Key{ch.upper()}"
            for kind in ("keyDown", "keyUp"):
                self.call("Input.dispatchKeyEvent", {"type": kind, "key": ch, "code": code,
                                                     "text": ch if kind == "keyDown" else ""})

    def canvas_png(self, out, element="d0"):
        data = self.js(f"document.getElementById('{element}').toDataURL('image/png')")
        with open(out, "wb") as f:
            f.write(base64.b64decode(data.split(",", 1)[1]))


def save_canvas(chromium, url, out):
    with tempfile.TemporaryDirectory(prefix="sepia-cdp-") as profile:
        b = Browser(chromium, profile)
        try:
            page = Page(b, url)
            page.wait_js("window.sepia && sepia.rects[0]", "the page drew no picture of display 0", 0.05)
            page.canvas_png(out)
        finally:
            b.close()
    return 0


# The probe behind arm/arm_white/drawn: the display's canvas context draws every rectangle with
# drawImage, so a wrapper sees each one drawn, in order, and reads the armed pixel right after.
PROBE_JS = """(() => {
  const ctx = document.getElementById('d0').getContext('2d');
  if (!ctx.sepiaProbe) {
    const draw = ctx.drawImage.bind(ctx);
    ctx.sepiaProbe = true;
    ctx.drawImage = (img, x, y) => {
      draw(img, x, y);
      const p = window.sepiaProbe;
      if (!p || p.done) return;
      const px = Array.from(ctx.getImageData(p.x, p.y, 1, 1).data);
      if (p.white && !(px[0] === 255 && px[1] === 255 && px[2] === 255)) return;
      Object.assign(p, { done: true, px, rect: [x, y, img.width, img.height],
                         at: performance.timeOrigin + performance.now() });
    };
  }
  window.sepiaProbe = { x: %d, y: %d, white: %s, done: false };
  return true;
})()"""


def drive(chromium, url, width, height):
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # so that Chromium is closed below
    out = sys.stdout

    def answer(line):
        out.write(line + "\n")
        out.flush()

    with tempfile.TemporaryDirectory(prefix="sepia-cdp-") as profile:
        b = Browser(chromium, profile, int(width), int(height))
        try:
            page = Page(b, url, int(width), int(height))
            page.wait_js("window.sepia && sepia.rects[0]", "the page drew no picture of display 0")
            left, top, w, h = page.box()
            dw, dh = page.js("[document.getElementById('d0').width, document.getElementById('d0').height]")
            answer(f"ready {left:.2f} {top:.2f} {w:.2f} {h:.2f} {dw} {dh}")
            pixel = "Array.from(document.getElementById('d0').getContext('2d').getImageData(%d, %d, 1, 1).data)"
            for line in sys.stdin:
                b.renew_deadline()
                cmd, *args = line.split(maxsplit=1)
                arg = args[0].strip() if args else ""
                xy = [int(float(v)) for v in arg.split()[:2]] if cmd not in ("type", "screenshot") else []
                if cmd == "click":
                    page.click(*xy)
                    answer("ok")
                elif cmd == "drag":
                    x1, y1, x2, y2 = (float(v) for v in arg.split()[:4])
                    page.mouse("mouseMoved", x1, y1)
                    page.mouse("mousePressed", x1, y1)
                    for i in range(1, 21):
                        page.call("Input.dispatchMouseEvent", {
                            "type": "mouseMoved", "x": x1 + (x2 - x1) * i / 20, "y": y1 + (y2 - y1) * i / 20,
                            "button": "left", "buttons": 1})
                    page.mouse("mouseReleased", x2, y2)
                    answer("ok")
                elif cmd == "type":
                    page.type(arg)
                    answer("ok")
                elif cmd == "pixel":
                    px = page.js(pixel % tuple(xy))
                    answer("pixel %d %d %d %d rects %d" % (*px, page.js("sepia.rects[0]")))
                elif cmd == "await_white":
                    page.wait_js((pixel % tuple(xy)) + ".slice(0, 3).every(v => v === 255)",
                                 f"the page's display 0 did not turn white at {xy[0]},{xy[1]}")
                    answer("white rects %d" % page.js("sepia.rects[0]"))
                elif cmd in ("arm", "arm_white"):
                    page.js(PROBE_JS % (xy[0], xy[1], "true" if cmd == "arm_white" else "false"))
                    answer("armed")
                elif cmd == "drawn":
                    p = page.wait_js("window.sepiaProbe && sepiaProbe.done && sepiaProbe",
                                     "the page drew no rectangle after the armed moment")
                    answer("drawn %d %d %d %d rect %d %d %d %d at_ms %.1f" % (*p["px"], *p["rect"], p["at"]))
                elif cmd == "screenshot":
                    shot = page.call("Page.captureScreenshot", {"format": "png"})
                    with open(arg, "wb") as f:
                        f.write(base64.b64decode(shot["data"]))
                    answer("ok")
                elif cmd == "quit":
                    break
                else:
                    raise RuntimeError(f"unknown command {cmd!r}")
        except (OSError, EOFError, TimeoutError, RuntimeError, ValueError, TypeError) as e:
            answer(f"error {e}")
            return 1
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
            page = Page(b, url)

            def wait_for(frame):
                # window.sepia.frames[0]: the frame count of the last rectangle drawn on the canvas.
                page.wait_js(f"window.sepia && window.sepia.frames[0] === {frame}",
                             f"the page did not draw frame {frame}")

            wait_for(1)
            page.canvas_png(os.path.join(out_dir, "follow1.png"))
            box = page.box()
            print("box %.2f %.2f %.2f %.2f" % tuple(box))
            print("window %d %d" % tuple(page.js("[innerWidth, innerHeight]")))
            t0 = time.monotonic()
            with open(fifo, "w") as f:
                f.write("next\n")
            wait_for(2)
            print(f"shown_ms {(time.monotonic() - t0) * 1000:.0f}")
            page.canvas_png(os.path.join(out_dir, "follow2.png"))

            page.click(box[0] + box[2] / 4, box[1] + box[3] / 2)
            recs = touch.records(10, time.monotonic() + 20)
            pos = {c: v for t, c, v in recs if t == 3 and c in (0x35, 0x36)}
            print(f"touch {pos.get(0x35)} {pos.get(0x36)}")
            print(f"touch_up {int((3, 0x39, -1) in recs and (1, 0x14a, 0) in recs)}")

            # Two fingers at once, at 1/4 and 3/4 of the picture's width, half its height.
            page.call("Emulation.setTouchEmulationEnabled", {"enabled": True, "maxTouchPoints": 5})
            pts = [{"x": box[0] + box[2] * f, "y": box[1] + box[3] / 2, "id": i}
                   for i, f in enumerate((0.25, 0.75))]
            page.call("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": pts})
            page.call("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
            recs = touch.records(20, time.monotonic() + 20)
            print(multitouch_line(recs))
            page.call("Emulation.setTouchEmulationEnabled", {"enabled": False})

            page.type("hi")
            recs = keyboard.records(8, time.monotonic() + 20)
            print("keys " + " ".join(f"{c} {v}" for t, c, v in recs if t == 1))

            pb = page.box("power")
            page.click(pb[0] + pb[2] / 2, pb[1] + pb[3] / 2)
            recs = buttons.records(4, time.monotonic() + 20)
            print("buttons " + " ".join(f"{c} {v}" for t, c, v in recs if t == 1))
        finally:
            b.close()
    return 0


if __name__ == "__main__":
    try:
        if sys.argv[1] == "canvas":
            sys.exit(save_canvas(*sys.argv[2:5]))
        if sys.argv[1] == "drive":
            sys.exit(drive(*sys.argv[2:6]))
        sys.exit(main(*sys.argv[1:5]))
    except (OSError, EOFError, TimeoutError, RuntimeError) as e:
        print(f"webview-cdp: {e}")
        sys.exit(1)
