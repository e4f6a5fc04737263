#!/bin/bash
# End to end: a launched device's screen. launch_cvd --daemon --start_webview boots the reference
# guest with sepia.gpu_pattern=1: its init runs gpu-pattern, which draws the test pattern into a
# KMS dumb buffer through the virtio-gpu DRM driver before the boot marker. Then:
#   - cvd_display screenshot's PNG shows the pattern, every pixel of 720x1280;
#   - the web view (sepia-webview on 127.0.0.1:8443) shows the same picture in headless Chromium;
#   - gpu-clear3d in the guest (adb shell) clears a 3D render target through the DRM virtgpu
#     ioctls, sepia-vmm's virtio-gpu and virglrenderer on llvmpipe, and reads the colour back;
#   - stop_cvd takes the display files and the web view away.
# gpu_mode is auto: the test also checks that it chose 3D where the host offers it (Mesa's
# surfaceless EGL); where sepia-vmm says it fell back to 2D (naming what the host lacks), the 3D
# checks are skipped with that reason.
set -u
top_builddir=${top_builddir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
B=$top_builddir

skip() { echo "1..0 # SKIP $1"; exit 77; }
. "$top_srcdir/tests/e2e/display-lib.sh"
. "$top_srcdir/tests/e2e/device-lib.sh"
find_chromium
find_pil_python
device_test_begin gpu launch_cvd run_cvd stop_cvd cvd_display sepia-vmm sepia-webview sepia-vsock-proxy
require_free_ports "cvd-1's web view port" 8443
log=$inst/logs/launcher.log

"$B/launch_cvd" --daemon --memory_mb=512 --blank_data_image_mb=64 --start_webview \
	--extra_kernel_cmdline=sepia.gpu_pattern=1 >"$work/launch.out" 2>"$work/launch.err"
rc=$?
check "[ $rc = 0 ]" "launch_cvd --daemon --start_webview boots the reference guest with the test pattern"
[ $rc = 0 ] || { note "$work/launch.err"; note "$log"; tail -n 30 "$inst/logs/kernel.log" | note; }
# no_3d: why this host runs 2D only, as sepia-vmm says it (empty where it offers 3D).
no_3d=$(grep -m1 'gpu mode auto: running 2D only' "$log" | sed 's/.*virtio-gpu: //; s/; gpu mode auto: running 2D only//')
if [ -n "$no_3d" ] && ! grep -q 'virtio-gpu: 3D through virglrenderer' "$log"; then
	n=$((n + 1)); echo "ok $n - gpu_mode auto runs 3D through virglrenderer # SKIP this host offers no 3D: $no_3d"
else
	no_3d=
	check "grep -q 'virtio-gpu: 3D through virglrenderer' '$log'" "gpu_mode auto runs 3D through virglrenderer on this host"
fi
check "grep -q 'gpu-pattern: 720x1280 on connector' '$inst/logs/kernel.log'" "the guest drew the pattern on a 720x1280 mode"
grep -E 'drm|gpu-pattern' "$inst/logs/kernel.log" | head -n 12 | note

# cvd_display: the PNG of scanout 0, pixel for pixel.
"$B/cvd_display" screenshot --output="$work/screen.png" >"$work/shot.out" 2>&1
rc=$?
note "$work/shot.out"
check "[ $rc = 0 ]" "cvd_display screenshot writes a PNG"
"$PY" "$top_srcdir/tests/pattern-check.py" "$work/screen.png" >"$work/pattern.out" 2>&1
rc=$?
note "$work/pattern.out"
check "[ $rc = 0 ] && grep -q 'all 921600 pixels match the 720x1280' '$work/pattern.out'" \
	"the screenshot is the test pattern, all 921600 pixels"
"$B/cvd_display" screenshot --display=1 --output="$work/none.png" >"$work/shot1.out" 2>&1
rc=$?
check "[ $rc = 1 ] && [ ! -e '$work/none.png' ]" "a screenshot of display 1, which the device lacks, fails and writes nothing"

# The web view, in headless Chromium.
check "grep -q 'web view started' '$log'" "the monitor started the web view"
curl -s -o "$work/page.html" -w '%{http_code}' http://127.0.0.1:8443/ >"$work/code" 2>/dev/null ||
	python3 -c 'import urllib.request,sys; r=urllib.request.urlopen("http://127.0.0.1:8443/"); open(sys.argv[1],"wb").write(r.read()); print(r.status)' "$work/page.html" >"$work/code"
check "[ \"\$(cat '$work/code')\" = 200 ] && grep -q 'new WebSocket' '$work/page.html'" "http://127.0.0.1:8443/ serves the page"
t0=$(date +%s%N)
# The page draws the display on a canvas scaled to the window: its pixels are the display's.
"$PY" "$top_srcdir/tests/e2e/webview-cdp.py" canvas "$CHROMIUM" http://127.0.0.1:8443/ "$work/page.png" \
	>"$work/chromium.log" 2>&1
rc=$?
echo "# chromium took $((($(date +%s%N) - t0) / 1000000)) ms (status $rc)"
"$PY" "$top_srcdir/tests/pattern-check.py" "$work/page.png" --at 0,0 --width 720 --height 1280 >"$work/page.out" 2>&1
rc=$?
note "$work/page.out"
check "[ $rc = 0 ]" "Chromium shows the same picture: the page's canvas holds the 720x1280 pattern"
[ $rc = 0 ] || tail -n 5 "$work/chromium.log" | note

# 3D: a clear through the DRM virtgpu ioctls and virglrenderer, read back in the guest.
if [ -n "$no_3d" ]; then
	for what in "gpu-clear3d: a 3D clear reads back" "gpu-clear3d --bgra: a second colour" "the 3D work left the scanout's pattern alone"; do
		n=$((n + 1)); echo "ok $n - $what # SKIP this host offers no 3D: $no_3d"
	done
else
	for i in $(seq 1 30); do adb devices | grep -q "^$serial[[:space:]]*device" && break; sleep 1; done
	adb -s "$serial" shell gpu-clear3d >"$work/clear1.out" 2>&1
	rc=$?
	note "$work/clear1.out"
	check "[ $rc = 0 ] && grep -q 'rgba 51 102 153 255 ok' '$work/clear1.out'" "gpu-clear3d: the 3D clear to (0.2, 0.4, 0.6, 1) reads back as 51 102 153 255"
	adb -s "$serial" shell gpu-clear3d --bgra 0 1 0.25 0.5 >"$work/clear2.out" 2>&1
	rc=$?
	note "$work/clear2.out"
	check "[ $rc = 0 ] && grep -q 'rgba 0 255 64 128 ok' '$work/clear2.out'" "gpu-clear3d --bgra: a second colour, red and blue apart, reads back right"
	"$B/cvd_display" screenshot --output="$work/after.png" >/dev/null 2>&1
	"$PY" "$top_srcdir/tests/pattern-check.py" "$work/after.png" >"$work/after.out" 2>&1
	check "[ $? = 0 ]" "the 3D work left the scanout's pattern alone"
fi

"$B/stop_cvd" >/dev/null 2>&1
check "[ ! -e '$inst/display0.fb' ]" "stop_cvd removes the display file"
check "! python3 -c 'import socket; socket.create_connection((\"127.0.0.1\", 8443), 2)' 2>/dev/null" \
	"the web view is gone with the device"
"$B/cvd_display" screenshot --output="$work/stopped.png" >"$work/stopped.out" 2>&1
rc=$?
note "$work/stopped.out"
check "[ $rc = 1 ]" "cvd_display screenshot of a stopped device fails"
echo "1..$n"
