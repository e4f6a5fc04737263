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
