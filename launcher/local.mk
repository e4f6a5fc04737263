# launcher/: the commands users type (the top layer). The assembly logic is a library so
# launch_cvd and assemble_cvd call it directly; the bootloader step is bootloader/'s.
noinst_LIBRARIES += launcher/libsepialauncher.a
launcher_libsepialauncher_a_CFLAGS = $(AM_CFLAGS) $(GLIB_CFLAGS)
launcher_libsepialauncher_a_SOURCES = launcher/assemble.c launcher/assemble.h launcher/data_image.c \
	launcher/data_image.h
LAUNCHER_LIBS = launcher/libsepialauncher.a $(BOOTLOADER_LIBS)

# ---- the control protocol (proto/control.proto, compiled at build time), flags, instances.
BUILT_SOURCES += proto/control.pb-c.c proto/control.pb-c.h
CLEANFILES += proto/control.pb-c.c proto/control.pb-c.h
EXTRA_DIST += proto/control.proto
proto/control.pb-c.c proto/control.pb-c.h: proto/control.proto
	$(AM_V_GEN)$(MKDIR_P) proto && $(PROTOC_C) --proto_path=$(srcdir) --c_out=$(builddir) $(srcdir)/proto/control.proto

noinst_LIBRARIES += launcher/libsepiacontrol.a
LAUNCHER_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_builddir)
LAUNCHER_CFLAGS = $(AM_CFLAGS) $(GLIB_CFLAGS) $(PROTOBUF_C_CFLAGS)
launcher_libsepiacontrol_a_CPPFLAGS = $(LAUNCHER_CPPFLAGS)
launcher_libsepiacontrol_a_CFLAGS = $(LAUNCHER_CFLAGS)
launcher_libsepiacontrol_a_SOURCES = proto/control.pb-c.c proto/control.pb-c.h \
	launcher/control.c launcher/control.h launcher/select.c launcher/select.h \
	launcher/instance.c launcher/instance.h launcher/stop.c launcher/stop.h \
	launcher/adb_connector.c launcher/adb_connector.h launcher/helper_child.c launcher/helper_child.h \
	launcher/control_server.c launcher/control_server.h launcher/file_modes.c launcher/file_modes.h \
	launcher/capped_log.c launcher/capped_log.h launcher/input_events.c launcher/input_events.h \
	launcher/suspend.c launcher/suspend.h launcher/boot_snapshot.c launcher/boot_snapshot.h \
	launcher/vmm_child.c launcher/vmm_child.h launcher/vmm_jail.c \
	launcher/vmm_jail.h
CONTROL_LIBS = launcher/libsepiacontrol.a images/libsepiaimages.a $(DISPLAY_LIBS) $(PROTOBUF_C_LIBS) $(CRYPTO_LIBS)

# ---- assemble_cvd and sepia-bootloader: the assembly and the bootloader step as commands.
bin_PROGRAMS += assemble_cvd sepia-bootloader
assemble_cvd_SOURCES = launcher/assemble_cvd.c
assemble_cvd_CFLAGS = $(AM_CFLAGS) $(GLIB_CFLAGS)
assemble_cvd_LDADD = $(LAUNCHER_LIBS) $(CONTROL_LIBS)
sepia_bootloader_SOURCES = launcher/sepia_bootloader.c
sepia_bootloader_CFLAGS = $(AM_CFLAGS) $(GLIB_CFLAGS)
sepia_bootloader_LDADD = $(LAUNCHER_LIBS)

# ---- the device lifecycle: launch_cvd, run_cvd (the per-instance monitor), stop_cvd,
# cvd_status, restart_cvd and powerwash_cvd (one source, two programs).
bin_PROGRAMS += launch_cvd run_cvd stop_cvd cvd_status restart_cvd powerwash_cvd
launch_cvd_SOURCES = launcher/launch_cvd.c launcher/vmm_child.h
launch_cvd_CPPFLAGS = $(LAUNCHER_CPPFLAGS) -DSEPIA_PKGDATADIR='"$(pkgdatadir)"'
launch_cvd_CFLAGS = $(LAUNCHER_CFLAGS)
launch_cvd_LDADD = $(LAUNCHER_LIBS) $(CONTROL_LIBS)
run_cvd_SOURCES = launcher/run_cvd.c launcher/monitor.h launcher/monitor_boot.c launcher/monitor_boot.h
run_cvd_CPPFLAGS = $(LAUNCHER_CPPFLAGS)
run_cvd_CFLAGS = $(LAUNCHER_CFLAGS)
run_cvd_LDADD = $(LAUNCHER_LIBS) $(CONTROL_LIBS)
stop_cvd_SOURCES = launcher/stop_cvd.c
stop_cvd_CPPFLAGS = $(LAUNCHER_CPPFLAGS)
stop_cvd_CFLAGS = $(LAUNCHER_CFLAGS)
stop_cvd_LDADD = $(CONTROL_LIBS)
cvd_status_SOURCES = launcher/cvd_status.c
cvd_status_CPPFLAGS = $(LAUNCHER_CPPFLAGS)
cvd_status_CFLAGS = $(LAUNCHER_CFLAGS)
cvd_status_LDADD = $(CONTROL_LIBS)
restart_cvd_SOURCES = launcher/cvd_action.c
restart_cvd_CPPFLAGS = $(LAUNCHER_CPPFLAGS) -DCVD_ACTION_POWERWASH=0
restart_cvd_CFLAGS = $(LAUNCHER_CFLAGS)
restart_cvd_LDADD = $(CONTROL_LIBS)
powerwash_cvd_SOURCES = launcher/cvd_action.c
powerwash_cvd_CPPFLAGS = $(LAUNCHER_CPPFLAGS) -DCVD_ACTION_POWERWASH=1
powerwash_cvd_CFLAGS = $(LAUNCHER_CFLAGS)
powerwash_cvd_LDADD = $(CONTROL_LIBS)

# suspend_cvd, resume_cvd and snapshot_util_cvd (one source, three programs).
bin_PROGRAMS += suspend_cvd resume_cvd snapshot_util_cvd
suspend_cvd_SOURCES = launcher/cvd_suspend.c
suspend_cvd_CPPFLAGS = $(LAUNCHER_CPPFLAGS) -DCVD_SUSPEND_ACTION=0
suspend_cvd_CFLAGS = $(LAUNCHER_CFLAGS)
suspend_cvd_LDADD = $(CONTROL_LIBS)
resume_cvd_SOURCES = launcher/cvd_suspend.c
resume_cvd_CPPFLAGS = $(LAUNCHER_CPPFLAGS) -DCVD_SUSPEND_ACTION=1
resume_cvd_CFLAGS = $(LAUNCHER_CFLAGS)
resume_cvd_LDADD = $(CONTROL_LIBS)
snapshot_util_cvd_SOURCES = launcher/cvd_suspend.c
snapshot_util_cvd_CPPFLAGS = $(LAUNCHER_CPPFLAGS) -DCVD_SUSPEND_ACTION=2
snapshot_util_cvd_CFLAGS = $(LAUNCHER_CFLAGS)
snapshot_util_cvd_LDADD = $(CONTROL_LIBS)

# ---- end to end and bench
# assemble-cvd.sh: real mkbootimg inputs, qemu-img/sfdisk/mke2fs checks (skips when missing).
# boot-android.sh: the reference guest as Android images, assembled, booted through the
# bootloader step on the overlay, then slot b after boot_a is corrupted (skips without /dev/kvm).
TESTS += tests/e2e/assemble-cvd.sh tests/e2e/boot-android.sh
EXTRA_DIST += tests/e2e/assemble-cvd.sh tests/e2e/boot-android.sh

# `make bench-assemble`: bench/assemble.sh, assembly vs a plain copy into one raw disk.
bench-assemble: assemble_cvd$(EXEEXT)
	$(BENCH_ENVIRONMENT) $(top_srcdir)/bench/assemble.sh $(BENCH_ASSEMBLE_FLAGS)
BENCH_ASSEMBLE_FLAGS =
.PHONY: bench-assemble

# ---- the displays: cvd_display (screenshots and a list of a device's displays) and
# sepia-webview (the displays in a browser, HTTP/1.1, one thread per client; run_cvd starts it
# with launch_cvd --start_webview). They find instances as the other commands do.
bin_PROGRAMS += cvd_display sepia-webview cvd_input
cvd_input_SOURCES = launcher/cvd_input.c
cvd_input_CPPFLAGS = $(LAUNCHER_CPPFLAGS)
cvd_input_CFLAGS = $(LAUNCHER_CFLAGS)
cvd_input_LDADD = $(CONTROL_LIBS)
cvd_display_SOURCES = launcher/cvd_display.c
cvd_display_CPPFLAGS = $(LAUNCHER_CPPFLAGS)
cvd_display_CFLAGS = $(LAUNCHER_CFLAGS)
cvd_display_LDADD = $(CONTROL_LIBS)
# launcher/http.c is a library of its own: the unit tests check its parser and guards.
noinst_LIBRARIES += launcher/libsepiahttp.a
launcher_libsepiahttp_a_CFLAGS = $(AM_CFLAGS) $(GLIB_CFLAGS) $(GIO_CFLAGS)
launcher_libsepiahttp_a_SOURCES = launcher/http.c launcher/http.h launcher/websocket.c launcher/websocket.h \
	launcher/webinput.c launcher/webinput.h
HTTP_LIBS = launcher/libsepiahttp.a $(COMMON_LIBS) $(GIO_LIBS)
sepia_webview_SOURCES = launcher/webview.c launcher/webview.h launcher/webview_stream.c launcher/webview_page.c \
	launcher/webview_frames.c
sepia_webview_CPPFLAGS = $(LAUNCHER_CPPFLAGS)
sepia_webview_CFLAGS = $(LAUNCHER_CFLAGS) $(GIO_CFLAGS)
sepia_webview_LDADD = $(HTTP_LIBS) $(CONTROL_LIBS) $(GIO_LIBS)

# ---- unit tests of launcher/ (sources in tests/unit/; UNIT_CFLAGS and UNIT_LDADD there)
# The launcher's flags, instance selection, control framing and status JSON, the instance
# lock, file modes, the monitor's control server and kernel.log's cap.
check_PROGRAMS += tests/unit/test-launcher
tests_unit_test_launcher_CPPFLAGS = $(LAUNCHER_CPPFLAGS)
tests_unit_test_launcher_CFLAGS = $(LAUNCHER_CFLAGS)
tests_unit_test_launcher_LDADD = $(CONTROL_LIBS)
TESTS += tests/unit/test-launcher
check_PROGRAMS += tests/unit/test-boot-snapshot
tests_unit_test_boot_snapshot_CPPFLAGS = $(LAUNCHER_CPPFLAGS)
tests_unit_test_boot_snapshot_CFLAGS = $(LAUNCHER_CFLAGS)
tests_unit_test_boot_snapshot_LDADD = $(CONTROL_LIBS)
TESTS += tests/unit/test-boot-snapshot

# The VMM's PID namespace, and its absence where a container withholds CAP_SYS_ADMIN.
check_PROGRAMS += tests/unit/test-vmm-jail
tests_unit_test_vmm_jail_CPPFLAGS = $(LAUNCHER_CPPFLAGS)
tests_unit_test_vmm_jail_CFLAGS = $(LAUNCHER_CFLAGS)
tests_unit_test_vmm_jail_LDADD = $(CONTROL_LIBS)
TESTS += tests/unit/test-vmm-jail

# The web view's HTTP: head parser, Host check, connection bounds.
check_PROGRAMS += tests/unit/test-http
tests_unit_test_http_LDADD = $(HTTP_LIBS)
TESTS += tests/unit/test-http
# Its WebSocket (handshake, hostile frames) and the page's input turned into evdev records.
check_PROGRAMS += tests/unit/test-websocket tests/unit/test-webinput
tests_unit_test_websocket_LDADD = $(HTTP_LIBS)
tests_unit_test_webinput_LDADD = $(HTTP_LIBS)
TESTS += tests/unit/test-websocket tests/unit/test-webinput

# cvd_input's records: taps, swipes, keys and text as virtio-input takes them.
check_PROGRAMS += tests/unit/test-input-events
tests_unit_test_input_events_CPPFLAGS = $(LAUNCHER_CPPFLAGS)
tests_unit_test_input_events_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_input_events_LDADD = $(CONTROL_LIBS) $(UNIT_LDADD)
TESTS += tests/unit/test-input-events
