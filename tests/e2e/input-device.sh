#!/bin/bash
# End to end: input and entropy of a launched device. launch_cvd --daemon boots the reference
# guest with its virtio-input devices (a touch screen for display 0, a keyboard, the power and
# volume buttons) and virtio-rng (--enable_rng, the default). Then:
#   - the guest's kernel lists the three input devices under the names sepia-vmm gives them;
#   - cvd_input --tap X,Y reaches the guest's getevent on the touch screen as a protocol-B touch
#     at X,Y; --text on the keyboard and --key POWER on the buttons as key presses;
#   - touch-paint in the guest turns a tap into a white mark on the screen at that place, which
#     cvd_display wait (the screen oracle) sees in the host's picture of display 0;
#   - `input tap` in the guest (uinput) reaches getevent watching /dev/input;
#   - /dev/hwrng gives bytes from virtio_rng.
# Timings are notes (bench/input.sh measures them), never conditions.
set -u
top_builddir=${top_builddir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
B=$top_builddir

skip() { echo "1..0 # SKIP $1"; exit 77; }
. "$top_srcdir/tests/e2e/device-lib.sh"
device_test_begin input launch_cvd run_cvd stop_cvd cvd_display cvd_input sepia-vmm sepia-vsock-proxy
log=$inst/logs/launcher.log

"$B/launch_cvd" --daemon --memory_mb=512 --blank_data_image_mb=64 >"$work/launch.out" 2>"$work/launch.err"
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

# input (uinput) in the guest, seen by getevent watching /dev/input.
sh_ "getevent -l -c 6 </dev/null >/tmp/ge.out 2>&1 & sleep 2; input tap 10 20; echo input-status=\$?; ls -l /dev/uinput /dev/input; sleep 1; cat /tmp/ge.out" >"$work/input.out" 2>&1
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
