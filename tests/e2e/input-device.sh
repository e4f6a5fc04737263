#!/bin/bash
# End to end: input and entropy of a launched device. launch_cvd --daemon boots the reference
# guest with its virtio-input devices (a touch screen for display 0, a keyboard, the power and
# volume buttons) and virtio-rng (--enable_rng, the default). Then:
#   - the guest's kernel lists the three input devices under the names sepia-vmm gives them;
#   - cvd_input --tap X,Y reaches the guest's getevent on the touch screen as a protocol-B touch
#     at X,Y; --text on the keyboard and --key POWER on the buttons as key presses;
#   - touch-paint in the guest turns a tap into a white mark on the screen at that place, which
#     cvd_display wait (the screen oracle) sees in the host's picture of display 0;
#   - the web view's page in headless Chromium (webview-cdp.py's drive mode, through the DevTools
#     protocol), used as a person would: a click at a page coordinate reaches the guest's getevent
#     at the display pixel it maps to (+-1), typed text reaches it as key presses, and a click on
#     touch-paint's black screen is white at that place in the first rectangle the page draws
#     after it (these checks skip, saying why, without chromium);
#   - `input tap` in the guest (uinput) reaches getevent watching /dev/input;
#   - /dev/hwrng gives bytes from virtio_rng.
# Timings are notes (bench/input.sh measures them), never conditions. The web view is
# launch_cvd --start_webview's on cvd-1's port 8443 when that port is free; otherwise a
# sepia-webview on a free port serves the same instance directory. SEPIA_WEBVIEW_SCREENSHOT=PNG
# keeps a screenshot of the page operating the device (README's).
set -u
top_builddir=${top_builddir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
B=$top_builddir

skip() { echo "1..0 # SKIP $1"; exit 77; }
. "$top_srcdir/tests/e2e/device-lib.sh"
. "$top_srcdir/tests/e2e/cdp-lib.sh"
device_test_begin input launch_cvd run_cvd stop_cvd cvd_display cvd_input sepia-vmm sepia-vsock-proxy
log=$inst/logs/launcher.log
wv_pid=
trap 'cdp_stop; [ -z "$wv_pid" ] || kill "$wv_pid"; device_test_cleanup' EXIT

# The web view's page, unless a precondition is missing (then page_skip says which).
PY=python3 CHROMIUM=$(command -v chromium || command -v chromium-browser) page_skip= webview_flag=
if [ -z "$CHROMIUM" ]; then
	page_skip="chromium is not installed (scripts/install-deps.sh installs it)"
elif [ ! -x "$B/sepia-webview" ]; then
	page_skip="sepia-webview not built"
elif port_is_free 8443; then
	webview_flag=--start_webview
fi

"$B/launch_cvd" --daemon --memory_mb=512 --blank_data_image_mb=64 $webview_flag >"$work/launch.out" 2>"$work/launch.err"
rc=$?
check "[ $rc = 0 ]" "launch_cvd --daemon boots the reference guest"
[ $rc = 0 ] || { note "$work/launch.err"; note "$log"; tail -n 30 "$inst/logs/kernel.log" | note; }
check "[ -S '$inst/input_touch_0.sock' ] && [ -S '$inst/input_keyboard.sock' ] && [ -S '$inst/input_buttons.sock' ]" \
	"the instance directory holds the input sockets: input_touch_0, input_keyboard, input_buttons"
for _ in $(seq 1 60); do adb devices | grep -q "^$serial[[:space:]]*device" && break; sleep 1; done
sh_() { timeout 120 adb -s "$serial" shell "$@"; }

sh_ cat /proc/bus/input/devices 2>&1 | tr -d '\r' >"$work/devices"
note "$work/devices"
# event_of NAME: the guest's event node of the input device NAME.
event_of() {
	awk -v n="N: Name=\"$1\"" '$0 == n { f = 1 } f && /^H: Handlers=/ { sub(/^H: Handlers=/, ""); for (i = 1; i <= NF; i++) if ($i ~ /^event[0-9]+$/) { print "/dev/input/" $i; exit } }' "$work/devices"
}
touch_dev=$(event_of virtio-input-touch0)
kbd_dev=$(event_of virtio-input-keyboard)
btn_dev=$(event_of virtio-input-buttons)
check "[ -n '$touch_dev' ] && [ -n '$kbd_dev' ] && [ -n '$btn_dev' ]" \
	"the guest has the touch screen ($touch_dev), the keyboard ($kbd_dev) and the buttons ($btn_dev)"

# getevent_during OUT COUNT DEVICE CMD...: getevent -l -c COUNT on DEVICE in the guest, into OUT;
# once it has opened the device, the host runs CMD; then waits for getevent's COUNT events.
getevent_during() {
	local out=$1 count=$2 dev=$3
	shift 3
	sh_ getevent -l -c "$count" $dev >"$out" 2>&1 &
	local pid=$!
	for _ in $(seq 1 300); do grep -q "add device" "$out" && break; sleep 0.1; done
	"$@"
	local t0=$(date +%s%N)
	wait $pid
	echo "# $((($(date +%s%N) - t0) / 1000000)) ms from the host's send to getevent's last event over adb"
	note "$out"
}

getevent_during "$work/tap.out" 8 "$touch_dev" "$B/cvd_input" --tap 100,200
check "grep -E 'EV_ABS +ABS_MT_TRACKING_ID' '$work/tap.out' | head -n 1 | grep -Evq 'ffffffff'" \
	"a tap: getevent sees a contact begin (ABS_MT_TRACKING_ID)"
check "grep -Eq 'EV_ABS +ABS_MT_POSITION_X +00000064' '$work/tap.out' && grep -Eq 'EV_ABS +ABS_MT_POSITION_Y +000000c8' '$work/tap.out'" \
	"at the tapped place, X 100 and Y 200 in display pixels"
check "grep -Eq 'EV_KEY +BTN_TOUCH +DOWN' '$work/tap.out' && grep -Eq 'EV_KEY +BTN_TOUCH +UP' '$work/tap.out' && grep -Eq 'EV_ABS +ABS_MT_TRACKING_ID +ffffffff' '$work/tap.out'" \
	"and the contact ends (BTN_TOUCH DOWN then UP, tracking id -1)"
check "[ \$(grep -Ec 'EV_SYN +SYN_REPORT' '$work/tap.out') = 2 ]" \
	"in two reports (down, up)"

getevent_during "$work/text.out" 8 "$kbd_dev" "$B/cvd_input" --text hi
check "grep -Eq 'EV_KEY +KEY_H +DOWN' '$work/text.out' && grep -Eq 'EV_KEY +KEY_I +UP' '$work/text.out'" \
	"cvd_input --text hi: the keyboard presses and releases H and I"
getevent_during "$work/power.out" 4 "$btn_dev" "$B/cvd_input" --key POWER
check "grep -Eq 'EV_KEY +KEY_POWER +DOWN' '$work/power.out' && grep -Eq 'EV_KEY +KEY_POWER +UP' '$work/power.out'" \
	"cvd_input --key POWER: the buttons device presses and releases KEY_POWER"
if ! grep -Eq 'KEY_POWER +UP' "$work/power.out"; then
	sh_ "grep -i virtio /proc/interrupts; dmesg | tail -n 20" 2>&1 | note
	grep -i "input\|buttons" "$log" | tail -n 20 | note
fi

# touch-paint and the screen oracle.
python3 - "$work/white.png" "$work/black.png" <<'PY'
import struct, sys, zlib
def png(path, rgb, w=11, h=11):
    raw = b"".join(b"\0" + bytes(rgb) * w for _ in range(h))
    def chunk(t, d): return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d))
    open(path, "wb").write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
                           + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
png(sys.argv[1], (255, 255, 255)); png(sys.argv[2], (0, 0, 0))
PY
sh_ touch-paint >"$work/paint.out" 2>&1
rc=$?
note "$work/paint.out"
check "[ $rc = 0 ] && grep -q 'touch-paint: 720x1280 on connector' '$work/paint.out'" "touch-paint shows a black screen and waits for touches"
"$B/cvd_display" wait --match="$work/black.png" --region=295,495,11,11 --timeout=60 >"$work/black.out" 2>&1
check "[ $? = 0 ]" "cvd_display wait: the place to be tapped is black"
note "$work/black.out"
"$B/cvd_display" wait --match="$work/white.png" --region=295,495,11,11 --timeout=0 >"$work/nowhite.out" 2>&1
check "[ $? = 1 ] && grep -q '121 of 121 pixels differ' '$work/nowhite.out'" "and not white before the tap (the oracle says 1, with the count)"
t0=$(date +%s%N)
"$B/cvd_input" --tap 300,500
"$B/cvd_display" wait --match="$work/white.png" --region=295,495,11,11 --timeout=120 >"$work/white.out" 2>&1
rc=$?
echo "# tap to pixel: $((($(date +%s%N) - t0) / 1000000)) ms"
note "$work/white.out"
check "[ $rc = 0 ]" "cvd_input --tap 300,500: the screen turns white around 300,500 (cvd_display wait matches)"
"$B/cvd_display" wait --match="$work/black.png" --region=95,895,11,11 --timeout=0 >/dev/null 2>&1
check "[ $? = 0 ]" "and stays black elsewhere"
# Ten more taps, each at a new place, for the numbers (bench/input.sh does 50).
: >"$work/pixel.ms"
for i in 0 1 2 3 4 5 6 7 8 9; do
	x=$((60 + i * 60)) y=1000
	t0=$(date +%s%N)
	"$B/cvd_input" --tap "$x,$y"
	t1=$(date +%s%N)
	"$B/cvd_display" wait --match="$work/white.png" --region=$((x - 5)),$((y - 5)),11,11 --timeout=60 >/dev/null 2>&1 || break
	echo "$((($(date +%s%N) - t0) / 1000000)) $((($t1 - t0) / 1000000))" >>"$work/pixel.ms"
done
check "[ \$(wc -l <'$work/pixel.ms') = 10 ]" "ten taps in a row, each at a new place, each become a mark"
echo "# tap to pixel over $(wc -l <"$work/pixel.ms") taps, ms (sorted): $(cut -d' ' -f1 "$work/pixel.ms" | sort -n | tr '\n' ' ')"
echo "# of which cvd_input's own run, ms: $(cut -d' ' -f2 "$work/pixel.ms" | sort -n | tr '\n' ' ')"

# The web view's page in headless Chromium, on touch-paint's screen.
page_checks=5
if [ -n "$page_skip" ]; then
	for _ in $(seq 1 $page_checks); do n=$((n + 1)) && echo "ok $n # SKIP $page_skip"; done
else
	t_page=$(date +%s%N)
	if [ -n "$webview_flag" ]; then
		url=http://127.0.0.1:8443/
	else # cvd-1's port is another program's: the same web view, on a free port
		port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
		"$B/sepia-webview" --framebuffer-dir="$inst" --port="$port" 2>"$work/webview.log" &
		wv_pid=$!
		url=http://127.0.0.1:$port/
		for _ in $(seq 100); do grep -q serving "$work/webview.log" 2>/dev/null && break; sleep 0.05; done
	fi
	echo "# the page: $url"
	# 480x800: display 0 (720x1280) is shown at about 0.58 CSS px per display pixel.
	cdp_start "$url" 480 800 "$work/chromium.log"
	check "[ \"\${cdp_reply%% *}\" = ready ] && [ \"\$(echo \$cdp_reply | cut -d' ' -f6-)\" = '720 1280' ]" \
		"the web view's page shows display 0 (720x1280) in headless Chromium: $cdp_reply"
	read -r _ left top width height _ <<<"$cdp_reply"
	# page_point FX FY: the page point (whole CSS pixels) at FX, FY of the picture, and the display
	# pixel it maps to (the page sends 65536ths of the picture's size; the device scales them).
	page_point() {
		awk -v l="${left:-0}" -v t="${top:-0}" -v w="${width:-1}" -v h="${height:-1}" -v fx="$1" -v fy="$2" 'BEGIN {
			px = int(l + w * fx + 0.5); py = int(t + h * fy + 0.5)
			printf "%d %d %d %d\n", px, py, int((px - l) / w * 720), int((py - t) / h * 1280) }'
	}
	# a. A click at a page coordinate, as the guest's getevent sees it.
	read -r px py dx dy <<<"$(page_point 0.7 0.3)"
	getevent_during "$work/page-tap.out" 8 "$touch_dev" cdp click "$px" "$py"
	got_x=$(awk '$2 == "ABS_MT_POSITION_X" { print $3; exit }' "$work/page-tap.out")
	got_y=$(awk '$2 == "ABS_MT_POSITION_Y" { print $3; exit }' "$work/page-tap.out")
	near() { [ -n "$1" ] && [ $((16#$1 - $2)) -le 1 ] && [ $(($2 - 16#$1)) -le 1 ]; }
	check "near '$got_x' $dx && near '$got_y' $dy && grep -Eq 'EV_KEY +BTN_TOUCH +UP' '$work/page-tap.out'" \
		"a click on the page at $px,$py reaches getevent at display pixel $dx,$dy (+-1): got $((16#${got_x:-0})),$((16#${got_y:-0})), then lifted"
	# b. Typed text, as key presses.
	getevent_during "$work/page-keys.out" 8 "$kbd_dev" cdp type hi
	check "grep -Eq 'EV_KEY +KEY_H +DOWN' '$work/page-keys.out' && grep -Eq 'EV_KEY +KEY_H +UP' '$work/page-keys.out' && grep -Eq 'EV_KEY +KEY_I +DOWN' '$work/page-keys.out' && grep -Eq 'EV_KEY +KEY_I +UP' '$work/page-keys.out'" \
		"'hi' typed on the page reaches getevent as KEY_H and KEY_I pressed and released"
	# touch-paint marked that click too: once the page shows it, nothing else is on the way.
	cdp await_white "$dx" "$dy"
	check "[ \"\${cdp_reply%% *}\" = white ]" "the page shows touch-paint's mark of that click at $dx,$dy: $cdp_reply"
	# c. A click on touch-paint's black screen: the first rectangle the page draws after it.
	read -r px py dx dy <<<"$(page_point 0.3 0.15)"
	cdp pixel "$dx" "$dy"
	before=$cdp_reply
	cdp arm "$dx" "$dy" && cdp click "$px" "$py" && cdp drawn
	after=$cdp_reply
	check "[ \"\$(echo $before | cut -d' ' -f2-4)\" = '0 0 0' ] && [ \"\$(echo $after | cut -d' ' -f1-4)\" = 'drawn 255 255 255' ]" \
		"a click at $px,$py turns display pixel $dx,$dy from black to white in the next rectangle the page draws (before: $before; after: $after)"
	if [ -n "${SEPIA_WEBVIEW_SCREENSHOT:-}" ]; then
		# A few strokes, so the picture shows what a drag does too.
		for f in "0.2 0.4 0.8 0.4" "0.5 0.3 0.5 0.6" "0.2 0.7 0.8 0.75"; do
			set -- $f
			read -r x1 y1 _ _ <<<"$(page_point "$1" "$2")"
			read -r x2 y2 _ _ <<<"$(page_point "$3" "$4")"
			cdp drag "$x1" "$y1" "$x2" "$y2"
		done
		read -r _ _ dx dy <<<"$(page_point 0.8 0.75)"
		cdp await_white "$dx" "$dy"
		cdp screenshot "$SEPIA_WEBVIEW_SCREENSHOT"
		echo "# screenshot of the page: $SEPIA_WEBVIEW_SCREENSHOT ($cdp_reply)"
	fi
	cdp_stop
	[ -z "$wv_pid" ] || { kill "$wv_pid"; wait "$wv_pid" 2>/dev/null; wv_pid=; }
	check "[ $cdp_status = 0 ]" "the page and Chromium close when asked (webview-cdp.py's status $cdp_status)"
	echo "# the web view's page checks took $((($(date +%s%N) - t_page) / 1000000)) ms"
fi

# input (uinput) in the guest, seen by getevent watching /dev/input: the tap once getevent has
# listed the devices there (it watches for new ones from then on), and getevent's output once it
# has its 6 events and exits (50 s at most each, within sh_'s 120: no guess at how fast this guest is).
sh_ "getevent -l -c 6 </dev/null >/tmp/ge.out 2>&1 & g=\$!; i=0; until grep -q 'add device' /tmp/ge.out || [ \$i -ge 250 ]; do sleep 0.2; i=\$((i + 1)); done; input tap 10 20; echo input-status=\$?; ls -l /dev/uinput /dev/input; i=0; while kill -0 \$g 2>/dev/null && [ \$i -lt 250 ]; do sleep 0.2; i=\$((i + 1)); done; kill \$g 2>/dev/null; cat /tmp/ge.out; rm -f /tmp/ge.out" >"$work/input.out" 2>&1
note "$work/input.out"
check "grep -q 'name:.*\"sepia-input\"' '$work/input.out' && grep -Eq 'ABS_MT_POSITION_X +0000000a' '$work/input.out' && grep -Eq 'ABS_MT_POSITION_Y +00000014' '$work/input.out' && grep -q 'input-status=0' '$work/input.out'" \
	"input tap 10 20 in the guest: getevent sees the uinput device sepia-input and the touch at 10,20"

# virtio-rng.
sh_ "cat /sys/class/misc/hw_random/rng_current; dd if=/dev/hwrng bs=4096 count=16 2>/dev/null | wc -c" >"$work/rng.out" 2>&1
note "$work/rng.out"
check "grep -q '^virtio_rng' '$work/rng.out' && grep -qx '65536' <(tr -d '\r ' <'$work/rng.out')" \
	"/dev/hwrng is virtio_rng and gives 65536 bytes"
sh_ "dd if=/dev/hwrng bs=4096 count=16 2>/dev/null | od -An -tx1 | sort | uniq -d | wc -l" >"$work/rng-dup.out" 2>&1
check "[ \"\$(tr -d '\r ' <'$work/rng-dup.out')\" -lt 10 ]" "and they are not a repeating pattern (few repeated 16-byte lines)"
t0=$(date +%s%N)
sh_ "dd if=/dev/hwrng of=/dev/null bs=4096 count=512" >"$work/rng-rate.out" 2>&1
t1=$(date +%s%N)
echo "# /dev/hwrng: 2 MiB in $((($t1 - t0) / 1000000)) ms including one adb shell (limit: 1 MiB/s after a 64 KiB burst)"
note "$work/rng-rate.out"

"$B/stop_cvd" >/dev/null 2>&1
check "[ ! -e '$inst/input_touch_0.sock' ]" "stop_cvd takes the input sockets away"
echo "1..$n"
