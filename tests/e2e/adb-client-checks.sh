# tests/e2e/adb-client-checks.sh — adb shell, exec-out, forward, reverse, root and the device
# queries as Android developers use them, with the real adb client against one device. Sourced
# (bash) after `check`, `note`, `work` (a local scratch directory), `serial` and `top_srcdir`
# are set.
#   adb_client_checks REMOTE_DIR  (REMOTE_DIR: made fresh, its parent must exist)
#   adb_root_checks               (adb unroot, then adb root: the user the shell runs as)
# The device's nc keeps its stdin open until the host's line has come (or 60 s): on end of input
# it may shut its socket down, which ends the adb stream (as in Android's adbd) before the host's
# line comes back. A fixed wait would be too short on a slow or loaded machine.
# Ports: the host's come from the kernel (tcp:0, a port bound to 0); the device's are picked at
# random from 20000-39999 (a fresh device listens on none of them).

# nc_until_line FILE: a device command that prints from-device, then holds nc's stdin open until
# FILE (nc's output, on the device) holds a line, 60 s at most.
nc_until_line() {
	echo "(echo from-device; i=0; until [ -s $1 ] || [ \$i -ge 300 ]; do sleep 0.2; i=\$((i + 1)); done)"
}

adb_client_checks() {
	local r=$1 l=$work/client rc out g h peer=$top_srcdir/tests/e2e/tcp-peer.py
	rm -rf "$l"
	mkdir -p "$l"
	adb -s "$serial" shell "rm -rf '$r' && mkdir -p '$r'"

	# adb shell: stdin, exit codes, -x, a pty.
	out=$(echo hi-through-stdin | adb -s "$serial" shell cat)
	check "[ \"$out\" = hi-through-stdin ]" "echo ... | adb shell cat: stdin reaches the command"
	adb -s "$serial" shell false; rc=$?
	check "[ $rc = 1 ]" "adb shell false exits 1"
	adb -s "$serial" shell 'exit 7'; rc=$?
	check "[ $rc = 7 ]" "adb shell 'exit 7' exits 7"
	out=$(adb -s "$serial" shell 'echo out; echo err >&2' 2> "$l/err")
	check "[ \"$out\" = out ] && [ \"\$(cat '$l/err')\" = err ]" "adb shell keeps stdout and stderr apart"
	adb -s "$serial" shell -x 'echo via-x; exit 3' < /dev/null > "$l/x"; rc=$?
	out=$(tr -d '\r' < "$l/x")
	check "[ $rc = 0 ] && [ \"$out\" = via-x ]" "adb shell -x: the output, and status 0 (no remote exit code) (got $rc)"
	adb -s "$serial" shell -t -t 'tty; exit 5' < /dev/null > "$l/tty"; rc=$?
	out=$(tr -d '\r' < "$l/tty")
	check "[ $rc = 5 ] && echo '$out' | grep -q '^/dev/pts/'" "adb shell -t -t runs the command on a pty, with its exit code (got $rc, '$out')"
	printf 'echo in-pty-shell-$((6 * 7))\nexit 4\n' | adb -s "$serial" shell -t -t > "$l/pty" 2>&1; rc=$?
	check "[ $rc = 4 ] && grep -q 'in-pty-shell-42' '$l/pty'" "an interactive adb shell on a pty reads commands from stdin and exits with exit's code (got $rc)"
	[ $rc = 4 ] || note "$l/pty"

	# exec-out: bytes as they are (no pty, no \r\n), both a file and a command's own output.
	head -c 300000 /dev/urandom > "$l/bin"
	printf '\r\n\n\r\000\377' >> "$l/bin"
	adb -s "$serial" push "$l/bin" "$r/bin" > /dev/null 2>&1
	adb -s "$serial" exec-out cat "$r/bin" > "$l/bin.back"
	check "cmp -s '$l/bin' '$l/bin.back'" "adb exec-out cat FILE gives the bytes back intact"
	adb -s "$serial" exec-out "printf 'a\\nb\\r\\n\\000z'" > "$l/printf"
	check "[ \"\$(od -An -tx1 '$l/printf' | tr -d ' \\n')\" = 610a620d0a007a ]" "adb exec-out keeps \\n, \\r\\n and NUL as the command wrote them"
	adb -s "$serial" shell "cat '$r/bin'" > "$l/bin.shell"
	check "cmp -s '$l/bin' '$l/bin.shell'" "adb shell CMD (no pty) gives binary output intact"

	# The device's identity and state.
	check "[ \"\$(adb -s '$serial' get-serialno)\" = '$serial' ]" "adb get-serialno prints $serial"
	check "[ \"\$(adb -s '$serial' get-state)\" = device ]" "adb get-state prints device"
	timeout 60 adb -s "$serial" wait-for-device; rc=$?
	check "[ $rc = 0 ]" "adb wait-for-device returns at once for a device that is up"

	# adb forward: a host port to a device port, a line each way.
	g=$((20000 + RANDOM % 20000))
	h=$(adb -s "$serial" forward tcp:0 "tcp:$g")
	check "[ -n '$h' ] && adb -s '$serial' forward --list | grep -q '^$serial tcp:$h tcp:$g\$'" \
		"adb forward tcp:0 tcp:$g prints the host port and --list shows it"
	timeout 90 adb -s "$serial" shell "rm -f $r/fwd.in; $(nc_until_line $r/fwd.in) | busybox nc -l -p $g > $r/fwd.in; cat $r/fwd.in" > "$l/fwd.device" 2>&1 &
	local device_side=$!
	out=$(timeout 60 python3 "$peer" connect "$h" from-host)
	wait $device_side
	check "[ '$out' = from-device ] && grep -q from-host '$l/fwd.device'" "adb forward carries data both ways (host got '$out')"
	adb -s "$serial" forward --remove "tcp:$h"; rc=$?
	check "[ $rc = 0 ] && ! adb -s '$serial' forward --list | grep -q 'tcp:$h'" "adb forward --remove tcp:$h removes it"
	check "! python3 -c 'import socket,sys; socket.create_connection((\"127.0.0.1\", $h), 2)' 2> /dev/null" \
		"nothing listens on host port $h after --remove"

	# adb reverse: a device port to a host port, a line each way.
	g=$((20000 + RANDOM % 20000))
	rm -f "$l/hport"
	timeout 90 python3 "$peer" serve "$l/hport" from-host > "$l/rev.host" &
	local host_side=$!
	for _ in $(seq 1 50); do [ -s "$l/hport" ] && break; sleep 0.1; done
	h=$(cat "$l/hport")
	adb -s "$serial" reverse "tcp:$g" "tcp:$h" > "$l/rev.out" 2>&1; rc=$?
	note "$l/rev.out"
	check "[ $rc = 0 ] && adb -s '$serial' reverse --list | grep -q ' tcp:$g tcp:$h\$'" "adb reverse tcp:$g tcp:$h, and --list shows it"
	out=$(timeout 90 adb -s "$serial" shell "rm -f $r/rev.in; $(nc_until_line $r/rev.in) | busybox nc 127.0.0.1 $g > $r/rev.in; cat $r/rev.in" | tr -d '\r')
	wait $host_side
	check "[ '$out' = from-host ] && [ \"\$(cat '$l/rev.host')\" = from-device ]" "adb reverse carries data both ways (device got '$out')"
	adb -s "$serial" reverse --no-rebind "tcp:$g" "tcp:$h" > "$l/rev.out" 2>&1; rc=$?
	check "[ $rc != 0 ] && grep -q 'cannot rebind existing socket' '$l/rev.out'" "adb reverse --no-rebind of a taken port fails with adbd's text"
	adb -s "$serial" reverse --remove "tcp:$g"; rc=$?
	check "[ $rc = 0 ] && ! adb -s '$serial' reverse --list | grep -q 'tcp:$g '" "adb reverse --remove tcp:$g removes it"
	adb -s "$serial" shell "echo x | busybox nc 127.0.0.1 $g" > /dev/null 2>&1; rc=$?
	check "[ $rc != 0 ]" "nothing listens on device port $g after --remove"
	adb -s "$serial" reverse --remove "tcp:$g" > "$l/rev.out" 2>&1; rc=$?
	check "[ $rc != 0 ] && grep -q \"listener 'tcp:$g' not found\" '$l/rev.out'" "removing it again fails with adbd's text"
	out=$(adb -s "$serial" reverse tcp:0 "tcp:$h")
	check "[ -n '$out' ] && adb -s '$serial' reverse --list | grep -q ' tcp:$out tcp:$h\$'" "adb reverse tcp:0 prints the device port it bound"
	adb -s "$serial" reverse --remove-all; rc=$?
	check "[ $rc = 0 ] && [ -z \"\$(adb -s '$serial' reverse --list)\" ]" "adb reverse --remove-all empties the list"
}

# device_user: the uid the device's shell runs as, once the device answers again (adb root and
# adb unroot restart adbd).
device_user() {
	local out
	for _ in $(seq 1 60); do
		out=$(timeout 10 adb -s "$serial" shell id -u 2> /dev/null | tr -d '\r')
		[ -n "$out" ] && { echo "$out"; return 0; }
		adb connect "$serial" > /dev/null 2>&1
		sleep 1
	done
	return 1
}

adb_root_checks() {
	local out
	check "[ \"\$(device_user)\" = 0 ]" "the shell runs as root (uid 0) to begin with"
	out=$(adb -s "$serial" root 2>&1)
	check "[ '$out' = 'adbd is already running as root' ]" "adb root: 'adbd is already running as root' (got '$out')"
	out=$(adb -s "$serial" unroot 2>&1)
	check "[ '$out' = 'restarting adbd as non root' ]" "adb unroot: 'restarting adbd as non root' (got '$out')"
	check "[ \"\$(device_user)\" = 2000 ]" "after adb unroot the shell runs as the shell user (uid 2000)"
	out=$(adb -s "$serial" unroot 2>&1)
	check "[ '$out' = 'adbd not running as root' ]" "adb unroot again: 'adbd not running as root' (got '$out')"
	out=$(adb -s "$serial" root 2>&1)
	check "[ '$out' = 'restarting adbd as root' ]" "adb root: 'restarting adbd as root' (got '$out')"
	check "[ \"\$(device_user)\" = 0 ]" "after adb root the shell runs as root again"
}

# adb_nohup_checks REMOTE_DIR (made fresh, its parent must exist): nohup as Android developers use
# it to start a command that outlives their adb shell. Each process is found by a pid file it
# writes and told apart by its command line (sleep with a number of seconds of its own), and every
# wait polls (60 s at most), so no check depends on how fast this machine is.
adb_nohup_checks() {
	local r=$1 l=$work/nohup out rc np pp hp
	rm -rf "$l"
	mkdir -p "$l"
	adb -s "$serial" shell "rm -rf '$r' && mkdir -p '$r'"
	# wait_pid_files FILE...: a device command that waits until each FILE holds a pid.
	wait_pid_files() {
		local f c=true
		for f in "$@"; do c="$c && [ -s $f ]"; done
		echo "i=0; until $c || [ \$i -ge 300 ]; do sleep 0.2; i=\$((i + 1)); done"
	}
	# alive PID WHAT: the device prints alive when PID runs WHAT (its command line), gone when not.
	alive() { adb -s "$serial" shell "tr '\\0' ' ' < /proc/$1/cmdline 2>/dev/null | grep -q '$2' && echo alive || echo gone" | tr -d '\r'; }

	# On a pty (adb shell -t), the shell's end hangs the terminal up and the kernel sends SIGHUP to
	# the processes it started. The one under nohup lives on; the plain one (the control: it shows
	# the hangup really came) does not. nohup's output, the terminal's, goes to ./nohup.out.
	adb -s "$serial" shell -t -t "cd $r && nohup sh -c 'echo \$\$ > nohup.pid; echo nohup-output; exec sleep 6001' & cd $r && sh -c 'echo \$\$ > plain.pid; exec sleep 6002' & $(wait_pid_files $r/nohup.pid $r/plain.pid)" \
		< /dev/null > "$l/pty.out" 2>&1
	rc=$?
	note "$l/pty.out"
	np=$(adb -s "$serial" shell cat "$r/nohup.pid" | tr -d '\r')
	pp=$(adb -s "$serial" shell cat "$r/plain.pid" | tr -d '\r')
	out=$(adb -s "$serial" shell "i=0; while tr '\\0' ' ' < /proc/$pp/cmdline 2>/dev/null | grep -q 'sleep 6002' && [ \$i -lt 300 ]; do sleep 0.2; i=\$((i + 1)); done; echo waited" | tr -d '\r')
	check "[ $rc = 0 ] && [ -n '$np' ] && [ -n '$pp' ] && [ \"\$(alive '$pp' 'sleep 6002')\" = gone ]" \
		"adb shell -t: a command started with & (no nohup) dies when the shell's terminal hangs up (the control)"
	check "[ \"\$(alive '$np' 'sleep 6001')\" = alive ]" \
		"adb shell -t 'nohup CMD &': the command survives the hangup at the shell's end"
	check "[ \"\$(adb -s '$serial' shell cat '$r/nohup.out' | tr -d '\\r')\" = nohup-output ]" \
		"nohup on a terminal appends the command's output to ./nohup.out"
	[ -n "$np" ] && adb -s "$serial" shell "kill $np" 2> /dev/null

	# The usual form: adb shell "nohup CMD > FILE 2>&1 &" returns at once, the command runs on.
	timeout 60 adb -s "$serial" shell "nohup sh -c 'echo \$\$ > $r/bg.pid; exec sleep 6003' > /dev/null 2>&1 &"
	rc=$?
	np=$(adb -s "$serial" shell "$(wait_pid_files $r/bg.pid); cat $r/bg.pid" | tr -d '\r')
	check "[ $rc = 0 ] && [ -n '$np' ] && [ \"\$(alive '$np' 'sleep 6003')\" = alive ]" \
		"adb shell \"nohup CMD > /dev/null 2>&1 &\" returns (status $rc) and the command runs on after it"
	[ -n "$np" ] && adb -s "$serial" shell "kill $np" 2> /dev/null

	# As the users type it, adb itself in the host's background: adb shell nohup CMD &.
	# The host's adb goes away (its terminal closed): the device's command lives on.
	adb -s "$serial" shell nohup sh -c "'echo \$\$ > $r/host-bg.pid; exec sleep 6004'" > "$l/host-bg.out" 2>&1 &
	hp=$!
	np=$(adb -s "$serial" shell "$(wait_pid_files $r/host-bg.pid); cat $r/host-bg.pid" | tr -d '\r')
	kill -HUP $hp 2> /dev/null
	wait $hp 2> /dev/null
	check "[ -n '$np' ] && [ \"\$(alive '$np' 'sleep 6004')\" = alive ]" \
		"adb shell nohup CMD & on the host: CMD survives the end of the host's adb (SIGHUP to it)"
	[ -n "$np" ] && adb -s "$serial" shell "kill $np" 2> /dev/null
	adb -s "$serial" shell "rm -rf '$r'"
	unset -f wait_pid_files alive
}
