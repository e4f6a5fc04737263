#!/bin/sh
# sepia-webview's guards (issue 13, defect 7), on a scanout file written by tests/e2e/fb-fill
# (no VMM needed): a request whose Host is not this host's (DNS rebinding: a web page that
# points its own name at 127.0.0.1 sends that name) gets 403 and never the screen; loopback
# names and --allowed-hosts are served; past 8 connections from one client address a client
# gets 503 while others are still served; a client that sends no request head is closed after
# the head timeout (5 s), one that sends half a head gets 408. TAP; exit 77 when a program or
# python3 is missing. Ports are picked free at run time.
set -u
top_builddir=${top_builddir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
GUARD=$top_srcdir/tests/e2e/webview-guard.py

. "$top_srcdir/tests/e2e/require.sh"
require_webview_tools
command -v python3 >/dev/null 2>&1 || skip "python3 is not installed"
. "$top_srcdir/tests/e2e/display-lib.sh"
display_test_begin webview-guard
guard() { python3 "$GUARD" "$@"; }
# is "description" WANT command...: the command's output is exactly WANT.
is() {
	d=$1 want=$2
	shift 2
	got=$("$@" 2>&1)
	if [ "$got" = "$want" ]; then ok "$d"; else
		not_ok "$d"; echo "# got: $got" | sed '2,$s/^/# /'; echo "# want: $want"
	fi
}

echo "1..17"
W=$T/fb
mkdir -p "$W"
"$FB_FILL" "$W/display0.fb" 64x64 64x48:1 >/dev/null
# A free port: bind port 0, take what the kernel gave, start on it; another program may take
# it in between, so try a few.
for _ in 1 2 3 4 5; do
	PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
	"$WEBVIEW" --framebuffer-dir="$W" --port="$PORT" --allowed-hosts=device.example,192.0.2.7 \
		2>"$T/webview.log" &
	wv_pid=$!
	for _ in $(seq 100); do grep -q "serving" "$T/webview.log" 2>/dev/null && break; sleep 0.05; done
	grep -q "serving" "$T/webview.log" && break
	wait "$wv_pid"
	wv_pid=
done
[ -n "$wv_pid" ] || { cat "$T/webview.log"; echo "Bail out! sepia-webview did not start"; exit 1; }

# ---- Host
is "Host localhost:PORT is served" 200 guard status "$PORT" "localhost:$PORT" /display0.png
is "Host 127.0.0.1:PORT is served" 200 guard status "$PORT" "127.0.0.1:$PORT" /display0.png
is "Host [::1]:PORT is served" 200 guard status "$PORT" "[::1]:$PORT" /display0.png
is "a Host from --allowed-hosts is served (any case, any port)" 200 guard status "$PORT" "Device.Example:9000" /
is "an address from --allowed-hosts is served" 200 guard status "$PORT" "192.0.2.7:$PORT" /
is "a rebinding page's Host gets 403, not the screen" 403 guard status "$PORT" "rebind.attacker.example:$PORT" /display0.png
is "... nor the frame counter" 403 guard status "$PORT" "rebind.attacker.example:$PORT" /display0/frames
is "a Host that only starts with localhost gets 403" 403 guard status "$PORT" "localhost.attacker.example" /
is "HTTP/1.1 without Host gets 400" 400 guard status "$PORT" - /
check "the refusal is logged naming the client and the Host" \
	grep -Eq "client 127.0.0.1:[0-9]+: GET /display0.png: answered 403: Host 'rebind.attacker.example:$PORT' is not allowed" "$T/webview.log"

# ---- connections per client address: 8 long polls held from 127.0.0.2
v=$(python3 -c '
import http.client, json, sys
c = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]), timeout=30)
c.request("GET", "/display0/frames")
print(json.loads(c.getresponse().read())["version"])' "$PORT")
guard bound "$PORT" "/display0/frames?after=$v&wait=8000" 8 >"$T/bound.out" 2>&1
check "a ninth connection from the same client address gets 503" grep -qx "extra: 503" "$T/bound.out"
check "another client address is served meanwhile" grep -qx "other: 200" "$T/bound.out"
check "the eight held ones are answered in the end, and then the address is served again" \
	sh -c "grep -qx 'held: 200 200 200 200 200 200 200 200' '$T/bound.out' && grep -qx 'after: 200' '$T/bound.out'"
check "the 503 is logged" grep -Eq "client 127.0.0.2:[0-9]+: refused with 503: this client address" "$T/webview.log"
[ "$fails" = 0 ] || sed 's/^/# /' "$T/bound.out"

# ---- the head timeout
is "a client that sends nothing is closed (after the head timeout)" closed guard silent "$PORT" 127.0.0.3
check "it is logged" grep -Eq "client 127.0.0.3:[0-9]+: no request within 5000 ms: closed" "$T/webview.log"
is "a client that sends half a head gets 408 and is closed" "closed
HTTP/1.1 408 Request Timeout" guard silent "$PORT" 127.0.0.4 'GET / HTTP/1.1\r\nHost: localhost\r\n'
[ "$n" -eq 17 ] || echo "# ran $n checks, the plan says 17"
exit $((fails > 0))
