#!/bin/sh
# The display tools end to end, on scanout files written by tests/e2e/fb-fill as sepia-vmm
# writes them (no VMM needed): cvd_display screenshot by file and by instance, its errors and
# exit codes; sepia-webview's pages, PNGs, frame counters, long polls, keep-alive, several
# clients, a file replaced by a new VMM, bad requests, SIGTERM. Pixels are checked with
# python3's PIL (tests/e2e/display-check.py). TAP; exit 77 when PIL or a program is missing.
# The page in a real browser: webview-chromium.sh.
set -u
top_builddir=${top_builddir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
CVD_DISPLAY=$top_builddir/cvd_display
CHECK=$top_srcdir/tests/e2e/display-check.py

. "$top_srcdir/tests/e2e/require.sh"
require_webview_tools
[ -x "$CVD_DISPLAY" ] || skip "$CVD_DISPLAY not built"
. "$top_srcdir/tests/e2e/display-lib.sh"
find_pil_python

display_test_begin display
export HOME=$T/home
unset CUTTLEFISH_INSTANCE
# status_is "description" STATUS PATTERN command...: the command exits STATUS and its output
# (stdout and stderr) matches the grep -E PATTERN.
status_is() {
	d=$1 want=$2 pat=$3; shift 3
	"$@" >"$T/out" 2>&1
	got=$?
	if [ "$got" -eq "$want" ] && grep -Eq -- "$pat" "$T/out"; then ok "$d"; else
		not_ok "$d"; echo "# exit $got (want $want), output (want /$pat/):"; sed 's/^/# /' "$T/out"
	fi
}
pattern() { "$PY" "$CHECK" pattern "$@"; }

echo "1..50"

# ---- cvd_display screenshot --framebuffer
mkdir -p "$T/fb" "$T/out-dir"
FB=$T/fb/display0.fb
"$FB_FILL" "$FB" 400x300 320x240:1 >/dev/null
status_is "screenshot --framebuffer writes a PNG and says so" 0 "wrote $T/out-dir/a.png" \
	"$CVD_DISPLAY" screenshot --framebuffer="$FB" --output="$T/out-dir/a.png"
check "its pixels are the 320x240 picture published (not the 400x300 maximum)" pattern "$T/out-dir/a.png" 320 240 1
check "it is an 8-bit RGB PNG" sh -c "'$PY' -c 'from PIL import Image; im=Image.open(\"$T/out-dir/a.png\"); assert im.mode == \"RGB\" and im.format == \"PNG\", im.mode'"
"$FB_FILL" "$FB" 400x300 17x9:2 >/dev/null
"$CVD_DISPLAY" screenshot --framebuffer="$FB" --output="$T/out-dir/a.png" >/dev/null 2>&1
check "a second screenshot replaces the file; nothing else is left in the directory" \
	sh -c "pattern() { '$PY' '$CHECK' pattern \"\$@\"; }; pattern '$T/out-dir/a.png' 17 9 2 && [ \"\$(ls '$T/out-dir')\" = a.png ]"

"$FB_FILL" "$FB" 64x64 64x48:5:off >/dev/null
status_is "a disabled scanout is written, with a warning" 0 "warning: .*disabled" \
	"$CVD_DISPLAY" screenshot --framebuffer="$FB" --output="$T/disabled.png"
check "the disabled scanout's file holds its picture" pattern "$T/disabled.png" 64 48 5
"$FB_FILL" "$FB" 64x64 0x0 >/dev/null
status_is "a 0x0 picture fails, naming the file, and writes nothing" 1 "shows nothing.*$FB" \
	"$CVD_DISPLAY" screenshot --framebuffer="$FB" --output="$T/empty.png"
check "no PNG for the 0x0 picture" test ! -e "$T/empty.png"
status_is "a missing framebuffer file fails naming it" 1 "$T/fb/none.fb" \
	"$CVD_DISPLAY" screenshot --framebuffer="$T/fb/none.fb" --output="$T/x.png"
head -c 8192 /dev/urandom >"$T/fb/bad.fb"
status_is "a file that is no framebuffer fails naming it" 1 "$T/fb/bad.fb is not a sepia framebuffer" \
	"$CVD_DISPLAY" screenshot --framebuffer="$T/fb/bad.fb" --output="$T/x.png"
"$FB_FILL" "$FB" 400x300 320x240:1 >/dev/null
status_is "an unwritable output fails naming it" 1 "cannot write $T/no-such-dir/x.png" \
	"$CVD_DISPLAY" screenshot --framebuffer="$FB" --output="$T/no-such-dir/x.png"

# ---- usage
status_is "an unknown flag is a usage error (2)" 2 "unknown flag '--colour=red'" \
	"$CVD_DISPLAY" screenshot --framebuffer="$FB" --output="$T/x.png" --colour=red
status_is "screenshot without --output is a usage error (2)" 2 "--output=FILE.png is required" \
	"$CVD_DISPLAY" screenshot --framebuffer="$FB"
status_is "--framebuffer with --display is a usage error (2)" 2 "without --instance_num and --display" \
	"$CVD_DISPLAY" screenshot --framebuffer="$FB" --display=1 --output="$T/x.png"
status_is "--display past 63 is a usage error (2)" 2 "--display" \
	"$CVD_DISPLAY" screenshot --display=64 --output="$T/x.png"
status_is "no command is a usage error (2) showing the commands" 2 "screenshot" "$CVD_DISPLAY"
status_is "an unknown command is a usage error (2)" 2 "unknown command 'shot'" "$CVD_DISPLAY" shot
status_is "--help lists the commands (0)" 0 "screenshot .*list" sh -c "'$CVD_DISPLAY' --help | tr '\n' ' '"
status_is "screenshot --help lists its flags (0)" 0 "--instance_num=N.*--display=N.*--output.*--framebuffer" \
	sh -c "'$CVD_DISPLAY' screenshot --help | tr '\n' ' '"

# ---- by instance: ~/cuttlefish/instances/cvd-N/display<K>.fb
I3=$HOME/cuttlefish/instances/cvd-3
mkdir -p "$I3" "$HOME/cuttlefish/instances/cvd-5"
printf '{\n  "gpu_mode": "none"\n}\n' >"$HOME/cuttlefish/instances/cvd-5/cuttlefish_config.json"
"$FB_FILL" "$I3/display0.fb" 200x100 200x100:7 >/dev/null
status_is "CUTTLEFISH_INSTANCE=3 picks cvd-3 (stopped: a warning)" 0 "cvd-3 is not running" \
	env CUTTLEFISH_INSTANCE=3 "$CVD_DISPLAY" screenshot --output="$T/i3.png"
check "cvd-3's display 0 is in the PNG" pattern "$T/i3.png" 200 100 7
status_is "--instance_num overrides CUTTLEFISH_INSTANCE" 0 "display 0 of cvd-3" \
	env CUTTLEFISH_INSTANCE=9 "$CVD_DISPLAY" screenshot --instance_num=3 --output="$T/i3b.png"
status_is "an instance without a directory: no such instance (1)" 1 "cvd-4: no such instance" \
	"$CVD_DISPLAY" screenshot --instance_num=4 --output="$T/x.png"
status_is "an instance without displays says so, with its gpu_mode (1)" 1 "cvd-5 has no display.*gpu_mode=none" \
	"$CVD_DISPLAY" screenshot --instance_num=5 --output="$T/x.png"
status_is "a display the instance lacks: the message lists those it has (1)" 1 "cvd-3 has no display 2 \(its displays: 0\)" \
	"$CVD_DISPLAY" screenshot --instance_num=3 --display=2 --output="$T/x.png"
status_is "a bad CUTTLEFISH_INSTANCE is a usage error (2)" 2 "CUTTLEFISH_INSTANCE=zero" \
	env CUTTLEFISH_INSTANCE=zero "$CVD_DISPLAY" screenshot --output="$T/x.png"
status_is "list shows cvd-3's display" 0 "display 0: 200x100 enabled, 160 dpi, 1 frames" \
	"$CVD_DISPLAY" list --instance_num=3

# ---- sepia-webview
PORT=$("$PY" "$CHECK" free-port)
URL=http://127.0.0.1:$PORT
W=$T/webview
mkdir -p "$W"
# The display's file is written by an fb-fill that stays, publishing its next picture on each
# line it reads from the fifo: a running VMM.
mkfifo "$T/fill.fifo"
"$FB_FILL" "$W/display0.fb" 400x300 320x240:1 320x240:2 <"$T/fill.fifo" >"$T/fill.out" &
fill_pid=$!
exec 3>"$T/fill.fifo"
"$WEBVIEW" --framebuffer-dir="$W" --port="$PORT" --verbose 2>"$T/webview.log" 3>&- &
wv_pid=$!
for _ in $(seq 100); do grep -q "serving" "$T/webview.log" 2>/dev/null && break; sleep 0.05; done
status_is "sepia-webview logs one line when it starts" 0 "sepia-webview: serving the displays in $W on $URL/" \
	cat "$T/webview.log"
get() { "$PY" "$CHECK" get "$@"; }
status_is "/ is an HTML page, with Content-Length and Cache-Control: no-store" 0 \
	"status 200.*content-type: text/html.*cache-control: no-store.*length ok" sh -c "'$PY' '$CHECK' get $URL/ '$T/page.html' | tr '\n' ' '"
check "the page opens the WebSocket /stream (frames and input)" grep -q 'new WebSocket(`ws://${location.host}/stream`)' "$T/page.html"
status_is "/display0.png is a PNG with Content-Length and no-store" 0 \
	"status 200.*content-type: image/png.*cache-control: no-store.*length ok" sh -c "'$PY' '$CHECK' get $URL/display0.png '$T/web1.png' | tr '\n' ' '"
check "/display0.png shows the published picture" pattern "$T/web1.png" 320 240 1
status_is "/display0/frames has the counter, size and state" 0 '"frames": 1, "width": 320, "height": 240, "enabled": true' \
	sh -c "'$PY' '$CHECK' get $URL/display0/frames '$T/frames.json' >/dev/null && cat '$T/frames.json'"
status_is "HEAD /display0.png: the headers and no body" 0 "status 200.*length ok" \
	sh -c "'$PY' '$CHECK' get $URL/display0.png '$T/head.out' HEAD | tr '\n' ' '"
status_is "unknown paths are 404: /nope, /display7.png, /display00.png, /display0/frame" 0 "^404 404 404 404 $" \
	sh -c "for p in /nope /display7.png /display00.png /display0/frame; do '$PY' '$CHECK' get $URL\$p /dev/null | sed -n 's/^status //p'; done | tr '\n' ' '"
status_is "two pipelined requests on one connection get two answers in order" 0 "HTTP/1.1 200 OK.*HTTP/1.1 404 Not Found" \
	sh -c "'$PY' '$CHECK' pipeline 127.0.0.1 $PORT /display0/frames /nope | tr '\n' ' '"
status_is "a malformed request gets 400" 0 "HTTP/1.1 400" "$PY" "$CHECK" raw 127.0.0.1 "$PORT" 'GARBAGE\r\n\r\n'
status_is "POST gets 405" 0 "HTTP/1.1 405" "$PY" "$CHECK" raw 127.0.0.1 "$PORT" 'POST / HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0\r\n\r\n'
check "the failure was logged naming the client and what it sent" grep -Eq "client 127.0.0.1:[0-9]+: .*answered 400" "$T/webview.log"

# A held poll answers when the VMM publishes a frame, not at the end of its wait: the poll asks
# for the longest hold (25 s), and the frame comes about 0.5 s after it. Its answer must be the
# new version (an answer before the frame would be the old one) and come before the wait ran out
# (one that came only then would be late by the whole wait, not by this host's speed).
v1=$("$PY" "$CHECK" json "$URL/display0/frames" version)
(sleep 0.5; echo next >&3) &
t0=$(date +%s%N)
v2=$("$PY" "$CHECK" json "$URL/display0/frames?after=$v1&wait=25000" version)
held_ms=$((($(date +%s%N) - t0) / 1000000))
status_is "a poll held with after=VERSION answers when a frame is published (${held_ms} ms)" 0 "^2$" \
	sh -c "[ -n '$v2' ] && [ '$v2' != '$v1' ] && [ $held_ms -lt 25000 ] && '$PY' '$CHECK' json $URL/display0/frames frames"
get "$URL/display0.png" "$T/web2.png" >/dev/null
check "/display0.png follows to the new frame" pattern "$T/web2.png" 320 240 2
status_is "a held poll with nothing new answers after wait=MS, unchanged" 0 "^$v2$" \
	"$PY" "$CHECK" json "$URL/display0/frames?after=$v2&wait=300" version
check "several clients: a request is answered while 6 polls are held" "$PY" "$CHECK" parallel "$URL/display0/frames" 6
exec 3>&-
wait "$fill_pid"
fill_pid=

# A new VMM replaces the file: its frame count starts again, the version still changes.
"$FB_FILL" "$W/display0.fb" 400x300 100x50:3 >/dev/null
v3=$("$PY" "$CHECK" json "$URL/display0/frames" version)
status_is "a replaced file is a new version even with the same frame count" 0 "^1$" \
	sh -c "[ '$v3' != '$v2' ] && '$PY' '$CHECK' json $URL/display0/frames frames"
get "$URL/display0.png" "$T/web3.png" >/dev/null
check "/display0.png shows the new file's picture" pattern "$T/web3.png" 100 50 3
mv "$W/display0.fb" "$T/away.fb"
status_is "without the file, /display0.png and /display0/frames are 404" 0 "^404 404 $" \
	sh -c "for p in /display0.png /display0/frames; do '$PY' '$CHECK' get $URL\$p /dev/null | sed -n 's/^status //p'; done | tr '\n' ' '"
mv "$T/away.fb" "$W/display0.fb"
get "$URL/display0.png" "$T/web4.png" >/dev/null
check "when the file is back, so is the picture" pattern "$T/web4.png" 100 50 3

status_is "a port in use: exit 1, naming the address" 1 "cannot listen on 127.0.0.1:$PORT" \
	"$WEBVIEW" --framebuffer-dir="$W" --port="$PORT"
status_is "no --port: usage error (2)" 2 "--framebuffer-dir and --port are required" "$WEBVIEW" --framebuffer-dir="$W"
kill -TERM "$wv_pid"
wait "$wv_pid"
status=$?
wv_pid=
status_is "SIGTERM stops sepia-webview with status 0" 0 "stopping on a signal" sh -c "[ $status -eq 0 ] && cat '$T/webview.log'"

[ "$n" -eq 50 ] || echo "# ran $n checks, the plan says 50"
exit $((fails > 0))
