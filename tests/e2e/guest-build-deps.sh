#!/bin/sh
# guest/build-guest.sh names each tool it needs that the machine lacks, before it starts: with
# rsync, lz4 or patch taken out of PATH in turn (as on a minimal Debian 12), it stops at once
# with "missing: TOOL" and has extracted nothing, instead of failing minutes later inside the
# kernel's build (rsync: not found, in headers_install).
set -u
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
skip() { echo "1..0 # SKIP $1"; exit 77; }
command -v bash >/dev/null 2>&1 || skip "bash not found"
work=$(mktemp -d "${TMPDIR:-/tmp}/sepia-guest-deps.XXXXXX") || exit 1
trap 'rm -rf "$work"' EXIT
n=0
echo "1..3"
for tool in rsync lz4 patch; do
	n=$((n + 1))
	# PATH: every program of this machine but TOOL.
	bin=$work/bin-$tool
	mkdir -p "$bin"
	for dir in /usr/local/sbin /usr/local/bin /usr/sbin /usr/bin /sbin /bin; do
		for f in "$dir"/*; do
			name=${f##*/}
			[ "$name" != "$tool" ] && [ ! -e "$bin/$name" ] && [ -x "$f" ] && ln -s "$f" "$bin/$name"
		done
	done
	PATH=$bin SEPIA_GUEST_CACHE=$work/cache-$tool bash "$top_srcdir/guest/build-guest.sh" --out "$work/out" \
		>"$work/$tool.out" 2>&1 </dev/null
	rc=$?
	if [ $rc = 1 ] && grep -q "^build-guest: error: missing:.* $tool\( \|$\)" "$work/$tool.out" &&
		[ ! -e "$work/cache-$tool/src" ]; then
		echo "ok $n - without $tool: build-guest stops at once naming it"
	else
		echo "not ok $n - without $tool: build-guest stops at once naming it (status $rc)"
		tail -n 5 "$work/$tool.out" | sed 's/^/# /'
	fi
done
