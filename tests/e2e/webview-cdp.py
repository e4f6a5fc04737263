"""Drives headless Chromium through the DevTools protocol to watch sepia-webview's page follow a
display in real time (webview-chromium.sh).

  webview-cdp.py CHROMIUM URL FIFO OUT_DIR

Opens URL in a 480x360 page, waits until display 0 shows frame 1 (caption and picture),
takes OUT_DIR/follow1.png, writes a line to FIFO (tests/e2e/fb-fill publishes its next
picture), waits until the page shows frame 2, takes OUT_DIR/follow2.png. Prints
"shown_ms N": from the write to the page showing the new frame.

The protocol runs over --remote-debugging-pipe: Chromium reads JSON messages ending in a NUL
byte on its fd 3 and answers on fd 4, so no websocket library is needed.
"""
import base64
import json
import os
import select
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


def main(chromium, url, fifo, out_dir):
    with tempfile.TemporaryDirectory(prefix="sepia-cdp-") as profile:
        b = Browser(chromium, profile)
        try:
            target = b.call("Target.createTarget", {"url": "about:blank"})
            session = b.call("Target.attachToTarget", {"targetId": target["targetId"], "flatten": True})["sessionId"]
            b.call("Page.enable", session=session)
            b.call("Page.navigate", {"url": url}, session=session)

            def shows(frame):
                # The caption comes from the poll's answer; the <img> is swapped in only once
                # the new PNG decoded, its URL names the version (inode-time-frames, hex).
                expr = ("(() => { const c = document.getElementById('c0'), i = document.getElementById('d0');"
                        " return c && i ? [c.textContent, i.src, i.complete, i.naturalWidth] : null; })()")
                r = b.call("Runtime.evaluate", {"expression": expr, "returnByValue": True}, session=session)
                v = r["result"].get("value")
                return bool(v) and v[0].endswith(f"frame {frame}") and v[1].endswith(f"-{frame:x}") \
                    and v[2] and v[3] == 320

            def wait_for(frame):
                while not shows(frame):
                    if time.monotonic() > b.deadline:
                        raise TimeoutError(f"the page did not show frame {frame}")
                    time.sleep(0.01)

            def screenshot(name):
                data = b.call("Page.captureScreenshot", {"format": "png"}, session=session)["data"]
                with open(os.path.join(out_dir, name), "wb") as f:
                    f.write(base64.b64decode(data))

            wait_for(1)
            screenshot("follow1.png")
            t0 = time.monotonic()
            with open(fifo, "w") as f:
                f.write("next\n")
            wait_for(2)
            print(f"shown_ms {(time.monotonic() - t0) * 1000:.0f}")
            screenshot("follow2.png")
        finally:
            b.close()
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(*sys.argv[1:5]))
    except (OSError, EOFError, TimeoutError, RuntimeError) as e:
        print(f"webview-cdp: {e}")
        sys.exit(1)
