# tests/e2e/display-lib.sh — what the tests that look at a screen share (display-tools.sh,
# webview-chromium.sh, gpu-device.sh). Sourced; POSIX sh; the caller defines skip() first.
# gpu-device.sh takes only the finders and chromium_screenshot: device-lib.sh, sourced after
# this, gives it its own check.

# display_test_begin NAME: the scaffolding of the tests that run sepia-webview and fb-fill
# themselves: T, a work directory removed at exit, where the web view (wv_pid) and fb-fill
# (fill_pid) are stopped too; and TAP's ok, not_ok and check "description" command... (the
# command's output goes into the log when it fails); fails counts the failures.
display_test_begin() {
	T=$(mktemp -d "/tmp/sepia-$1.XXXXXX")
	wv_pid=
	fill_pid=
	trap display_test_cleanup EXIT
	n=0
	fails=0
}

display_test_cleanup() {
	[ -n "$wv_pid" ] && kill "$wv_pid" 2>/dev/null
	[ -n "$fill_pid" ] && kill "$fill_pid" 2>/dev/null
	rm -rf "$T"
}

ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); fails=$((fails + 1)); echo "not ok $n - $1"; }
check() { # check "description" command...
	d=$1
	shift
	if "$@" >"$T/out" 2>&1; then ok "$d"; else not_ok "$d"; sed 's/^/# /' "$T/out"; fi
}

# Sets PY to a python3 that has PIL, or skips. Debian's python3-pil lives with
# /usr/bin/python3, which may not be the python3 first on PATH.
find_pil_python() {
	PY=
	for p in python3 /usr/bin/python3; do
		if command -v "$p" >/dev/null 2>&1 && "$p" -c 'import PIL' 2>/dev/null; then
			PY=$p
			return 0
		fi
	done
	skip "python3 with PIL is not installed (python3-pil or python3-pillow)"
}

# Sets CHROMIUM, or skips.
find_chromium() {
	CHROMIUM=
	for c in chromium chromium-browser; do
		if command -v "$c" >/dev/null 2>&1; then
			CHROMIUM=$c
			return 0
		fi
	done
	skip "chromium is not installed (scripts/install-deps.sh installs it)"
}

# chromium_screenshot OUT.png LOG URL PROFILE_DIR WIDTH,HEIGHT [extra flags]: headless Chromium
# loads URL in a fresh profile and saves a screenshot of the window. The flags keep it off the
# network (these hosts have none beyond localhost, and refused background connections slow it
# down) and make its output deterministic (webview-cdp.py starts it with the same ones).
chromium_screenshot() {
	out=$1 log=$2 url=$3 profile=$4 size=$5
	shift 5
	timeout 120 "$CHROMIUM" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
		--disable-background-networking --disable-component-update --disable-sync \
		--disable-default-apps --hide-scrollbars --force-device-scale-factor=1 \
		--user-data-dir="$profile" --window-size="$size" --screenshot="$out" "$@" "$url" >"$log" 2>&1
}

# What the two browser tests (webview-chromium.sh, webview-firefox.sh) check of their driver's
# output, a "NAME VALUE..." line each in the file $PAGE_OUT: page_val NAME reads one.
page_val() { sed -n "s/^$1 //p" "$PAGE_OUT"; }
# box X Y W H, window W H: the 320x240 picture in a 480x360 window fits it scaled up, aspect kept.
page_fits() {
	set -- $(page_val box) $(page_val window)
	echo "canvas at $1,$2 size $3x$4 in a $5x$6 window"
	awk -v x="$1" -v y="$2" -v w="$3" -v h="$4" -v ww="$5" -v wh="$6" 'BEGIN {
		r = (w / h) / (320 / 240); exit !(r > 0.99 && r < 1.01 && x >= 0 && y >= 0 && x + w <= ww + 0.5 &&
		y + h <= wh + 0.5 && w > 320 && (w >= ww - 1 || y + h >= wh - 24)) }'
}
page_touch_ok() { # the touch position within 1 px of 80,120
	echo "the touch device got: ${touch_at:-nothing}"
	set -- $touch_at
	[ $# -eq 2 ] && [ "$1" != None ] && [ "$2" != None ] && [ $(($1 - 80)) -le 1 ] && [ $((80 - $1)) -le 1 ] &&
		[ $(($2 - 120)) -le 1 ] && [ $((120 - $2)) -le 1 ]
}
# 320 px wide: fingers at 1/4 and 3/4 of it are at 80 and 240.
page_multi_ok() {
	echo "the touch device got: $(page_val multitouch)"
	set -- $(page_val multitouch)
	[ $# -eq 7 ] && [ "$2" = 2 ] && [ $(($4 - 80)) -le 1 ] && [ $((80 - $4)) -le 1 ] && [ $(($5 - 240)) -le 1 ] &&
		[ $((240 - $5)) -le 1 ] && [ "$7" = 2 ]
}
# The input checks, in order: a click, its release, two fingers, typed keys, the Power button.
page_input_checks() {
	touch_at=$(page_val touch)
	check "a click at 1/4, 1/2 of the picture reaches the touch device at display pixel 80,120 (+-1): $touch_at" \
		page_touch_ok
	check "the click's release lifts the contact (tracking id -1, BTN_TOUCH 0)" sh -c "[ '$(page_val touch_up)' = 1 ]"
	check "two fingers at once become two contacts (slots) at their display pixels, both lifted" page_multi_ok
	check "typed 'hi' reaches the keyboard as KEY_H and KEY_I pressed and released" \
		sh -c "[ '$(page_val keys)' = '35 1 35 0 23 1 23 0' ] || { cat '$PAGE_OUT'; false; }"
	check "the page's Power button presses and releases KEY_POWER" \
		sh -c "[ '$(page_val buttons)' = '116 1 116 0' ] || { cat '$PAGE_OUT'; false; }"
}
