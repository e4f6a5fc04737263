# tests/e2e/adb-logcat-checks.sh — adb logcat against the reference guest: its logd keeps the
# kernel's log, init's lines and its services' output (adbd's), `logcat -d` dumps it in logcat's
# threadtime format and exits, `logcat` follows it, and logd streams it on hvc2 to the host's
# logs/logcat. Sourced (bash) after `check`, `note`, `work`, `serial` and `inst` are set.
#   adb_logcat_checks

adb_logcat_checks() {
	local l=$work/logcat rc tt s=$(date +%s.%N) mark pid i
	mkdir -p "$l"
	# MM-DD HH:MM:SS.mmm  PID  TID P TAG     : message
	tt='^[0-1][0-9]-[0-3][0-9] [0-2][0-9]:[0-5][0-9]:[0-6][0-9]\.[0-9]{3} +[0-9]+ +[0-9]+ [VDIWEF] [^:]+: '
	timeout 120 adb -s "$serial" logcat -d > "$l/dump" 2> "$l/dump.err"; rc=$?
	check "[ $rc = 0 ] && [ \$(wc -l < '$l/dump') -gt 20 ]" "adb logcat -d dumps the log and exits (status $rc, $(wc -l < "$l/dump") lines)"
	[ $rc = 0 ] || note "$l/dump.err"
	check "[ \$(grep -cvE '$tt' '$l/dump') = 0 ]" "every line of adb logcat -d is in threadtime format"
	grep -vE "$tt" "$l/dump" | head -n 3 | note
	check "grep -qE '$tt' '$l/dump' && grep -qE ' 0 +0 [IWEF] kernel +: Linux version ' '$l/dump'" "adb logcat -d shows the kernel's log (Linux version, pid 0)"
	check "grep -qE ' 1 +1 I init +: starting service .adbd. \(pid [0-9]+\)' '$l/dump'" "adb logcat -d shows init's lines (pid 1: starting service 'adbd')"
	check "grep -qE ' I adbd +: adbd: listening on vsock port 5555' '$l/dump'" "adb logcat -d shows adbd's output (tag adbd, its pid)"
	grep -E ' (init|adbd) +:' "$l/dump" | head -n 4 | note
	check "grep -q 'adbd: listening on vsock port 5555' '$inst/logs/kernel.log'" "a service's output still reaches the console (kernel.log)"

	# Follow: a line logged after `adb logcat` started reaches it; the client keeps running.
	mark=sepia-follow-$RANDOM$RANDOM
	timeout 120 adb -s "$serial" logcat > "$l/follow" 2> "$l/follow.err" &
	pid=$!
	for i in $(seq 1 600); do grep -q 'Linux version' "$l/follow" && break; sleep 0.1; done
	adb -s "$serial" shell log -p w -t sepia-e2e "$mark"
	for i in $(seq 1 300); do grep -q "$mark" "$l/follow" && break; sleep 0.1; done
	check "grep -qE ' W sepia-e2e: $mark\$' '$l/follow'" "adb logcat (no -d) follows: a line logged after it started arrives (log -p w -t sepia-e2e)"
	check "kill -0 $pid 2>/dev/null" "adb logcat without -d keeps following (still running)"
	kill $pid 2>/dev/null
	wait $pid 2>/dev/null
	[ -s "$l/follow.err" ] && note "$l/follow.err"

	# The host's copy, from hvc2.
	for i in $(seq 1 100); do grep -q "$mark" "$inst/logs/logcat" 2>/dev/null && break; sleep 0.1; done
	check "grep -qE ' 0 +0 [IWEF] kernel +: Linux version ' '$inst/logs/logcat' && grep -q ' I adbd *: ' '$inst/logs/logcat' && grep -q '$mark' '$inst/logs/logcat'" \
		"the host's logs/logcat (from hvc2) has the kernel's, adbd's and the followed line"
	check "[ \$(stat -c %a '$inst/logs/logcat') = 640 ] && [ \$(grep -cvE '$tt' '$inst/logs/logcat') = 0 ]" "logs/logcat is 0640 and all threadtime lines"
	check "grep -q 'console \\[hvc0\\] enabled' '$inst/logs/kernel.log' && grep -q 'sepia.logcat=hvc2 sepia.control=hvc3' '$inst/logs/kernel.log'" \
		"the kernel console is hvc0 (kernel.log), logcat hvc2, the control channel hvc3"

	# In the guest: from `log` (its start included) to a following logcat's output, read by the
	# shell line by line without forks; uptime has 10 ms steps. The last `log`, a second after the
	# reader left, lets logcat see that it is gone.
	adb -s "$serial" shell 'logcat | { log -t lat start-$$; while read -r l; do case $l in *start-$$*) break ;; esac; done
		read t0 _ < /proc/uptime; log -t lat mark-$$; while read -r l; do case $l in *mark-$$*) break ;; esac; done
		read t1 _ < /proc/uptime; echo "$t0 $t1"; (sleep 1; log -t lat end-$$) & }' > "$l/lat" 2>&1 &
	pid=$!
	for i in $(seq 1 600); do kill -0 $pid 2>/dev/null || break; sleep 0.1; done
	kill $pid 2>/dev/null
	echo "# in the guest, from log to a following logcat's output: $(awk '{ printf "%.0f ms", ($2 - $1) * 1000 }' "$l/lat")"
	echo "# logcat checks took $(echo "$(date +%s.%N) - $s" | bc) s"
}
