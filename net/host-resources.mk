# ---- sepia-host-resources (net/host_resources.c and net/hostres_*): bridges, TAPs, dnsmasq, NAT.
# Kept apart from net/local.mk (the vsock proxy) so the two merge without touching each other.
noinst_LIBRARIES += net/libsepiahostres.a
net_libsepiahostres_a_CFLAGS = $(AM_CFLAGS) $(GLIB_CFLAGS) $(GIO_CFLAGS) $(LIBNL_CFLAGS)
net_libsepiahostres_a_SOURCES = net/hostres_config.c net/hostres_config.h \
	net/hostres_link.c net/hostres_link.h net/hostres_services.c net/hostres_services.h
HOSTRES_LIBS = net/libsepiahostres.a $(GIO_LIBS) $(GLIB_LIBS) $(LIBNL_LIBS)

bin_PROGRAMS += sepia-host-resources
sepia_host_resources_SOURCES = net/host_resources.c
sepia_host_resources_CPPFLAGS = $(AM_CPPFLAGS) -DSEPIA_SYSCONFDIR='"$(sysconfdir)"'
sepia_host_resources_CFLAGS = $(AM_CFLAGS) $(GLIB_CFLAGS) $(GIO_CFLAGS) $(LIBNL_CFLAGS)
sepia_host_resources_LDADD = $(HOSTRES_LIBS)

# The settings parser and the NAT ruleset, without root; the real links in tests/e2e/host-resources.sh
# (root, inside network namespaces it makes and deletes).
check_PROGRAMS += tests/unit/test-hostres-config
tests_unit_test_hostres_config_SOURCES = tests/unit/test-hostres-config.c
tests_unit_test_hostres_config_CFLAGS = $(AM_CFLAGS) $(GLIB_CFLAGS) $(GIO_CFLAGS) $(LIBNL_CFLAGS)
tests_unit_test_hostres_config_LDADD = $(HOSTRES_LIBS)
TESTS += tests/unit/test-hostres-config tests/e2e/host-resources.sh
EXTRA_DIST += tests/e2e/host-resources.sh
