#!/bin/sh
# sepia-webview's page in a real browser, used as a person would: headless Chromium, driven in
# real time through its DevTools protocol (webview-cdp.py, which also plays the device's input
# devices: unix sockets listening in the instance directory), loads the page; its canvas must
# hold display 0's pixels exactly and fit the window with its aspect kept; the "VMM"
# (tests/e2e/fb-fill) publishes a new frame and the page must draw it (pushed over the
# WebSocket, no polling); a click at a page coordinate must reach the touch device at the
# mapped display coordinates (+-1 px), typed text the keyboard, the Power button the buttons.
# Not with --virtual-time-budget: with a budget, Chromium hung about once in 13 runs here after
# the budget ended. TAP; exit 77 without chromium or python3's PIL. Reports how long it took.
set -u
top_builddir=${top_builddir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
CHECK=$top_srcdir/tests/e2e/display-check.py

. "$top_srcdir/tests/e2e/require.sh"
require_webview_tools
. "$top_srcdir/tests/e2e/display-lib.sh"
find_chromium
find_pil_python

display_test_begin chromium
now_ms() { echo $(($(date +%s%N) / 1000000)); }

echo "1..9"

PORT=$("$PY" "$CHECK" free-port)
URL=http://127.0.0.1:$PORT
mkfifo "$T/fill.fifo"
"$FB_FILL" "$T/display0.fb" 400x300 320x240:1 320x240:2 <"$T/fill.fifo" >"$T/fill.out" &
fill_pid=$!
exec 3>"$T/fill.fifo"
"$WEBVIEW" --framebuffer-dir="$T" --port="$PORT" --verbose 2>"$T/webview.log" 3>&- &
wv_pid=$!
for _ in $(seq 100); do grep -q "serving" "$T/webview.log" 2>/dev/null && break; sleep 0.05; done

t0=$(now_ms)
"$PY" "$top_srcdir/tests/e2e/webview-cdp.py" "$CHROMIUM" "$URL/" "$T/fill.fifo" "$T" >"$T/cdp.out" 2>&1 3>&-
status=$?
took_ms=$(($(now_ms) - t0))
PAGE_OUT=$T/cdp.out
shown_ms=$(page_val shown_ms)
echo "# chromium: start, load, follow one frame, click, type, press took $took_ms ms; frame 2 was on the page ${shown_ms:-?} ms after it was published"
check "headless Chromium used the page through the DevTools protocol (exit $status)" \
	sh -c "[ $status -eq 0 ] || { cat '$T/cdp.out'; tail -20 '$T/webview.log'; false; }"
check "the page's canvas holds display 0's frame 1 exactly" "$PY" "$CHECK" pattern "$T/follow1.png" 320 240 1 0 0
check "the display fits the window, scaled with its aspect kept (not 1:1)" page_fits
check "with the page open, frame 2 is published and the page draws it (${shown_ms:-?} ms)" \
	"$PY" "$CHECK" pattern "$T/follow2.png" 320 240 2 0 0
page_input_checks

exec 3>&-
wait "$fill_pid"
fill_pid=
exit $((fails > 0))
