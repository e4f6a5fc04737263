#!/bin/sh
# boot-reference.sh's verdict on the guest's vector-probe line (tests/e2e/vector-probe-verdict.sh)
# on the lines each kind of host makes the probe print: AVX kept (with and without AVX-512),
# registers changed, no AVX offered to the guest (a skip: nothing to corrupt), and no line at all.
# Needs no KVM: it feeds the verdict logs written here.
set -u
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$top_srcdir/tests/e2e/vector-probe-verdict.sh"
work=$(mktemp -d "${TMPDIR:-/tmp}/sepia-vector-verdict.XXXXXX") || exit 1
trap 'rm -rf "$work"' EXIT
n=0
# case NAME WANT LINE: the verdict on a serial log holding LINE among kernel messages.
case_of() {
	n=$((n + 1))
	printf '[    1.000000] Run /init as init process\r\n%s\r\nsepia-init: run: exit status 0\r\n' "$3" >"$work/$n.log"
	why=$(vector_probe_verdict "$work/$n.log")
	got=$?
	if [ "$got" = "$2" ]; then
		echo "ok $n - $1 (verdict $got: $why)"
	else
		echo "not ok $n - $1 (verdict $got, wanted $2: $why)"
	fi
}
echo "1..8"
case_of "AVX kept, no AVX-512: passes" 0 \
	'vector-probe: ymm7 upper half kept, ymm16 not offered (strlen 8191, memchr at 4000, strcmp 1)'
case_of "AVX and AVX-512 kept: passes" 0 \
	'vector-probe: ymm7 upper half kept, ymm16 kept (strlen 8191, memchr at 4000, strcmp 1)'
case_of "ymm7 changed: fails" 1 \
	'vector-probe: ymm7 upper half changed, ymm16 not offered (strlen 8191, memchr at 4000, strcmp 1)'
case_of "ymm16 changed: fails" 1 \
	'vector-probe: ymm7 upper half kept, ymm16 changed (strlen 8191, memchr at 4000, strcmp 1)'
case_of "no AVX offered to the guest: skips" 2 'vector-probe: no AVX offered to this process'
case_of "no probe line: fails" 1 ''
case_of "a kernel message on the same line does not hide a change" 1 \
	'[    2.1] random: crng init donevector-probe: ymm7 upper half changed, ymm16 not offered (strlen 8191)'
n=$((n + 1))
: >"$work/empty.log"
printf 'vector-probe: ymm7 upper half kept, ymm16 not offered (strlen 8191)\n' >"$work/hvc0.log"
vector_probe_verdict "$work/empty.log" "$work/hvc0.log" >/dev/null
got=$?
[ "$got" = 0 ] && echo "ok $n - the line counts on either console" ||
	echo "not ok $n - the line counts on either console (verdict $got)"
