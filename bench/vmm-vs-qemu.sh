#!/bin/bash
# Boots the same guest-kit PVH payload under sepia-vmm and under QEMU (-M microvm),
# alternately, and prints median wall time and peak RSS for each, with the ratios.
#
# Usage: bench/vmm-vs-qemu.sh [-n RUNS] [-p PAYLOAD] [-c CMDLINE] [-l LINE] [-m MIB]
#                             [-T] [-k]
#   -n RUNS     timed runs per VMM, alternating sepia, QEMU, sepia, ... (default 5)
#   -p PAYLOAD  a payload name in tests/guest (serial, bootparams, ...) or a path to a
#               PVH ELF (default serial). Only payloads that need no disk or console
#               device make sense here: both VMMs get RAM, COM1 and debug-exit only.
#   -c CMDLINE  kernel command line for the payload (--cmdline / -append; default none)
#   -l LINE     a serial line every run must print (default: the serial payload's line
#               for serial; for every payload "guest: done, N checks, 0 failed" too)
#   -m MIB      guest RAM (default 128)
#   -T          also measure QEMU -accel tcg (done anyway when -accel kvm cannot start)
#   -k          keep the work directory (serial logs, VMM output, time records)
#
# Environment: SEPIA_VMM (default ./sepia-vmm of the tree), QEMU (default
# qemu-system-x86_64 from PATH), BENCH_TIMEOUT (seconds per run, default 60), CC (for
# the RSS probe, default cc).
#
# Needs GNU time as /usr/bin/time (Debian package `time`: apt-get install time) for the
# peak RSS (%M, ru_maxrss in KiB). Wall time is taken around each run with
# date +%s%N (ms resolution; GNU time's %e has only 10 ms).
#
# The commands measured, one per run, never in parallel:
#   sepia-vmm --kernel P --mem 128 --serial file:LOG --debug-exit
#   qemu-system-x86_64 -M microvm -accel kvm -m 128 -nodefaults -no-user-config
#       -nographic -serial file:LOG -device isa-debug-exit,iobase=0xf4,iosize=4 -kernel P
# A run passes when the VMM exits with status 33 (the payload wrote 0x10 to port 0xf4,
# see tests/guest/README) and the serial log holds the expected line(s).
#
# Before the timed runs each VMM boots the payload once, untimed, with bench/rss-probe.c
# preloaded: it warms the page cache, decides QEMU's accelerator, and reports how much
# guest RAM was touched (resident in the guest-RAM mapping at exit). Peak RSS (%M)
# counts the VMM's own heap and stacks, the resident parts of its binary and shared
# libraries (file-backed, shared with other processes), KVM's per-vCPU run page, and
# only the guest pages that were touched: guest RAM is mapped lazily, so -m 128 is not
# 128 MiB of RSS. "beyond guest RAM" = peak RSS - guest RAM touched.
#
# Beside them, bench/rss-floor.c's two programs, run as many times: a C program that
# returns at once (the floor of any dynamically linked program here), and one linked against
# sepia-vmm's libraries that does what every program of its shape does first (GOption, a
# thread, a GLib main-loop turn, a seccomp filter, a zlib stream). sepia-vmm's RSS beyond
# guest RAM minus the second floor is what sepia-vmm's own code and data cost. The floors
# need pkg-config and the -dev packages of glib-2.0, libseccomp and zlib (sepia's build
# dependencies); without them they are n/a.
#
# Exit status: 0 when every run passed, 1 when any failed, 2 on a usage error.
set -uo pipefail

prog='vmm-vs-qemu'
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=bench/bench-lib.sh
. "$here/bench-lib.sh"

runs=5
payload=serial
cmdline=
expect_line=
mem=128
also_tcg=no
keep=no
timeout_s=${BENCH_TIMEOUT:-60}
SERIAL_LINE='guest-kit serial: hello from a PVH payload, 0123456789 ABCDEF'
STATUS_PASS=33

while getopts "n:p:c:l:m:Tkh" opt; do
	case $opt in
	n) runs=$OPTARG ;;
	p) payload=$OPTARG ;;
	c) cmdline=$OPTARG ;;
	l) expect_line=$OPTARG ;;
	m) mem=$OPTARG ;;
	T) also_tcg=yes ;;
	k) keep=yes ;;
	h) usage; exit 0 ;;
	*) usage >&2; exit 2 ;;
	esac
done
shift $((OPTIND - 1))
[ $# -eq 0 ] || die "unexpected argument '$1' (see -h)"
need_number "$runs" "-n needs a number"
[ "$runs" -ge 1 ] || die "-n needs at least 1"
need_number "$mem" "-m needs a number of MiB"

case $payload in
*/* | *.elf) elf=$payload ;;
*) elf=$top_builddir/tests/guest/$payload.elf ;;
esac
[ -f "$elf" ] || die "payload $elf not found (make tests/guest/${payload##*/}.elf)"
elf=$(cd "$(dirname "$elf")" && pwd)/$(basename "$elf")
if [ -z "$expect_line" ] && [ "$(basename "$elf")" = serial.elf ]; then
	expect_line=$SERIAL_LINE
fi

SEPIA_VMM=${SEPIA_VMM:-$top_builddir/sepia-vmm}
[ -x "$SEPIA_VMM" ] || die "no sepia-vmm at $SEPIA_VMM (cd $top_builddir && make sepia-vmm)"
have_kvm || die "/dev/kvm is missing or not read-writable"
have_gnu_time || die "GNU time not found as /usr/bin/time (apt-get install time)"
QEMU=${QEMU:-$(command -v qemu-system-x86_64 || true)}
if [ -z "$QEMU" ] || [ ! -x "$QEMU" ]; then
	say "qemu-system-x86_64 not found: measuring sepia-vmm alone"
	QEMU=
fi

bench_workdir sepia-bench

# The RSS probe (optional: without a C compiler the guest-RAM column says n/a).
probe=
if ${CC:-cc} -shared -fPIC -O2 -o "$work/rss-probe.so" "$here/rss-probe.c" -ldl 2>"$work/probe-cc.log"; then
	probe=$work/rss-probe.so
else
	say "cannot build the RSS probe (${CC:-cc}), guest RAM touched will be n/a:"
	sed 's/^/  /' "$work/probe-cc.log" >&2
fi

# cmd_for VMM -> sets the array cmd (serial log path in $serial)
cmd_for() {
	case $1 in
	sepia)
		cmd=("$SEPIA_VMM" --kernel "$elf" --mem "$mem" --serial "file:$serial" --debug-exit)
		[ -z "$cmdline" ] || cmd+=(--cmdline "$cmdline")
		;;
	qemu-kvm | qemu-tcg)
		# shellcheck disable=SC2054 # the commas belong to QEMU's option values
		cmd=("$QEMU" -M microvm -accel "${1#qemu-}" -m "$mem" -nodefaults -no-user-config
			-nographic -serial "file:$serial" -device isa-debug-exit,iobase=0xf4,iosize=4
			-kernel "$elf")
		[ -z "$cmdline" ] || cmd+=(-append "$cmdline")
		;;
	esac
}

label_of() {
	case $1 in
	sepia) echo "sepia-vmm (kvm)" ;;
	qemu-kvm) echo "qemu microvm (kvm)" ;;
	qemu-tcg) echo "qemu microvm (tcg)" ;;
	esac
}

quote_cmd() {
	local a out=
	for a in "$@"; do
		case $a in *[\ \']*) out="$out '$a'" ;; *) out="$out $a" ;; esac
	done
	echo "${out# }"
}

# check_run STATUS SERIAL: 0 when the run passed, else prints why (to stderr).
check_run() {
	local status=$1 log=$2 text
	if [ "$status" != "$STATUS_PASS" ]; then
		echo "exit status $status, expected $STATUS_PASS"
		return 1
	fi
	text=$(tr -d '\r' <"$log" 2>/dev/null)
	if [ -n "$expect_line" ] && ! grep -qxF -- "$expect_line" <<<"$text"; then
		echo "the serial log lacks the line '$expect_line'"
		return 1
	fi
	if ! grep -qE '^guest: done, [0-9]+ checks, 0 failed$' <<<"$text"; then
		echo "the serial log lacks 'guest: done, N checks, 0 failed'"
		return 1
	fi
	return 0
}

failures=0
# run_one VMM TAG: one timed boot; on a pass appends "ms rss_kb" to $work/VMM.samples.
# With TAG "warmup": untimed, not counted, with the RSS probe preloaded when there is one.
run_one() {
	local vmm=$1 tag=$2 status t0 t1 ms rss why use_probe=
	[ "$tag" != warmup ] || use_probe=${probe:-none}
	serial=$work/$vmm-$tag.serial
	local out=$work/$vmm-$tag.out tfile=$work/$vmm-$tag.time
	rm -f "$serial" "$out" "$tfile"
	cmd_for "$vmm"
	if [ "$use_probe" = none ]; then
		timeout "$timeout_s" "${cmd[@]}" </dev/null >"$out" 2>&1
		status=$?
	elif [ -n "$use_probe" ]; then
		# Preloaded into the VMM only (env execs it), not into timeout, whose own
		# exit would overwrite the report.
		timeout "$timeout_s" env LD_PRELOAD="$probe" BENCH_RSS_PROBE_OUT="$work/$vmm.probe" \
			BENCH_RSS_PROBE_MIN_KB=$((mem * 1024)) "${cmd[@]}" </dev/null >"$out" 2>&1
		status=$?
	else
		t0=$(date +%s%N)
		timeout "$timeout_s" /usr/bin/time -o "$tfile" -f '%e %M %x' "${cmd[@]}" </dev/null >"$out" 2>&1
		status=$?
		t1=$(date +%s%N)
		ms=$(((t1 - t0) / 1000000))
		# GNU time's own record is the VMM's status (its exit status is the same).
		[ -s "$tfile" ] && status=$(awk 'END { print $3 }' "$tfile")
	fi
	last_status=$status
	if why=$(check_run "$status" "$serial"); then
		if [ -z "$use_probe" ]; then
			rss=$(awk 'END { print $2 }' "$tfile")
			echo "$ms $rss" >>"$work/$vmm.samples"
			printf '  %-20s run %-2s %6d ms %8d KiB peak RSS\n' "$(label_of "$vmm")" "$tag" "$ms" "$rss"
		fi
		return 0
	fi
	[ -n "$use_probe" ] || failures=$((failures + 1))
	echo "  $(label_of "$vmm") run $tag FAILED: $why" >&2
	echo "    command: $(quote_cmd "${cmd[@]}")" >&2
	{ [ -s "$serial" ] && tail -n 20 "$serial" | sed 's/^/    serial| /'
	  [ -s "$out" ] && tail -n 20 "$out" | sed 's/^/    output| /'; } >&2
	return 1
}

echo "== sepia-vmm vs QEMU: $(basename "$elf"), ${mem} MiB, $runs timed runs each, alternating"
echo "host: $(nproc) CPUs; load at start:$(uptime | sed 's/.*load average//')"
echo "sepia-vmm: $SEPIA_VMM"
[ -z "$QEMU" ] || echo "qemu: $QEMU ($("$QEMU" --version | head -n 1))"

# Warm-up + probe runs, untimed; they also decide which VMMs are measured.
vmms=(sepia)
run_one sepia warmup || { say "sepia-vmm cannot boot the payload"; exit 1; }
qemu_note=
if [ -n "$QEMU" ]; then
	if run_one qemu-kvm warmup 2>"$work/qemu-kvm-warmup.why"; then
		vmms+=(qemu-kvm)
	elif [ "$last_status" -ge 35 ] 2>/dev/null && [ "$last_status" -le 39 ]; then
		# The guest ran and wrote its status: KVM works, the payload failed under QEMU.
		cat "$work/qemu-kvm-warmup.why" >&2
		say "the payload fails under QEMU -accel kvm (status $last_status); measuring it anyway"
		failures=$((failures + 1))
		vmms+=(qemu-kvm)
	else
		qemu_note="QEMU -accel kvm did not boot the payload: $(sed -n 1p "$work/qemu-kvm-warmup.why" | sed 's/^ *//'); measured -accel tcg instead"
		say "$qemu_note"
		sed 1d "$work/qemu-kvm-warmup.why" >&2
		also_tcg=yes
	fi
	if [ "$also_tcg" = yes ]; then
		if run_one qemu-tcg warmup; then
			vmms+=(qemu-tcg)
		else
			say "QEMU -accel tcg did not boot the payload either; not measuring it"
			failures=$((failures + 1))
		fi
	fi
fi

echo
echo "commands (LOG is a fresh file in the work directory each run):"
for v in "${vmms[@]}"; do
	serial=LOG cmd_for "$v"
	echo "  $(label_of "$v"): /usr/bin/time -f '%e %M %x' $(quote_cmd "${cmd[@]}")"
done
echo
for ((i = 1; i <= runs; i++)); do
	for v in "${vmms[@]}"; do
		run_one "$v" "$i"
	done
done
echo "load at end:$(uptime | sed 's/.*load average//')"

# ---- The floors (bench/rss-floor.c) ----------------------------------------------------
declare -A floor
floor[libc]=n/a floor[libs]=n/a
floor_flags=()
read -ra floor_flags <<<"$(pkg-config --cflags --libs glib-2.0 libseccomp zlib 2>"$work/floor-cc.log")"
if [ "${#floor_flags[@]}" -gt 0 ] &&
	${CC:-cc} -O2 -DLIBC_ONLY -o "$work/floor-libc" "$here/rss-floor.c" 2>>"$work/floor-cc.log" &&
	${CC:-cc} -O2 -o "$work/floor-libs" "$here/rss-floor.c" "${floor_flags[@]}" 2>>"$work/floor-cc.log"; then
	for f in libc libs; do
		for ((i = 1; i <= runs; i++)); do
			/usr/bin/time -o "$work/floor-$f.time" -f '%M %x' "$work/floor-$f" </dev/null >/dev/null 2>&1
			awk 'END { if ($2 == 0) print $1 }' "$work/floor-$f.time"
		done >"$work/floor-$f.samples"
		[ "$(wc -l <"$work/floor-$f.samples")" = "$runs" ] && floor[$f]=$(median <"$work/floor-$f.samples")
	done
else
	say "cannot build bench/rss-floor.c (pkg-config and the glib-2.0, libseccomp and zlib -dev packages), the floors are n/a:"
	sed 's/^/  /' "$work/floor-cc.log" >&2
fi

# ---- The table --------------------------------------------------------------------

ratio() { # ratio A B
	awk -v a="$1" -v b="$2" 'BEGIN { if (a == "n/a" || b == "n/a" || b == 0) print "n/a"; else printf "%.2f\n", a / b }'
}
declare -A wall rss ok minmax touched beyond
for v in "${vmms[@]}"; do
	f=$work/$v.samples
	touch "$f"
	ok[$v]=$(wc -l <"$f")
	wall[$v]=$(cut -d' ' -f1 "$f" | median)
	rss[$v]=$(cut -d' ' -f2 "$f" | median)
	minmax[$v]=$(cut -d' ' -f1 "$f" | sort -n | awk 'NR == 1 { lo = $1 } { hi = $1 } END { if (NR) printf "%d-%d", lo, hi; else print "n/a" }')
	touched[$v]=n/a
	[ -s "$work/$v.probe" ] && touched[$v]=$(sed -n 's/^total rss_kb=//p' "$work/$v.probe")
	beyond[$v]=n/a
	[ "${touched[$v]}" = n/a ] || [ "${rss[$v]}" = n/a ] || beyond[$v]=$((rss[$v] - touched[$v]))
done

echo
printf '%-20s %7s %12s %11s %14s %17s %17s\n' "VMM (accel)" "passed" "wall ms" "(min-max)" "peak RSS KiB" "guest RAM touched" "RSS beyond guest"
printf '%-20s %7s %12s %11s %14s %17s %17s\n' "" "" "median" "" "median" "KiB (probe run)" "RAM KiB"
for v in "${vmms[@]}"; do
	printf '%-20s %7s %12s %11s %14s %17s %17s\n' "$(label_of "$v")" "${ok[$v]}/$runs" "${wall[$v]}" \
		"${minmax[$v]}" "${rss[$v]}" "${touched[$v]}" "${beyond[$v]}"
done
for v in "${vmms[@]}"; do
	[ "$v" != sepia ] || continue
	printf 'sepia / %-12s wall %s x   peak RSS %s x   RSS beyond guest RAM %s x\n' "${v#qemu-}:" \
		"$(ratio "${wall[sepia]}" "${wall[$v]}")" "$(ratio "${rss[sepia]}" "${rss[$v]}")" \
		"$(ratio "${beyond[sepia]}" "${beyond[$v]}")"
done
for v in "${vmms[@]}"; do
	[ ! -s "$work/$v.probe" ] ||
		echo "guest RAM probe, $(label_of "$v"): $(grep '^mapping' "$work/$v.probe" | cut -d' ' -f3- | paste -sd';')"
done
echo "floor, a C program that returns at once (bench/rss-floor.c -DLIBC_ONLY): peak RSS ${floor[libc]} KiB (median of $runs)"
echo "floor, linked as sepia-vmm is (GLib, libseccomp, zlib; bench/rss-floor.c): peak RSS ${floor[libs]} KiB (median of $runs)"
if [ "${floor[libs]}" != n/a ] && [ "${beyond[sepia]}" != n/a ]; then
	echo "sepia-vmm's RSS beyond guest RAM, less the floor of its libraries: $((beyond[sepia] - floor[libs])) KiB"
fi
echo "(QEMU backs guest RAM with transparent huge pages where the host allows: one touch makes 2 MiB resident)"
[ -z "$qemu_note" ] || echo "note: $qemu_note"
[ -n "$QEMU" ] || echo "note: qemu-system-x86_64 not installed; sepia-vmm alone"
echo "Peak RSS = GNU time %M (ru_maxrss): heap, stacks, resident binary and shared-library"
echo "pages (file-backed, shared) and only the guest RAM pages that were touched."

if [ "$failures" -gt 0 ]; then
	say "$failures run(s) failed"
	exit 1
fi
exit 0
