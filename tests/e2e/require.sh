# TAP checks from here on: check 'shell condition' 'what it shows' (counting failures in
# $failed); note FILE... prints as diagnostics. Defined when called, so they win over a
# library's simpler check sourced before.
tap_begin() {
	n=0
	failed=0
	check() {
		n=$((n + 1))
		if eval "$1"; then echo "ok $n - $2"; else
			echo "not ok $n - $2"
			failed=$((failed + 1))
		fi
	}
	note() { sed 's/^/# /' "$@"; }
}

# Preconditions the end-to-end tests share, sourced after top_builddir is set: each skips the
# test (exit 77, TAP "1..0 # SKIP") naming what is missing.
skip() {
	echo "1..0 # SKIP $1"
	exit 77
}

# The boot snapshot cache the tests of this build tree share (launcher/boot_snapshot.h).
export SEPIA_BOOT_SNAPSHOT_DIR=${SEPIA_BOOT_SNAPSHOT_DIR:-${top_builddir:-.}/tests/e2e/boot-snapshots}

# sepia-vmm and the reference guest's kernel and initramfs (make guest), with /dev/kvm.
require_reference_guest() {
	[ -r /dev/kvm ] && [ -w /dev/kvm ] || skip "no access to /dev/kvm"
	[ -x "$top_builddir/sepia-vmm" ] || skip "sepia-vmm not built"
	[ -r "$guest/vmlinux" ] && [ -r "$guest/initramfs.cpio" ] || skip "no reference guest in $guest (run make guest)"
}

# The device commands and the reference guest's Android images (make guest-android), with
# /dev/kvm and the tools assembly checks with.
require_device_tools() {
	[ -r /dev/kvm ] && [ -w /dev/kvm ] || skip "no access to /dev/kvm"
	for p in launch_cvd run_cvd stop_cvd cvd_status sepia-vmm; do
		[ -x "$top_builddir/$p" ] || skip "$p not built"
	done
	[ -r "$top_builddir/guest/out/android/boot.img" ] ||
		skip "no reference guest images in $top_builddir/guest/out/android (make guest-android)"
	command -v qemu-img > /dev/null && command -v mke2fs > /dev/null && command -v python3 > /dev/null ||
		skip "qemu-img, mke2fs and python3 are needed"
}

# sepia-webview and fb-fill (which writes scanout files without a guest), as WEBVIEW and FB_FILL.
require_webview_tools() {
	WEBVIEW=$top_builddir/sepia-webview
	FB_FILL=$top_builddir/tests/e2e/fb-fill
	for p in "$WEBVIEW" "$FB_FILL"; do
		[ -x "$p" ] || skip "$p not built"
	done
}
