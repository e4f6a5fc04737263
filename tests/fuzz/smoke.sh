#!/bin/sh
# The fuzzers' smoke run (`make fuzz-smoke`, and part of `make check`): builds every libFuzzer
# target in tests/fuzz/ and runs each for a few seconds (FUZZ_SMOKE_SECONDS, default 5) on its
# committed corpus (tests/fuzz/corpus/<name>/), its regressions (tests/fuzz/regressions/<name>/)
# and, for the image targets, the seeds make-seeds.sh writes. Every input in those folders runs
# first, so a regression that crashes again fails its target; so does a crash found in the
# seconds after. One TAP line per target with its runs and coverage. Skips (77) when clang
# cannot build a libFuzzer target with ASan and UBSan here.
set -u
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
seconds=${FUZZ_SMOKE_SECONDS:-5}

skip() {
	echo "1..0 # SKIP $1"
	exit 77
}

cc=${FUZZ_CC:-clang}
command -v "$cc" >/dev/null 2>&1 || skip "$cc not found (apt-get install clang libclang-rt-14-dev)"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/sepia-fuzz-smoke.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
printf 'int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n) { (void)d; (void)n; return 0; }\n' \
	>"$tmp/probe.c"
"$cc" -fsanitize=fuzzer,address,undefined -o "$tmp/probe" "$tmp/probe.c" >"$tmp/probe.log" 2>&1 ||
	skip "$cc cannot link a libFuzzer target with ASan and UBSan: $(head -n 1 "$tmp/probe.log") (apt-get install clang libclang-rt-14-dev)"

# The make inside make check must not look for the outer make's job server.
unset MAKEFLAGS MFLAGS MAKELEVEL
names=${FUZZ_NAMES:-$(make -s --no-print-directory -C "$top_builddir" fuzz-names 2>/dev/null)}
[ -n "$names" ] || skip "no fuzz target names from 'make fuzz-names' in $top_builddir (not configured?)"
if [ "${FUZZ_SMOKE_BUILT:-0}" != 1 ]; then
	if ! make -s --no-print-directory -C "$top_builddir" fuzz >"$tmp/build.log" 2>&1; then
		echo "1..1"
		echo "not ok 1 - make fuzz: the fuzz targets do not build"
		sed 's/^/# /' "$tmp/build.log" | tail -n 30
		exit 1
	fi
fi
seeds=$top_builddir/tests/fuzz/seeds
if command -v python3 >/dev/null 2>&1; then
	sh "$top_srcdir/tests/fuzz/make-seeds.sh" "$seeds" >"$tmp/seeds.log" 2>&1 ||
		echo "# make-seeds.sh failed; the image targets run on their regressions only"
fi

prio=
command -v nice >/dev/null 2>&1 && prio="nice -n 19"
# shellcheck disable=SC2086 # one word per target name
set -- $names
echo "1..$#"
n=0
failed=0
for t in "$@"; do
	n=$((n + 1))
	bin=$top_builddir/tests/fuzz/fuzz-$t
	if [ ! -x "$bin" ]; then
		echo "not ok $n - fuzz-$t: $bin was not built"
		failed=$((failed + 1))
		continue
	fi
	dirs=
	inputs=0
	for d in "$seeds/$t" "$top_srcdir/tests/fuzz/corpus/$t" "$top_srcdir/tests/fuzz/regressions/$t"; do
		[ -d "$d" ] || continue
		dirs="$dirs $d"
		inputs=$((inputs + $(find "$d" -type f | wc -l)))
	done
	mkdir -p "$tmp/new-$t"
	# The first folder receives what the run finds: a scratch one, never the source tree.
	# shellcheck disable=SC2086
	(cd "$tmp" && $prio "$bin" -max_total_time="$seconds" -timeout=60 -rss_limit_mb=2048 -error_exitcode=1 \
		-timeout_exitcode=1 -artifact_prefix="$tmp/$t-" -print_final_stats=1 "$tmp/new-$t" $dirs) \
		>"$tmp/$t.log" 2>&1
	status=$?
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$tmp/$t.log" | tail -n 1)
	cov=$(grep -o 'cov: [0-9]* ft: [0-9]*' "$tmp/$t.log" | tail -n 1)
	if [ "$status" -eq 0 ]; then
		echo "ok $n - fuzz-$t: $inputs corpus and regression inputs, then ${runs:-?} runs in $seconds s (${cov:-no coverage line})"
	else
		failed=$((failed + 1))
		echo "not ok $n - fuzz-$t: exit status $status on its corpus/regressions or within $seconds s"
		for a in "$tmp/$t-"*; do
			[ -f "$a" ] || continue
			keep=$top_builddir/tests/fuzz/smoke-$t-$(basename "$a" | sed "s/^$t-//")
			cp "$a" "$keep" && echo "# input kept as $keep (replay: $bin $keep)"
		done
		grep -E 'ERROR|SUMMARY|#[0-9]+ 0x|runtime error' "$tmp/$t.log" |
			grep -v -E 'fuzzer::|__sanitizer_print|libc\.so|libc_start|_start |pthread_kill|raise' |
			head -n 25 | sed 's/^/# /'
	fi
done
[ "$failed" -eq 0 ]
