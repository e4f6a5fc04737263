#!/bin/sh
# sepia-webview's page in Firefox: headless Firefox (Debian's firefox-esr), driven through its own
# remote protocol, WebDriver BiDi (webview-firefox.py, which also plays the device's touch,
# keyboard and button devices: unix sockets listening in the instance directory), loads the page;
# its canvas must hold display 0's pixels exactly and fit the window with its aspect kept; the
# "VMM" (tests/e2e/fb-fill) publishes a new frame and the page must draw it (pushed over the
# WebSocket, no reload); a click at a page coordinate must reach the touch device at the mapped
# display coordinates (+-1 px), two touching fingers must become two contacts, typed text must
# reach the keyboard and the Power button the buttons. webview-chromium.sh does the same in
# Chromium. TAP; exit 77 without firefox-esr (or firefox) or python3's PIL.
set -u
top_builddir=${top_builddir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
CHECK=$top_srcdir/tests/e2e/display-check.py

. "$top_srcdir/tests/e2e/require.sh"
require_webview_tools
. "$top_srcdir/tests/e2e/display-lib.sh"
FIREFOX=
for f in firefox-esr firefox; do
	command -v "$f" >/dev/null 2>&1 && { FIREFOX=$f; break; }
done
[ -n "$FIREFOX" ] || skip "firefox is not installed (Debian: apt-get install firefox-esr)"
find_pil_python

display_test_begin firefox

echo "1..9"

PORT=$("$PY" "$CHECK" free-port)
mkfifo "$T/fill.fifo"
"$FB_FILL" "$T/display0.fb" 400x300 320x240:1 320x240:2 <"$T/fill.fifo" >"$T/fill.out" &
fill_pid=$!
exec 3>"$T/fill.fifo"
"$WEBVIEW" --framebuffer-dir="$T" --port="$PORT" --verbose 2>"$T/webview.log" 3>&- &
wv_pid=$!
for _ in $(seq 100); do grep -q "serving" "$T/webview.log" 2>/dev/null && break; sleep 0.05; done

mkdir "$T/ff"
timeout 180 "$PY" "$top_srcdir/tests/e2e/webview-firefox.py" "$FIREFOX" "http://127.0.0.1:$PORT/" \
	"$T/fill.fifo" "$T" "$T/ff" >"$T/bidi.out" 2>&1 3>&-
status=$?
PAGE_OUT=$T/bidi.out
echo "# $(page_val version): page loaded and frame 1 drawn $(page_val load_ms) ms after Firefox started;" \
	"frame 2 drawn $(page_val shown_ms) ms after it was published"
check "headless Firefox used the page through WebDriver BiDi (exit $status)" \
	sh -c "[ $status -eq 0 ] || { cat '$T/bidi.out'; grep -v '^\$' '$T/ff/firefox.log' | tail -20; tail -20 '$T/webview.log'; false; }"
check "the page's canvas holds display 0's frame 1 exactly" "$PY" "$CHECK" pattern "$T/ff/firefox1.png" 320 240 1 0 0
check "the display fits the window, scaled with its aspect kept (not 1:1)" page_fits
check "frame 2 is published with the page open and the page draws it ($(page_val shown_ms) ms)" \
	"$PY" "$CHECK" pattern "$T/ff/firefox2.png" 320 240 2 0 0
page_input_checks

exec 3>&-
wait "$fill_pid"
fill_pid=
exit $((fails > 0))
