#!/bin/bash
# Input and entropy of a launched device (the reference guest, 720x1280, gpu_mode auto):
#   tap to page    cvd_input --tap until the web view's page, open in headless Chromium
#                  (tests/e2e/webview-cdp.py through cdp-lib.sh), draws the rectangle that
#                  shows touch-paint's mark at that place (the time of the drawing, from the
#                  page's own clock); median and p95 over N taps
#   tap to pixel   the same taps until cvd_display wait sees the mark in the display file
#                  (what the VMM published); the part of it that is cvd_input's own run
#                  (start, connect, write: host side) is shown apart, and the rest of the
#                  page's time (the web view's 15 ms look, PNG, WebSocket, the browser's
#                  decode and draw: host side)
#   tap to event   cvd_input --tap until the guest's getevent line reaches the host over adb,
#                  and the adb round trip (adb shell true) that is part of it
#   hwrng          guest reads of /dev/hwrng: bytes a second against virtio-rng's limit
#                  (VIRTIO_RNG_RATE, 1 MiB/s), and the VMM's host CPU meanwhile
#
# Usage: bench/input.sh [-n TAPS] [-e EVENT_TAPS] [-r RNG_KIB]   (defaults 50, 20, 4096)
# Without chromium the page's rows are n/a. Boots a device: run it under the machine's boot lock where one exists (`flock /work/e2e.lock`).
# Timings, not a test.
set -uo pipefail
prog=input
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/bench-lib.sh"
taps=50 event_taps=20 rng_kib=4096
while getopts n:e:r:h opt; do
	case $opt in
	n) taps=$OPTARG ;;
	e) event_taps=$OPTARG ;;
	r) rng_kib=$OPTARG ;;
	*) usage; exit 2 ;;
	esac
done
need_number "$taps" "-n wants a number of taps"
need_number "$event_taps" "-e wants a number of taps"
need_number "$rng_kib" "-r wants KiB"
B=$top_builddir
have_kvm || skip "needs /dev/kvm"
[ -r "$B/guest/out/android/boot.img" ] || skip "no reference guest images (make guest-android)"
command -v adb >/dev/null || skip "needs the adb client"
bench_workdir sepia-bench-input
export HOME=$work/home
mkdir -p "$HOME"
ANDROID_ADB_SERVER_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
export ANDROID_ADB_SERVER_PORT
adb start-server >/dev/null 2>&1
serial=127.0.0.1:6520
inst=$HOME/cuttlefish/instances/cvd-1
now() { date +%s%N; }
ms() { echo $((($2 - $1) / 1000000)); }
p95() { sort -n | awk '{ a[NR] = $1 } END { if (NR == 0) { print "n/a"; exit } i = int(NR * 0.95 + 0.999); if (i > NR) i = NR; print a[i] }'; }

say "booting the reference guest"
# The web view: launch_cvd's on cvd-1's port when it is free, else one on a free port.
CHROMIUM=$(command -v chromium || command -v chromium-browser) PY=python3 webview_flag= url=
[ -n "$CHROMIUM" ] || say "no chromium: the page's rows are n/a"
if [ -n "$CHROMIUM" ] && python3 -c 'import socket; s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("127.0.0.1", 8443))' 2>/dev/null; then
	webview_flag=--start_webview url=http://127.0.0.1:8443/
fi
. "$top_srcdir/tests/e2e/cdp-lib.sh"
wv_pid=
trap 'cdp_stop; [ -z "$wv_pid" ] || kill "$wv_pid"; "$B/stop_cvd" >/dev/null 2>&1; adb kill-server >/dev/null 2>&1; [ "${keep:-no}" = yes ] || rm -rf "$work"' EXIT
"$B/launch_cvd" --daemon --memory_mb=512 --blank_data_image_mb=64 $webview_flag >"$work/launch.out" 2>&1 ||
	{ tail -n 20 "$work/launch.out" >&2; die "launch_cvd failed"; }
for _ in $(seq 1 60); do adb devices | grep -q "^$serial[[:space:]]*device" && break; sleep 1; done
sh_() { timeout 300 adb -s "$serial" shell "$@"; }
touch_dev=$(sh_ cat /proc/bus/input/devices | tr -d '\r' | awk '$0 == "N: Name=\"virtio-input-touch0\"" { f = 1 }
	f && /^H: Handlers=/ { sub(/^H: Handlers=/, ""); for (i = 1; i <= NF; i++) if ($i ~ /^event[0-9]+$/) { print "/dev/input/" $i; exit } }')
[ -n "$touch_dev" ] || die "the guest has no virtio-input-touch0"

# ---- tap to pixel
python3 - "$work/white.png" <<'PY'
import struct, sys, zlib
raw = b"".join(b"\0" + b"\xff\xff\xff" * 11 for _ in range(11))
def chunk(t, d): return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d))
open(sys.argv[1], "wb").write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 11, 11, 8, 2, 0, 0, 0))
                              + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
PY
sh_ touch-paint >/dev/null || die "touch-paint did not start"
if [ -n "$CHROMIUM" ]; then
	if [ -z "$url" ]; then
		port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
		"$B/sepia-webview" --framebuffer-dir="$inst" --port="$port" 2>"$work/webview.log" &
		wv_pid=$! url=http://127.0.0.1:$port/
		sleep 1
	fi
	cdp_start "$url" 480 800 "$work/chromium.log" || die "the web view's page in Chromium: $cdp_reply"
fi
: >"$work/pixel.ms"
: >"$work/send.ms"
: >"$work/page.ms"
for i in $(seq 0 $((taps - 1))); do
	x=$((30 + (i % 14) * 48)) y=$((40 + (i / 14) * 48 % 1200))
	[ -z "$CHROMIUM" ] || cdp arm_white "$x" "$y" || die "the page: $cdp_reply"
	t0=$(now)
	"$B/cvd_input" --tap "$x,$y" || die "cvd_input --tap $x,$y failed"
	t1=$(now)
	"$B/cvd_display" wait --match="$work/white.png" --region=$((x - 5)),$((y - 5)),11,11 --timeout=60 >/dev/null ||
		die "tap $i at $x,$y: no mark within 60 s"
	t2=$(now)
	ms "$t0" "$t1" >>"$work/send.ms"
	ms "$t0" "$t2" >>"$work/pixel.ms"
	if [ -n "$CHROMIUM" ]; then
		cdp drawn || die "tap $i at $x,$y: the page did not show the mark: $cdp_reply"
		read -r _ _ _ _ _ _ _ _ _ _ _ at_ms <<<"$cdp_reply"
		awk -v a="$at_ms" -v t0="$t0" -v t2="$t2" 'BEGIN { printf "%.0f %.0f\n", a - t0 / 1e6, a - t2 / 1e6 }' >>"$work/page.ms"
	fi
done
cdp_stop

# ---- tap to event (getevent's line back over adb), and adb's own round trip
: >"$work/event.ms"
: >"$work/adb.ms"
for i in $(seq 0 $((event_taps - 1))); do
	out=$work/getevent.$i
	: >"$out"
	sh_ getevent -l -c 1 "$touch_dev" >"$out" 2>&1 &
	pid=$!
	for _ in $(seq 1 600); do grep -q "add device" "$out" && break; sleep 0.05; done
	sleep 0.2
	t0=$(now)
	"$B/cvd_input" --tap "$((100 + i * 7)),$((300 + i * 11))"
	until grep -q "EV_" "$out" || ! kill -0 $pid 2>/dev/null; do sleep 0.002; done
	t1=$(now)
	wait $pid
	ms "$t0" "$t1" >>"$work/event.ms"
	t0=$(now)
	sh_ true
	t1=$(now)
	ms "$t0" "$t1" >>"$work/adb.ms"
done

# ---- hwrng
vmm_pid=$(pgrep -f "sepia-vmm.*$inst" | head -n 1)
cpu() { awk '{ print $14 + $15 }' "/proc/$vmm_pid/stat"; }
c0=$(cpu)
t0=$(now)
sh_ "dd if=/dev/hwrng of=/dev/null bs=4096 count=$((rng_kib / 4))" >"$work/rng.out" 2>&1
t1=$(now)
c1=$(cpu)
hz=$(getconf CLK_TCK)
rng_ms=$(ms "$t0" "$t1")

# Each tap's parts: host = cvd_input's run + the page's time past the display file; the rest of
# the display file's time is the guest's (with the VMM's delivery and flush, and the 10 ms poll).
paste -d' ' "$work/send.ms" "$work/pixel.ms" >"$work/parts"
[ -s "$work/page.ms" ] && paste -d' ' "$work/parts" "$work/page.ms" >"$work/parts.page" && mv "$work/parts.page" "$work/parts"
col() { awk -v c="$1" '{ print $c }' "$work/parts"; }
host() { awk 'NF >= 3 { print $1 + $3 - $2 }' "$work/parts"; }
guest() { awk '{ print $2 - $1 }' "$work/parts"; }
echo "input and entropy of a launched reference guest (median / p95, ms)"
if [ -s "$work/page.ms" ]; then
	printf '%-52s %6s / %s  (%d taps)\n' "tap to page (cvd_input .. the page draws the mark)" \
		"$(col 3 | median)" "$(col 3 | p95)" "$taps"
	printf '%-52s %6s / %s\n' "  host: cvd_input's run + display file to page" "$(host | median)" "$(host | p95)"
	printf '%-52s %6s / %s\n' "    of it display file to page (web view, browser)" "$(col 4 | median)" "$(col 4 | p95)"
	printf '%-52s %6s / %s\n' "  guest: tap delivered to mark in the display file" "$(guest | median)" "$(guest | p95)"
else
	echo "tap to page: n/a (no chromium)"
fi
printf '%-52s %6s / %s  (%d taps)\n' "tap to pixel (cvd_input .. cvd_display wait)" \
	"$(median <"$work/pixel.ms")" "$(p95 <"$work/pixel.ms")" "$taps"
printf '%-52s %6s / %s\n' "  of it cvd_input's run (host: start, send)" "$(median <"$work/send.ms")" "$(p95 <"$work/send.ms")"
printf '%-52s %6s / %s  (%d taps)\n' "tap to getevent's line on the host (adb)" \
	"$(median <"$work/event.ms")" "$(p95 <"$work/event.ms")" "$event_taps"
printf '%-52s %6s / %s\n' "  adb shell round trip alone" "$(median <"$work/adb.ms")" "$(p95 <"$work/adb.ms")"
awk -v kib="$rng_kib" -v ms="$rng_ms" -v c="$((c1 - c0))" -v hz="$hz" 'BEGIN {
	printf "hwrng: %d KiB in %d ms (adb included): %.0f KiB/s against the 1024 KiB/s limit; VMM CPU %.2f s\n",
		kib, ms, kib * 1000 / ms, c / hz }'
sed 's/^/  guest dd: /' "$work/rng.out" | tr -d '\r'
