#!/bin/bash
# End to end: installed means usable. `make install DESTDIR=<tmp>` of this build puts the host
# programs in <tmp><bindir> and the reference guest's Android images in
# <tmp><pkgdatadir>/reference; that launch_cvd, with no flags at all, finds the images installed
# beside it, boots the device, and the real adb client runs a command there; stop_cvd stops it.
# Before `make install` installed the images (issue 14), launch_cvd said
# ".../share/sepia/reference: not a directory (--system_image_dir)".
set -u
top_builddir=${top_builddir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
B=$top_builddir

skip() { echo "1..0 # SKIP $1"; exit 77; }
. "$top_srcdir/tests/e2e/device-lib.sh"
command -v "${MAKE:-make}" >/dev/null || skip "make is not installed"
device_test_begin installed-launch launch_cvd run_cvd stop_cvd cvd_status sepia-vmm sepia-vsock-proxy

dest=$work/dest
"${MAKE:-make}" -s -C "$B" install DESTDIR="$dest" >"$work/install.log" 2>&1
rc=$?
bindir=$("${MAKE:-make}" -s -C "$B" --no-print-directory print-install-dirs 2>/dev/null | sed -n 's/^bindir=//p')
pkgdatadir=$("${MAKE:-make}" -s -C "$B" --no-print-directory print-install-dirs 2>/dev/null | sed -n 's/^pkgdatadir=//p')
check "[ $rc = 0 ] && [ -n '$bindir' ] && [ -x '$dest$bindir/launch_cvd' ]" "make install DESTDIR=... installs launch_cvd in $bindir"
[ $rc = 0 ] || tail -n 20 "$work/install.log" | note
check "cmp -s '$B/guest/out/android/boot.img' '$dest$pkgdatadir/reference/boot.img' &&
	cmp -s '$B/guest/out/android/system.img' '$dest$pkgdatadir/reference/system.img' &&
	cmp -s '$B/guest/out/android/vendor_boot.img' '$dest$pkgdatadir/reference/vendor_boot.img' &&
	cmp -s '$B/guest/out/android/vbmeta.img' '$dest$pkgdatadir/reference/vbmeta.img'" \
	"make install puts the reference guest's Android images in $pkgdatadir/reference"

# The installed programs only: no build tree in PATH or next to them.
L=$dest$bindir
cd "$work" || exit 1
"$L/launch_cvd" --daemon >"$work/launch.out" 2>"$work/launch.err" </dev/null
rc=$?
check "[ $rc = 0 ] && grep -qx VIRTUAL_DEVICE_BOOT_COMPLETED '$work/launch.out'" "the installed launch_cvd --daemon, with no other flag, boots the installed reference guest"
[ $rc = 0 ] || { note "$work/launch.err"; note "$inst/logs/launcher.log" 2>/dev/null; }
check "grep -q '\"system_image_dir\": \"$dest$pkgdatadir/reference\"' '$inst/cuttlefish_config.json'" \
	"it took the images from $pkgdatadir/reference of the install"
for i in $(seq 1 30); do adb devices | grep -q "^$serial[[:space:]]*device" && break; sleep 1; done
timeout 60 adb -s "$serial" shell 'echo installed-ok; exit 5' >"$work/shell.out" 2>&1
rc=$?
check "[ $rc = 5 ] && grep -qx installed-ok '$work/shell.out'" "adb shell runs a command there and returns its status"
[ $rc = 5 ] || note "$work/shell.out"
timeout 120 "$L/stop_cvd" >"$work/stop.out" 2>&1
rc=$?
check "[ $rc = 0 ]" "the installed stop_cvd stops it"
[ $rc = 0 ] || note "$work/stop.out"
# Processes are reaped as they end: poll (30 s at most), not a fixed 1 s a loaded host could outlast.
for _ in $(seq 1 150); do pgrep -f "^$L/(run_cvd|sepia-vmm|sepia-vsock-proxy)" >/dev/null || break; sleep 0.2; done
check "! pgrep -f '^$L/(run_cvd|sepia-vmm|sepia-vsock-proxy)' >/dev/null" "no installed program is left running"
echo "1..$n"
