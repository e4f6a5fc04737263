#!/bin/sh
# sepia-webview's page in a real browser: headless Chromium loads it, and its screenshot must
# show the display's pixels exactly (the first <img> sits at 0,0 at natural size); then, with
# the page open, the "VMM" (tests/e2e/fb-fill) publishes a new frame and the page must follow:
# its long poll answers, it swaps in the new PNG, the caption counts the frame.
# The second part runs in real time through Chromium's DevTools protocol (webview-cdp.py), not
# with --virtual-time-budget: with a budget, Chromium hung about once in 13 runs here after the
# budget ended (the page had followed the frame; the screenshot never came).
# TAP; exit 77 without chromium or python3's PIL. Reports how long Chromium took.
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
chromium() { # chromium OUT.png LOG URL [extra flags]
	out=$1 log=$2 url=$3
	shift 3
	chromium_screenshot "$out" "$log" "$url" "$(mktemp -d "$T/profile.XXXXXX")" 480,360 "$@"
}

echo "1..7"

PORT=$("$PY" "$CHECK" free-port)
URL=http://127.0.0.1:$PORT
mkfifo "$T/fill.fifo"
"$FB_FILL" "$T/display0.fb" 400x300 320x240:1 320x240:2 <"$T/fill.fifo" >"$T/fill.out" &
fill_pid=$!
exec 3>"$T/fill.fifo"
"$WEBVIEW" --framebuffer-dir="$T" --port="$PORT" --verbose 2>"$T/webview.log" 3>&- &
wv_pid=$!
for _ in $(seq 100); do grep -q "serving" "$T/webview.log" 2>/dev/null && break; sleep 0.05; done

# 1. The page as loaded.
t0=$(now_ms)
chromium "$T/shot1.png" "$T/chromium1.log" "$URL/"
status=$?
load_ms=$(($(now_ms) - t0))
echo "# chromium: load and screenshot took $load_ms ms"
check "headless Chromium takes a screenshot of the page (exit $status, $load_ms ms)" \
	sh -c "[ $status -eq 0 ] && [ -s '$T/shot1.png' ] || { cat '$T/chromium1.log'; false; }"
check "the screenshot shows display 0's pixels exactly at 0,0" "$PY" "$CHECK" pattern "$T/shot1.png" 320 240 1 0 0
check "right of the picture is the page's background: the <img> is at its natural size" \
	"$PY" "$CHECK" solid "$T/shot1.png" 320 0 10 240 32 33 36

# 2. The page follows a new frame, in real time: tests/e2e/webview-cdp.py drives Chromium through
# its DevTools protocol, waits until the page shows frame 1, has fb-fill publish frame 2 and
# waits until the page shows it.
skip_lines=$(wc -l <"$T/webview.log")
t0=$(now_ms)
"$PY" "$top_srcdir/tests/e2e/webview-cdp.py" "$CHROMIUM" "$URL/" "$T/fill.fifo" "$T" >"$T/cdp.out" 2>&1 3>&-
status=$?
follow_ms=$(($(now_ms) - t0))
shown_ms=$(sed -n 's/^shown_ms //p' "$T/cdp.out")
echo "# chromium: start, load, follow one frame, two screenshots took $follow_ms ms; frame 2 was on the page ${shown_ms:-?} ms after it was published"
check "with the page open, frame 2 is published and the page shows it (${shown_ms:-?} ms)" \
	sh -c "[ $status -eq 0 ] || { cat '$T/cdp.out'; tail -n +$((skip_lines + 1)) '$T/webview.log'; false; }"
check "the page showed frame 1's pixels first" "$PY" "$CHECK" pattern "$T/follow1.png" 320 240 1 0 0
check "then frame 2's pixels exactly" "$PY" "$CHECK" pattern "$T/follow2.png" 320 240 2 0 0
pngs=$(tail -n +"$((skip_lines + 1))" "$T/webview.log" | grep -c 'GET /display0.png')
check "the page fetched display0.png twice: once loaded, once for the new frame" \
	sh -c "[ $pngs -eq 2 ] || { echo 'png requests: $pngs'; tail -n +$((skip_lines + 1)) '$T/webview.log'; false; }"

exec 3>&-
wait "$fill_pid"
fill_pid=
exit $((fails > 0))
