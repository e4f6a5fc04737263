# tests/e2e/vector-probe-verdict.sh — what boot-reference.sh concludes from the line the guest's
# vector-probe printed (tests/e2e/vector-probe.c). Sourced (sh).
#
# vector_probe_verdict LOG...: reads the probe's line from the console logs and prints why it
# decided. Returns 0 when the probe found the AVX registers kept, 1 when it found them changed
# or printed no line, 2 (skip) when the guest offers no AVX to its processes: then no process can
# use, or lose, those registers, whatever the host's CPU has.
vector_probe_verdict() {
	local line
	# The line may share its console line with kernel messages: match the probe's words only.
	line=$(cat "$@" 2>/dev/null | tr -d '\r' |
		grep -o 'vector-probe: \(no AVX offered to this process\|ymm7 upper half [a-z]*, ymm16 \(kept\|changed\|not offered\)\)' |
		head -n 1)
	case $line in
	"vector-probe: no AVX offered to this process")
		echo "the guest is offered no AVX: no process there uses, or can lose, the AVX registers"
		return 2
		;;
	"vector-probe: ymm7 upper half kept, ymm16 kept" | "vector-probe: ymm7 upper half kept, ymm16 not offered")
		echo "guest processes leave the AVX registers alone, which the guest kernel (noxsave) cannot switch ($line)"
		return 0
		;;
	"")
		echo "guest processes leave the AVX registers alone: the guest's vector-probe printed no verdict"
		return 1
		;;
	*)
		echo "guest processes leave the AVX registers alone, which the guest kernel (noxsave) cannot switch: $line"
		return 1
		;;
	esac
}
