# packaging/: what `make install` puts outside bin/ (the service, its settings, udev, modules-load,
# NetworkManager and limits snippets), and `make deb` / `make rpm`, which build the packages from
# the `make dist` tarball into $(PKG_DIR) and copy them to the build directory.

# The unit names the installed command and settings file, so it is made for this prefix.
systemdsystemunit_DATA = packaging/sepia-host-resources.service
CLEANFILES += packaging/sepia-host-resources.service packaging/rpm/sepia.spec
EXTRA_DIST += packaging/sepia-host-resources.service.in
packaging/sepia-host-resources.service: packaging/sepia-host-resources.service.in Makefile
	$(AM_V_GEN)$(MKDIR_P) packaging && sed -e 's|@bindir[@]|$(bindir)|g' \
		-e 's|@sysconfdir[@]|$(sysconfdir)|g' $(srcdir)/packaging/sepia-host-resources.service.in > $@

udevrules_DATA = packaging/udev/60-sepia.rules
defaultconfdir = $(sysconfdir)/default
defaultconf_DATA = packaging/default/sepia-host-resources
modulesloaddir = $(sysconfdir)/modules-load.d
modulesload_DATA = packaging/modules-load.d/sepia.conf
nmconfdir = $(sysconfdir)/NetworkManager/conf.d
nmconf_DATA = packaging/NetworkManager/sepia-unmanaged.conf
limitsdir = $(sysconfdir)/security/limits.d
limits_DATA = packaging/limits.d/sepia.conf
EXTRA_DIST += $(udevrules_DATA) $(defaultconf_DATA) $(modulesload_DATA) $(nmconf_DATA) $(limits_DATA)

DEBIAN_FILES = packaging/debian/changelog packaging/debian/control packaging/debian/copyright \
	packaging/debian/rules packaging/debian/postinst packaging/debian/postrm \
	packaging/debian/source/format
EXTRA_DIST += $(DEBIAN_FILES) packaging/rpm/sepia.spec.in packaging/rpm/macros.no-rpm-host

packaging/rpm/sepia.spec: packaging/rpm/sepia.spec.in Makefile
	$(AM_V_GEN)$(MKDIR_P) packaging/rpm && \
		sed -e 's|@PACKAGE_VERSION[@]|$(PACKAGE_VERSION)|g' $(srcdir)/packaging/rpm/sepia.spec.in > $@

PKG_DIR = $(abs_builddir)/pkg
DEB_FILE = $(PACKAGE)_$(PACKAGE_VERSION)_amd64.deb
RPM_FILE = $(PACKAGE)-$(PACKAGE_VERSION)-1.x86_64.rpm

# The tarball is the source of both packages: what `make dist` forgets, they fail on. Made afresh
# by each `make deb`/`make rpm` (once when both are asked for).
package-dist:
	$(MAKE) $(AM_MAKEFLAGS) dist-gzip
	$(MKDIR_P) $(PKG_DIR) && mv -f $(distdir).tar.gz $(PKG_DIR)/

# dpkg-buildpackage in a fresh unpacked tarball with packaging/debian as debian/.
deb: package-dist
	@head -1 $(srcdir)/packaging/debian/changelog | grep -q '^$(PACKAGE) ($(PACKAGE_VERSION))' || \
		{ echo "deb: packaging/debian/changelog's first entry is not version $(PACKAGE_VERSION)" >&2; exit 1; }
	rm -rf $(PKG_DIR)/deb && $(MKDIR_P) $(PKG_DIR)/deb
	cd $(PKG_DIR)/deb && tar xzf $(PKG_DIR)/$(distdir).tar.gz && cp -R $(distdir)/packaging/debian $(distdir)/debian
	cd $(PKG_DIR)/deb/$(distdir) && dpkg-buildpackage -b -us -uc -Jauto > ../build.log 2>&1 || \
		{ tail -40 ../build.log >&2; echo "deb: dpkg-buildpackage failed, log in $(PKG_DIR)/deb/build.log" >&2; exit 1; }
	cp $(PKG_DIR)/deb/$(DEB_FILE) $(abs_builddir)/$(DEB_FILE)
	@echo "deb: $(abs_builddir)/$(DEB_FILE)"

# rpmbuild -bb in its own topdir. On a host that is not rpm-based (Debian's rpm package) there is no
# rpm database to check BuildRequires against and no systemd macros: --nodeps and the fallbacks.
rpm: package-dist packaging/rpm/sepia.spec
	rm -rf $(PKG_DIR)/rpm && $(MKDIR_P) $(PKG_DIR)/rpm/SOURCES
	cp $(PKG_DIR)/$(distdir).tar.gz $(PKG_DIR)/rpm/SOURCES/
	if rpm -q rpm >/dev/null 2>&1; then extra=; else \
		extra="--nodeps --load=$(abs_srcdir)/packaging/rpm/macros.no-rpm-host"; fi; \
	rpmbuild -bb --define "_topdir $(PKG_DIR)/rpm" $$extra packaging/rpm/sepia.spec > $(PKG_DIR)/rpm/build.log 2>&1 || \
		{ tail -40 $(PKG_DIR)/rpm/build.log >&2; echo "rpm: rpmbuild failed, log in $(PKG_DIR)/rpm/build.log" >&2; exit 1; }
	cp $(PKG_DIR)/rpm/RPMS/x86_64/$(RPM_FILE) $(abs_builddir)/$(RPM_FILE)
	@echo "rpm: $(abs_builddir)/$(RPM_FILE)"

# `make deb-guest`: sepia-guest, the reference guest's Android images in /usr/share/sepia/reference
# (where the installed launch_cvd looks without --system_image_dir), a package of its own so that
# the host tools stay small. It packs the images this tree built (make guest guest-android): the
# tarball the host package is built from cannot build a kernel.
GUEST_DEB_FILE = $(PACKAGE)-guest_$(PACKAGE_VERSION)_all.deb
deb-guest:
	@test -f '$(SEPIA_GUEST_ANDROID_DIR)/boot.img' || \
		{ echo "deb-guest: no reference guest images in $(SEPIA_GUEST_ANDROID_DIR) (make guest guest-android)" >&2; exit 1; }
	rm -rf $(PKG_DIR)/deb-guest && $(MKDIR_P) $(PKG_DIR)/deb-guest/root/DEBIAN
	$(MAKE) $(AM_MAKEFLAGS) install-reference-guest DESTDIR=$(PKG_DIR)/deb-guest/root pkgdatadir=/usr/share/sepia
	{ echo "Package: $(PACKAGE)-guest"; echo "Version: $(PACKAGE_VERSION)"; echo "Architecture: all"; \
	  echo "Maintainer: sepia developers <sepia-devel@example.org>"; echo "Section: misc"; echo "Priority: optional"; \
	  echo "Installed-Size: $$(du -sk $(PKG_DIR)/deb-guest/root/usr | cut -f1)"; echo "Enhances: $(PACKAGE)"; \
	  echo "Description: reference guest for sepia's launch_cvd"; \
	  echo " The Android boot, vendor_boot, system and vbmeta images of sepia's reference"; \
	  echo " guest (a Linux kernel and a small init), in /usr/share/sepia/reference, where"; \
	  echo " launch_cvd looks when it is given no --system_image_dir."; \
	} > $(PKG_DIR)/deb-guest/root/DEBIAN/control
	dpkg-deb --root-owner-group -Zxz --build $(PKG_DIR)/deb-guest/root $(PKG_DIR)/deb-guest/$(GUEST_DEB_FILE) >/dev/null
	cp $(PKG_DIR)/deb-guest/$(GUEST_DEB_FILE) $(abs_builddir)/$(GUEST_DEB_FILE)
	@echo "deb-guest: $(abs_builddir)/$(GUEST_DEB_FILE)"
.PHONY: deb-guest

clean-local: clean-packages
clean-packages:
	rm -rf $(PKG_DIR) $(DEB_FILE) $(RPM_FILE) $(GUEST_DEB_FILE) $(CONTAINER_ARCHIVE)
.PHONY: deb rpm package-dist clean-packages

# Both packages built and their contents checked (dpkg-deb -c/-I, rpm -qlp); systemd-analyze verify
# on the unit.
TESTS += tests/e2e/packages.sh tests/e2e/systemd-unit.sh
EXTRA_DIST += tests/e2e/packages.sh tests/e2e/systemd-unit.sh

# What the packages must carry: every installed program (tests/e2e/packages.sh asks for the list).
print-bin-programs:
	@echo $(bin_PROGRAMS)
.PHONY: print-bin-programs

# `make container`: sepia's container image, built offline from the .deb on a minimal Debian 12
# root (packaging/container/build-image.sh), with the reference guest's images in a layer of their
# own, saved as an OCI archive in the build directory. Needs `make guest guest-android` first.
CONTAINER_TAG = localhost/sepia:$(PACKAGE_VERSION)
CONTAINER_ARCHIVE = $(PACKAGE)-container-$(PACKAGE_VERSION).oci.tar
CONTAINER_FILES = packaging/container/build-image.sh packaging/container/Containerfile \
	packaging/container/entrypoint.sh packaging/container/probe.sh
EXTRA_DIST += $(CONTAINER_FILES) scripts/bookworm-mirror.sh
container: deb
	@test -f $(abs_builddir)/guest/out/android/boot.img || \
		{ echo "container: no reference guest images in guest/out/android: run make guest guest-android first" >&2; exit 1; }
	$(SHELL) $(srcdir)/packaging/container/build-image.sh --deb=$(abs_builddir)/$(DEB_FILE) \
		--images=$(abs_builddir)/guest/out/android --output=$(abs_builddir)/$(CONTAINER_ARCHIVE) \
		--tag=$(CONTAINER_TAG)
	@echo "container: $(abs_builddir)/$(CONTAINER_ARCHIVE) ($(CONTAINER_TAG))"
.PHONY: container
