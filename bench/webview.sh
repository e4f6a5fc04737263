#!/bin/bash
# Frame delivery from sepia-webview to a client, side by side in one run: the page's WebSocket
# /stream (only the changed rectangle, as PNG, pushed) against the PNG long poll that scripts
# (and the page before the WebSocket) use: /display0/frames?after=V&wait=MS, then /display0.png.
# No guest: bench/webview-frames.py writes the display file as sepia-vmm does and is the client.
#
# Usage: bench/webview.sh [-f FRAMES] [-s FRAMES] [-q SIDE] [-W W] [-H H] [-r ROUNDS] [-k]
#   -f FRAMES   full-screen frames per transport, per picture kind (default 60)
#   -s FRAMES   small-rectangle frames per transport (default 300)
#   -q SIDE     the small rectangle's side in pixels (default 16)
#   -W W -H H   the display's size (default 720x1280)
#   -r ROUNDS   the frames are split into ROUNDS turns of ws then poll (default 5)
#   -k          keep the work directory (webview.log, raw.txt: one line of ms,down,up,decode
#               per frame)
#
# Per case and transport: the median and p95 of the milliseconds from the frame's publish to
# the client holding its last byte, the median bytes per frame each way (TCP payload), the
# median time python3's PIL takes to decode what came (the browser has that work too), and
# ws/poll ratios of the medians. Cases: "full" (every pixel changes; a gradient pattern),
# "noise" (every pixel changes; random pixels), "small" (one SIDE x SIDE square changes).
#
# Exit status: 0 when every frame arrived and was right, 1 otherwise, 77 (skip) without
# sepia-webview or python3, 2 on a usage error.
set -uo pipefail

prog='webview'
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=bench/bench-lib.sh
. "$here/bench-lib.sh"

full=60
small=300
side=16
width=720
height=1280
rounds=5
keep=no
while getopts f:s:q:W:H:r:kh opt; do
	case $opt in
	f) need_number "$OPTARG" "-f needs a number"; full=$OPTARG ;;
	s) need_number "$OPTARG" "-s needs a number"; small=$OPTARG ;;
	q) need_number "$OPTARG" "-q needs a number"; side=$OPTARG ;;
	W) need_number "$OPTARG" "-W needs a number"; width=$OPTARG ;;
	H) need_number "$OPTARG" "-H needs a number"; height=$OPTARG ;;
	r) need_number "$OPTARG" "-r needs a number"; rounds=$OPTARG ;;
	k) keep=yes ;;
	h) usage; exit 0 ;;
	*) usage >&2; exit 2 ;;
	esac
done
[ "$rounds" -ge 1 ] && [ "$side" -ge 1 ] && [ "$side" -le "$width" ] && [ "$side" -le "$height" ] ||
	die "-r needs at least 1 and -q a side within the display"
webview=$top_builddir/sepia-webview
[ -x "$webview" ] || skip "no sepia-webview in $top_builddir (make)"
# The system's python3 first: it is the one with Debian's python3-pil (a pyenv one may lack it).
py=
for p in /usr/bin/python3 python3; do
	command -v "$p" >/dev/null 2>&1 && { py=$p; break; }
done
[ -n "$py" ] || skip "python3 is not installed"
"$py" -c 'import PIL' 2>/dev/null ||
	say "python3 has no PIL (python3-pil): the pixels are not checked and no decode time is given"
bench_workdir sepia-bench-webview

say "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
"$py" "$here/webview-frames.py" "$webview" "$work" "${width}x$height" "$full" "$small" "$side" "$rounds" \
	>"$work/raw.txt"
status=$?
say "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
[ "$status" -eq 0 ] || { tail -5 "$work/webview.log" >&2; say "a frame was wrong or missing"; }

# One row per case and transport, then the ratios.
awk -v W="$width" -v H="$height" -v side="$side" '
function med(a, n) { return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2 }
function p95(a, n,  i) { i = int(0.95 * n + 0.999999); return a[i < 1 ? 1 : i] }
function sorted(src, n, dst,  i, j, t) {
	for (i = 1; i <= n; i++) dst[i] = src[i]
	for (i = 2; i <= n; i++) { t = dst[i]; for (j = i - 1; j >= 1 && dst[j] > t; j--) dst[j + 1] = dst[j]; dst[j + 1] = t }
}
$1 == "result" {
	key = $2 " " $3; n = NF - 3; count[key] = n
	delete ms; delete dn; delete up; delete dc
	for (i = 4; i <= NF; i++) { split($i, f, ","); ms[i - 3] = f[1]; dn[i - 3] = f[2]; up[i - 3] = f[3]; dc[i - 3] = f[4] }
	sorted(ms, n, s); m_ms[key] = med(s, n); p_ms[key] = p95(s, n)
	sorted(dn, n, s); m_dn[key] = med(s, n)
	sorted(up, n, s); m_up[key] = med(s, n)
	sorted(dc, n, s); m_dc[key] = med(s, n)
}
END {
	split("full noise small", cases, " ")
	label["full"] = "full screen, gradient"; label["noise"] = "full screen, noise"
	label["small"] = side "x" side " rectangle"
	printf "%dx%d display; per frame: ms from publish to the last byte at the client, TCP payload bytes\n", W, H
	printf "%-22s %-5s %6s %9s %9s %10s %8s %10s\n", "case", "via", "frames", "median ms", "p95 ms", "bytes down", "bytes up", "decode ms"
	for (c = 1; c <= 3; c++)
		for (t = 1; t <= 2; t++) {
			key = cases[c] " " (t == 1 ? "ws" : "poll")
			if (!(key in count)) continue
			printf "%-22s %-5s %6d %9.1f %9.1f %10d %8d %10.2f\n", label[cases[c]], (t == 1 ? "ws" : "poll"), count[key], m_ms[key], p_ms[key], m_dn[key], m_up[key], m_dc[key]
		}
	printf "\nws / poll (ratios of the medians; below 1: the WebSocket is faster or smaller)\n"
	printf "%-22s %9s %9s %10s %10s\n", "case", "median ms", "p95 ms", "bytes", "decode ms"
	for (c = 1; c <= 3; c++) {
		w = cases[c] " ws"; p = cases[c] " poll"
		if (!(w in count) || !(p in count) || !m_ms[p] || !p_ms[p]) continue
		printf "%-22s %9.2f %9.2f %10.4f %10.3f\n", label[cases[c]], m_ms[w] / m_ms[p], p_ms[w] / p_ms[p], (m_dn[w] + m_up[w]) / (m_dn[p] + m_up[p]), (m_dc[p] ? m_dc[w] / m_dc[p] : 0)
	}
}' "$work/raw.txt"
exit $((status != 0))
