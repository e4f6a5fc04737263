#!/bin/sh
# The sepia-host-resources unit passes `systemd-analyze verify` (pointed at the built command, since
# verify checks that ExecStart= exists).
top_builddir=${top_builddir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_srcdir=${top_srcdir:-$top_builddir}
skip() { echo "1..0 # SKIP $1"; exit 77; }
command -v systemd-analyze >/dev/null 2>&1 || skip "systemd-analyze not installed"
[ -x "$top_builddir/sepia-host-resources" ] || skip "sepia-host-resources not built"
work=$(mktemp -d /tmp/sepia-unit.XXXXXX)
trap 'rm -rf "$work"' EXIT
echo "1..3"
unit=$work/sepia-host-resources.service
sed -e "s|@bindir@|$top_builddir|g" -e "s|@sysconfdir@|$work|g" \
	"$top_srcdir/packaging/sepia-host-resources.service.in" > "$unit"
if SYSTEMD_LOG_LEVEL=notice systemd-analyze verify "$unit" > "$work/verify.out" 2>&1; then
	echo "ok 1 - systemd-analyze verify accepts the unit"
else
	echo "not ok 1 - systemd-analyze verify accepts the unit"
fi
sed 's/^/# /' "$work/verify.out"
# A broken unit must fail the same check, or the check proves nothing.
sed 's/^Type=oneshot/Type=oneshoot/; s|^ExecStart=.*|ExecStart=/nonexistent/sepia-host-resources start|' "$unit" > "$work/broken.service"
if systemd-analyze verify "$work/broken.service" > /dev/null 2>&1; then
	echo "not ok 2 - systemd-analyze verify refuses a broken copy"
else
	echo "ok 2 - systemd-analyze verify refuses a broken copy"
fi
p=$(grep -c -E '^(Type=oneshot|RemainAfterExit=yes|After=network-online.target|Wants=network-online.target|EnvironmentFile=-.*/default/sepia-host-resources|ExecStart=.*/sepia-host-resources start|ExecStop=.*/sepia-host-resources stop|WantedBy=multi-user.target)$' "$unit")
if [ "$p" = 8 ]; then echo "ok 3 - oneshot, RemainAfterExit, after network-online, settings file, start and stop"; else echo "not ok 3 - unit settings ($p of 8)"; fi
