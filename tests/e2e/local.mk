# End-to-end boots of real kernels under sepia-vmm (they skip without /dev/kvm).
E2E_TESTS = tests/e2e/adbd-host.sh tests/e2e/adbd-host-sync.sh tests/e2e/adbd-host-client.sh \
	tests/e2e/boot-reference.sh tests/e2e/boot-stock-kernel.sh \
	tests/e2e/vmm-control.sh tests/e2e/vsock.sh tests/e2e/adb.sh tests/e2e/lifecycle.sh \
	tests/e2e/virtio-net.sh tests/e2e/launch-net.sh tests/e2e/gpu-device.sh tests/e2e/launch-guard.sh \
	tests/e2e/sandbox.sh tests/e2e/run-output.sh tests/e2e/installed-launch.sh \
	tests/e2e/snapshot-restore.sh tests/e2e/boot-snapshot.sh
TESTS += $(E2E_TESTS)
EXTRA_DIST += $(E2E_TESTS) tests/e2e/require.sh tests/e2e/console-run.py tests/e2e/net-lib.sh tests/e2e/net-server.py

# Tests that launch devices with launch_cvd use the host's own adb ports (6520+N-1): under
# `make -j` they take turns. launch-net.sh runs in a network namespace of its own.
tests/e2e/adb.log: tests/e2e/lifecycle.log
tests/e2e/gpu-device.log: tests/e2e/adb.log
tests/e2e/launch-guard.log: tests/e2e/gpu-device.log
tests/e2e/sandbox.log: tests/e2e/launch-guard.log
tests/e2e/installed-launch.log: tests/e2e/sandbox.log

# /data, /metadata and the properties of the reference guest (seven boots of one device), and
# --data_policy's wipe and a garbage userdata (four boots).
TESTS += tests/e2e/data.sh tests/e2e/data-policy.sh
EXTRA_DIST += tests/e2e/data.sh tests/e2e/data-policy.sh tests/e2e/data-lib.sh
tests/e2e/data.log: tests/e2e/installed-launch.log
tests/e2e/data-policy.log: tests/e2e/data.log

# boot-reference.sh's verdict on the guest's vector-probe line, on the lines each kind of host
# makes it print (no KVM needed).
TESTS += tests/e2e/vector-probe-verdict-test.sh
EXTRA_DIST += tests/e2e/vector-probe-verdict-test.sh tests/e2e/vector-probe-verdict.sh

# guest/build-guest.sh names a missing tool before it starts (no KVM, no guest build needed).
TESTS += tests/e2e/guest-build-deps.sh
EXTRA_DIST += tests/e2e/guest-build-deps.sh

# Run inside the reference guest by boot-reference.sh (static: the guest has no libc).
check_PROGRAMS += tests/e2e/vector-probe
tests_e2e_vector_probe_SOURCES = tests/e2e/vector-probe.c
tests_e2e_vector_probe_LDFLAGS = -static

# The display tools: cvd_display and sepia-webview on scanout files written by fb-fill, the
# page checked in headless Chromium and Firefox (each skips without its browser).
check_PROGRAMS += tests/e2e/fb-fill
tests_e2e_fb_fill_SOURCES = tests/e2e/fb-fill.c
tests_e2e_fb_fill_CFLAGS = $(AM_CFLAGS) $(GLIB_CFLAGS)
tests_e2e_fb_fill_LDADD = $(DISPLAY_LIBS)
DISPLAY_E2E_TESTS = tests/e2e/input-tools.sh tests/e2e/display-wait.sh tests/e2e/display-tools.sh \
	tests/e2e/webview-chromium.sh tests/e2e/webview-firefox.sh tests/e2e/webview-guard.sh \
	tests/e2e/webview-stream.sh
TESTS += $(DISPLAY_E2E_TESTS)
EXTRA_DIST += $(DISPLAY_E2E_TESTS) tests/e2e/display-check.py tests/e2e/webview-cdp.py tests/e2e/display-lib.sh \
	tests/e2e/webview-firefox.py tests/e2e/device-lib.sh tests/e2e/adb-sync-checks.sh tests/e2e/adb-client-checks.sh \
	tests/e2e/adb-logcat-checks.sh tests/e2e/touch_records.py \
	tests/e2e/tcp-peer.py tests/e2e/webview-guard.py tests/e2e/webview-stream.py

# A launched device's input and entropy, as the guest sees them, and its web view's page operating it in
# headless Chromium (launch_cvd: after the others).
TESTS += tests/e2e/input-device.sh
EXTRA_DIST += tests/e2e/input-device.sh tests/e2e/cdp-lib.sh
tests/e2e/input-device.log: tests/e2e/data-policy.log

# Suspend, resume, snapshot_util_cvd and launch_cvd --snapshot_path on a default (sandboxed)
# launched device: one cold boot and one restore (launch_cvd: after the others).
TESTS += tests/e2e/snapshot-launch.sh
EXTRA_DIST += tests/e2e/snapshot-launch.sh
tests/e2e/snapshot-launch.log: tests/e2e/input-device.log

# The boot snapshot cache the e2e tests of this tree share (tests/e2e/device-lib.sh).
clean-local: clean-boot-snapshots
.PHONY: clean-boot-snapshots
clean-boot-snapshots:
	rm -rf tests/e2e/boot-snapshots
