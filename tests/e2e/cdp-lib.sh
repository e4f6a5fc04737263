# tests/e2e/cdp-lib.sh — a web view's page kept open in headless Chromium for a bash script
# (input-device.sh, bench/input.sh): webview-cdp.py's drive mode as a coprocess, one command a
# line, one answer a line (the commands are in webview-cdp.py's header). Sourced (bash), after
# PY (a python3) and CHROMIUM are set (display-lib.sh's find_pil_python and find_chromium).
# shellcheck shell=bash disable=SC2154 # PY, CHROMIUM and top_srcdir are the caller's

# cdp_start URL WIDTH HEIGHT LOG: opens URL in a WIDTHxHEIGHT viewport; once display 0 has a
# picture, cdp_reply is "ready L T W H DW DH" and the status 0. Chromium's own errors go to LOG.
cdp_start() {
	cdp_pid=
	coproc CDP { exec "$PY" "$top_srcdir/tests/e2e/webview-cdp.py" drive "$CHROMIUM" "$1" "$2" "$3" 2>>"$4"; }
	cdp_pid=$CDP_PID
	cdp_in=${CDP[1]} cdp_out=${CDP[0]}
	cdp_read
}

# cdp_read: the next answer in cdp_reply; status 1 for "error ..." or none within 120 s.
cdp_read() {
	cdp_reply=
	IFS= read -r -t 120 cdp_reply <&"$cdp_out" || { cdp_reply="error: webview-cdp.py gave no answer"; return 1; }
	case $cdp_reply in error*) return 1 ;; esac
}

# cdp COMMAND ARGS...: sends one command, its answer in cdp_reply.
cdp() {
	[ -n "${cdp_pid:-}" ] || { cdp_reply="error: no page open"; return 1; }
	echo "$*" >&"$cdp_in" 2>/dev/null || { cdp_reply="error: webview-cdp.py is gone"; return 1; }
	cdp_read
}

# cdp_stop: closes the page and Chromium (at exit too: put it in the EXIT trap); cdp_status is
# webview-cdp.py's exit status (0: Chromium closed when asked).
cdp_stop() {
	[ -n "${cdp_pid:-}" ] || return 0
	echo quit >&"$cdp_in" 2>/dev/null
	local _
	for _ in $(seq 1 200); do kill -0 "$cdp_pid" 2>/dev/null || break; sleep 0.1; done
	kill "$cdp_pid" 2>/dev/null
	wait "$cdp_pid" 2>/dev/null
	cdp_status=$?
	cdp_pid=
}
