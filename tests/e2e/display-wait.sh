#!/bin/sh
# cvd_display wait, the screen oracle, on scanout files written by tests/e2e/fb-fill as sepia-vmm
# writes them (no VMM needed): a wait returns 0 as soon as a new frame matches the reference, and
# not before; 1 at the timeout with the mismatch count; a region with a reference of the region's
# size; the tolerance; a display file that appears only while it waits; bad references, regions
# and flags. TAP; exit 77 when a program is missing. With a booted guest: input-device.sh.
set -u
top_builddir=${top_builddir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
CVD_DISPLAY=$top_builddir/cvd_display
FB_FILL=$top_builddir/tests/e2e/fb-fill

skip() { echo "1..0 # SKIP $1"; exit 77; }
for p in "$CVD_DISPLAY" "$FB_FILL"; do [ -x "$p" ] || skip "$p not built"; done
. "$top_srcdir/tests/e2e/display-lib.sh"
display_test_begin display-wait
export HOME=$T/home
unset CUTTLEFISH_INSTANCE
status_is() { # status_is "description" STATUS PATTERN command...
	d=$1 want=$2 pat=$3; shift 3
	"$@" >"$T/out" 2>&1
	got=$?
	if [ "$got" -eq "$want" ] && grep -Eq -- "$pat" "$T/out"; then ok "$d"; else
		not_ok "$d"; echo "# exit $got (want $want), output (want /$pat/):"; sed 's/^/# /' "$T/out"
	fi
}
wait_for_line() { # wait_for_line FILE PATTERN: up to 10 s
	for _ in $(seq 200); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.05; done
	return 1
}

echo "1..17"
mkdir -p "$T/ref"
# References: pictures 2 and 3 (the whole screen), and the 50x40 top-left corner of picture 2
# (fb-fill's pixels depend on x, y and the seed only, so a 50x40 picture 2 is that corner).
for spec in 200x100:2 200x100:3 50x40:2; do
	"$FB_FILL" "$T/ref/tmp.fb" 200x100 "$spec" >/dev/null &&
		"$CVD_DISPLAY" screenshot --framebuffer="$T/ref/tmp.fb" --output="$T/ref/${spec%%:*}-${spec##*:}.png" >/dev/null
done
REF2=$T/ref/200x100-2.png REF3=$T/ref/200x100-3.png CORNER=$T/ref/50x40-2.png
check "the references were written" test -s "$REF2" -a -s "$REF3" -a -s "$CORNER"

# A VMM that shows picture 1, then 2 when told, then 3.
FB=$T/fb/display0.fb
mkdir -p "$T/fb"
mkfifo "$T/fill.fifo"
"$FB_FILL" "$FB" 200x100 200x100:1 200x100:2 200x100:3 <"$T/fill.fifo" >"$T/fill.out" &
fill_pid=$!
exec 3>"$T/fill.fifo"
wait_for_line "$T/fill.out" "frame 1"

status_is "a picture that does not match: exit 1 at the timeout, with every pixel counted" 1 \
	"does not match .* 20000 of 20000 pixels differ \(tolerance 0, frame 1\)" \
	"$CVD_DISPLAY" wait --framebuffer="$FB" --match="$REF2" --timeout=0
status_is "the mismatch count is on stdout alone" 1 "^20000$" \
	sh -c "'$CVD_DISPLAY' wait --framebuffer='$FB' --match='$REF2' --timeout=0 2>/dev/null"
status_is "tolerance 255 accepts any picture" 0 "matches $REF2 at frame 1" \
	"$CVD_DISPLAY" wait --framebuffer="$FB" --match="$REF2" --timeout=0 --tolerance=255

# A wait that starts before the matching frame returns when it comes, not before.
"$CVD_DISPLAY" wait --framebuffer="$FB" --match="$REF2" --timeout=60 >"$T/w1.out" 2>&1 &
w1=$!
sleep 0.5
check "the wait is still waiting while picture 1 is shown" kill -0 $w1
echo >&3
wait_for_line "$T/fill.out" "frame 2"
wait $w1
rc=$?
check "it returns 0 once picture 2 is published" test $rc = 0
check "and says which frame matched" grep -q "matches $REF2 at frame 2" "$T/w1.out"

status_is "a region with a reference of the region's size, at the region's place, matches" 0 "matches" \
	"$CVD_DISPLAY" wait --framebuffer="$FB" --match="$CORNER" --region=0,0,50,40 --timeout=0
status_is "the same reference elsewhere does not: 1, counted within the region" 1 "of 2000 pixels differ" \
	"$CVD_DISPLAY" wait --framebuffer="$FB" --match="$CORNER" --region=10,10,50,40 --timeout=0
status_is "a region of a screen-sized reference compares that region only" 0 "matches" \
	"$CVD_DISPLAY" wait --framebuffer="$FB" --match="$REF2" --region=20,30,100,50 --timeout=0
status_is "a region past the screen's edge fails, naming both sizes" 1 "region 50x40 at 160,70 is not within the 200x100 screen" \
	"$CVD_DISPLAY" wait --framebuffer="$FB" --match="$CORNER" --region=160,70,50,40 --timeout=0

# By instance: the display file appears while the wait runs (a device still booting).
I2=$HOME/cuttlefish/instances/cvd-2
mkdir -p "$I2"
"$CVD_DISPLAY" wait --instance_num=2 --match="$REF3" --timeout=60 >"$T/w2.out" 2>&1 &
w2=$!
sleep 0.3
"$FB_FILL" "$I2/display0.fb" 200x100 200x100:3 >/dev/null
wait $w2
rc=$?
check "a wait on an instance whose display appears later matches it (0)" test $rc = 0
check "its message names the display and the instance" grep -q "display 0 of cvd-2 matches" "$T/w2.out"

status_is "a reference that is no PNG is a usage error (2) naming it" 2 "reference picture $T/fb/display0.fb: not a PNG" \
	"$CVD_DISPLAY" wait --framebuffer="$FB" --match="$FB" --timeout=0
status_is "a bad region is a usage error (2)" 2 "region '1,2,3' is not X,Y,W,H" \
	"$CVD_DISPLAY" wait --framebuffer="$FB" --match="$REF2" --region=1,2,3
status_is "wait without --match is a usage error (2)" 2 "--match=REF.png is required" \
	"$CVD_DISPLAY" wait --framebuffer="$FB"
status_is "wait --help lists its flags (0)" 0 "--match.*--region.*--tolerance.*--timeout" \
	sh -c "'$CVD_DISPLAY' wait --help | tr '\n' ' '"
exec 3>&-
echo "# $fails of $n failed"
[ "$fails" = 0 ]
