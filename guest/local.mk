# guest: sepia's reference guest (kernel + initramfs), built from Debian's packages.
# Not part of `all`: it needs linux-source-6.1 and busybox-static and takes minutes
# the first time; results are cached (see guest/build-guest.sh --help).
GUEST_FILES = \
	guest/build-guest.sh \
	guest/make-android-images.sh \
	guest/qemu-boot.sh \
	guest/qemu-gpu-check.sh \
	guest/kernel.config \
	guest/kernel-profile.config \
	guest/rootfs/etc/group \
	guest/rootfs/etc/passwd \
	guest/rootfs/etc/profile \
	guest/rootfs/usr/share/udhcpc/default.script \
	guest/init/init.c \
	guest/init/android_dirs.c \
	guest/init/android_dirs.h \
	guest/init/cmdline.c \
	guest/init/cmdline.h \
	guest/init/service.c \
	guest/init/control.c \
	guest/init/control.h \
	guest/init/service.h \
	guest/init/logd.c \
	guest/init/logd.h \
	guest/tools/logcat.c \
	guest/tools/log.c \
	guest/tools/logd-client.h \
	guest/tools/vsock-echo.c \
	guest/tools/gpu-pattern.c \
	guest/tools/gpu-clear3d.c \
	guest/tools/drm-util.h \
	guest/tools/kms-util.h \
	guest/tools/evdev-util.h \
	guest/tools/getevent.c \
	guest/tools/touch-paint.c \
	guest/tools/input.c \
	guest/tools/fd-util.h \
	guest/tools/tty-held-output.c \
	guest/init/net.c \
	guest/init/net.h \
	guest/init/storage.c \
	guest/init/storage.h \
	guest/init/properties.c \
	guest/init/properties.h \
	guest/tools/getprop.c \
	guest/tools/nohup.c \
	guest/patches/0001-x86-mm-a-user-fetch-fault-at-the-SYSCALL-entry-is-a-system-call.patch

EXTRA_DIST += $(GUEST_FILES)

.PHONY: guest
guest:
	$(top_srcdir)/guest/build-guest.sh --out $(abs_top_builddir)/guest/out

.PHONY: clean-guest
clean-guest:
	rm -rf $(abs_top_builddir)/guest/out

# Boots guest/out under QEMU TCG (the guest powers itself off) and prints boot numbers.
.PHONY: guest-check
guest-check: guest
	$(top_srcdir)/guest/qemu-boot.sh --dir $(abs_top_builddir)/guest/out

# guest/mkimages: packs the reference guest as Android boot/vendor_boot v4 and vbmeta images with
# sepia's own writers (used by guest/make-android-images.sh; Debian's mkbootimg lacks v4).
noinst_PROGRAMS += guest/mkimages
guest_mkimages_SOURCES = guest/mkimages.c
guest_mkimages_CFLAGS = $(AM_CFLAGS) $(GLIB_CFLAGS)
guest_mkimages_LDADD = images/libsepiaimages.a $(GLIB_LIBS) $(CRYPTO_LIBS)

# `make guest-android`: guest/out/android/{boot,vendor_boot,system,vbmeta}.img from guest/out.
.PHONY: guest-android
guest-android: guest/mkimages$(EXEEXT)
	MKIMAGES=$(abs_top_builddir)/guest/mkimages $(top_srcdir)/guest/make-android-images.sh \
		--guest $(abs_top_builddir)/guest/out --key $(top_srcdir)/tests/data/testkey_rsa2048.pem

# `make install` puts the reference guest's Android images in $(pkgdatadir)/reference, where
# launch_cvd looks when it is given no --system_image_dir, if they are built (make guest
# guest-android); without them it says so and installs the host tools alone.
# SEPIA_GUEST_ANDROID_DIR names another directory of built images.
SEPIA_GUEST_ANDROID_DIR = $(abs_top_builddir)/guest/out/android
REFERENCE_IMAGES = boot.img vendor_boot.img system.img vbmeta.img
.PHONY: install-reference-guest uninstall-reference-guest
install-data-local: install-reference-guest
install-reference-guest:
	@if [ -f '$(SEPIA_GUEST_ANDROID_DIR)/boot.img' ]; then \
		$(MKDIR_P) '$(DESTDIR)$(pkgdatadir)/reference' || exit 1; \
		for f in $(REFERENCE_IMAGES); do \
			echo " $(INSTALL_DATA) $(SEPIA_GUEST_ANDROID_DIR)/$$f '$(DESTDIR)$(pkgdatadir)/reference/$$f'"; \
			$(INSTALL_DATA) '$(SEPIA_GUEST_ANDROID_DIR)/'$$f '$(DESTDIR)$(pkgdatadir)/reference/'$$f || exit 1; \
		done; \
	else \
		echo "make install: no reference guest in $(SEPIA_GUEST_ANDROID_DIR) (make guest guest-android);" \
			"launch_cvd will need --system_image_dir"; \
	fi
uninstall-local: uninstall-reference-guest
uninstall-reference-guest:
	for f in $(REFERENCE_IMAGES); do rm -f '$(DESTDIR)$(pkgdatadir)/reference/'$$f; done
	-rmdir '$(DESTDIR)$(pkgdatadir)/reference' '$(DESTDIR)$(pkgdatadir)' 2>/dev/null
# Where `make install` puts things (tests/e2e/installed-launch.sh asks).
print-install-dirs:
	@echo bindir=$(bindir); echo pkgdatadir=$(pkgdatadir)
.PHONY: print-install-dirs

# guest/adbd: sepia's small adb daemon. The guest's copy is built static by
# guest/build-guest.sh into the initramfs (/sbin/adbd); adbd-host is the same
# sources for the host, so tests can drive it with the real adb client (--tcp).
ADBD_SOURCES = \
	guest/adbd/adbd.c \
	guest/adbd/adbd.h \
	guest/adbd/services.c \
	guest/adbd/adb_message.c \
	guest/adbd/adb_message.h \
	guest/adbd/adb_auth.c \
	guest/adbd/adb_auth.h \
	guest/adbd/sync_service.c \
	guest/adbd/streams.c \
	guest/adbd/forward.c \
	guest/adbd/forward.h \
	guest/adbd/sync_service.h
noinst_PROGRAMS += guest/adbd/adbd-host
guest_adbd_adbd_host_SOURCES = $(ADBD_SOURCES)

# ---- unit tests of guest/ (sources in tests/unit/; UNIT_CFLAGS and UNIT_LDADD there)
check_PROGRAMS += tests/unit/test-adbd
tests_unit_test_adbd_SOURCES = tests/unit/test-adbd.c guest/adbd/adb_message.c \
	guest/adbd/adb_message.h guest/adbd/adb_auth.c guest/adbd/adb_auth.h
tests_unit_test_adbd_CFLAGS = $(UNIT_CFLAGS) $(CRYPTO_CFLAGS)
tests_unit_test_adbd_LDADD = $(GLIB_LIBS) $(CRYPTO_LIBS)
TESTS += tests/unit/test-adbd

check_PROGRAMS += tests/unit/test-guest-properties
tests_unit_test_guest_properties_SOURCES = tests/unit/test-guest-properties.c guest/init/properties.c \
	guest/init/properties.h guest/init/cmdline.c guest/init/cmdline.h
tests_unit_test_guest_properties_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_guest_properties_LDADD = $(GLIB_LIBS)
TESTS += tests/unit/test-guest-properties

check_PROGRAMS += tests/unit/test-guest-control
tests_unit_test_guest_control_SOURCES = tests/unit/test-guest-control.c guest/init/control.c \
	guest/init/control.h
tests_unit_test_guest_control_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_guest_control_LDADD = $(GLIB_LIBS)
TESTS += tests/unit/test-guest-control

check_PROGRAMS += tests/unit/test-guest-logd
tests_unit_test_guest_logd_SOURCES = tests/unit/test-guest-logd.c guest/init/logd.c guest/init/logd.h
tests_unit_test_guest_logd_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_guest_logd_LDADD = $(GLIB_LIBS)
TESTS += tests/unit/test-guest-logd
