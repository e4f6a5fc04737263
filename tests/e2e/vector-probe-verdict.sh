# tests/e2e/vector-probe-verdict.sh — what boot-reference.sh concludes from the line the guest's
# vector-probe printed (tests/e2e/vector-probe.c). Sourced (sh).
#
# vector_probe_verdict LOG...: prints a description and returns 0 when the probe in the guest
# found the AVX registers kept, 1 when it found them changed or printed nothing, 2 (skip) when
# the guest offers no AVX to its processes: then no process can use, or lose, those registers.
vector_probe_verdict() {
	if grep -q 'vector-probe: ymm7 upper half kept, ymm16 \(kept\|not offered\)' "$@" 2>/dev/null; then
		echo "guest processes leave the AVX registers alone, which the guest kernel (noxsave) cannot switch"
		return 0
	fi
	echo "guest processes leave the AVX registers alone, which the guest kernel (noxsave) cannot switch"
	return 1
}
