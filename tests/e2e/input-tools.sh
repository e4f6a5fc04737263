#!/bin/sh
# cvd_input on the host, without a VMM: a listener in a fake instance directory stands in for
# sepia-vmm's virtio-input sockets and records what cvd_input writes, so the wire format the
# README documents (8-byte records, le16 type, le16 code, le32 value; which socket gets what) is
# checked byte for byte: --tap, --swipe, --text, --key for the keyboard and for the buttons,
# --display, and the errors (no device, a point outside the display, bad flags).
# TAP; exit 77 when a program is missing. With a booted guest: input-device.sh.
set -u
top_builddir=${top_builddir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
CVD_INPUT=$top_builddir/cvd_input
FB_FILL=$top_builddir/tests/e2e/fb-fill

skip() { echo "1..0 # SKIP $1"; exit 77; }
for p in "$CVD_INPUT" "$FB_FILL"; do [ -x "$p" ] || skip "$p not built"; done
command -v python3 >/dev/null || skip "python3 is not installed"
. "$top_srcdir/tests/e2e/display-lib.sh"
display_test_begin input-tools
export HOME=$T/home
unset CUTTLEFISH_INSTANCE
I=$HOME/cuttlefish/instances/cvd-3
mkdir -p "$I"
status_is() { # status_is "description" STATUS PATTERN command...
	d=$1 want=$2 pat=$3; shift 3
	"$@" >"$T/out" 2>&1
	got=$?
	if [ "$got" -eq "$want" ] && grep -Eq -- "$pat" "$T/out"; then ok "$d"; else
		not_ok "$d"; echo "# exit $got (want $want), output (want /$pat/):"; sed 's/^/# /' "$T/out"
	fi
}

echo "1..14"
status_is "no device running: 1, naming the socket" 1 "cvd-3: cannot connect to $I/input_touch_0.sock" \
	"$CVD_INPUT" --instance_num=3 --tap 1,2

# The listener: every connection's bytes, decoded one record a line ("TYPE CODE VALUE"),
# appended to SOCKET.rec when the client closes, then a line END.
cat >"$T/listen.py" <<'PY'
import os, selectors, socket, struct, sys
sel = selectors.DefaultSelector()
for name in sys.argv[2:]:
    path = os.path.join(sys.argv[1], name)
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(path)
    s.listen(8)
    sel.register(s, selectors.EVENT_READ, ("listen", path))
open(os.path.join(sys.argv[1], "ready"), "w").close()
bufs = {}
while True:
    for key, _ in sel.select():
        kind, path = key.data
        if kind == "listen":
            c, _ = key.fileobj.accept()
            bufs[c] = b""
            sel.register(c, selectors.EVENT_READ, ("conn", path))
            continue
        data = key.fileobj.recv(65536)
        if data:
            bufs[key.fileobj] += data
            continue
        b = bufs.pop(key.fileobj)
        sel.unregister(key.fileobj)
        key.fileobj.close()
        with open(path + ".rec", "a") as f:
            if len(b) % 8:
                f.write("PARTIAL %d\n" % (len(b) % 8))
            for i in range(0, len(b) - len(b) % 8, 8):
                f.write("%d %d %d\n" % struct.unpack("<HHi", b[i:i + 8]))
            f.write("END\n")
PY
python3 "$T/listen.py" "$I" input_touch_0.sock input_touch_1.sock input_keyboard.sock input_buttons.sock &
fill_pid=$! # display-lib stops it at exit
for _ in $(seq 100); do [ -e "$I/ready" ] && break; sleep 0.05; done
recs() { # recs SOCKET [CONNECTIONS]: the records of that many connections (default 1), taken away
	for _ in $(seq 200); do [ "$(grep -c '^END$' "$I/$1.rec" 2>/dev/null)" = "${2:-1}" ] && break; sleep 0.05; done
	grep -v '^END$' "$I/$1.rec" 2>/dev/null
	rm -f "$I/$1.rec"
}

"$CVD_INPUT" --instance_num=3 --tap 100,200
recs input_touch_0.sock >"$T/tap"
# EV_ABS=3: ABS_MT_SLOT=47, ABS_MT_TRACKING_ID=57, ABS_MT_POSITION_X=53, _Y=54; EV_KEY=1 BTN_TOUCH=330.
check "--tap 100,200: protocol B down at 100,200 with BTN_TOUCH, SYN_REPORT, then up (tracking id -1)" \
	sh -c "sed 's/^3 57 [0-9]*\$/3 57 ID/' '$T/tap' | tr '\n' ' ' | grep -qx '3 47 0 3 57 ID 3 53 100 3 54 200 1 330 1 0 0 0 3 47 0 3 57 -1 1 330 0 0 0 0 '"
check "the contact's tracking id is not -1" sh -c "grep '^3 57 ' '$T/tap' | head -n 1 | grep -qv -- '-1'"

"$CVD_INPUT" --instance_num=3 --display=1 --swipe 10,20,110,220,50
recs input_touch_1.sock >"$T/swipe"
check "--display=1 --swipe reaches input_touch_1.sock: down at 10,20 ... up" \
	sh -c "head -n 4 '$T/swipe' | tail -n 2 | tr '\n' ' ' | grep -qx '3 53 10 3 54 20 ' && tail -n 4 '$T/swipe' | tr '\n' ' ' | grep -qx '3 47 0 3 57 -1 1 330 0 0 0 0 '"
check "the swipe's last move is at 110,220, each move a report of its own" \
	sh -c "grep -A1 '^3 53 110\$' '$T/swipe' | grep -qx '3 54 220' && [ \$(grep -c '^0 0 0\$' '$T/swipe') -ge 3 ]"
check "nothing went to display 0's socket" test ! -e "$I/input_touch_0.sock.rec"

"$CVD_INPUT" --instance_num=3 --text 'aB!'
recs input_keyboard.sock >"$T/text"
# KEY_A=30, KEY_LEFTSHIFT=42, KEY_B=48, KEY_1=2.
check "--text 'aB!': a; shift+b; shift+1, each press and release its own report, on the keyboard" \
	sh -c "tr '\n' ' ' <'$T/text' | grep -qx '1 30 1 0 0 0 1 30 0 0 0 0 1 42 1 0 0 0 1 48 1 0 0 0 1 48 0 0 0 0 1 42 0 0 0 0 1 42 1 0 0 0 1 2 1 0 0 0 1 2 0 0 0 0 1 42 0 0 0 0 '"
"$CVD_INPUT" --instance_num=3 --key POWER
"$CVD_INPUT" --instance_num=3 --key volumedown
recs input_buttons.sock 2 >"$T/buttons"
check "--key POWER and --key volumedown go to the buttons (KEY_POWER 116, KEY_VOLUMEDOWN 114)" \
	sh -c "tr '\n' ' ' <'$T/buttons' | grep -qx '1 116 1 0 0 0 1 116 0 0 0 0 1 114 1 0 0 0 1 114 0 0 0 0 '"
"$CVD_INPUT" --instance_num=3 --key KEY_ENTER
recs input_keyboard.sock >"$T/enter"
check "--key KEY_ENTER goes to the keyboard (28)" sh -c "tr '\n' ' ' <'$T/enter' | grep -qx '1 28 1 0 0 0 1 28 0 0 0 0 '"

"$FB_FILL" "$I/display0.fb" 720x1280 720x1280:1 >/dev/null
status_is "a point outside display 0 (720x1280) is a usage error (2)" 2 "720,5 is outside display 0 \(720x1280\)" \
	"$CVD_INPUT" --instance_num=3 --tap 720,5
status_is "a character without a key is a usage error (2)" 2 "character 233" "$CVD_INPUT" --instance_num=3 --text "$(printf 'caf\351')"
status_is "an unknown key name is a usage error (2)" 2 "--key=FOO: not a key name" "$CVD_INPUT" --instance_num=3 --key FOO
status_is "two actions at once are a usage error (2)" 2 "exactly one of" "$CVD_INPUT" --instance_num=3 --tap 1,1 --key A
status_is "a tap needs X,Y (2)" 2 "--tap=1,2,3: give X,Y" "$CVD_INPUT" --instance_num=3 --tap 1,2,3
echo "# $fails of $n failed"
[ "$fails" = 0 ]
